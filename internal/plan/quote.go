package plan

import (
	"fmt"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
)

// escapeNames doubles the double quotes inside the names Atlas's renderer
// will write, until restore is called. Its renderer encloses a name in
// double quotes as it is, so a name holding one ("odd ""t""") would come
// out as invalid SQL, or as SQL naming something else; every other byte
// inside quotes (spaces, semicolons, backslashes) is already written
// right. The names are changed only while Atlas renders: the planner
// matches Atlas's statements to its steps by the real names.
//
// Atlas's comment lines quote names Go's way (%q), which would show the
// doubled quotes backslash-escaped: restore rewrites them SQL's way.
func escapeNames(changes []schema.Change, realms ...*schema.Realm) (restore func([]*migrate.Change)) {
	e := &escaper{seen: map[*string]bool{}, tables: map[*schema.Table]bool{}}
	for _, r := range realms {
		if r == nil {
			continue
		}
		for _, s := range r.Schemas {
			for _, t := range s.Tables {
				e.table(t)
			}
		}
	}
	for _, c := range changes {
		e.change(c)
	}
	return func(planned []*migrate.Change) {
		var pairs []string
		for p, old := range e.old {
			pairs = append(pairs, fmt.Sprintf("%q", *p), `"`+*p+`"`)
			*p = old
		}
		if len(pairs) == 0 {
			return
		}
		r := strings.NewReplacer(pairs...)
		for _, c := range planned {
			c.Comment = r.Replace(c.Comment)
		}
	}
}

type escaper struct {
	seen   map[*string]bool
	tables map[*schema.Table]bool // a foreign key leads back to its table
	old    map[*string]string
}

func (e *escaper) name(p *string) {
	if p == nil || e.seen[p] {
		return
	}
	e.seen[p] = true
	if !strings.Contains(*p, `"`) {
		return
	}
	if e.old == nil {
		e.old = map[*string]string{}
	}
	e.old[p] = *p
	*p = strings.ReplaceAll(*p, `"`, `""`)
}

func (e *escaper) table(t *schema.Table) {
	if t == nil || e.tables[t] {
		return
	}
	e.tables[t] = true
	e.name(&t.Name)
	if t.Schema != nil {
		e.name(&t.Schema.Name)
	}
	for _, c := range t.Columns {
		e.column(c)
	}
	for _, i := range t.Indexes {
		e.index(i)
	}
	e.index(t.PrimaryKey)
	for _, f := range t.ForeignKeys {
		e.fk(f)
	}
	for _, a := range t.Attrs {
		if c, ok := a.(*schema.Check); ok {
			e.name(&c.Name)
		}
	}
}

func (e *escaper) column(c *schema.Column) {
	if c != nil {
		e.name(&c.Name)
	}
}

func (e *escaper) index(i *schema.Index) {
	if i == nil {
		return
	}
	e.name(&i.Name)
	for _, p := range i.Parts {
		e.column(p.C)
	}
}

func (e *escaper) fk(f *schema.ForeignKey) {
	if f == nil {
		return
	}
	e.name(&f.Symbol)
	e.table(f.Table)
	e.table(f.RefTable)
	for _, c := range f.Columns {
		e.column(c)
	}
	for _, c := range f.RefColumns {
		e.column(c)
	}
}

// change escapes the names of a change and of what it holds, also the
// copies the planner made (a column without its default).
func (e *escaper) change(c schema.Change) {
	switch c := c.(type) {
	case *schema.AddTable:
		e.table(c.T)
	case *schema.DropTable:
		e.table(c.T)
	case *schema.ModifyTable:
		e.table(c.T)
		for _, s := range c.Changes {
			e.change(s)
		}
	case *schema.AddColumn:
		e.column(c.C)
	case *schema.DropColumn:
		e.column(c.C)
	case *schema.ModifyColumn:
		e.column(c.From)
		e.column(c.To)
	case *schema.RenameColumn:
		e.column(c.From)
		e.column(c.To)
	case *schema.AddIndex:
		e.index(c.I)
	case *schema.DropIndex:
		e.index(c.I)
	case *schema.ModifyIndex:
		e.index(c.From)
		e.index(c.To)
	case *schema.RenameIndex:
		e.index(c.From)
		e.index(c.To)
	case *schema.AddPrimaryKey:
		e.index(c.P)
	case *schema.DropPrimaryKey:
		e.index(c.P)
	case *schema.ModifyPrimaryKey:
		e.index(c.From)
		e.index(c.To)
	case *schema.AddForeignKey:
		e.fk(c.F)
	case *schema.DropForeignKey:
		e.fk(c.F)
	case *schema.ModifyForeignKey:
		e.fk(c.From)
		e.fk(c.To)
	case *schema.AddCheck:
		e.name(&c.C.Name)
	case *schema.DropCheck:
		e.name(&c.C.Name)
	case *schema.ModifyCheck:
		e.name(&c.From.Name)
		e.name(&c.To.Name)
	}
}
