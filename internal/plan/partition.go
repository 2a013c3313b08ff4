package plan

import (
	"fmt"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"

	"tasks/internal/catalog"
)

// ownStep is the Source of statements the planner writes itself that
// run outside a transaction or carry hazards on a table that serves
// traffic: a partition's create, drop or move, an index of the model's
// built on an existing table (indexes.go).
type ownStep struct {
	schema.Change // nil: the statement is the model's
	noTx          bool
	hazards       []string
}

// partitionSteps gives each partition change's statements the locks
// they take on an existing parent. With Online.ConcurrentDrop, a
// partition of a parent that stays is detached CONCURRENTLY (own
// transaction-less file) before it is dropped: DROP TABLE on a partition
// holds ACCESS EXCLUSIVE on its parent, DETACH … CONCURRENTLY only SHARE
// UPDATE EXCLUSIVE, and the DROP then touches a table no query reaches
// through the parent.
func (p *planner) partitionSteps(nodes []*node) {
	p.partitionedIndexesOnline(nodes)
	for _, n := range nodes {
		var cur, des *catalog.Object
		if len(n.removes) > 0 {
			cur = p.in.Cur.Objects[n.removes[0]]
		}
		if len(n.creates) > 0 {
			des = p.in.Des.Objects[n.creates[0]]
		}
		switch {
		case des != nil && des.Kind == catalog.KindPartition && cur != nil:
			p.movePartition(n, cur, des)
		case des != nil && des.Kind == catalog.KindPartition:
			p.createPartition(n, des)
		case cur != nil && cur.Kind == catalog.KindPartition:
			p.dropPartition(n, cur)
		}
	}
}

// liveParent returns the quoted parent of partition o and whether it
// exists before the migration and stays through it: only then do the
// partition's statements lock a table that serves traffic.
func (p *planner) liveParent(o *catalog.Object) (string, bool) {
	s, name, _, _ := o.Partition()
	ref := ident(name)
	for _, k := range []catalog.Kind{catalog.KindTable, catalog.KindPartition} {
		id := catalog.ID(k, s, name)
		if _, ok := p.in.Cur.Objects[id]; ok {
			return ref, !p.killed[id]
		}
	}
	return ref, false
}

// defaultPartition returns the quoted default partition of o's parent
// in the current state, "" when it has none (or o is it).
func (p *planner) defaultPartition(o *catalog.Object) string {
	ps, parent, _, _ := o.Partition()
	for _, id := range p.in.Cur.IDs() {
		c := p.in.Cur.Objects[id]
		if s, name, bound, ok := c.Partition(); ok && s == ps && name == parent && bound == "DEFAULT" && c.ID != o.ID {
			return ident(c.Name)
		}
	}
	return ""
}

func (p *planner) createPartition(n *node, o *catalog.Object) {
	parent, live := p.liveParent(o)
	if !live {
		return
	}
	hs := []string{fmt.Sprintf("takes ACCESS EXCLUSIVE on table %s, blocking its reads and writes, while partition %s "+
		"is created (CREATE TABLE … PARTITION OF)", parent, ident(o.Name))}
	if d := p.defaultPartition(o); d != "" {
		hs = append(hs, fmt.Sprintf("scans default partition %s under ACCESS EXCLUSIVE for rows that belong to the new "+
			"partition (and fails if it finds any: move them first)", d))
	}
	setSteps(n.changes, &ownStep{hazards: hs})
}

func (p *planner) dropPartition(n *node, o *catalog.Object) {
	parent, live := p.liveParent(o)
	if !live {
		return
	}
	def := p.defaultPartition(o)
	if p.in.Online.ConcurrentDrop && def == "" {
		// (PostgreSQL detaches no partition concurrently from a parent
		// that has a default partition.)
		ps, pname, _, _ := o.Partition()
		detach := &migrate.Change{Cmd: "ALTER TABLE " + p.in.Des.Qualify(ps, pname) + " DETACH PARTITION " +
			p.in.Des.Qualify(o.Schema, o.Name) + " CONCURRENTLY", Comment: fmt.Sprintf("detach partition %s", ident(o.Name))}
		detach.Source = &ownStep{noTx: true}
		if len(n.changes) > 0 {
			n.changes[0].Comment = fmt.Sprintf("drop detached table %s", ident(o.Name))
			n.changes[0].Source = &ownStep{hazards: []string{rowsLost(o)}}
		}
		n.changes = append([]*migrate.Change{detach}, n.changes...)
		return
	}
	why := "with concurrent_index drop = true it is detached CONCURRENTLY first"
	if def != "" {
		why = fmt.Sprintf("PostgreSQL detaches no partition CONCURRENTLY while default partition %s exists", def)
	}
	setSteps(n.changes, &ownStep{hazards: []string{fmt.Sprintf("takes ACCESS EXCLUSIVE on table %s, blocking "+
		"its reads and writes, to drop partition %s (%s)", parent, ident(o.Name), why), rowsLost(o)}})
}

// rowsLost is the hazard of dropping partition o.
func rowsLost(o *catalog.Object) string {
	return fmt.Sprintf("drops partition %s and every row it holds", ident(o.Name))
}

