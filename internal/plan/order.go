package plan

import (
	"container/heap"
	"fmt"
	"slices"
	"sort"
	"strings"

	"ariga.io/atlas/sql/migrate"

	"tasks/internal/catalog"
)

// edges returns the pairs [before, after] of node indexes that the
// dependency graph imposes:
//   - a step that creates (or alters into) X comes after the steps that
//     create or alter what X needs in the desired state;
//   - a step that removes the current X comes before the steps that drop
//     or invalidate what X needed in the current state (but for what an
//     X altered in place needs automatically, which cannot be dropped,
//     or X would not stay);
//   - dropping X comes before creating X again, and dropping a relation,
//     type or routine comes before creating another one of the same name.
func edges(nodes []*node, cur, des *catalog.Model) [][2]int {
	creators, killers := map[catalog.ObjectID][]int{}, map[catalog.ObjectID][]int{}
	slots := map[string][]int{}
	for i, n := range nodes {
		for _, id := range n.creates {
			creators[id] = append(creators[id], i)
		}
		for _, id := range n.kills {
			killers[id] = append(killers[id], i)
			if o := cur.Objects[id]; o != nil {
				if s := slot(o); s != "" {
					slots[s] = append(slots[s], i)
				}
			}
		}
	}
	seen := map[[2]int]bool{}
	var out [][2]int
	addEdge := func(a, b int) {
		if a != b && !seen[[2]int{a, b}] {
			seen[[2]int{a, b}] = true
			out = append(out, [2]int{a, b})
		}
	}
	for i, n := range nodes {
		for _, id := range n.creates {
			if o := des.Objects[id]; o != nil {
				for _, d := range o.Deps {
					if slices.Contains(n.free, d.ID) {
						continue
					}
					for _, j := range creators[d.ID] {
						addEdge(j, i)
					}
				}
				if s := slot(o); s != "" {
					for _, j := range slots[s] {
						addEdge(j, i)
					}
				}
			}
			for _, j := range killers[id] {
				addEdge(j, i)
			}
		}
		for _, id := range n.removes {
			o := cur.Objects[id]
			if o == nil {
				continue
			}
			for _, d := range o.Deps {
				if slices.Contains(n.free, d.ID) || (d.Auto && strings.HasPrefix(n.name, "alter ")) {
					// An object altered in place that would go with what
					// it needs stays, so that is not dropped: it is
					// changed in place too (a column's type).
					continue
				}
				for _, j := range killers[d.ID] {
					addEdge(i, j)
				}
			}
		}
	}
	return out
}

// slot is the name an object occupies in its schema's namespace of
// relations and types, "" for kinds without one.
func slot(o *catalog.Object) string {
	switch f := o.Kind.Facts(); {
	case f.Slot:
		return o.Schema + "." + o.Name
	case f.Signature:
		// Overloads of a name: a new one created while an old one is
		// still there would make calls by that name ambiguous (or pick
		// another overload) until the old one goes.
		return "routine " + o.Schema + "." + o.Name
	}
	return ""
}

// order sorts the steps topologically, taking among the steps that are
// free the one of lowest priority, so that without dependencies the
// output is Atlas's order followed by the other objects by kind and name.
func order(nodes []*node, cur, des *catalog.Model) ([]*migrate.Change, error) {
	// Non-Atlas steps of one kind come by name (as Atlas Pro sorts
	// triggers), whatever order the IDs had.
	sorted := make([]*node, len(nodes))
	copy(sorted, nodes)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].prio < sorted[j].prio })
	nodes = sorted
	es := edges(nodes, cur, des)
	indeg := make([]int, len(nodes))
	next := make([][]int, len(nodes))
	for _, e := range es {
		next[e[0]] = append(next[e[0]], e[1])
		indeg[e[1]]++
	}
	h := &prioHeap{nodes: nodes}
	for i := range nodes {
		if indeg[i] == 0 {
			heap.Push(h, i)
		}
	}
	var out []*migrate.Change
	done := 0
	for h.Len() > 0 {
		i := heap.Pop(h).(int)
		done++
		out = append(out, nodes[i].changes...)
		for _, j := range next[i] {
			if indeg[j]--; indeg[j] == 0 {
				heap.Push(h, j)
			}
		}
	}
	if done < len(nodes) {
		var stuck []string
		for i, d := range indeg {
			if d > 0 {
				stuck = append(stuck, nodes[i].name)
			}
		}
		sort.Strings(stuck)
		return nil, fmt.Errorf("plan: these changes depend on each other in a cycle, so no order of them works; nothing written. "+
			"Split them into two migrations: change the desired state part way, run migrate diff, then make the rest of the change "+
			"and run it again: %s",
			strings.Join(stuck, "; "))
	}
	return out, nil
}

type prioHeap struct {
	nodes []*node
	idx   []int
}

func (h *prioHeap) Len() int { return len(h.idx) }
func (h *prioHeap) Less(a, b int) bool {
	na, nb := h.nodes[h.idx[a]], h.nodes[h.idx[b]]
	if na.prio != nb.prio {
		return na.prio < nb.prio
	}
	return h.idx[a] < h.idx[b]
}
func (h *prioHeap) Swap(a, b int) { h.idx[a], h.idx[b] = h.idx[b], h.idx[a] }
func (h *prioHeap) Push(x any)    { h.idx = append(h.idx, x.(int)) }
func (h *prioHeap) Pop() any {
	x := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return x
}
