package plan

import (
	"context"
	"fmt"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
)

// Online asks for plans that a database serving traffic can take: the
// changes to tables that already exist are written in the shapes that
// hold the weakest lock PostgreSQL offers for them. A table created in
// the same migration is empty and needs none of it.
type Online struct {
	// ConcurrentCreate and ConcurrentDrop build and drop indexes
	// CONCURRENTLY. Atlas's differ marks the indexes it diffs itself
	// (the env's concurrent_index block); these also mark the ones the
	// planner re-creates around a dependency.
	ConcurrentCreate, ConcurrentDrop bool
	// Constraints adds foreign keys and checks NOT VALID and validates
	// them in a statement of their own; sets NOT NULL through a
	// validated check (PostgreSQL 12+ then skips its scan); and adds
	// unique constraints and primary keys through a unique index built
	// concurrently, then ADD CONSTRAINT … USING INDEX.
	Constraints bool
}

// Step is the Source of every statement Plan returns: the table change
// the statement came from (nil for other objects), how it must run, and
// the hazard it carries on a live database.
type Step struct {
	schema.Change
	// NoTx marks a statement that must run outside a transaction block
	// (CREATE/DROP INDEX CONCURRENTLY) or must not share a transaction
	// with the strong locks of others (VALIDATE CONSTRAINT and the steps
	// of an online SET NOT NULL): it belongs in a file marked
	// `-- atlas:txmode none`.
	NoTx bool
	// Hazards name, one line each, what the statement does to a table
	// serving traffic: a rewrite, a scan under a strong lock, writes
	// blocked.
	Hazards []string
}

// StepOf returns how the planned statement c must run.
func StepOf(c *migrate.Change) Step {
	if s, ok := c.Source.(*Step); ok {
		return *s
	}
	return Step{Change: c.Source}
}

// autocommit is the Source of the statements the online shapes add that
// must each run in a transaction of their own.
type autocommit struct{ schema.Change }

