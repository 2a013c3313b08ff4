package plan

import "ariga.io/atlas/sql/schema"

// changeKeys are the keys under which a node's sub-change may come back
// from Atlas's renderer: its own, and for a changed constraint those of
// the drop and the add Atlas writes it as.
func changeKeys(c schema.Change) []string {
	keys := []string{changeKey(c)}
	switch c := c.(type) {
	case *schema.ModifyIndex:
		keys = append(keys, changeKey(&schema.DropIndex{I: c.From}), changeKey(&schema.AddIndex{I: c.To}))
	case *schema.ModifyForeignKey:
		keys = append(keys, changeKey(&schema.DropForeignKey{F: c.From}), changeKey(&schema.AddForeignKey{F: c.To}))
	case *schema.ModifyCheck:
		keys = append(keys, changeKey(&schema.DropCheck{C: c.From}), changeKey(&schema.AddCheck{C: c.To}))
	}
	return keys
}

// withCheckChanges adds the CHECK constraints whose expression changed
// under the same name, which Atlas's diff (matching checks by name and
// comparing only their inheritance) leaves out: each is dropped and added
// again, two changes the graph places apart when it must.
func withCheckChanges(changes []schema.Change, from, to *schema.Realm) []schema.Change {
	if from == nil || to == nil {
		return changes
	}
	modify := map[string]*schema.ModifyTable{}
	for _, c := range changes {
		if mt, ok := c.(*schema.ModifyTable); ok {
			modify[SchemaName(mt.T)+"."+mt.T.Name] = mt
		}
	}
	for _, s := range to.Schemas {
		for _, tt := range s.Tables {
			ft := findTable(from, s.Name, tt.Name)
			if ft == nil {
				continue
			}
			for _, a := range tt.Attrs {
				c2, ok := a.(*schema.Check)
				if !ok || c2.Name == "" {
					continue
				}
				c1 := findCheck(ft, c2.Name)
				if c1 == nil || c1.Expr == c2.Expr {
					continue
				}
				mt := modify[s.Name+"."+tt.Name]
				if mt == nil {
					mt = &schema.ModifyTable{T: tt}
					modify[s.Name+"."+tt.Name] = mt
					changes = append(changes, mt)
				}
				if hasCheckChange(mt, c2.Name) {
					continue
				}
				mt.Changes = append(mt.Changes, &schema.DropCheck{C: c1}, &schema.AddCheck{C: c2})
			}
		}
	}
	return changes
}

func hasCheckChange(mt *schema.ModifyTable, name string) bool {
	for _, c := range mt.Changes {
		switch c := c.(type) {
		case *schema.ModifyCheck:
			if c.To.Name == name {
				return true
			}
		case *schema.DropCheck:
			if c.C.Name == name {
				return true
			}
		}
	}
	return false
}
