// Package fingerprint reads a complete, comparable picture of a
// database's schema straight from PostgreSQL's catalog, so that
// `migrate diff` can check a planned migration by replaying it and
// comparing the result with the desired database.
//
// The check is only worth something if it cannot share a blind spot with
// the code it checks. So this package does not use internal/catalog (the
// inspector the planner works from): it has its own query per object
// kind, every attribute included, reading names rather than OIDs. What
// the inspector forgets to model, or models wrongly, still shows here.
//
// Its one shared dependency is internal/sqltext, PostgreSQL's own lexer
// (tested on its own): SQL and PL/pgSQL function bodies differing only in
// layout or comments are not differences, because the diff deliberately
// does not migrate those, so attributes named "body" are compared with
// sqltext.Equivalent and every other attribute byte for byte (other
// languages' source among them).
//
// Left out on purpose: owners (and privileges owners hold on their own
// objects), OIDs, objects an extension owns, system schemas and every
// schema not asked for (the revision table's schema among them, unless
// listed). pg_get_*def output names objects outside the search_path
// qualified, so take both prints with the same search_path.
package fingerprint

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"tasks/internal/sqltext"
)

// Querier runs a query: *sql.DB, *sql.Conn and *sql.Tx all do.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Print is a database's fingerprint: one entry per object attribute,
// keyed "<kind> <qualified name> <attribute>": the kind and name spelled
// as internal/catalog spells object IDs (names unquoted, routines with
// their identity arguments), the attribute one word. Every object has an
// "exists" entry, so a missing object is one difference, not one per
// attribute.
type Print map[string]string

// Difference is one key whose value differs between two prints. Got is
// "" when the key is only in want (for an "exists" key: the object is
// missing), Want is "" when it is only in got (unexpected).
type Difference struct{ Key, Want, Got string }

// String names the object and attribute: `column public.tasks.title:
// type: want "text", got "character varying"`, `function public.f(integer):
// missing`.
func (d Difference) String() string {
	obj, attr := split(d.Key)
	if attr == exists {
		if d.Got == "" {
			return obj + ": missing"
		}
		return obj + ": unexpected"
	}
	return fmt.Sprintf("%s: %s: want %q, got %q", obj, attr, d.Want, d.Got)
}

const (
	exists = "exists"
	body   = "body"
	// parent names the object a column, constraint, index, trigger,
	// policy, rule or owned sequence belongs to and goes with.
	parent = "parent"
)

// split cuts a key into its object ("<kind> <name>") and attribute.
func split(key string) (obj, attr string) {
	i := strings.LastIndexByte(key, ' ')
	if i < 0 {
		return key, ""
	}
	return key[:i], key[i+1:]
}

// Compare returns every key whose value differs, sorted by key. An
// object missing from got (or unexpected in it) is reported once, by its
// "exists" key, without its attributes, and without the objects that
// belong to it (a missing table's columns). Bodies are equal when
// PostgreSQL's lexer reads them as the same tokens.
func Compare(want, got Print) []Difference {
	keys := make([]string, 0, len(want)+len(got))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	absent := map[string]bool{} // objects present on one side only
	for _, k := range keys {
		if obj, attr := split(k); attr == exists && want[k] != got[k] {
			absent[obj] = true
		}
	}
	// An object that is there on one side only and belongs to an object
	// that is also there on one side only goes with its parent.
	withParent := func(obj string) bool {
		for _, pr := range []Print{want, got} {
			if par, ok := pr[obj+" "+parent]; ok && absent[par] {
				return true
			}
		}
		return false
	}
	var diffs []Difference
	for _, k := range keys {
		w, g := want[k], got[k]
		obj, attr := split(k)
		switch {
		case w == g:
			continue
		case attr != exists && absent[obj]:
			continue
		case attr == exists && withParent(obj):
			continue
		case attr == parent:
			// Structure, not state: a parent that changes kind is
			// missing on one side, an owned sequence's owner is owned_by.
			continue
		case attr == body && sqltext.Equivalent(w, g):
			continue
		}
		diffs = append(diffs, Difference{Key: k, Want: w, Got: g})
	}
	return diffs
}

// A query reads one kind: each row is the kind, the object's qualified
// name, then one text column per attribute in attrs.
type query struct {
	name  string
	attrs []string
	sql   string
	// attrOnly: rows are attributes of objects other queries read
	// (comments on kinds without a query of their own), so they add no
	// "exists" key.
	attrOnly bool
}

// Take reads the fingerprint of the given schemas of the database q is
// connected to, with the database-wide objects a migration can create
// (extensions, event triggers, default privileges, the database's
// comment).
func Take(ctx context.Context, q Querier, schemas []string) (Print, error) {
	p := Print{}
	arr := textArray(schemas)
	for _, qu := range queries() {
		if err := p.read(ctx, q, qu, arr); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p Print) read(ctx context.Context, q Querier, qu query, schemas string) error {
	rows, err := q.QueryContext(ctx, qu.sql, schemas)
	if err != nil {
		return fmt.Errorf("fingerprint: %s: %w", qu.name, err)
	}
	defer rows.Close()
	vals := make([]sql.NullString, 2+len(qu.attrs))
	dest := make([]any, len(vals))
	for i := range vals {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("fingerprint: %s: %w", qu.name, err)
		}
		obj := vals[0].String + " " + vals[1].String
		if !qu.attrOnly {
			p[obj+" "+exists] = "true"
		}
		for i, a := range qu.attrs {
			if a == parent && vals[2+i].String == "" {
				continue
			}
			p[obj+" "+a] = vals[2+i].String
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("fingerprint: %s: %w", qu.name, err)
	}
	return nil
}

// textArray writes a PostgreSQL array literal, passed as $1::text[] so
// any driver can send it.
func textArray(ss []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