// online rewrites the steps of Atlas's changes to existing tables into
// their online shapes, each step re-rendered by Atlas's planner with
// Atlas's own markers (Concurrently, NotValid, AddUniqueConstraint,
// AddPKConstraint) where it has one.
func (p *planner) online(ctx context.Context, nodes []*node) error {
	o := p.in.Online
	if !o.ConcurrentCreate && !o.ConcurrentDrop && !o.Constraints {
		return nil
	}
	for _, n := range nodes {
		if len(n.atlas) == 0 || !n.atlas[0].sub || !p.exists(n.atlas[0].table) || partitioned(n.atlas[0].table) {
			continue
		}
		if err := p.onlineNode(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// onlineNode rewrites one node of sub-changes of one existing table:
// what stays in its ALTER TABLE, then the validations, the online SET
// NOT NULL steps, the concurrent unique index builds and the ALTER TABLE
// that turns them into constraints.
func (p *planner) onlineNode(ctx context.Context, n *node) error {
	o := p.in.Online
	t := n.atlas[0].table
	var (
		keep     []schema.Change
		validate []string
		notNull  []*schema.ModifyColumn
		indexes  []onlineIndex   // unique constraints and primary key
		swap     []schema.Change // changed indexes: build, drop, rename
		drops    []*schema.DropIndex
		changed  bool
	)
	notValid := func(extra []schema.Clause) []schema.Clause {
		return append(extra, &postgres.NotValid{})
	}
	for _, a := range n.atlas {
		switch c := a.top.(type) {
		case *schema.AddIndex:
			_, u := uniqueConstraint(c.I)
			switch {
			case u && o.Constraints:
				// (Deferrable ones are the model's, never Atlas's.)
				indexes = append(indexes, onlineIndex{idx: c.I})
				changed = true
				continue
			case !u && !isExclusion(c.I) && o.ConcurrentCreate && !concurrent(c.Extra):
				c.Extra = append(c.Extra, &postgres.Concurrently{})
				changed = true
			}
		case *schema.DropIndex:
			if _, u := uniqueConstraint(c.I); !u && !isExclusion(c.I) && o.ConcurrentDrop && !concurrent(c.Extra) {
				c.Extra = append(c.Extra, &postgres.Concurrently{})
				changed = true
			}
			if concurrent(c.Extra) {
				drops = append(drops, c)
				continue
			}
		case *schema.ModifyIndex:
			// A plain index rebuilt concurrently (Atlas's differ marks
			// only added and dropped ones): the new one is built under a
			// name of its own before the old one goes, then takes its
			// name, so that queries never run without an index for as
			// long as the build takes.
			_, fu := uniqueConstraint(c.From)
			_, tu := uniqueConstraint(c.To)
			if !fu && !tu && !isExclusion(c.From) && !isExclusion(c.To) && o.ConcurrentCreate && o.ConcurrentDrop &&
				c.Change&^schema.ChangeComment != schema.NoChange {
				conc := []schema.Clause{&postgres.Concurrently{}}
				if c.From.Name != c.To.Name || c.To.Name == "" {
					keep = append(keep, &schema.DropIndex{I: c.From, Extra: conc}, &schema.AddIndex{I: c.To, Extra: conc})
				} else {
					tmp := *c.To
					tmp.Name = p.tempIndexName(t, c.To.Name)
					swap = append(swap, &schema.AddIndex{I: &tmp, Extra: conc}, &schema.DropIndex{I: c.From, Extra: conc},
						&schema.RenameIndex{From: &tmp, To: c.To})
				}
				changed = true
				continue
			}
		case *schema.AddPrimaryKey:
			if o.Constraints {
				pk := *c.P
				if pk.Name == "" {
					pk.Name = t.Name + "_pkey"
				}
				indexes = append(indexes, onlineIndex{idx: &pk, pk: true})
				changed = true
				continue
			}
		case *schema.AddForeignKey:
			if o.Constraints && c.F.Symbol != "" && !hasNotValid(c.Extra) {
				c.Extra = notValid(c.Extra)
				validate = append(validate, c.F.Symbol)
				changed = true
			}
		case *schema.AddCheck:
			if o.Constraints && c.C.Name != "" && !hasNotValid(c.Extra) {
				c.Extra = notValid(c.Extra)
				validate = append(validate, c.C.Name)
				changed = true
			}
		case *schema.ModifyForeignKey:
			if o.Constraints && c.To.Symbol != "" {
				keep = append(keep, &schema.DropForeignKey{F: c.From},
					&schema.AddForeignKey{F: c.To, Extra: notValid(nil)})
				validate = append(validate, c.To.Symbol)
				changed = true
				continue
			}
		case *schema.ModifyCheck:
			if o.Constraints && c.To.Name != "" && c.From.Name == c.To.Name {
				keep = append(keep, &schema.DropCheck{C: c.From}, &schema.AddCheck{C: c.To, Extra: notValid(nil)})
				validate = append(validate, c.To.Name)
				changed = true
				continue
			}
		case *schema.ModifyColumn:
			if o.Constraints && c.Change.Is(schema.ChangeNull) && !c.To.Type.Null {
				notNull = append(notNull, c)
				changed = true
				rest := c.Change &^ schema.ChangeNull
				if rest == schema.NoChange {
					continue
				}
				keep = append(keep, &schema.ModifyColumn{From: c.From, To: c.To, Change: rest, Extra: c.Extra})
				continue
			}
		}
		keep = append(keep, a.top)
	}
	// An index replaced by another one of a new name (Ent names indexes
	// by their columns) is dropped after the new one is built, so that
	// queries keep an index meanwhile: Atlas's planner drops first. Not
	// when a dropped column or a new index of the same name needs the
	// drop first.
	late, adds := len(drops) > 0, false
	for _, c := range keep {
		switch c := c.(type) {
		case *schema.DropColumn:
			late = false
		case *schema.AddIndex:
			adds = true
			for _, d := range drops {
				if d.I.Name == c.I.Name {
					late = false
				}
			}
		}
	}
	if late = late && adds; late {
		changed = true
	} else {
		for _, d := range drops {
			keep = append(keep, d)
		}
		drops = nil
	}
	if !changed {
		return nil
	}
	var out []*migrate.Change
	if len(keep) > 0 {
		cs, err := p.render(ctx, &schema.ModifyTable{T: t, Changes: keep})
		if err != nil {
			return err
		}
		out = append(out, cs...)
	}
	if len(drops) > 0 {
		ds := make([]schema.Change, len(drops))
		for i, d := range drops {
			ds[i] = d
		}
		cs, err := p.render(ctx, &schema.ModifyTable{T: t, Changes: ds})
		if err != nil {
			return err
		}
		out = append(out, cs...)
	}
	for _, c := range swap {
		// One statement at a time: Atlas's planner orders the changes
		// of one ALTER by kind, dropping indexes before creating them.
		cs, err := p.render(ctx, &schema.ModifyTable{T: t, Changes: []schema.Change{c}})
		if err != nil {
			return err
		}
		out = append(out, cs...)
	}
	for _, name := range validate {
		out = append(out, p.validate(t, name))
	}
	for _, c := range notNull {
		steps, err := p.setNotNull(ctx, t, c)
		if err != nil {
			return err
		}
		out = append(out, steps...)
	}
	if len(indexes) > 0 {
		var using []schema.Change
		for _, ix := range indexes {
			idx := ix.idx
			plain := *idx
			plain.Unique = true
			plain.Attrs = nil
			for _, a := range idx.Attrs {
				if _, ok := a.(*postgres.Constraint); !ok {
					plain.Attrs = append(plain.Attrs, a)
				}
			}
			cs, err := p.render(ctx, &schema.ModifyTable{T: t, Changes: []schema.Change{
				&schema.AddIndex{I: &plain, Extra: []schema.Clause{&postgres.Concurrently{}}},
			}})
			if err != nil {
				return err
			}
			out = append(out, cs...)
			if ix.pk {
				using = append(using, &postgres.AddPKConstraint{Name: idx.Name, Using: &plain})
			} else {
				using = append(using, &postgres.AddUniqueConstraint{Name: idx.Name, Using: &plain})
			}
		}
		cs, err := p.render(ctx, &schema.ModifyTable{T: t, Changes: using})
		if err != nil {
			return err
		}
		out = append(out, cs...)
	}
	n.changes = out
	return nil
}

// onlineIndex is a unique constraint or primary key added through a
// unique index built concurrently.
type onlineIndex struct {
	idx *schema.Index
	pk  bool
}

// render plans one Atlas change on its own.
func (p *planner) render(ctx context.Context, c schema.Change) ([]*migrate.Change, error) {
	plan, err := p.in.Planner.PlanChanges(ctx, "online", []schema.Change{c}, p.in.PlanOptions...)
	if err != nil {
		return nil, fmt.Errorf("plan: online shape: %w", err)
	}
	return plan.Changes, nil
}

// validate is ALTER TABLE … VALIDATE CONSTRAINT, which scans the table
// under SHARE UPDATE EXCLUSIVE only: reads and writes go on.
func (p *planner) validate(t *schema.Table, name string) *migrate.Change {
	return &migrate.Change{
		Cmd:     fmt.Sprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s", p.tableRef(t), ident(name)),
		Comment: fmt.Sprintf("validate constraint %s on table: %s", ident(name), ident(t.Name)),
		Source:  &autocommit{},
	}
}

// setNotNull is SET NOT NULL without a scan under ACCESS EXCLUSIVE: a
// NOT VALID check, validated under a weak lock, proves the column has
// no NULL, so that SET NOT NULL (PostgreSQL 12+) skips its scan; the
// check then goes.
func (p *planner) setNotNull(ctx context.Context, t *schema.Table, c *schema.ModifyColumn) ([]*migrate.Change, error) {
	chk := &schema.Check{Name: p.tempCheckName(t, c.To.Name), Expr: ident(c.To.Name) + " IS NOT NULL"}
	from := *c.From
	from.Type = &schema.ColumnType{Type: c.To.Type.Type, Raw: c.To.Type.Raw, Null: true}
	var out []*migrate.Change
	for _, ch := range []schema.Change{
		&schema.AddCheck{C: chk, Extra: []schema.Clause{&postgres.NotValid{}}},
		nil, // VALIDATE
		&schema.ModifyColumn{From: &from, To: c.To, Change: schema.ChangeNull},
		&schema.DropCheck{C: chk},
	} {
		if ch == nil {
			out = append(out, p.validate(t, chk.Name))
			continue
		}
		cs, err := p.render(ctx, &schema.ModifyTable{T: t, Changes: []schema.Change{ch}})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			c.Source = &autocommit{Change: c.Source}
		}
		out = append(out, cs...)
	}
	out[0].Comment = fmt.Sprintf("set column %s of table: %s NOT NULL through a validated check", ident(c.To.Name), ident(t.Name))
	for _, c := range out[1:] {
		c.Comment = ""
	}
	return out, nil
}

// tempCheckName names the check of an online SET NOT NULL: not a name
// the table uses, nor PostgreSQL 18's own <table>_<column>_not_null.
func (p *planner) tempCheckName(t *schema.Table, col string) string {
	taken := map[string]bool{}
	for _, tt := range []*schema.Table{t, findTable(p.in.To, SchemaName(t), t.Name)} {
		if tt == nil {
			continue
		}
		for _, a := range tt.Attrs {
			if c, ok := a.(*schema.Check); ok {
				taken[c.Name] = true
			}
		}
		for _, f := range tt.ForeignKeys {
			taken[f.Symbol] = true
		}
		for _, i := range tt.Indexes {
			taken[i.Name] = true
		}
	}
	base := trunc(t.Name+"_"+col, 63-len("_nn_check")) + "_nn_check"
	name := base
	for i := 2; taken[name]; i++ {
		suffix := fmt.Sprintf("%d", i)
		name = trunc(base, 63-len(suffix)) + suffix
	}
	return name
}

// tempIndexName names the new build of a changed index until the old
// one is dropped: a name no index or constraint of the table's schema
// uses, before or after the change.
func (p *planner) tempIndexName(t *schema.Table, name string) string {
	taken := map[string]bool{}
	for _, r := range []*schema.Realm{p.in.From, p.in.To} {
		if r == nil {
			continue
		}
		for _, s := range r.Schemas {
			if s.Name != SchemaName(t) {
				continue
			}
			for _, tt := range s.Tables {
				taken[tt.Name] = true
				for _, i := range tt.Indexes {
					taken[i.Name] = true
				}
				for _, a := range tt.Attrs {
					if c, ok := a.(*schema.Check); ok {
						taken[c.Name] = true
					}
				}
				for _, f := range tt.ForeignKeys {
					taken[f.Symbol] = true
				}
			}
		}
	}
	base := trunc(name, 63-len("_new")) + "_new"
	tmp := base
	for i := 2; taken[tmp]; i++ {
		suffix := fmt.Sprintf("%d", i)
		tmp = trunc(base, 63-len(suffix)) + suffix
	}
	return tmp
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n-- // not inside a UTF-8 sequence
	}
	return s[:n]
}

// tableRef names t as Atlas's statements do: unqualified under an empty
// schema qualifier, else with its schema.
func (p *planner) tableRef(t *schema.Table) string {
	var opts migrate.PlanOptions
	for _, o := range p.in.PlanOptions {
		o(&opts)
	}
	switch {
	case opts.SchemaQualifier != nil && *opts.SchemaQualifier != "":
		return ident(*opts.SchemaQualifier) + "." + ident(t.Name)
	case opts.SchemaQualifier != nil, t.Schema == nil || t.Schema.Name == "":
		return ident(t.Name)
	}
	return ident(t.Schema.Name) + "." + ident(t.Name)
}

func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func uniqueConstraint(i *schema.Index) (*postgres.Constraint, bool) {
	for _, a := range i.Attrs {
		if c, ok := a.(*postgres.Constraint); ok && c.IsUnique() {
			return c, true
		}
	}
	return nil, false
}

func isExclusion(i *schema.Index) bool {
	for _, a := range i.Attrs {
		if c, ok := a.(*postgres.Constraint); ok && c.IsExclude() {
			return true
		}
	}
	return false
}

func concurrent(extra []schema.Clause) bool {
	for _, e := range extra {
		if _, ok := e.(*postgres.Concurrently); ok {
			return true
		}
	}
	return false
}

func hasNotValid(extra []schema.Clause) bool {
	for _, e := range extra {
		if _, ok := e.(*postgres.NotValid); ok {
			return true
		}
	}
	return false
}

// partitioned reports whether t is a partitioned table, on which
// PostgreSQL builds no index concurrently and adds no constraint USING
// INDEX or foreign key NOT VALID: its changes stay plain.
func partitioned(t *schema.Table) bool {
	for _, a := range t.Attrs {
		if _, ok := a.(*postgres.Partition); ok {
			return true
		}
	}
	return false
}
