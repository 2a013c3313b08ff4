package plan

import (
	"fmt"
	"regexp"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"

	"tasks/internal/catalog"
)

// mark sets every statement's Source to a *Step: whether it must run
// outside a transaction, and the hazard it carries for a table that
// serves traffic.
func (p *planner) mark(out []*migrate.Change) []*migrate.Change {
	for _, c := range out {
		if s, ok := markOwn(c); ok {
			c.Source = s
			continue
		}
		s := &Step{Change: c.Source}
		if a, ok := c.Source.(*autocommit); ok {
			s.Change, s.NoTx = a.Change, true
		}
		if Concurrent(c.Cmd) {
			s.NoTx = true // PostgreSQL refuses them in a transaction block
		}
		if !s.NoTx {
			s.Hazards = p.hazards(c)
		}
		c.Source = s
	}
	return out
}

// Concurrent reports whether stmt builds or drops an index
// CONCURRENTLY, or detaches a partition CONCURRENTLY: it runs outside a
// transaction block and takes no lock that blocks reads or writes, but
// waits for every older transaction on its table to end.
func Concurrent(stmt string) bool {
	for _, prefix := range []string{"CREATE INDEX CONCURRENTLY ", "CREATE UNIQUE INDEX CONCURRENTLY ", "DROP INDEX CONCURRENTLY "} {
		if strings.HasPrefix(stmt, prefix) {
			return true
		}
	}
	return strings.HasPrefix(stmt, "ALTER TABLE ") && strings.Contains(stmt, " DETACH PARTITION ") &&
		strings.HasSuffix(stmt, " CONCURRENTLY")
}

