package catalog

import (
	"context"
	"fmt"
)

// inspectOwners adds the owner of every object of the model that has one
// (schemas, tables, views, materialized views, sequences, functions,
// procedures, aggregates, types, domains, extended statistics) when the
// state sets it: an owner other than the connected role, which built the
// state and owns whatever was created without an OWNER TO. An object
// whose owner the desired state does not set has no owner object, so the
// diff leaves its owner on the target database alone (whoever applied the
// migration that created it), and never changes it back and forth. An
// owner the desired state no longer sets goes back to the role applying
// the migration.
//
// The sequences of identity and serial columns follow their table's
// owner (ALTER TABLE … OWNER TO moves them), so they get none.
func inspectOwners(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
WITH objs(cat, oid, kind, schema, name, extra, owner) AS (
  SELECT 'pg_namespace', n.oid, 'SCHEMA', '', n.nspname, '', n.nspowner FROM pg_namespace n WHERE n.nspname = ANY($1)
  UNION ALL
  SELECT 'pg_class', c.oid, c.relkind::text, n.nspname, c.relname, '', c.relowner
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'c')
  UNION ALL
  SELECT 'pg_proc', p.oid, p.prokind::text, n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.proowner
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY($1)
  UNION ALL
  SELECT 'pg_type', t.oid, t.typtype::text, n.nspname, t.typname, '', t.typowner
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE n.nspname = ANY($1) AND t.typtype IN ('e', 'd', 'r')
  UNION ALL
  SELECT 'pg_statistic_ext', s.oid, 'STATISTICS', n.nspname, s.stxname, '', s.stxowner
  FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE n.nspname = ANY($1)
)
SELECT cat, oid, kind, schema, name, extra, pg_get_userbyid(owner) FROM objs
WHERE pg_get_userbyid(owner) <> current_user
ORDER BY 1, 4, 5, 6`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: owners: %w", err)
	}
	defer rows.Close()
	var add []*Object
	for rows.Next() {
		var (
			cat, kind, schema, name, extra, role string
			oid                                  uint32
		)
		if err := rows.Scan(&cat, &oid, &kind, &schema, &name, &extra, &role); err != nil {
			return fmt.Errorf("catalog: owners: %w", err)
		}
		id, ok := m.Lookup(Addr{cat, oid, 0})
		if !ok {
			continue // not the model's (an extension's), or an identity or serial sequence
		}
		parent := m.Objects[id]
		target := m.commentTarget(parent, cat, schema, name, extra)
		add = append(add, m.attr(KindOwner, parent, role,
			[]string{"ALTER " + target + " OWNER TO " + QuoteIdent(role)},
			[]string{"ALTER " + target + " OWNER TO CURRENT_USER"}))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: owners: %w", err)
	}
	// A sequence is linked to a column (OWNED BY) only when both have
	// one owner: the link comes after the owners are set.
	for _, o := range add {
		for _, d := range o.Deps {
			if link := m.Objects[AttrID(KindSequenceOwner, d.ID)]; link != nil {
				link.Deps = append(link.Deps, Dep{ID: o.ID})
			}
		}
	}
	for _, link := range m.Objects {
		if link.Kind != KindSequenceOwner {
			continue
		}
		for _, d := range link.Deps {
			if c := m.Objects[d.ID]; c != nil && c.Kind == KindColumn {
				for _, o := range add {
					if o.Deps[0].ID == ID(KindTable, c.Schema, c.Table) {
						link.Deps = append(link.Deps, Dep{ID: o.ID})
					}
				}
			}
		}
	}
	return m.addAll(add)
}
