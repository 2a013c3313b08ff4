package catalog

import (
	"context"
	"fmt"
	"strings"
)

// inspectSchemas adds the managed schemas that exist. Their Def is empty:
// what a schema carries besides its name (comment, privileges) is an
// attribute object of its own. The schema "public" exists in every
// database PostgreSQL creates, so it is modelled (objects depend on it)
// but never created or dropped.
func inspectSchemas(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, n.oid FROM pg_namespace n WHERE n.nspname = ANY($1) ORDER BY 1`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: schemas: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name string
			oid  uint32
		)
		if err := rows.Scan(&name, &oid); err != nil {
			return fmt.Errorf("catalog: schemas: %w", err)
		}
		o := &Object{ID: ID(KindSchema, name), Kind: KindSchema, Name: name, Addr: Addr{"pg_namespace", oid, 0}}
		if name != "public" {
			o.Create = []string{"CREATE SCHEMA " + QuoteIdent(name)}
			o.Drop = []string{"DROP SCHEMA " + QuoteIdent(name)}
		}
		if err := m.Add(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

// inspectExtensions adds every extension of the database but plpgsql
// (which every database has). Extensions are database-wide, so a managed
// schema's objects may use one installed elsewhere; the unclaimed check
// lists them all the same way.
//
// The version: Def holds the installed one, so a pinned version that
// changes is an ALTER EXTENSION … UPDATE. CREATE EXTENSION names it only
// when it is not the server's default_version: the desired database got
// that version because the SQL asked for it. Writing the default version
// as well would pin the migration to the dev server's contrib release and
// make it fail on a server that ships another one, where PostgreSQL's
// choice of its own default is what a plain CREATE EXTENSION means.
func inspectExtensions(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT e.oid, e.extname, n.nspname, e.extversion, e.extrelocatable,
       coalesce((SELECT a.default_version FROM pg_available_extensions a WHERE a.name = e.extname), ''),
       coalesce((SELECT array_agg(p.target ORDER BY p.target) FROM pg_extension_update_paths(e.extname) p
                 WHERE p.source = e.extversion AND p.path IS NOT NULL), '{}')
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname <> 'plpgsql'
ORDER BY 2`)
	if err != nil {
		return fmt.Errorf("catalog: extensions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			oid                     uint32
			name, schema, ver, defv string
			relocatable             bool
			targets                 []string
		)
		if err := rows.Scan(&oid, &name, &schema, &ver, &relocatable, &defv, pqArrayOut(&targets)); err != nil {
			return fmt.Errorf("catalog: extensions: %w", err)
		}
		create := "CREATE EXTENSION IF NOT EXISTS " + QuoteIdent(name)
		if schema != m.Default {
			create += " WITH SCHEMA " + QuoteIdent(schema)
		}
		if ver != defv {
			create += " VERSION " + QuoteLiteral(ver)
		}
		ext := QuoteIdent(name)
		o := &Object{
			ID:     ID(KindExtension, name),
			Kind:   KindExtension,
			Schema: schema,
			Name:   name,
			Def:    "schema " + schema + "\nversion " + ver,
			Create: []string{create},
			Drop:   []string{"DROP EXTENSION " + ext},
			Addr:   Addr{"pg_extension", oid, 0},
		}
		isDefault := ver == defv
		o.Alter = func(from *Object) ([]string, bool) {
			f := from.ext
			if f == nil {
				return nil, false
			}
			var stmts []string
			if f.schema != schema {
				if !relocatable {
					return nil, false
				}
				stmts = append(stmts, "ALTER EXTENSION "+ext+" SET SCHEMA "+QuoteIdent(schema))
			}
			if f.version != ver {
				if !contains(f.targets, ver) {
					return nil, false
				}
				if isDefault {
					stmts = append(stmts, "ALTER EXTENSION "+ext+" UPDATE")
				} else {
					stmts = append(stmts, "ALTER EXTENSION "+ext+" UPDATE TO "+QuoteLiteral(ver))
				}
			}
			return stmts, true
		}
		o.Refuse = func(from *Object) error {
			// Re-creating an extension drops every column of its types
			// and every index on its operator classes: refuse instead.
			if f := from.ext; f != nil && f.version != ver && !contains(f.targets, ver) {
				return fmt.Errorf("catalog: extension %s: PostgreSQL has no update path from version %s to %s, and re-creating "+
					"the extension would drop every column, index and function using its types, operators and functions; "+
					"nothing written. Ask for a version the server can update to (CREATE EXTENSION … VERSION), or write the change "+
					"by hand in a migration of its own (migrate new <name>, write the SQL, then migrate hash)", name, f.version, ver)
			}
			if f := from.ext; f != nil && f.schema != schema && !relocatable {
				return fmt.Errorf("catalog: extension %s cannot move from schema %s to %s: it is not relocatable (ALTER EXTENSION … "+
					"SET SCHEMA refuses it), and re-creating it would drop what uses its objects; nothing written. Keep it in "+
					"schema %s (CREATE EXTENSION … SCHEMA %s), or move it by hand in a migration of its own (migrate new <name>, "+
					"write the SQL, then migrate hash)", name, f.schema, schema, f.schema, f.schema)
			}
			return nil
		}
		o.ext = &extension{schema: schema, version: ver, targets: targets}
		if err := m.Add(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

// extension is what an extension's Alter needs of the other database's
// object.
type extension struct {
	schema, version string
	targets         []string // versions ALTER EXTENSION … UPDATE can reach
}

// inspectExtensionMembers points the catalog addresses of the objects an
// extension owns (operator classes, types, functions) at the extension,
// so that an index using gin_trgm_ops or a citext column depends on its
// extension in the graph. It runs after every other inspector: members
// are never objects of their own.
func inspectExtensionMembers(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT d.classid::regclass::text, d.objid, d.refobjid FROM pg_depend d
WHERE d.deptype = 'e' AND d.refclassid = 'pg_extension'::regclass`)
	if err != nil {
		return fmt.Errorf("catalog: extension members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			cat      string
			oid, ext uint32
		)
		if err := rows.Scan(&cat, &oid, &ext); err != nil {
			return fmt.Errorf("catalog: extension members: %w", err)
		}
		id, ok := m.addrs[Addr{"pg_extension", ext, 0}]
		if !ok {
			continue
		}
		m.alias(Addr{strings.TrimSpace(cat), oid, 0}, id)
	}
	return rows.Err()
}

// alias points a second catalog address at an object (a composite type's
// pg_type row next to its pg_class row, an extension's members), unless
// the address is taken already.
func (m *Model) alias(a Addr, id ObjectID) {
	if _, ok := m.addrs[a]; !ok {
		m.addrs[a] = id
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
