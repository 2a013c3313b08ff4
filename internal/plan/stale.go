package plan

import (
	"fmt"
	"slices"
	"strings"

	"ariga.io/atlas/sql/schema"

	"tasks/internal/catalog"
	"tasks/internal/sqltext"
)

// staleData handles what PostgreSQL computed with a function that the
// migration replaces in place (CREATE OR REPLACE) and that may now
// compute other results: such data keeps the old results. An index on
// the function (in its expression or its predicate) that stays is
// rebuilt (REINDEX) after the function. What a migration cannot rebuild
// by itself (stored generated columns, rows a CHECK or a domain's
// constraint accepted, a materialized view's rows) is named in the
// function's comment in the file, with what to run.
func (p *planner) staleData(nodes []*node) []*node {
	byID := map[catalog.ObjectID]*node{}
	for _, n := range nodes {
		if strings.HasPrefix(n.name, "alter ") {
			byID[n.creates[0]] = n
		}
	}
	rebuilt := map[catalog.ObjectID]bool{}
	for _, fid := range sortedIDs(p.act) {
		fn, from := p.in.Des.Objects[fid], p.in.Cur.Objects[fid]
		if p.act[fid] != alter || fn == nil || from == nil || !fn.ResultsMayChange(from) {
			continue
		}
		var notes []string
		users := p.callers(fid, fn.Name)
		for _, id := range p.in.Cur.IDs() {
			d := p.in.Cur.Objects[id]
			if p.killed[id] || p.act[id] == replace || p.in.Des.Objects[id] == nil ||
				!slices.ContainsFunc(users, func(u catalog.ObjectID) bool { return needs(d, u) }) {
				continue
			}
			switch note, rebuild := p.stale(d, fn); {
			case rebuild && rebuilt[id]:
			case rebuild:
				rebuilt[id] = true
				nodes = append(nodes, &node{name: "rebuild " + id.String(), creates: []catalog.ObjectID{id},
					changes: changes([]string{"REINDEX INDEX " + p.in.Des.Qualify(d.Schema, d.Name)},
						fmt.Sprintf("rebuild index %q of table: %q, which holds results of the replaced %q", d.Name, d.Table, fn.Name))})
			case note != "":
				notes = append(notes, note)
			}
		}
		if n := byID[fid]; n != nil && len(notes) > 0 && len(n.changes) > 0 {
			n.changes[0].Comment += "\n-- " + strings.Join(notes, "\n-- ")
		}
	}
	return nodes
}

// callers returns the function fid, named name, and the functions of the
// current state that stay and call it from their bodies, at any depth.
// PostgreSQL records no dependency on a function a body kept as text
// calls, so an index on a caller holds results of the replaced function
// as much as one on the function itself.
func (p *planner) callers(fid catalog.ObjectID, name string) []catalog.ObjectID {
	if p.routines == nil {
		// Each body is scanned once, however many functions change.
		p.routines = map[catalog.ObjectID]sqltext.Routine{}
		for _, id := range p.in.Cur.IDs() {
			if p.killed[id] || p.act[id] == replace || p.in.Des.Objects[id] == nil {
				continue
			}
			if r, ok := p.in.Cur.Objects[id].Routine(); ok {
				p.routines[id] = r
			}
		}
	}
	out := []catalog.ObjectID{fid}
	for id := range sqltext.Callers(p.routines, name) {
		if id != fid {
			out = append(out, id)
		}
	}
	return out
}

// needs reports whether d depends on the object id other than
// automatically.
func needs(d *catalog.Object, id catalog.ObjectID) bool {
	for _, dep := range d.Deps {
		if dep.ID == id && !dep.Auto {
			return true
		}
	}
	return false
}

// stale says what becomes of d, which uses the replaced function fn:
// rebuilt (an index), or a note for the file naming it and what to do.
func (p *planner) stale(d *catalog.Object, fn *catalog.Object) (note string, rebuild bool) {
	f := fmt.Sprintf("%q", fn.Name)
	switch d.Kind {
	case catalog.KindIndex:
		return "", true
	case catalog.KindColumn:
		t := findTable(p.in.From, d.Schema, d.Table)
		if t == nil {
			return "", false
		}
		c, ok := t.Column(d.Name)
		if !ok {
			return "", false
		}
		for _, a := range c.Attrs {
			// Atlas leaves Type empty: PostgreSQL before 18 has
			// stored generated columns only (a virtual one holds no data).
			if g, ok := a.(*schema.GeneratedExpr); ok && !strings.EqualFold(g.Type, "VIRTUAL") {
				return fmt.Sprintf("Stale data: stored generated column %q.%q keeps values computed by the old %s; recompute them with UPDATE %s SET %s = DEFAULT",
					d.Table, d.Name, f, p.in.Des.Qualify(d.Schema, d.Table), catalog.QuoteIdent(d.Name)), false
			}
		}
	case catalog.KindConstraint:
		if findCheck(findTable(p.in.From, d.Schema, d.Table), d.Name) != nil {
			return fmt.Sprintf("Stale data: check %q on table %q accepted its rows with the old %s; rows may now violate it (drop it, add it NOT VALID, then VALIDATE CONSTRAINT to find them)",
				d.Name, d.Table, f), false
		}
	case catalog.KindDomain:
		return fmt.Sprintf("Stale data: the constraints of domain %q accepted stored values with the old %s; values may now violate them", d.Name, f), false
	case catalog.KindMatView:
		return fmt.Sprintf("Stale data: materialized view %q holds rows computed by the old %s; run REFRESH MATERIALIZED VIEW %s",
			d.Name, f, p.in.Des.Qualify(d.Schema, d.Name)), false
	}
	return "", false
}
