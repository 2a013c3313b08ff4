// Package plan orders the changes between two catalog models into one
// migration that PostgreSQL accepts: every object created after what it
// needs, every object dropped before what it needs, and every object
// that a change invalidates (a function whose signature changes, a view
// over a column whose type changes, an index on a re-created function)
// dropped before and re-created after it, with its own dependents.
//
// Tables are diffed by Atlas (its changes come in as Input.Changes) and
// planned by Atlas's SQL renderer; this package places each of them in
// the same dependency graph as every other object, splitting one table's
// changes where the graph puts them apart. With Input.Online, changes to
// existing tables take their lock-safe shapes (online.go); every
// statement carries the hazards it brings to a live table (hazard.go).
package plan

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"

	"tasks/internal/catalog"
	"tasks/internal/sqltext"
)

// Input is the two states of one diff.
type Input struct {
	// Cur is the state the migration directory builds; Des the desired
	// one.
	Cur, Des *catalog.Model
	// Changes are Atlas's table changes from Cur's tables to Des's
	// (schema.AddTable, DropTable, ModifyTable).
	Changes []schema.Change
	// From and To are Atlas's view of the two states' tables, for the
	// changes this package adds when a table's index, check or default
	// must be re-created around a dependency.
	From, To *schema.Realm
	// Planner renders Atlas's changes (the PostgreSQL driver).
	Planner migrate.PlanApplier
	// PlanOptions are passed to Planner (e.g. an empty schema qualifier).
	PlanOptions []migrate.PlanOption
	// Online asks for lock-safe shapes on existing tables (online.go).
	Online Online
}

// Plan returns the statements of the migration from in.Cur to in.Des, in
// an order PostgreSQL accepts, or an error naming what cannot be planned.
// Each statement's Source is a *Step (see StepOf): how it must run and
// the hazard it carries.
func Plan(ctx context.Context, in Input) ([]*migrate.Change, error) {
	in.Changes = withCheckChanges(withoutIdentityAlters(plainOnPartitioned(in.Changes)), in.From, in.To)
	p := &planner{in: in}
	if err := p.actions(); err != nil {
		return nil, err
	}
	p.validateLater()
	p.storageOnly()
	if err := p.atlasChanges(); err != nil {
		return nil, err
	}
	if err := p.propagate(); err != nil {
		return nil, err
	}
	p.defaultACLsAround()
	nodes, err := p.nodes(ctx)
	if err != nil {
		return nil, err
	}
	if err := p.online(ctx, nodes); err != nil {
		return nil, err
	}
	p.partitionSteps(nodes)
	p.modelIndexes(nodes)
	p.persistenceHazards(nodes)
	deferOutsideTx(nodes)
	out, err := order(nodes, in.Cur, in.Des)
	if err != nil {
		return nil, err
	}
	return p.mark(out), nil
}

type action int

const (
	none action = iota
	create
	drop
	alter
	replace  // drop, then create
	recreate // gone with what it depended on: create again only
)

type planner struct {
	in  Input
	act map[catalog.ObjectID]action // non-Atlas objects
	// alterSQL holds in-place alter statements of objects with action alter.
	alterSQL map[catalog.ObjectID][]string
	// atlas are Atlas's changes, each sub-change of a ModifyTable on its
	// own (regrouped in nodes), plus the re-creations propagate adds.
	atlas []*atlasChange
	// killed are the IDs whose current form is gone during the
	// migration, for its dependents: dropped, re-created, or a column
	// whose type changes (propagate keeps those apart).
	killed map[catalog.ObjectID]bool
	// readded holds the columns an Atlas change drops and adds again;
	// retyped, those whose type it changes in place.
	readded, retyped map[catalog.ObjectID]bool
	// routines are the current state's routines that stay, for the
	// stale-data check (callers); built on first use.
	routines map[catalog.ObjectID]sqltext.Routine
}

// atlasChange is one Atlas change that touches one table, with the IDs
// it creates (desired form afterwards), removes (current form gone) and
// kills (object dropped or invalidated for its dependents).
type atlasChange struct {
	table   *schema.Table
	top     schema.Change // AddTable, DropTable, or the sub-change of a ModifyTable
	sub     bool          // top is a sub-change of a ModifyTable on table
	creates []catalog.ObjectID
	removes []catalog.ObjectID
	kills   []catalog.ObjectID
	// typeChange: the column keeps existing, but dependents must go.
	typeChange bool
	// free are dependencies of the objects it touches that it need not
	// wait for: a column default that other changes set apart (dropped
	// before its function goes, set again after it is back).
	free []catalog.ObjectID
}

