package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/lib/pq"
)

// privOrder is the order privileges are written in GRANT and REVOKE.
var privOrder = map[string]int{"SELECT": 0, "INSERT": 1, "UPDATE": 2, "DELETE": 3, "TRUNCATE": 4, "REFERENCES": 5,
	"TRIGGER": 6, "EXECUTE": 7, "USAGE": 8, "CREATE": 9, "TEMPORARY": 10, "CONNECT": 11, "MAINTAIN": 12}

// aclItem is one privilege of one grantee, as aclexplode lists it (the
// grantor left out: every privilege the diff writes is granted by the
// owner).
type aclItem struct {
	grantee, priv string // grantee quoted, or PUBLIC
	grantable     bool
}

// parseACL reads the lines "grantee<tab>privilege[<tab>*]" of a
// privileges Def (a quoted grantee may hold spaces).
func parseACL(def string) map[[2]string]bool {
	items := map[[2]string]bool{}
	for _, l := range strings.Split(def, "\n") {
		if l == "" {
			continue
		}
		f := strings.Split(l, "\t")
		items[[2]string{f[0], f[1]}] = len(f) > 2
	}
	return items
}

// aclStmts writes the REVOKEs and GRANTs that turn the privileges from
// into to on target ("TABLE t", "FUNCTION f(integer)", …). cols is the
// column list of column privileges ("" for the object's own).
func aclStmts(from, to map[[2]string]bool, target, cols string) []string {
	type key struct {
		grantee string
		op      int // 0 revoke, 1 revoke grant option, 2 grant, 3 grant with grant option
	}
	groups := map[key][]string{}
	for it, g := range from {
		tg, ok := to[it]
		switch {
		case !ok:
			groups[key{it[0], 0}] = append(groups[key{it[0], 0}], it[1])
		case g && !tg:
			groups[key{it[0], 1}] = append(groups[key{it[0], 1}], it[1])
		}
	}
	for it, g := range to {
		fg, ok := from[it]
		switch {
		case (!ok || !fg) && g:
			groups[key{it[0], 3}] = append(groups[key{it[0], 3}], it[1])
		case !ok:
			groups[key{it[0], 2}] = append(groups[key{it[0], 2}], it[1])
		}
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].op != keys[j].op {
			return keys[i].op < keys[j].op
		}
		return keys[i].grantee < keys[j].grantee
	})
	var s []string
	for _, k := range keys {
		privs := groups[k]
		sort.Slice(privs, func(i, j int) bool { return privOrder[privs[i]] < privOrder[privs[j]] })
		for i := range privs {
			privs[i] += cols
		}
		list := strings.Join(privs, ", ")
		switch k.op {
		case 0:
			s = append(s, "REVOKE "+list+" ON "+target+" FROM "+k.grantee)
		case 1:
			s = append(s, "REVOKE GRANT OPTION FOR "+list+" ON "+target+" FROM "+k.grantee)
		case 2:
			s = append(s, "GRANT "+list+" ON "+target+" TO "+k.grantee)
		case 3:
			s = append(s, "GRANT "+list+" ON "+target+" TO "+k.grantee+" WITH GRANT OPTION")
		}
	}
	return s
}

