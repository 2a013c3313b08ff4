package diff

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// A schema the desired state's SQL creates (CREATE SCHEMA audit in
// schema.sql) is managed as Atlas Pro manages the schemas its desired
// state holds: created before its objects, its objects diffed like those
// of the composite_schema members, dropped once nothing declares it. A
// schema that only the migration directory still creates is managed too:
// it was created by an earlier diff (or by hand) and the desired state no
// longer has it, so the plan drops its objects and then the schema.
//
// "public" exists in every database PostgreSQL creates: it is never taken
// for a created schema (it is managed when atlas.hcl names it, as it does
// by default). Nor is the revision table's schema.

// createdSchemas lists, sorted, the schemas of the current and desired
// databases that neither the declared list nor a new database has.
func createdSchemas(ctx context.Context, declared []string, dbs ...*sql.DB) ([]string, error) {
	seen := map[string]bool{}
	for _, db := range dbs {
		rows, err := db.QueryContext(ctx, `
SELECT n.nspname FROM pg_namespace n
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'public', 'atlas_schema_revisions')
  AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'`)
		if err != nil {
			return nil, fmt.Errorf("diff: list schemas: %w", err)
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return nil, fmt.Errorf("diff: list schemas: %w", err)
			}
			if !slices.Contains(declared, name) {
				seen[name] = true
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("diff: list schemas: %w", err)
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}

// withCreated adds the created schemas to the managed ones. With more
// than one schema managed, every name is written qualified (realm mode,
// as Atlas writes a realm's plan), so def becomes "".
//
// allowed is the env's `schemas` attribute: when set, it bounds what the
// env manages, as it does for the Atlas CLI, and a created schema outside
// it is refused with what to change.
func withCreated(schemas []string, def string, created, allowed []string) ([]string, string, error) {
	if len(created) == 0 {
		return schemas, def, nil
	}
	if len(allowed) > 0 {
		var out []string
		for _, s := range created {
			if !slices.Contains(allowed, s) {
				out = append(out, s)
			}
		}
		if len(out) > 0 {
			return nil, "", fmt.Errorf("diff: schema %s is created by the desired state or the migration directory, "+
				"but the env's schemas attribute in atlas.hcl (%s) does not list it, so this diff may not manage it; "+
				"nothing written. Add it to the env's schemas (e.g. schemas = [%s]), or remove from the desired state "+
				"its objects and what creates it: a CREATE SCHEMA in the SQL, or an Ent schema's entsql.Schema annotation",
				strings.Join(out, ", "), quoteList(allowed), quoteList(append(slices.Clone(allowed), out...)))
		}
	}
	return append(slices.Clone(schemas), created...), "", nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