// actions decides, for every object outside Atlas's tables, whether it
// is created, dropped, altered in place or dropped and re-created.
func (p *planner) actions() error {
	p.act = map[catalog.ObjectID]action{}
	p.alterSQL = map[catalog.ObjectID][]string{}
	for id, c := range p.in.Cur.Objects {
		if c.Atlas {
			continue
		}
		d, ok := p.in.Des.Objects[id]
		switch {
		case !ok || d.Atlas:
			p.act[id] = drop
		case c.Def == d.Def:
		case d.Refuse != nil && d.Refuse(c) != nil:
			// Neither in place nor by re-creating (an enum losing a
			// value; a type whose columns would go with it).
			return fmt.Errorf("plan: %w", d.Refuse(c))
		case d.Alter != nil:
			if stmts, ok := d.Alter(c); ok {
				p.act[id] = alter
				p.alterSQL[id] = stmts
			} else {
				p.act[id] = replace
			}
		default:
			p.act[id] = replace
		}
	}
	for id, d := range p.in.Des.Objects {
		if d.Atlas {
			continue
		}
		if c, ok := p.in.Cur.Objects[id]; !ok || c.Atlas {
			p.act[id] = create
		}
	}
	return nil
}

// defaultACLsAround resets every default privileges entry at the start
// of a migration that creates objects, and sets it again at the end
// (their rank puts them there), also the entries that do not change. An
// entry in force while an object is created grants on it what the
// desired state may not (schema.sql may create the object before the
// entry); created outside every entry, each object gets PostgreSQL's
// built-in privileges and then exactly the grants planned for it.
func (p *planner) defaultACLsAround() {
	if !p.createsObjects() {
		return
	}
	for id, c := range p.in.Cur.Objects {
		if c.Kind != catalog.KindDefaultACL || p.act[id] != none {
			continue
		}
		if _, ok := p.in.Des.Objects[id]; ok {
			p.act[id] = replace
		}
	}
}

// createsObjects reports whether the migration creates an object that
// default privileges apply to: a table (with the sequences of its
// identity and serial columns), a column that may bring a sequence, or
// a kind that takes default privileges.
func (p *planner) createsObjects() bool {
	for id, a := range p.act {
		if a == create || a == replace || a == recreate {
			if o := p.in.Des.Objects[id]; o != nil && o.Kind.Facts().DefaultACL {
				return true
			}
		}
	}
	for _, c := range p.in.Changes {
		switch c := c.(type) {
		case *schema.AddTable:
			return true
		case *schema.ModifyTable:
			for _, mc := range c.Changes {
				if _, ok := mc.(*schema.AddColumn); ok {
					return true
				}
			}
		}
	}
	return false
}

// atlasChanges splits Atlas's changes into single-table pieces and
// records which model objects each touches.
func (p *planner) atlasChanges() error {
	for _, ch := range p.in.Changes {
		switch c := ch.(type) {
		case *schema.AddTable:
			ids := p.tableIDs(p.in.Des, c.T)
			p.atlas = append(p.atlas, &atlasChange{table: c.T, top: c, creates: ids})
		case *schema.DropTable:
			ids := p.tableIDs(p.in.Cur, c.T)
			p.atlas = append(p.atlas, &atlasChange{table: c.T, top: c, removes: ids, kills: ids})
		case *schema.ModifyTable:
			for _, sub := range splitModify(c.Changes) {
				a := &atlasChange{table: c.T, top: sub, sub: true}
				p.touch(a, sub)
				p.atlas = append(p.atlas, a)
			}
		default:
			return fmt.Errorf("plan: unexpected table change %T", ch)
		}
	}
	return nil
}

// splitModify turns a changed foreign key into its drop and its add: the
// graph may need to place them apart (the drop before a referenced
// column's type changes, the add after it), which one sub-change that
// both kills and creates the key cannot be.
func splitModify(subs []schema.Change) []schema.Change {
	out := make([]schema.Change, 0, len(subs))
	for _, sub := range subs {
		if m, ok := sub.(*schema.ModifyForeignKey); ok {
			out = append(out, &schema.DropForeignKey{F: m.From}, &schema.AddForeignKey{F: m.To})
			continue
		}
		out = append(out, sub)
	}
	return out
}

