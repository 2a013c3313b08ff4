package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/lib/pq"

	"tasks/internal/sqltext"
)

// inspectRoutines adds the functions and procedures of the managed
// schemas (not those an extension owns). A function's Def holds its
// result, arguments, language, attributes and body; the body is compared
// through sqltext, so reformatting it changes nothing.
func inspectRoutines(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, p.oid, p.proname,
       pg_get_function_identity_arguments(p.oid),
       pg_get_function_arguments(p.oid),
       coalesce(pg_get_function_result(p.oid), ''),
       l.lanname, p.prokind, p.provolatile, p.proisstrict, p.prosecdef, p.proleakproof,
       p.proparallel, p.procost, p.prorows, coalesce(p.proconfig, '{}'),
       p.prosrc, p.prosqlbody IS NOT NULL, pg_get_functiondef(p.oid)
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname = ANY($1) AND p.prokind IN ('f', 'p')
  -- not an extension's, nor a range type's constructors (internal to it)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype IN ('e', 'i'))
ORDER BY 1, 3, 4`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: functions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			f                         Function
			schema                    string
			oid                       uint32
			volatile, parallel        string
			strict, secdef, leakproof bool
			cost, nrows               float64
			config                    []string
		)
		if err := rows.Scan(&schema, &oid, &f.Name, &f.Args, &f.ArgsDecl, &f.Result, &f.Language, &f.Kind, &volatile,
			&strict, &secdef, &leakproof, &parallel, &cost, &nrows, pq.Array(&config), &f.Body, &f.SQLBody, &f.Def); err != nil {
			return fmt.Errorf("catalog: functions: %w", err)
		}
		f.Attrs = attrs(f.Language, volatile, parallel, strict, secdef, leakproof, cost, nrows, config)
		kind := KindFunction
		if f.Kind == "p" {
			kind, f.Result = KindProcedure, ""
		}
		name := m.Qualify(schema, f.Name)
		fn := f
		o := &Object{
			ID:     RoutineID(kind, schema, f.Name, f.Args),
			Kind:   kind,
			Schema: schema,
			Name:   f.Name,
			Def:    fn.compared(),
			Create: []string{fn.createSQL(name, false)},
			Drop:   []string{"DROP " + kind.Facts().Keyword + " " + name + " (" + f.Args + ")"},
			Addr:   Addr{"pg_proc", oid, 0},
			Alter: func(from *Object) ([]string, bool) {
				// CREATE OR REPLACE keeps the object (and what depends
				// on it) but cannot change the result type, the kind or
				// the argument names and defaults.
				if from.fn == nil || from.fn.Result != fn.Result || from.fn.Kind != fn.Kind || from.fn.ArgsDecl != fn.ArgsDecl {
					return nil, false
				}
				return []string{fn.createSQL(name, true)}, true
			},
		}
		o.fn = &fn
		if err := m.Add(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

// compared is the function's Def: everything CREATE OR REPLACE can set,
// the body normalized by PostgreSQL's lexical rules.
func (f *Function) compared() string {
	body := f.Body
	switch {
	case f.SQLBody:
		// PostgreSQL parsed a SQL-standard body; its rendering is
		// canonical (and holds the header too).
		body = f.Def
	case f.Language != "c" && f.Language != "internal":
		body = sqltext.Normalize(f.Body)
	}
	return strings.Join([]string{f.Kind, f.ArgsDecl, f.Result, f.Language, strings.Join(f.Attrs, " "), body}, "\n")
}

// createSQL renders CREATE [OR REPLACE] FUNCTION/PROCEDURE in the shape
// Atlas writes: the name quoted, the body dollar-quoted byte for byte.
func (f *Function) createSQL(name string, orReplace bool) string {
	if f.SQLBody {
		// pg_get_functiondef's first line names the function qualified;
		// the rest (attributes and the parsed body) is kept as rendered.
		_, rest, _ := strings.Cut(strings.TrimSpace(f.Def), "\n")
		head := "CREATE "
		if orReplace {
			head += "OR REPLACE "
		}
		kind := "FUNCTION"
		if f.Kind == "p" {
			kind = "PROCEDURE"
		}
		return head + kind + " " + name + " (" + f.ArgsDecl + ")\n" + rest
	}
	var b strings.Builder
	b.WriteString("CREATE ")
	if orReplace {
		b.WriteString("OR REPLACE ")
	}
	kind := "FUNCTION"
	if f.Kind == "p" {
		kind = "PROCEDURE"
	}
	b.WriteString(kind + " " + name + " (" + f.ArgsDecl + ")")
	if f.Result != "" {
		b.WriteString(" RETURNS " + f.Result)
	}
	b.WriteString(" LANGUAGE " + f.Language)
	for _, a := range f.Attrs {
		b.WriteString(" " + a)
	}
	tag := "$$"
	for i := 0; strings.Contains(f.Body, tag); i++ {
		tag = "$body" + strings.Repeat("_", i) + "$"
	}
	b.WriteString(" AS " + tag + f.Body + tag)
	return b.String()
}

// inspectTriggers adds the user triggers of the managed schemas' tables
// (not the internal ones behind foreign keys). Def is PostgreSQL's own
// rendering, so two triggers with equal Defs are the same trigger.
func inspectTriggers(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, c.relname, t.oid, t.tgname, pg_get_triggerdef(t.oid, true),
       quote_ident(t.tgname),
       CASE WHEN pg_table_is_visible(c.oid) THEN quote_ident(c.relname)
            ELSE quote_ident(n.nspname) || '.' || quote_ident(c.relname) END,
       CASE WHEN pg_function_is_visible(p.oid) THEN quote_ident(p.proname)
            ELSE quote_ident(pn.nspname) || '.' || quote_ident(p.proname) END,
       pn.nspname, p.proname
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_namespace pn ON pn.oid = p.pronamespace
WHERE n.nspname = ANY($1) AND NOT t.tgisinternal
  AND t.tgparentid = 0 -- a partition's clone of its parent's trigger comes with the partition
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_trigger'::regclass AND d.objid = t.oid AND d.deptype = 'e')
ORDER BY 1, 2, 4`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: triggers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			schema, table, name, def string
			pgName, pgTable, pgFn    string
			fnSchema, fn             string
			oid                      uint32
		)
		if err := rows.Scan(&schema, &table, &oid, &name, &def, &pgName, &pgTable, &pgFn, &fnSchema, &fn); err != nil {
			return fmt.Errorf("catalog: triggers: %w", err)
		}
		if err := m.Add(&Object{
			ID:     ID(KindTrigger, schema, table, name),
			Kind:   KindTrigger,
			Schema: schema,
			Name:   name,
			Table:  table,
			Def:    def,
			Create: []string{requote(def, pgName, m.Qualify("", name), pgTable, m.Qualify(schema, table), pgFn, m.Qualify(fnSchema, fn))},
			Drop:   []string{"DROP TRIGGER " + QuoteIdent(name) + " ON " + m.Qualify(schema, table)},
			Addr:   Addr{"pg_trigger", oid, 0},
		}); err != nil {
			return err
		}
	}
	return rows.Err()
}

