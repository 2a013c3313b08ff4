package plan

import (
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
)

// withoutIdentityAlters removes from Atlas's column changes the change of
// an identity that exists before and after: the model's identity object
// alters it in place with only the clauses that differ. Atlas's renderer
// would restate every option and add RESTART, which moves the sequence
// back to its start on a database holding rows: the next INSERT then
// collides with (or duplicates) an existing id.
func withoutIdentityAlters(changes []schema.Change) []schema.Change {
	out := changes[:0:0]
	for _, ch := range changes {
		mt, ok := ch.(*schema.ModifyTable)
		if !ok {
			out = append(out, ch)
			continue
		}
		var subs []schema.Change
		for _, sub := range mt.Changes {
			mc, ok := sub.(*schema.ModifyColumn)
			if ok && mc.Change.Is(schema.ChangeAttr) && hasIdentity(mc.From) && hasIdentity(mc.To) {
				c := *mc
				c.Change &^= schema.ChangeAttr
				if c.Change == schema.NoChange {
					continue
				}
				sub = &c
			}
			subs = append(subs, sub)
		}
		if len(subs) == 0 {
			continue
		}
		m := *mt
		m.Changes = subs
		out = append(out, &m)
	}
	return out
}

func hasIdentity(c *schema.Column) bool {
	for _, a := range c.Attrs {
		if _, ok := a.(*postgres.Identity); ok {
			return true
		}
	}
	return false
}
