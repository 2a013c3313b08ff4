package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/lib/pq"
)

// policy is a row-level security policy's parts, for Alter.
type policy struct {
	table, name, cmd string
	permissive       bool
	roles            []string // quoted, sorted; "public" for PUBLIC
	using, check     string   // pg_get_expr renderings, "" when absent
}

func (p *policy) def() string {
	return fmt.Sprintf("permissive=%t for %s to %s\nusing %s\nwith check %s",
		p.permissive, p.cmd, strings.Join(p.roles, ", "), p.using, p.check)
}

// inspectPolicies adds the row-level security policies on the model's
// tables. Expressions are PostgreSQL's renderings, which name functions
// and columns the same way in both databases of a diff.
func inspectPolicies(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT p.oid, p.polname, p.polrelid, p.polcmd, p.polpermissive,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE quote_ident(pg_get_userbyid(r)) END
             FROM unnest(p.polroles) r ORDER BY 1),
       coalesce(pg_get_expr(p.polqual, p.polrelid), ''),
       coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1)
ORDER BY n.nspname, c.relname, p.polname`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: policies: %w", err)
	}
	defer rows.Close()
	var add []*Object
	for rows.Next() {
		var (
			p        policy
			oid, rel uint32
			cmd      string
		)
		if err := rows.Scan(&oid, &p.name, &rel, &cmd, &p.permissive, pq.Array(&p.roles), &p.using, &p.check); err != nil {
			return fmt.Errorf("catalog: policies: %w", err)
		}
		t := m.relation(rel)
		if t == nil {
			continue
		}
		p.cmd = map[string]string{"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}[cmd]
		if p.cmd == "" {
			return fmt.Errorf("catalog: policy %s on %s: unknown command %q", p.name, t.Name, cmd)
		}
		p.table = m.Qualify(t.Schema, t.Name)
		pol := p
		o := &Object{
			ID:     ID(KindPolicy, t.Schema, t.Name, p.name),
			Kind:   KindPolicy,
			Schema: t.Schema,
			Name:   p.name,
			Table:  t.Name,
			Def:    p.def(),
			Create: []string{pol.createSQL()},
			Drop:   []string{"DROP POLICY " + QuoteIdent(p.name) + " ON " + p.table},
			Deps:   []Dep{{ID: t.ID, Auto: true}},
			Addr:   Addr{"pg_policy", oid, 0},
			pol:    &pol,
		}
		o.Alter = func(from *Object) ([]string, bool) { return pol.alterSQL(from.pol) }
		add = append(add, o)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: policies: %w", err)
	}
	return m.addAll(add)
}

// createSQL writes CREATE POLICY, leaving out the clauses that are at
// their defaults (PERMISSIVE, FOR ALL, TO PUBLIC).
func (p *policy) createSQL() string {
	var b strings.Builder
	b.WriteString("CREATE POLICY " + QuoteIdent(p.name) + " ON " + p.table)
	if !p.permissive {
		b.WriteString(" AS RESTRICTIVE")
	}
	if p.cmd != "ALL" {
		b.WriteString(" FOR " + p.cmd)
	}
	if roles := strings.Join(p.roles, ", "); roles != "public" {
		b.WriteString(" TO " + roles)
	}
	if p.using != "" {
		b.WriteString(" USING (" + p.using + ")")
	}
	if p.check != "" {
		b.WriteString(" WITH CHECK (" + p.check + ")")
	}
	return b.String()
}

// alterSQL writes ALTER POLICY for what it can change (roles and
// expressions); the command, PERMISSIVE/RESTRICTIVE and removing an
// expression need a new policy.
func (p *policy) alterSQL(from *policy) ([]string, bool) {
	if from == nil || from.cmd != p.cmd || from.permissive != p.permissive ||
		(from.using != "" && p.using == "") || (from.check != "" && p.check == "") {
		return nil, false
	}
	var b strings.Builder
	if r := strings.Join(p.roles, ", "); r != strings.Join(from.roles, ", ") {
		b.WriteString(" TO " + r)
	}
	if p.using != from.using {
		b.WriteString(" USING (" + p.using + ")")
	}
	if p.check != from.check {
		b.WriteString(" WITH CHECK (" + p.check + ")")
	}
	if b.Len() == 0 {
		return nil, true
	}
	return []string{"ALTER POLICY " + QuoteIdent(p.name) + " ON " + p.table + b.String()}, true
}