// requote rewrites PostgreSQL's trigger definition with every name
// quoted, as Atlas writes triggers: the trigger's name after CREATE
// TRIGGER, the table after the first ON, the function after the last
// EXECUTE FUNCTION. Anything not where expected is left as PostgreSQL
// rendered it, which is equally valid.
func requote(def, pgName, name, pgTable, table, pgFn, fn string) string {
	for _, head := range []string{"CREATE TRIGGER ", "CREATE CONSTRAINT TRIGGER "} {
		if strings.HasPrefix(def, head+pgName+" ") {
			rest := def[len(head+pgName):]
			if i := strings.Index(rest, " ON "+pgTable+" "); i >= 0 {
				rest = rest[:i] + " ON " + table + " " + rest[i+len(" ON "+pgTable+" "):]
			}
			if i := strings.LastIndex(rest, " EXECUTE FUNCTION "+pgFn+"("); i >= 0 {
				rest = rest[:i] + " EXECUTE FUNCTION " + fn + "(" + rest[i+len(" EXECUTE FUNCTION "+pgFn+"("):]
			}
			return head + name + rest
		}
	}
	return def
}

// pqArray passes a string slice as a PostgreSQL text[] parameter.
func pqArray(s []string) any { return pq.Array(s) }

// pqArrayOut scans a PostgreSQL text[] into a string slice.
func pqArrayOut(p *[]string) any { return pq.Array(p) }