// tableIDs are the model IDs of an Atlas table and everything Atlas
// creates or drops with it.
func (p *planner) tableIDs(m *catalog.Model, t *schema.Table) []catalog.ObjectID {
	s := SchemaName(t)
	tid := catalog.ID(catalog.KindTable, s, t.Name)
	ids := []catalog.ObjectID{tid}
	for _, id := range m.IDs() {
		o := m.Objects[id]
		if o.Atlas && o.Schema == s && o.Table == t.Name {
			ids = append(ids, id)
		}
	}
	return ids
}

// touch records the model objects one sub-change of a ModifyTable
// creates, removes and kills.
func (p *planner) touch(a *atlasChange, sub schema.Change) {
	s, t := SchemaName(a.table), a.table.Name
	col := func(name string) catalog.ObjectID { return catalog.ID(catalog.KindColumn, s, t, name) }
	idx := func(m *catalog.Model, name string) catalog.ObjectID {
		if name == "" {
			return catalog.ID(catalog.KindTable, s, t)
		}
		if id := catalog.ID(catalog.KindIndex, s, name); m.Objects[id] != nil {
			return id
		}
		return catalog.ID(catalog.KindConstraint, s, t, name)
	}
	con := func(name string) catalog.ObjectID { return catalog.ID(catalog.KindConstraint, s, t, name) }
	add := func(id catalog.ObjectID) { a.creates = append(a.creates, id) }
	kill := func(id catalog.ObjectID) { a.removes = append(a.removes, id); a.kills = append(a.kills, id) }
	switch c := sub.(type) {
	case *schema.AddColumn:
		add(col(c.C.Name))
	case *schema.DropColumn:
		kill(col(c.C.Name))
	case *schema.ModifyColumn:
		id := col(c.To.Name)
		if c.Change == schema.ChangeNull {
			// Its nullability alone: what uses the column (a view) needs
			// it to exist, not to be set, so nothing waits for this.
			break
		}
		add(id)
		a.removes = append(a.removes, id)
		if c.Change.Is(schema.ChangeType) {
			a.kills = append(a.kills, id)
			a.typeChange = true
		}
	case *schema.RenameColumn:
		kill(col(c.From.Name))
		add(col(c.To.Name))
	case *schema.AddIndex:
		add(idx(p.in.Des, c.I.Name))
	case *schema.DropIndex:
		kill(idx(p.in.Cur, c.I.Name))
	case *schema.ModifyIndex:
		kill(idx(p.in.Cur, c.From.Name))
		add(idx(p.in.Des, c.To.Name))
	case *schema.RenameIndex:
		kill(idx(p.in.Cur, c.From.Name))
		add(idx(p.in.Des, c.To.Name))
	case *schema.AddPrimaryKey:
		add(idx(p.in.Des, c.P.Name))
	case *schema.DropPrimaryKey:
		kill(idx(p.in.Cur, c.P.Name))
	case *schema.ModifyPrimaryKey:
		kill(idx(p.in.Cur, c.From.Name))
		add(idx(p.in.Des, c.To.Name))
	case *schema.AddForeignKey:
		add(con(c.F.Symbol))
	case *schema.DropForeignKey:
		kill(con(c.F.Symbol))
	case *schema.ModifyForeignKey:
		kill(con(c.From.Symbol))
		add(con(c.To.Symbol))
	case *schema.AddCheck:
		add(con(c.C.Name))
	case *schema.DropCheck:
		kill(con(c.C.Name))
	case *schema.ModifyCheck:
		kill(con(c.From.Name))
		add(con(c.To.Name))
	default:
		// Table attributes (comments, options): the table itself.
		id := catalog.ID(catalog.KindTable, s, t)
		add(id)
		a.removes = append(a.removes, id)
	}
}