// hazards names what a statement of Atlas's on an existing table does
// to it under load: rewrites it, scans it under a lock that blocks
// writes, or blocks writes while an index builds; and the data it
// destroys. A table created in the same migration is empty: its
// statements carry none.
func (p *planner) hazards(c *migrate.Change) []string {
	if dt, ok := c.Source.(*schema.DropTable); ok && p.exists(dt.T) {
		return []string{fmt.Sprintf("drops table %s and every row it holds (a rename is a drop and a create "+
			"to a diff: write ALTER TABLE … RENAME TO by hand instead)", ident(dt.T.Name))}
	}
	mt, ok := c.Source.(*schema.ModifyTable)
	if !ok || !p.exists(mt.T) {
		// (Atlas also alters a new table: a foreign key of a cycle
		// between new tables is added after both.)
		return nil
	}
	t := mt.T.Name
	if strings.HasPrefix(c.Cmd, "CREATE INDEX ") || strings.HasPrefix(c.Cmd, "CREATE UNIQUE INDEX ") {
		if partitioned(mt.T) {
			// PostgreSQL builds no index on a partitioned table
			// CONCURRENTLY (partitionedIndexesOnline does it by parts).
			return []string{fmt.Sprintf("blocks writes to table %s and each of its partitions while the index builds "+
				"(a partitioned table's index cannot be built CONCURRENTLY; with concurrent_index create = true the plan "+
				"builds it ON ONLY %s, each partition's CONCURRENTLY, then attaches them, unless partitions change in "+
				"the same migration or are partitioned in turn)", ident(t), ident(t))}
		}
		return []string{fmt.Sprintf("blocks writes to table %s while the index builds (CREATE INDEX without CONCURRENTLY)", ident(t))}
	}
	if strings.HasPrefix(c.Cmd, "DROP INDEX ") && partitioned(mt.T) {
		return []string{fmt.Sprintf("takes ACCESS EXCLUSIVE on table %s and each of its partitions (a partitioned "+
			"table's index cannot be dropped CONCURRENTLY)", ident(t))}
	}
	if !strings.HasPrefix(c.Cmd, "ALTER TABLE ") {
		return nil
	}
	var hs []string
	rewrite := func(why string) {
		hs = append(hs, fmt.Sprintf("rewrites table %s under ACCESS EXCLUSIVE (%s)", ident(t), why))
	}
	scan := func(lock, why string) {
		hs = append(hs, fmt.Sprintf("scans table %s under %s (%s)", ident(t), lock, why))
	}
	for _, sub := range mt.Changes {
		switch sub := sub.(type) {
		case *schema.DropColumn:
			id := catalog.ID(catalog.KindColumn, SchemaName(mt.T), t, sub.C.Name)
			if !generated(sub.C) && !p.readded[id] {
				hs = append(hs, fmt.Sprintf("drops column %s of table %s and the values it holds (a rename is a drop "+
					"and an add to a diff: write ALTER TABLE … RENAME COLUMN by hand instead)", ident(sub.C.Name), ident(t)))
			}
		case *schema.AddColumn:
			if why := p.rewritingColumn(sub.C); why != "" {
				rewrite(fmt.Sprintf("column %s added %s", ident(sub.C.Name), why))
			}
		case *schema.ModifyColumn:
			if sub.Change.Is(schema.ChangeType) && rewritesType(sub) {
				rewrite(fmt.Sprintf("column %s type change", ident(sub.To.Name)))
			}
			if sub.Change.Is(schema.ChangeNull) && !sub.To.Type.Null {
				scan("ACCESS EXCLUSIVE", fmt.Sprintf("SET NOT NULL on column %s", ident(sub.To.Name)))
			}
		case *schema.AddForeignKey:
			if !hasNotValid(sub.Extra) {
				scan("SHARE ROW EXCLUSIVE, blocking writes", fmt.Sprintf("foreign key %s added without NOT VALID", ident(sub.F.Symbol)))
			}
		case *schema.AddCheck:
			if !hasNotValid(sub.Extra) {
				scan("ACCESS EXCLUSIVE", fmt.Sprintf("check %s added without NOT VALID", ident(sub.C.Name)))
			}
		case *schema.ModifyCheck:
			scan("ACCESS EXCLUSIVE", fmt.Sprintf("check %s added without NOT VALID", ident(sub.To.Name)))
		case *schema.AddIndex:
			kind := "unique constraint"
			if isExclusion(sub.I) {
				kind = "exclusion constraint"
			}
			scan("ACCESS EXCLUSIVE", fmt.Sprintf("%s %s builds its index", kind, ident(sub.I.Name)))
		case *schema.AddPrimaryKey:
			scan("ACCESS EXCLUSIVE", "primary key builds its index")
		}
	}
	return hs
}

// exists reports whether t is in the current state (From; with no
// From, any ModifyTable's table is).
func (p *planner) exists(t *schema.Table) bool {
	return p.in.From == nil || findTable(p.in.From, SchemaName(t), t.Name) != nil
}

// volatileBuiltins are PostgreSQL's volatile functions that column
// defaults commonly call.
var volatileBuiltins = map[string]bool{
	"random": true, "random_normal": true, "clock_timestamp": true, "timeofday": true,
	"gen_random_uuid": true, "uuidv4": true, "uuidv7": true, "uuid_generate_v1": true,
	"uuid_generate_v1mc": true, "uuid_generate_v4": true, "nextval": true, "txid_current": true,
	"pg_current_xact_id": true,
}

var callRE = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_$]*)"?\s*\(`)

// rewritingColumn says why adding column c rewrites its table: a
// volatile default (each row needs its own value), an identity or serial
// column, or a stored generated column; "" when PostgreSQL (11+) stores
// the default once instead.
func (p *planner) rewritingColumn(c *schema.Column) string {
	if _, ok := c.Type.Type.(*postgres.SerialType); ok {
		return "as serial"
	}
	for _, a := range c.Attrs {
		switch a := a.(type) {
		case *postgres.Identity:
			return "as identity"
		case *schema.GeneratedExpr:
			if strings.EqualFold(a.Type, "STORED") || a.Type == "" {
				return "as a stored generated column"
			}
		}
	}
	x, ok := c.Default.(*schema.RawExpr)
	if !ok {
		return ""
	}
	for _, m := range callRE.FindAllStringSubmatch(x.X, -1) {
		name := strings.ToLower(m[1])
		if volatileBuiltins[name] || p.volatileFunction(name) {
			return "with a volatile default"
		}
	}
	return ""
}

