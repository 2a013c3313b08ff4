package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/lib/pq"
)

// defaclObjects is what ALTER DEFAULT PRIVILEGES names for each
// pg_default_acl.defaclobjtype.
var defaclObjects = map[string]string{"r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS"}

// inspectDefaultPrivileges adds the default privileges (ALTER DEFAULT
// PRIVILEGES) of the managed schemas and the database-wide ones, which
// apply to objects created in any schema. They change what every later
// CREATE grants, so a diff that did not carry them would leave the
// target granting differently from the desired state without a word.
//
// An entry of the role that builds the databases is written without FOR
// ROLE: it stands for the role that runs the migration, as the
// statement in schema.sql did. Another role's is written FOR ROLE it.
//
// Per-schema entries only add to the database-wide ones; a
// database-wide entry replaces PostgreSQL's built-in defaults, so it is
// compared with those, and revoking a built-in default (EXECUTE for
// PUBLIC on functions) is a REVOKE.
//
// A change is planned as a drop (back to the defaults) and a create, not
// in place: the planner drops them before and creates them after every
// other change (the unchanged ones too when the migration creates
// objects), so objects the migration creates get no default grant the
// desired state did not give them; what they should have is granted
// explicitly by their own privileges.
func inspectDefaultPrivileges(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT d.oid, coalesce(n.nspname, ''), pg_get_userbyid(d.defaclrole) = current_user,
       quote_ident(pg_get_userbyid(d.defaclrole)), d.defaclobjtype::text,
       ARRAY(SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END
                    || E'\t' || x.privilege_type || CASE WHEN x.is_grantable THEN E'\t*' ELSE '' END
             FROM aclexplode(nullif(d.defaclacl, '{}')) x ORDER BY 1),
       ARRAY(SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END
                    || E'\t' || x.privilege_type || CASE WHEN x.is_grantable THEN E'\t*' ELSE '' END
             FROM aclexplode(CASE WHEN d.defaclnamespace = 0
               THEN acldefault(CASE d.defaclobjtype WHEN 'S' THEN 's' ELSE d.defaclobjtype END, d.defaclrole)
               END) x ORDER BY 1)
FROM pg_default_acl d
LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
WHERE d.defaclnamespace = 0 OR n.nspname = ANY($1)
ORDER BY 2, 4, 5`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: default privileges: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			oid                   uint32
			schema, role, objtype string
			mine                  bool
			acl, base             []string
		)
		if err := rows.Scan(&oid, &schema, &mine, &role, &objtype, pq.Array(&acl), pq.Array(&base)); err != nil {
			return fmt.Errorf("catalog: default privileges: %w", err)
		}
		objects, ok := defaclObjects[objtype]
		if !ok {
			return fmt.Errorf("catalog: default privileges: unknown object type %q", objtype)
		}
		name := "on " + strings.ToLower(objects)
		prefix := "ALTER DEFAULT PRIVILEGES"
		if !mine {
			name += " for role " + role
			prefix += " FOR ROLE " + role
		}
		o := &Object{Kind: KindDefaultACL, Addr: Addr{"pg_default_acl", oid, 0}}
		if schema != "" {
			name += " in schema " + schema
			prefix += " IN SCHEMA " + QuoteIdent(schema)
			o.Schema = schema
			o.Deps = []Dep{{ID: ID(KindSchema, schema), Auto: true}}
		}
		o.ID, o.Name = ID(KindDefaultACL, name), name
		def, dflt := strings.Join(acl, "\n"), strings.Join(base, "\n")
		o.Def = def
		have, was := parseACL(def), parseACL(dflt)
		for _, s := range aclStmts(was, have, objects, "") {
			o.Create = append(o.Create, prefix+" "+s)
		}
		for _, s := range aclStmts(have, was, objects, "") {
			o.Drop = append(o.Drop, prefix+" "+s)
		}
		if err := m.Add(o); err != nil {
			return err
		}
	}
	return rows.Err()
}