// propagate finds every object that must go because something it needs
// goes: dependents of dropped or re-created objects, and of columns whose
// type changes. An object that depends on the gone one only through an
// automatic dependency (an index on a dropped table) goes with it and is
// re-created if the desired state has it; one that depends normally (a
// view, a trigger's function, an index expression) is dropped first and
// re-created after.
func (p *planner) propagate() error {
	p.killed = map[catalog.ObjectID]bool{}
	typeOnly := map[catalog.ObjectID]bool{}
	p.retyped = typeOnly
	for id, a := range p.act {
		if a == drop || a == replace {
			p.killed[id] = true
		}
	}
	atlasKilled := map[catalog.ObjectID]bool{}
	p.readded = map[catalog.ObjectID]bool{}
	for _, a := range p.atlas {
		for _, id := range a.kills {
			p.killed[id] = true
			atlasKilled[id] = true
			if a.typeChange {
				typeOnly[id] = true
			} else if id.Kind == catalog.KindColumn && p.in.Des.Objects[id] != nil {
				p.readded[id] = true // dropped and added again (a new generation expression)
			}
		}
	}
	handled := map[catalog.ObjectID]bool{}
	for changed := true; changed; {
		changed = false
		for _, id := range p.in.Cur.IDs() {
			d := p.in.Cur.Objects[id]
			if (p.killed[id] && !typeOnly[id]) || handled[id] {
				continue
			}
			for _, dep := range d.Deps {
				if !p.killed[dep.ID] || (dep.Auto && typeOnly[dep.ID] && !dep.Retype) {
					continue
				}
				if typeOnly[id] && dep.ID.Kind != catalog.KindFunction {
					// A column whose type changes in place: only what its
					// default calls is for it to set apart; the rest
					// Atlas's ALTER COLUMN TYPE covers.
					continue
				}
				gone, err := p.invalidate(d, dep, atlasKilled)
				if err != nil {
					return err
				}
				handled[id] = true
				if gone {
					p.killed[id] = true
					changed = true
				}
				break
			}
		}
	}
	return nil
}

// invalidate handles d, which needs dep, an object the migration drops
// or invalidates.
// It reports whether d itself goes (a column whose default is re-created
// stays).
func (p *planner) invalidate(d *catalog.Object, dep catalog.Dep, atlasKilled map[catalog.ObjectID]bool) (bool, error) {
	_, stays := p.in.Des.Objects[d.ID]
	if !d.Atlas {
		switch {
		case dep.Auto && !stays:
			p.act[d.ID] = none // gone with dep: nothing to write
		case dep.Auto:
			p.act[d.ID] = recreate
		case !stays:
			p.act[d.ID] = drop
		default:
			p.act[d.ID] = replace
		}
		return true, nil
	}
	if (atlasKilled[d.ID] && !p.retyped[d.ID]) || (dep.Auto && !(stays && p.readded[dep.ID])) {
		return true, nil // Atlas's own table changes cover it
	}
	// Either an Atlas object (index, check, foreign key, column default)
	// that needs a re-created object, or one PostgreSQL drops with a
	// column that is dropped and added again, which Atlas's diff, seeing
	// it in both states, leaves alone.
	// Drop it before and add it again after (a column goes only when
	// generated: for any other, its default).
	if err := p.recreateAtlas(d, dep); err != nil {
		return false, err
	}
	return d.Kind != catalog.KindColumn || p.readded[d.ID], nil
}

