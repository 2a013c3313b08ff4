package catalog

import (
	"context"
	"fmt"
)

// inspectComments adds one comment object per commented object of the
// model (COMMENT ON …). Comments of tables, their columns and indexes
// are left to Atlas's table diff, which plans them with the table. An
// extension's own comment (the one CREATE EXTENSION sets) is part of the
// extension. Run after every kind's inspector: only objects in the model
// get comments.
func inspectComments(ctx context.Context, q Querier, m *Model) error {
	// Objects PostgreSQL creates have comments of its own, left alone;
	// but for the public schema's, which a schema.sql may change.
	rows, err := q.QueryContext(ctx, `
WITH d AS (SELECT * FROM pg_description WHERE objoid >= 16384)
SELECT 'pg_class', c.oid, d.objsubid, c.relkind::text, n.nspname, c.relname, coalesce(a.attname, ''), d.description
FROM d JOIN pg_class c ON d.classoid = 'pg_class'::regclass AND c.oid = d.objoid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid AND d.objsubid > 0
WHERE n.nspname = ANY($1)
UNION ALL
SELECT 'pg_proc', p.oid, 0, p.prokind::text, n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), d.description
FROM d JOIN pg_proc p ON d.classoid = 'pg_proc'::regclass AND p.oid = d.objoid
JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY($1)
UNION ALL
SELECT 'pg_type', t.oid, 0, t.typtype::text, n.nspname, t.typname, '', d.description
FROM d JOIN pg_type t ON d.classoid = 'pg_type'::regclass AND t.oid = d.objoid
JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = ANY($1)
UNION ALL
SELECT 'pg_trigger', t.oid, 0, 'TRIGGER', n.nspname, t.tgname, c.relname, d.description
FROM d JOIN pg_trigger t ON d.classoid = 'pg_trigger'::regclass AND t.oid = d.objoid
JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1)
UNION ALL
SELECT 'pg_constraint', k.oid, 0, CASE WHEN k.contypid <> 0 THEN 'DOMAIN CONSTRAINT' ELSE 'CONSTRAINT' END,
       n.nspname, k.conname, coalesce(c.relname, t.typname), d.description
FROM d JOIN pg_constraint k ON d.classoid = 'pg_constraint'::regclass AND k.oid = d.objoid
JOIN pg_namespace n ON n.oid = k.connamespace
LEFT JOIN pg_class c ON c.oid = k.conrelid LEFT JOIN pg_type t ON t.oid = k.contypid
WHERE n.nspname = ANY($1)
UNION ALL
SELECT 'pg_policy', p.oid, 0, 'POLICY', n.nspname, p.polname, c.relname, d.description
FROM d JOIN pg_policy p ON d.classoid = 'pg_policy'::regclass AND p.oid = d.objoid
JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1)
UNION ALL
SELECT 'pg_rewrite', r.oid, 0, 'RULE', n.nspname, r.rulename, c.relname, d.description
FROM d JOIN pg_rewrite r ON d.classoid = 'pg_rewrite'::regclass AND r.oid = d.objoid
JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1)
UNION ALL
SELECT 'pg_statistic_ext', s.oid, 0, 'STATISTICS', n.nspname, s.stxname, '', d.description
FROM d JOIN pg_statistic_ext s ON d.classoid = 'pg_statistic_ext'::regclass AND s.oid = d.objoid
JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE n.nspname = ANY($1)
UNION ALL
SELECT 'pg_namespace', n.oid, 0, 'SCHEMA', '', n.nspname, '', d.description
FROM pg_description d JOIN pg_namespace n ON d.classoid = 'pg_namespace'::regclass AND n.oid = d.objoid
WHERE n.oid >= 16384 OR (n.nspname = 'public' AND d.description <> '`+publicComment+`')
UNION ALL
SELECT 'pg_extension', e.oid, 0, 'EXTENSION', '', e.extname, '', d.description
FROM d JOIN pg_extension e ON d.classoid = 'pg_extension'::regclass AND e.oid = d.objoid
WHERE d.description IS DISTINCT FROM (SELECT a.comment FROM pg_available_extensions a WHERE a.name = e.extname)
ORDER BY 1, 5, 6, 7, 3`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: comments: %w", err)
	}
	defer rows.Close()
	var add []*Object
	for rows.Next() {
		var (
			cat, kind, schema, name, extra, text string
			oid                                  uint32
			sub                                  int32
		)
		if err := rows.Scan(&cat, &oid, &sub, &kind, &schema, &name, &extra, &text); err != nil {
			return fmt.Errorf("catalog: comments: %w", err)
		}
		parent := m.parentOf(Addr{cat, oid, sub}, name, extra)
		if parent == nil || (cat == "pg_class" && parent.Atlas) {
			continue
		}
		if cat == "pg_class" && kind == "i" && parent.Kind != KindIndex {
			// The index behind a constraint has the constraint's
			// address; its comment is the index's own.
			parent = &Object{ID: ID(KindIndex, schema, name), Kind: KindIndex, Schema: schema, Name: name,
				Table: parent.Table, Deps: []Dep{{ID: parent.ID, Auto: true}}}
		}
		target := m.commentTarget(parent, cat, schema, name, extra)
		drop := "COMMENT ON " + target + " IS NULL"
		if cat == "pg_namespace" && name == "public" {
			drop = "COMMENT ON " + target + " IS " + QuoteLiteral(publicComment) // as a new database has it
		}
		o := m.attr(KindComment, parent, text, []string{"COMMENT ON " + target + " IS " + QuoteLiteral(text)}, []string{drop})
		add = append(add, o)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: comments: %w", err)
	}
	return m.addAll(add)
}

// publicComment is the comment every new database's public schema has.
const publicComment = "standard public schema"

// commentTarget is what COMMENT ON and ALTER … OWNER TO name for the
// catalog row (schema, name, extra) of the model's object parent: the
// object itself, a column of it (extra), a multirange type of its range
// type, or a constraint of its domain.
func (m *Model) commentTarget(parent *Object, cat, schema, name, extra string) string {
	f := parent.Kind.Facts()
	switch {
	case cat == "pg_constraint" && parent.Kind == KindDomain:
		return "CONSTRAINT " + QuoteIdent(name) + " ON DOMAIN " + m.Qualify(schema, extra)
	case parent.Kind == KindColumn:
		return f.Keyword + " " + m.Qualify(schema, name) + "." + QuoteIdent(extra)
	case f.OnTable:
		return f.Keyword + " " + QuoteIdent(name) + " ON " + m.Qualify(schema, extra)
	case f.Signature:
		return f.Keyword + " " + m.Qualify(schema, name) + "(" + extra + ")"
	}
	return f.Keyword + " " + m.Qualify(schema, name)
}
