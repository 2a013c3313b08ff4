package atlasconf

import (
	"fmt"
	"strings"
	"time"

	"ariga.io/atlas/schemahcl"
	"ariga.io/atlas/sql/postgres"
	"github.com/zclconf/go-cty/cty"
)

// Diff is the diff block of an env, completed by the file's global one:
//
//	diff {
//	  concurrent_index {          // Atlas's own block (postgres.DiffOptions)
//	    create = true             // "add" is Atlas's alias of "create"
//	    drop   = true
//	  }
//	  online_constraints = true   // this tool's: NOT VALID + VALIDATE, USING INDEX, …
//	  lock_timeout       = "500ms"
//	}
//
// Atlas's evaluator keeps attributes it does not know, so the Atlas CLI
// still reads a file with this tool's settings in it.
type Diff struct {
	// ConcurrentCreate and ConcurrentDrop are concurrent_index's create
	// (or add) and drop: indexes of existing tables are built and dropped
	// CONCURRENTLY.
	ConcurrentCreate, ConcurrentDrop bool
	// OnlineConstraints adds foreign keys and checks to existing tables
	// NOT VALID and validates them apart, sets NOT NULL through a
	// validated check, and adds unique constraints and primary keys
	// through a unique index built concurrently.
	OnlineConstraints bool
	// LockTimeout, when not zero, is set at the top of every file
	// written (whole milliseconds).
	LockTimeout time.Duration
	// Extra is the block as Atlas's differ takes it
	// (schema.DiffOptions.Extra, read as postgres.DiffOptions); nil when
	// the file has no diff block.
	Extra any
}

// Online reports whether any setting changes how plans are written.
func (d Diff) Online() bool {
	return d.ConcurrentCreate || d.ConcurrentDrop || d.OnlineConstraints || d.LockTimeout > 0
}

// diffSpec keeps the whole block: its attributes are merged by name
// before they are read.
type diffSpec struct {
	schemahcl.DefaultExtension
}

// readDiff merges the env's diff block over the global one, as the Atlas
// CLI extends an env's block with the global one: an attribute or block
// the env sets replaces the global one of the same name.
func readDiff(env, global *diffSpec) (Diff, error) {
	if env == nil && global == nil {
		return Diff{}, nil
	}
	merged := schemahcl.Resource{Type: "diff"}
	for _, s := range []*diffSpec{global, env} {
		if s == nil {
			continue
		}
		r := s.Remain()
		for _, a := range r.Attrs {
			merged.Attrs = replaceAttr(merged.Attrs, a)
		}
		for _, c := range r.Children {
			merged.Children = replaceChild(merged.Children, c)
		}
	}
	var d Diff
	for _, a := range merged.Attrs {
		switch a.K {
		case "online_constraints":
			if a.V.Type() != cty.Bool || a.V.IsNull() {
				return Diff{}, fmt.Errorf("diff block: online_constraints must be true or false")
			}
			d.OnlineConstraints = a.V.True()
		case "lock_timeout":
			if a.V.Type() != cty.String || a.V.IsNull() {
				return Diff{}, fmt.Errorf(`diff block: lock_timeout must be a string such as "500ms"`)
			}
			t, err := parseLockTimeout(a.V.AsString())
			if err != nil {
				return Diff{}, err
			}
			d.LockTimeout = t
		}
	}
	// concurrent_index (and Atlas's other settings such as skip) are
	// read by Atlas's own struct, the way its differ reads them.
	var opts postgres.DiffOptions
	if err := (&schemahcl.Resource{Children: merged.Children}).As(&opts); err != nil {
		return Diff{}, fmt.Errorf("diff block: %w", err)
	}
	d.ConcurrentCreate = opts.ConcurrentIndex.Create || opts.ConcurrentIndex.Add
	d.ConcurrentDrop = opts.ConcurrentIndex.Drop
	d.Extra = schemahcl.DefaultExtension{Extra: merged}
	return d, nil
}

// parseLockTimeout reads lock_timeout: a Go duration of whole
// milliseconds ("500ms", "2s"), or "0" for none.
func parseLockTimeout(s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "0" {
		return 0, nil
	}
	t, err := time.ParseDuration(s)
	if err != nil || t < 0 || t%time.Millisecond != 0 {
		return 0, fmt.Errorf(`diff block: lock_timeout %q: want a duration of whole milliseconds such as "500ms" or "2s", or "0" for none`, s)
	}
	return t, nil
}

func replaceAttr(attrs []*schemahcl.Attr, a *schemahcl.Attr) []*schemahcl.Attr {
	for i, b := range attrs {
		if b.K == a.K {
			attrs[i] = a
			return attrs
		}
	}
	return append(attrs, a)
}

func replaceChild(cs []*schemahcl.Resource, c *schemahcl.Resource) []*schemahcl.Resource {
	for i, b := range cs {
		if b.Type == c.Type && b.Name == c.Name {
			cs[i] = c
			return cs
		}
	}
	return append(cs, c)
}
