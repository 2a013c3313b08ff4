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

// hint is what an UnsupportedError tells to do about its objects.
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
		h = append(h, fmt.Sprintf("schema %s is not one of the schemas this diff manages (the composite_schema members "+
			"of atlas.hcl): to have it and its objects migrated, add a member for it, e.g. schema %q { url = \"file://%s.sql\" } "+
			"with its objects in that file (created in the member's schema); otherwise do not create it in the desired state",
			s, s, s))
	}
	if others {
		h = append(h, "the other kinds cannot be migrated by this tool (see \"What schema.sql may declare\" in the README): "+
			"remove them from the desired state, or create them by hand in a migration file of their own (migrate new, then make hash)")
	}
	return strings.Join(h, "\n  ")
}