// volatileFunction reports whether the desired state has a function of
// that name declared neither IMMUTABLE nor STABLE.
func (p *planner) volatileFunction(name string) bool {
	for _, o := range p.in.Des.Objects {
		if o.Kind != catalog.KindFunction || !strings.EqualFold(o.Name, name) || len(o.Create) == 0 {
			continue
		}
		head := o.Create[0]
		if i := strings.Index(head, " AS "); i >= 0 {
			head = head[:i]
		}
		up := strings.ToUpper(head)
		if !strings.Contains(up, "IMMUTABLE") && !strings.Contains(up, "STABLE") {
			return true
		}
	}
	return false
}

// rewritesType reports whether a column type change rewrites the table.
// PostgreSQL keeps the rows when the new type is binary coercible and
// needs no new check of the values: a longer or unbounded varchar,
// varchar to text, a wider or unconstrained numeric of the same scale,
// a longer varbit. Anything else, or an explicit USING, rewrites.
func rewritesType(c *schema.ModifyColumn) bool {
	if sqlxHas(c.Extra) {
		return true
	}
	switch from := c.From.Type.Type.(type) {
	case *schema.StringType:
		to, ok := c.To.Type.Type.(*schema.StringType)
		if !ok {
			return true
		}
		varchar := func(t string) bool { return t == "character varying" || t == "varchar" }
		switch {
		case varchar(from.T) && to.T == "text":
			return false
		case varchar(from.T) && varchar(to.T):
			return to.Size != 0 && (from.Size == 0 || to.Size < from.Size)
		case from.T == "text" && varchar(to.T) && to.Size == 0:
			return false
		}
		return true
	case *schema.DecimalType:
		to, ok := c.To.Type.Type.(*schema.DecimalType)
		if !ok || from.T != to.T {
			return true
		}
		if to.Precision == 0 && to.Scale == 0 {
			return false
		}
		return from.Precision == 0 || to.Scale != from.Scale || to.Precision < from.Precision
	case *postgres.BitType:
		to, ok := c.To.Type.Type.(*postgres.BitType)
		if !ok || from.T != to.T || !strings.Contains(from.T, "varying") {
			return true
		}
		return to.Len != 0 && (from.Len == 0 || to.Len < from.Len)
	}
	return true
}

// sqlxHas reports whether a column change carries a USING conversion.
func sqlxHas(extra []schema.Clause) bool {
	for _, e := range extra {
		if _, ok := e.(*postgres.ConvertUsing); ok {
			return true
		}
	}
	return false
}

// persistenceHazards marks SET LOGGED and SET UNLOGGED on a table that
// exists before the migration and stays: PostgreSQL rewrites it (and
// SET LOGGED writes it all to the WAL) under ACCESS EXCLUSIVE.
func (p *planner) persistenceHazards(nodes []*node) {
	for _, n := range nodes {
		var o *catalog.Object
		switch {
		case len(n.creates) > 0:
			o = p.in.Des.Objects[n.creates[0]]
		case len(n.removes) > 0:
			o = p.in.Cur.Objects[n.removes[0]]
		}
		if o == nil || o.Kind != catalog.KindUnlogged {
			continue
		}
		tid := catalog.ID(catalog.KindTable, o.Schema, o.Name) // a table attribute carries its table's name
		if _, ok := p.in.Cur.Objects[tid]; !ok || p.killed[tid] {
			continue
		}
		for _, c := range n.changes {
			c.Source = &ownStep{hazards: []string{fmt.Sprintf("rewrites table %s under ACCESS EXCLUSIVE (%s)",
				ident(tid.Name), c.Cmd[strings.LastIndex(c.Cmd, " SET ")+1:])}}
		}
	}
}