// inspectPrivileges adds the privileges of every object of the model
// that has an ACL (relations, columns, sequences, functions, procedures,
// types, domains, schemas) when they differ from PostgreSQL's default
// for the object. The owner's own privileges are left out: they follow
// the owner, which the diff does not manage. A NULL ACL is the default
// one, so NULL and an explicit ACL equal to it compare equal.
// Run after every kind's inspector: only objects in the model get
// privileges.
func inspectPrivileges(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
WITH objs(cat, oid, sub, kind, schema, name, extra, owner, acl, dflt) AS (
  SELECT 'pg_class', c.oid, 0, c.relkind::text, n.nspname, c.relname, '', c.relowner,
         coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)),
         acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  UNION ALL
  SELECT 'pg_class', c.oid, a.attnum, 'column', n.nspname, c.relname, a.attname, c.relowner, a.attacl, '{}'::aclitem[]
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
  UNION ALL
  SELECT 'pg_proc', p.oid, 0, p.prokind::text, n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.proowner,
         coalesce(p.proacl, acldefault('f', p.proowner)), acldefault('f', p.proowner)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = ANY($1)
  UNION ALL
  SELECT 'pg_type', t.oid, 0, t.typtype::text, n.nspname, t.typname, '', t.typowner,
         coalesce(t.typacl, acldefault('T', t.typowner)), acldefault('T', t.typowner)
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE n.nspname = ANY($1) AND t.typtype IN ('b', 'c', 'd', 'e', 'r', 'm')
  UNION ALL
  SELECT 'pg_namespace', n.oid, 0, 'schema', '', n.nspname, '', n.nspowner,
         coalesce(n.nspacl, acldefault('n', n.nspowner)), acldefault('n', n.nspowner)
  FROM pg_namespace n WHERE n.nspname = ANY($1)
)
SELECT o.cat, o.oid, o.sub, o.kind, o.schema, o.name, o.extra,
       ARRAY(SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END
                    || E'\t' || x.privilege_type || CASE WHEN x.is_grantable THEN E'\t*' ELSE '' END
             FROM aclexplode(nullif(o.acl, '{}')) x WHERE x.grantee <> o.owner ORDER BY 1),
       ARRAY(SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END
                    || E'\t' || x.privilege_type || CASE WHEN x.is_grantable THEN E'\t*' ELSE '' END
             FROM aclexplode(nullif(o.dflt, '{}')) x WHERE x.grantee <> o.owner ORDER BY 1)
FROM objs o
ORDER BY 1, 5, 6, 7, 3`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: privileges: %w", err)
	}
	defer rows.Close()
	var add []*Object
	for rows.Next() {
		var (
			cat, kind, schema, name, extra string
			oid                            uint32
			sub                            int32
			acl, dflt                      []string
		)
		if err := rows.Scan(&cat, &oid, &sub, &kind, &schema, &name, &extra, pq.Array(&acl), pq.Array(&dflt)); err != nil {
			return fmt.Errorf("catalog: privileges: %w", err)
		}
		def := strings.Join(acl, "\n")
		if def == strings.Join(dflt, "\n") {
			continue
		}
		parent := m.parentOf(Addr{cat, oid, sub}, name, extra)
		if parent == nil {
			continue
		}
		target, cols := m.aclTarget(parent, schema, name, extra)
		if target == "" {
			continue
		}
		have, base := parseACL(def), parseACL(strings.Join(dflt, "\n"))
		o := m.attr(KindPrivileges, parent, def, aclStmts(base, have, target, cols), aclStmts(have, base, target, cols))
		o.Alter = func(from *Object) ([]string, bool) {
			return aclStmts(parseACL(from.Def), have, target, cols), true
		}
		add = append(add, o)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: privileges: %w", err)
	}
	return m.addAll(add)
}

// aclTarget is what GRANT names for the catalog row (schema, name,
// extra) of the model's object parent: "TABLE t", "FUNCTION f(integer)",
// …, and for a column privilege its " (column)" suffix; "" for a kind
// without privileges.
func (m *Model) aclTarget(parent *Object, schema, name, extra string) (target, cols string) {
	f := parent.Kind.Facts()
	switch {
	case f.Grant == "":
		return "", ""
	case parent.Kind == KindColumn:
		return f.Grant + " " + m.Qualify(schema, name), " (" + QuoteIdent(extra) + ")"
	case f.Signature:
		return f.Grant + " " + m.Qualify(schema, name) + "(" + extra + ")", ""
	}
	return f.Grant + " " + m.Qualify(schema, name), ""
}

// parentOf returns the model's object at a catalog address. A column
// that the model does not hold as an object of its own (a view's) gets
// one made up from its relation, so that its comment or privileges can
// depend on the relation, and the sequence of an identity or serial
// column one that goes with its column; nil when the model has neither.
func (m *Model) parentOf(a Addr, relname, col string) *Object {
	if id, ok := m.Lookup(a); ok {
		return m.Objects[id]
	}
	switch {
	case a.Catalog != "pg_class":
		return nil
	case a.Sub == 0:
		if o, ok := m.owned[a.OID]; ok {
			return o
		}
		return nil
	}
	rel := m.relation(a.OID)
	if rel == nil || rel.Atlas {
		return nil
	}
	return &Object{ID: ID(KindColumn, rel.Schema, relname, col), Kind: KindColumn, Schema: rel.Schema,
		Name: col, Table: relname, Deps: []Dep{{ID: rel.ID, Auto: true}}}
}
