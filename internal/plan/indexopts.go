package plan

import (
	"ariga.io/atlas/sql/schema"

	"tasks/internal/catalog"
)

// storageOnly handles an index that gains or loses all its storage
// parameters: planned by Atlas on one side and by the model on the other
// (Atlas's renderer cannot write them), it would be dropped and built
// again; ALTER INDEX … SET / RESET changes it in place, and Atlas's drop
// or add of it is withdrawn.
func (p *planner) storageOnly() {
	for id, c := range p.in.Cur.Objects {
		d := p.in.Des.Objects[id]
		if c.Kind != catalog.KindIndex || d == nil || d.Kind != catalog.KindIndex || c.Atlas == d.Atlas || d.Alter == nil {
			continue
		}
		stmts, ok := d.Alter(c)
		if !ok || len(stmts) == 0 || !p.withdrawIndex(c.Schema, c.Table, c.Name) {
			continue
		}
		p.act[id] = alter
		p.alterSQL[id] = stmts
	}
}

// withdrawIndex removes Atlas's add or drop of the index name of a
// table, reporting whether there was one.
func (p *planner) withdrawIndex(s, table, name string) bool {
	return p.withdraw(s, table, func(sub schema.Change) bool {
		switch c := sub.(type) {
		case *schema.AddIndex:
			return c.I.Name == name
		case *schema.DropIndex:
			return c.I.Name == name
		}
		return false
	})
}

// withdraw removes the sub-changes of Atlas's changes to one table that
// match, and the table change when none is left, reporting whether it
// removed any.
func (p *planner) withdraw(s, table string, match func(schema.Change) bool) bool {
	found := false
	out := p.in.Changes[:0:0]
	for _, ch := range p.in.Changes {
		mt, ok := ch.(*schema.ModifyTable)
		if !ok || mt.T.Name != table || SchemaName(mt.T) != s {
			out = append(out, ch)
			continue
		}
		var subs []schema.Change
		for _, sub := range mt.Changes {
			if match(sub) {
				found = true
				continue
			}
			subs = append(subs, sub)
		}
		if len(subs) > 0 {
			m := *mt
			m.Changes = subs
			out = append(out, &m)
		}
	}
	p.in.Changes = out
	return found
}
