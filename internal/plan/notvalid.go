package plan

import (
	"strings"

	"ariga.io/atlas/sql/schema"

	"tasks/internal/catalog"
)

// validateLater turns a constraint that is NOT VALID in the current state
// and validated, otherwise equal, in the desired one into its own change:
// ALTER TABLE … VALIDATE CONSTRAINT, which checks the existing rows under
// a lock that lets reads and writes go on, instead of dropping the
// constraint and adding it again. Atlas's add of it is withdrawn.
func (p *planner) validateLater() {
	for id, c := range p.in.Cur.Objects {
		d := p.in.Des.Objects[id]
		if c.Kind != catalog.KindConstraint || c.Atlas || d == nil || !d.Atlas || d.Def == "" ||
			!strings.HasSuffix(c.Def, " NOT VALID") || strings.TrimSuffix(c.Def, " NOT VALID") != d.Def {
			continue
		}
		if !p.withdrawAdd(c.Schema, c.Table, c.Name) {
			continue
		}
		p.act[id] = alter
		p.alterSQL[id] = []string{"ALTER TABLE " + p.in.Des.Qualify(c.Schema, c.Table) + " VALIDATE CONSTRAINT " +
			catalog.QuoteIdent(c.Name)}
	}
}

// withdrawAdd removes Atlas's adding of the check or foreign key name of
// a table, reporting whether there was one.
func (p *planner) withdrawAdd(s, table, name string) bool {
	return p.withdraw(s, table, func(sub schema.Change) bool {
		switch c := sub.(type) {
		case *schema.AddCheck:
			return c.C.Name == name
		case *schema.AddForeignKey:
			return c.F.Symbol == name
		}
		return false
	})
}