// recreateAtlas adds Atlas changes that drop an index, constraint or
// column default of an Atlas table before dep goes, and restore it after.
func (p *planner) recreateAtlas(d *catalog.Object, dep catalog.Dep) error {
	ft, tt := findTable(p.in.From, d.Schema, d.Table), findTable(p.in.To, d.Schema, d.Table)
	if d.Kind == catalog.KindTable {
		ft, tt = findTable(p.in.From, d.Schema, d.Name), findTable(p.in.To, d.Schema, d.Name)
	}
	if ft == nil {
		return fmt.Errorf("plan: %s must be re-created for %s, but Atlas does not know its table", d.ID, dep.ID)
	}
	_, stays := p.in.Des.Objects[d.ID]
	var before, after schema.Change
	switch d.Kind {
	case catalog.KindIndex, catalog.KindConstraint:
		if i, ok := ft.Index(d.Name); ok {
			before = &schema.DropIndex{I: i}
			if tt != nil {
				if j, ok := tt.Index(d.Name); ok && stays {
					after = &schema.AddIndex{I: j}
				}
			}
			break
		}
		if c := findCheck(ft, d.Name); c != nil {
			before = &schema.DropCheck{C: c}
			if c2 := findCheck(tt, d.Name); c2 != nil && stays {
				after = &schema.AddCheck{C: c2}
			}
			break
		}
		if fk, ok := ft.ForeignKey(d.Name); ok {
			before = &schema.DropForeignKey{F: fk}
			if tt != nil {
				if fk2, ok := tt.ForeignKey(d.Name); ok && stays {
					after = &schema.AddForeignKey{F: fk2}
				}
			}
			break
		}
	case catalog.KindColumn:
		c, ok := ft.Column(d.Name)
		if ok && generated(c) {
			// A stored generated column has no expression to set apart
			// from it: it is dropped and added again, which recomputes
			// it, and what goes with it is re-created after it.
			before = &schema.DropColumn{C: c}
			if tt != nil {
				if c2, ok := tt.Column(d.Name); ok && stays {
					after = &schema.AddColumn{C: c2}
				}
			}
			break
		}
		if !ok || c.Default == nil {
			break
		}
		bare := *c
		bare.Default = nil
		before = &schema.ModifyColumn{From: c, To: &bare, Change: schema.ChangeDefault}
		if tt != nil {
			if c2, ok := tt.Column(d.Name); ok && c2.Default != nil && stays {
				after = &schema.ModifyColumn{From: &bare, To: c2, Change: schema.ChangeDefault}
			}
		}
	}
	if before == nil {
		return fmt.Errorf("plan: %s needs %s, which this migration drops or re-creates, and cannot be re-created around it; "+
			"nothing written. Split the change into two migrations: first remove or change %s in the desired state and run "+
			"migrate diff, then make the change of %s and run it again", d.ID, dep.ID, d.ID, dep.ID)
	}
	_, regen := before.(*schema.DropColumn)
	if d.Kind == catalog.KindColumn && !regen {
		// Atlas's other changes of the column (its type) need not wait
		// for what its default needs: the default is set apart.
		for _, a := range p.atlas {
			if a.table.Name == ft.Name && SchemaName(a.table) == SchemaName(ft) && slices.Contains(a.creates, d.ID) {
				a.free = append(a.free, dep.ID)
			}
		}
	}
	b := &atlasChange{table: ft, top: before, sub: true}
	p.touch(b, before)
	if d.Kind == catalog.KindColumn && !regen {
		b.creates, b.kills = nil, nil // the column stays: only its default goes
		b.removes = []catalog.ObjectID{d.ID}
	}
	p.atlas = append(p.atlas, b)
	if after != nil {
		a := &atlasChange{table: tt, top: after, sub: true}
		p.touch(a, after)
		if d.Kind == catalog.KindColumn && !regen {
			a.removes = nil
		}
		p.atlas = append(p.atlas, a)
		if regen {
			p.readded[d.ID] = true
		}
	}
	return nil
}

// generated reports whether c is a generated column.
func generated(c *schema.Column) bool { return GeneratedExpr(c) != "" }

// GeneratedExpr is a column's generation expression as Atlas compares
// it (one pair of outer parentheses aside), "" for a column not
// generated.
func GeneratedExpr(c *schema.Column) string {
	for _, a := range c.Attrs {
		if g, ok := a.(*schema.GeneratedExpr); ok {
			e := strings.TrimSpace(g.Expr)
			if strings.HasPrefix(e, "(") && strings.HasSuffix(e, ")") && balanced(e[1:len(e)-1]) {
				e = e[1 : len(e)-1]
			}
			return e
		}
	}
	return ""
}