// movePartition marks the DETACH and ATTACH of a partition whose bound
// or parent changes.
func (p *planner) movePartition(n *node, cur, des *catalog.Object) {
	for _, c := range n.changes {
		switch {
		case strings.Contains(c.Cmd, " DETACH PARTITION "):
			if parent, live := p.liveParent(cur); live {
				c.Source = &ownStep{hazards: []string{fmt.Sprintf("takes ACCESS EXCLUSIVE on table %s, "+
					"blocking its reads and writes (DETACH PARTITION without CONCURRENTLY)", parent)}}
			}
		case strings.Contains(c.Cmd, " ATTACH PARTITION "):
			parent, live := p.liveParent(des)
			if !live {
				continue
			}
			hs := []string{fmt.Sprintf("scans partition %s under ACCESS EXCLUSIVE to prove its rows fit the bound, "+
				"unless a validated CHECK constraint on it implies the bound; table %s is held under SHARE UPDATE "+
				"EXCLUSIVE meanwhile (writes go on)", ident(des.Name), parent)}
			if d := p.defaultPartition(des); d != "" {
				hs = append(hs, fmt.Sprintf("scans default partition %s for rows of the new bound", d))
			}
			c.Source = &ownStep{hazards: hs}
		}
	}
}

func setSteps(cs []*migrate.Change, s *ownStep) {
	for _, c := range cs {
		c.Source = s
	}
}

// markOwn is mark's reading of a ownStep.
func markOwn(c *migrate.Change) (*Step, bool) {
	ps, ok := c.Source.(*ownStep)
	if !ok {
		return nil, false
	}
	return &Step{NoTx: ps.noTx, Hazards: ps.hazards}, true
}

// plainOnPartitioned takes Atlas's CONCURRENTLY marks (concurrent_index)
// off the index changes of partitioned tables: PostgreSQL builds and
// drops a partitioned table's index only plainly, and the hazard then
// says so (hazards).
func plainOnPartitioned(changes []schema.Change) []schema.Change {
	for _, c := range changes {
		mt, ok := c.(*schema.ModifyTable)
		if !ok || !partitioned(mt.T) {
			continue
		}
		for _, sub := range mt.Changes {
			switch sub := sub.(type) {
			case *schema.AddIndex:
				sub.Extra = withoutConcurrently(sub.Extra)
			case *schema.DropIndex:
				sub.Extra = withoutConcurrently(sub.Extra)
			}
		}
	}
	return changes
}

func withoutConcurrently(extra []schema.Clause) []schema.Clause {
	var out []schema.Clause
	for _, e := range extra {
		if _, ok := e.(*postgres.Concurrently); !ok {
			out = append(out, e)
		}
	}
	return out
}

// partitionedIndexesOnline builds, with Online.ConcurrentCreate, a new
// index of an existing partitioned table the way PostgreSQL allows
// without blocking writes for the build: the parent's index ON ONLY the
// parent (invalid, no build), each partition's index CONCURRENTLY under
// the name and definition PostgreSQL gave it in the desired state, then
// each attached to the parent's, which is valid once all are. Only when
// every partition is a leaf that the migration leaves alone: otherwise
// the index is built plainly, its hazard saying so.
func (p *planner) partitionedIndexesOnline(nodes []*node) {
	if !p.in.Online.ConcurrentCreate {
		return
	}
	for _, n := range nodes {
		if len(n.atlas) == 0 {
			continue
		}
		var out []*migrate.Change
		changed := false
		for _, c := range n.changes {
			if steps := p.indexByPartition(c); steps != nil {
				out = append(out, steps...)
				changed = true
				continue
			}
			out = append(out, c)
		}
		if changed {
			n.changes = out
		}
	}
}

func (p *planner) indexByPartition(c *migrate.Change) []*migrate.Change {
	mt, ok := c.Source.(*schema.ModifyTable)
	if !ok || !partitioned(mt.T) || !p.exists(mt.T) ||
		!(strings.HasPrefix(c.Cmd, "CREATE INDEX ") || strings.HasPrefix(c.Cmd, "CREATE UNIQUE INDEX ")) {
		return nil
	}
	var idx *schema.Index
	for _, sub := range mt.Changes {
		if a, ok := sub.(*schema.AddIndex); ok && strings.Contains(c.Cmd, " INDEX "+ident(a.I.Name)+" ON ") {
			idx = a.I
		}
	}
	ref := p.tableRef(mt.T)
	only := strings.Replace(c.Cmd, " ON "+ref+" ", " ON ONLY "+ref+" ", 1)
	if idx == nil || only == c.Cmd {
		return nil
	}
	s := SchemaName(mt.T)
	of := func(o *catalog.Object) bool {
		ps, parent, _, ok := o.Partition()
		return ok && ps == s && parent == mt.T.Name
	}
	for _, id := range p.in.Cur.IDs() {
		if of(p.in.Cur.Objects[id]) && p.act[id] != none {
			return nil // a partition dropped or moved meanwhile
		}
	}
	var parts []*catalog.Object
	for _, id := range p.in.Des.IDs() {
		o := p.in.Des.Objects[id]
		if !of(o) {
			continue
		}
		if o.HasPartitionKey() || p.act[id] != none || p.in.Cur.Objects[id] == nil {
			return nil
		}
		parts = append(parts, o)
	}
	if len(parts) == 0 {
		return nil
	}
	out := []*migrate.Change{{Cmd: only, Comment: c.Comment, Source: &ownStep{}}}
	var attach []*migrate.Change
	for _, o := range parts {
		name, create, ok := o.PartitionIndex(idx.Name)
		if !ok {
			return nil
		}
		out = append(out, &migrate.Change{Cmd: strings.Replace(create, "INDEX ", "INDEX CONCURRENTLY ", 1),
			Comment: fmt.Sprintf("build the index of partition %s", ident(o.Name)), Source: &ownStep{noTx: true}})
		attach = append(attach, &migrate.Change{Source: &ownStep{},
			Cmd: "ALTER INDEX " + p.in.Des.Qualify(s, idx.Name) + " ATTACH PARTITION " + p.in.Des.Qualify(o.Schema, name)})
	}
	attach[0].Comment = fmt.Sprintf("attach the partitions' indexes to index %s", ident(idx.Name))
	return append(out, attach...)
}
