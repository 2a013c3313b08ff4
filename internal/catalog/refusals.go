package catalog

import (
	"context"
	"fmt"
	"strings"
)

// refusePartitioning stops the inspection of a database whose managed
// schemas hold a partitioned table or a partition: Atlas's inspector
// leaves partitions out and the parent's indexes are partitioned ones,
// so a plan would lose them. It names the parent and its partitions.
func refusePartitioning(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname || '.' || c.relname,
       coalesce((SELECT string_agg(pn.nspname || '.' || p.relname, ', ' ORDER BY pn.nspname, p.relname)
                 FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
                 WHERE i.inhparent = c.oid), '')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND c.relkind = 'p'
ORDER BY 1`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: partitioned tables: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var parent, parts string
		if err := rows.Scan(&parent, &parts); err != nil {
			return fmt.Errorf("catalog: partitioned tables: %w", err)
		}
		if parts != "" {
			parent += " (partitions " + parts + ")"
		}
		names = append(names, "partitioned table "+parent)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: partitioned tables: %w", err)
	}
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("catalog: declarative partitioning is not supported yet: %s; a plan would lose the partitions "+
		"and the parent's indexes, so nothing is written. Write the migrations of these tables by hand "+
		"(migrate new, then make hash) and run migrate diff again once they are out of the managed schemas",
		strings.Join(names, "; "))
}

// hint is what an UnsupportedError tells to do about its objects: why
// they stop the diff, and the way out, which depends on the state that
// holds them.
func (e *UnsupportedError) hint() string {
	var schemas []string
	others := false
	for _, o := range e.Objects {
		if s, ok := strings.CutPrefix(o, "schema "); ok {
			schemas = append(schemas, s)
		} else {
			others = true
		}
	}
	var h []string
	for _, s := range schemas {
		// Every schema the states create is managed; what is left is
		// one that exists in every database (public) while the diff is
		// bound to another (the dev URL's search_path).
		h = append(h, fmt.Sprintf("schema %s is not managed by this diff, which is bound to the schemas of the composite_schema "+
			"members (or the dev URL's search_path) and the schemas the states create: name it in atlas.hcl with a member, "+
			"e.g. schema %q { url = \"file://schema.sql\" }, or create nothing in it", s, s))
	}
	if !others {
		return strings.Join(h, "\n  ")
	}
	why := "this tool cannot create, change or drop these kinds (see \"What schema.sql may declare\" in the README), " +
		"and a diff that cannot see an object must not claim to migrate it"
	if e.Directory {
		h = append(h, "they are in the state the migration directory builds (a hand-written migration created them): "+why+
			". While the directory creates them, migrate diff cannot run: add a migration that drops them "+
			"(migrate new <name>, write the DROP statements, then migrate hash) and, where the target needs them, "+
			"create them there by hand outside the migrations; or write every later migration by hand the same way")
	} else {
		h = append(h, "they are in the desired state: "+why+
			". Remove them from the desired state; if the database needs them, create them by hand on the target "+
			"database, outside the migrations (a diff reads only the directory and the desired state, so it leaves them alone)")
	}
	return strings.Join(h, "\n  ")
}