// balanced reports whether no closing parenthesis of s comes before its
// opening one (so that "(a) + (b)" keeps its outer ones).
func balanced(s string) bool {
	depth := 0
	for _, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			if depth--; depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

func findTable(r *schema.Realm, s, name string) *schema.Table {
	if r == nil {
		return nil
	}
	for _, sc := range r.Schemas {
		if sc.Name != s {
			continue
		}
		if t, ok := sc.Table(name); ok {
			return t
		}
	}
	return nil
}

func findCheck(t *schema.Table, name string) *schema.Check {
	if t == nil {
		return nil
	}
	for _, a := range t.Attrs {
		if c, ok := a.(*schema.Check); ok && c.Name == name {
			return c
		}
	}
	return nil
}

// SchemaName is the name of an Atlas table's schema, "" when it has none.
func SchemaName(t *schema.Table) string {
	if t.Schema == nil {
		return ""
	}
	return t.Schema.Name
}

// node is one step of the migration: one object's statements, or a group
// of Atlas changes that stay together.
type node struct {
	name    string // for messages
	changes []*migrate.Change
	creates []catalog.ObjectID
	removes []catalog.ObjectID
	kills   []catalog.ObjectID
	free    []catalog.ObjectID // dependencies edges ignore (atlasChange.free)
	prio    int
	atlas   []*atlasChange
}

// nodes builds the steps: one per non-Atlas action, and Atlas's changes
// grouped per table, each change that the graph ties to another object
// in a group of its own.
func (p *planner) nodes(ctx context.Context) ([]*node, error) {
	var nodes []*node
	for _, id := range sortedIDs(p.act) {
		c, d := p.in.Cur.Objects[id], p.in.Des.Objects[id]
		switch p.act[id] {
		case drop:
			if implicitlyDropped(c, p.killed) {
				continue
			}
			nodes = append(nodes, &node{name: "drop " + id.String(), removes: []catalog.ObjectID{id}, kills: []catalog.ObjectID{id},
				changes: changes(c.Drop, comment("drop", c))})
		case create, recreate:
			nodes = append(nodes, &node{name: "create " + id.String(), creates: []catalog.ObjectID{id},
				changes: changes(d.Create, comment("create", d))})
		case alter:
			nodes = append(nodes, &node{name: "alter " + id.String(), creates: []catalog.ObjectID{id}, removes: []catalog.ObjectID{id},
				changes: changes(p.alterSQL[id], comment("modify", d))})
		case replace:
			if !implicitlyDropped(c, p.killed) {
				nodes = append(nodes, &node{name: "drop " + id.String(), removes: []catalog.ObjectID{id}, kills: []catalog.ObjectID{id},
					changes: changes(c.Drop, comment("drop", c))})
			}
			nodes = append(nodes, &node{name: "create " + id.String(), creates: []catalog.ObjectID{id},
				changes: changes(d.Create, comment("create", d))})
		}
	}
	nodes = p.staleData(nodes)
	sort.SliceStable(nodes, func(i, j int) bool { return p.objectOf(nodes[i]).Name < p.objectOf(nodes[j]).Name })
	for i, n := range nodes {
		n.prio = priority(n, p.objectOf(n), i)
	}
	if len(p.atlas) == 0 {
		return nodes, nil
	}
	groups := p.group(nodes)
	var all []schema.Change
	own := &owners{top: map[schema.Change]*node{}, queue: map[string][]*node{}, seen: map[schema.Change]*node{}, used: map[*node]bool{}}
	for _, g := range groups {
		n := &node{name: "table " + g[0].table.Name, atlas: g}
		var ch schema.Change
		if !g[0].sub {
			ch = g[0].top
		} else {
			mt := &schema.ModifyTable{T: g[0].table}
			keys := map[string]bool{}
			for _, a := range g {
				mt.Changes = append(mt.Changes, a.top)
				// Statements whose source is the sub-change itself
				// (a rename).
				own.seen[a.top] = n
				for _, ck := range changeKeys(a.top) {
					if k := g[0].table.Name + " " + ck; !keys[k] {
						keys[k] = true
						own.add(k, n)
					}
				}
			}
			ch = mt
		}
		own.top[ch] = n
		all = append(all, ch)
		for _, a := range g {
			n.creates = append(n.creates, a.creates...)
			n.removes = append(n.removes, a.removes...)
			n.kills = append(n.kills, a.kills...)
			n.free = append(n.free, a.free...)
		}
		nodes = append(nodes, n)
	}
	restore := escapeNames(all, p.in.From, p.in.To)
	plan, err := p.in.Planner.PlanChanges(ctx, "diff", all, p.in.PlanOptions...)
	if err != nil {
		restore(nil)
		return nil, fmt.Errorf("plan: table changes: %w", err)
	}
	restore(plan.Changes)
	for i, c := range plan.Changes {
		n := own.of(c.Source)
		if n == nil {
			return nil, fmt.Errorf("plan: cannot place Atlas's statement %q", c.Cmd)
		}
		if len(n.changes) == 0 {
			n.prio = 1_000_000 + i
		}
		n.changes = append(n.changes, c)
	}
	return nodes, nil
}

// objectOf is the object a non-Atlas step is about.
func (p *planner) objectOf(n *node) *catalog.Object {
	if len(n.creates) > 0 {
		return p.in.Des.Objects[n.creates[0]]
	}
	return p.in.Cur.Objects[n.kills[0]]
}

// owners finds the node of each statement Atlas planned, from the
// statement's source: a table change is the node's own; a table's
// sub-changes may reach Atlas's output as copies, so they are matched by
// table, kind and name, in the order the nodes were given to Atlas (two
// nodes can change one column: drop a default, then set it again).
type owners struct {
	top   map[schema.Change]*node
	queue map[string][]*node
	seen  map[schema.Change]*node
	used  map[*node]bool
}

func (o *owners) add(key string, n *node) { o.queue[key] = append(o.queue[key], n) }

func (o *owners) of(src schema.Change) *node {
	if n, ok := o.top[src]; ok {
		return n
	}
	if n, ok := o.seen[src]; ok {
		return n
	}
	c, ok := src.(*schema.ModifyTable)
	if !ok {
		return nil
	}
	// Atlas sorts the ALTER TABLE's clauses (drops first) and writes a
	// changed constraint as a drop and an add: any of its sub-changes
	// may name the node.
	for _, sub := range c.Changes {
		key := c.T.Name + " " + changeKey(sub)
		// Each node has at most one ALTER TABLE: skip nodes already
		// matched through another of their sub-changes.
		for q := o.queue[key]; len(q) > 0; q = q[1:] {
			n := q[0]
			if o.used[n] {
				continue
			}
			o.queue[key] = q[1:]
			o.used[n] = true
			o.seen[src] = n
			return n
		}
	}
	return nil
}

// changeKey names a table sub-change by its kind and the name of what it
// changes.
func changeKey(c schema.Change) string {
	name := ""
	switch c := c.(type) {
	case *schema.AddColumn:
		name = c.C.Name
	case *schema.DropColumn:
		name = c.C.Name
	case *schema.ModifyColumn:
		name = c.To.Name
	case *schema.AddIndex:
		name = c.I.Name
	case *schema.DropIndex:
		name = c.I.Name
	case *schema.AddCheck:
		name = c.C.Name
	case *schema.DropCheck:
		name = c.C.Name
	case *schema.AddForeignKey:
		name = c.F.Symbol
	case *schema.DropForeignKey:
		name = c.F.Symbol
	}
	return fmt.Sprintf("%T %s", c, name)
}

// group splits Atlas's changes into nodes: a whole AddTable or
// DropTable alone; the sub-changes of one table that no other object's
// step is ordered against together (so Atlas writes them as one ALTER
// TABLE, as it would alone); every other sub-change on its own.
func (p *planner) group(others []*node) [][]*atlasChange {
	// A sub-change is tied when an edge would join it to a non-Atlas
	// step or to another Atlas change it must not share a statement
	// with (a re-creation pair on one table).
	fine := make([]*node, 0, len(others)+len(p.atlas))
	fine = append(fine, others...)
	idx := map[*atlasChange]int{}
	for _, a := range p.atlas {
		idx[a] = len(fine)
		fine = append(fine, &node{creates: a.creates, removes: a.removes, kills: a.kills, free: a.free})
	}
	edges := edges(fine, p.in.Cur, p.in.Des)
	tied := map[*atlasChange]bool{}
	for _, a := range p.atlas {
		i := idx[a]
		for _, e := range edges {
			if e[0] != i && e[1] != i {
				continue
			}
			other := e[0] + e[1] - i
			if other < len(others) {
				tied[a] = true
			}
		}
	}
	// Re-created pairs on one table (drop index, add index) are tied
	// to each other through their kills/creates: keep them apart.
	for _, a := range p.atlas {
		for _, b := range p.atlas {
			if a != b && a.table.Name == b.table.Name && overlaps(a.kills, b.creates) {
				tied[a], tied[b] = true, true
			}
		}
	}
	var (
		groups [][]*atlasChange
		free   = map[*schema.Table]int{}
	)
	for _, a := range p.atlas {
		if !a.sub || tied[a] {
			groups = append(groups, []*atlasChange{a})
			continue
		}
		if i, ok := free[a.table]; ok {
			groups[i] = append(groups[i], a)
			continue
		}
		free[a.table] = len(groups)
		groups = append(groups, []*atlasChange{a})
	}
	return groups
}

func overlaps(a, b []catalog.ObjectID) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// implicitlyDropped reports whether o goes with an object it depends on
// automatically (a trigger with its dropped table), so dropping it
// explicitly would fail.
func implicitlyDropped(o *catalog.Object, killed map[catalog.ObjectID]bool) bool {
	for _, d := range o.Deps {
		if d.Auto && killed[d.ID] {
			return true
		}
	}
	return false
}

func changes(stmts []string, comment string) []*migrate.Change {
	out := make([]*migrate.Change, len(stmts))
	for i, s := range stmts {
		out[i] = &migrate.Change{Cmd: strings.TrimSuffix(strings.TrimSpace(s), ";")}
		if i == 0 {
			out[i].Comment = comment
		}
	}
	return out
}

// comment is the migration file's line above an object's statements, in
// the shapes Atlas writes (catalog.Label): `Create "f" function`,
// `Create trigger "t"`.
func comment(verb string, o *catalog.Object) string {
	if o.Comment != "" {
		return o.Comment
	}
	if o.Kind == catalog.KindSchema && verb == "drop" {
		// Its planned objects are dropped before it, and no CASCADE:
		// what a database holds there that no migration created stops
		// the migration instead of going with the schema.
		return fmt.Sprintf("drop schema %s (fails if it still holds objects no migration created; they are kept)", ident(o.Name))
	}
	switch o.Kind.Facts().Label {
	case catalog.LabelNameKind:
		return fmt.Sprintf("%s %s %s", verb, ident(o.Name), o.Kind)
	case catalog.LabelSetting:
		v := map[string]string{"create": "set", "drop": "reset"}[verb]
		return fmt.Sprintf("%s %s %s", v, o.Kind, o.Name)
	case catalog.LabelOnTable, catalog.LabelTrigger:
		if verb == "drop" {
			return fmt.Sprintf("%s %s %s from table: %s", verb, o.Kind, ident(o.Name), ident(o.Table))
		}
		if verb == "create" && o.Kind.Facts().Label == catalog.LabelTrigger {
			return fmt.Sprintf("%s %s %s", verb, o.Kind, ident(o.Name))
		}
		return fmt.Sprintf("%s %s %s on table: %s", verb, o.Kind, ident(o.Name), ident(o.Table))
	case catalog.LabelAttribute:
		if of, ok := o.ID.Parent(); ok {
			// Name what the attribute belongs to.
			v := map[string]string{"create": "set", "modify": "set", "drop": "reset"}[verb]
			return fmt.Sprintf("%s %s of %s", v, o.Kind, of)
		}
	}
	return fmt.Sprintf("%s %s %s", verb, o.Kind, ident(o.Name))
}

// deferOutsideTx gives the steps that run outside a transaction (a
// concurrent index build or drop, a VALIDATE on its own, a concurrent
// detach) the last places the graph allows. They may take minutes on a
// large table, and each ends the file before it: a view dropped before
// them and re-created after would be missing for that long, where after
// them it is re-created in the same transaction as the change that
// needed it gone.
func deferOutsideTx(nodes []*node) {
	for _, n := range nodes {
		for _, c := range n.changes {
			if outsideTx(c) {
				n.prio += 100_000_000
				break
			}
		}
	}
}

// outsideTx reports whether a planned statement runs outside a
// transaction block (see mark).
func outsideTx(c *migrate.Change) bool {
	if Concurrent(c.Cmd) {
		return true
	}
	switch s := c.Source.(type) {
	case *autocommit:
		return true
	case *ownStep:
		return s.noTx
	}
	return false
}

// priority places a non-Atlas step among the others when the graph
// leaves it free: drops before Atlas's table changes (reverse kind
// order), creates after them (kind order), then by name, as Atlas Pro
// writes functions before triggers and triggers by name.
func priority(n *node, o *catalog.Object, i int) int {
	if len(n.creates) == 0 {
		return (20-o.Kind.Facts().Rank)*10_000 + i
	}
	return 10_000_000 + o.Kind.Facts().Rank*100_000 + i
}

func sortedIDs(m map[catalog.ObjectID]action) []catalog.ObjectID {
	ids := make([]catalog.ObjectID, 0, len(m))
	for id, a := range m {
		if a != none {
			ids = append(ids, id)
		}
	}
	catalog.SortIDs(ids)
	return ids
}
