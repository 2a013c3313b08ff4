package plan

import (
	"fmt"
	"strings"

	"tasks/internal/catalog"
)

// modelIndexes treats the indexes the model plans itself (those Atlas's
// renderer cannot write: storage parameters, NULLS NOT DISTINCT, a
// collation in a key, a materialized view's) as Atlas's are treated, when
// their table exists before the migration and stays: with the env's
// concurrent_index create (drop), built (dropped) CONCURRENTLY in a file
// of their own; otherwise marked with the hazard of a build that blocks
// writes. A partitioned table's index cannot be built concurrently.
func (p *planner) modelIndexes(nodes []*node) {
	for _, n := range nodes {
		var o *catalog.Object
		create := len(n.creates) > 0
		switch {
		case create && strings.HasPrefix(n.name, "create "):
			o = p.in.Des.Objects[n.creates[0]]
		case !create && len(n.removes) > 0 && strings.HasPrefix(n.name, "drop "):
			o = p.in.Cur.Objects[n.removes[0]]
		}
		if o == nil || o.Kind != catalog.KindIndex || o.Atlas || len(n.changes) != 1 {
			continue
		}
		table, live := p.liveTable(o)
		if !live {
			continue
		}
		c := n.changes[0]
		switch {
		case create && p.in.Online.ConcurrentCreate:
			c.Cmd = concurrently(c.Cmd, "INDEX ")
		case !create && p.in.Online.ConcurrentDrop:
			c.Cmd = concurrently(c.Cmd, "DROP INDEX ")
		case create:
			c.Source = &ownStep{hazards: []string{fmt.Sprintf("blocks writes to table %s while the index builds "+
				"(CREATE INDEX without CONCURRENTLY)", table)}}
		}
	}
}

// concurrently inserts CONCURRENTLY after the first occurrence of kw.
func concurrently(stmt, kw string) string {
	i := strings.Index(stmt, kw)
	if i < 0 || strings.Contains(stmt, " CONCURRENTLY ") {
		return stmt
	}
	return stmt[:i+len(kw)] + "CONCURRENTLY " + stmt[i+len(kw):]
}

// liveTable returns the quoted relation an index of the model is on and
// whether it exists before the migration and stays, not partitioned: only
// then does building the index lock a relation that serves traffic, and
// can it be built concurrently.
func (p *planner) liveTable(o *catalog.Object) (string, bool) {
	for _, k := range []catalog.Kind{catalog.KindTable, catalog.KindMatView, catalog.KindPartition} {
		id := catalog.ID(k, o.Schema, o.Table)
		t, ok := p.in.Cur.Objects[id]
		if !ok {
			continue
		}
		_, stays := p.in.Des.Objects[id]
		return ident(o.Table), stays && !p.killed[id] && p.act[id] != replace && !t.HasPartitionKey()
	}
	return ident(o.Table), false
}
