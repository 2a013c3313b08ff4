package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// view is what a view's or materialized view's Alter compares.
type view struct {
	body      string // pg_get_viewdef, canonical already
	options   []string
	populated bool
	cols      []column
}

// inspectViews adds the views and materialized views of the managed
// schemas, and the indexes of materialized views (Atlas plans only
// tables' indexes). Def holds the columns too: a view whose query reads
// the same but whose columns changed type (a table column under it was
// retyped) must be re-created.
func inspectViews(ctx context.Context, q Querier, m *Model) error {
	cols, err := relColumns(ctx, q, m, "vm")
	if err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, c.relname, c.oid, c.relkind, pg_get_viewdef(c.oid, true), coalesce(c.reloptions, '{}'), c.relispopulated
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND c.relkind IN ('v', 'm') AND `+fmt.Sprintf(extOwned, "pg_class", "c.oid")+`
ORDER BY 1, 2`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: views: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			schema, name, kind string
			oid                uint32
			v                  view
		)
		if err := rows.Scan(&schema, &name, &oid, &kind, &v.body, pqArrayOut(&v.options), &v.populated); err != nil {
			return fmt.Errorf("catalog: views: %w", err)
		}
		v.body = strings.TrimSuffix(strings.TrimSpace(v.body), ";")
		sort.Strings(v.options)
		v.cols = cols[oid]
		qname := m.Qualify(schema, name)
		var o *Object
		if kind == "v" {
			o = &Object{
				ID: ID(KindView, schema, name), Kind: KindView,
				Create: []string{v.create("VIEW", qname)},
				Drop:   []string{"DROP VIEW " + qname},
				Alter:  func(from *Object) ([]string, bool) { return v.alter(qname, from.view) },
			}
		} else {
			o = &Object{
				ID: ID(KindMatView, schema, name), Kind: KindMatView,
				Create: []string{v.create("MATERIALIZED VIEW", qname)},
				Drop:   []string{"DROP MATERIALIZED VIEW " + qname},
				Alter: func(from *Object) ([]string, bool) {
					// PostgreSQL cannot change a materialized view's query
					// in place; only whether it holds data.
					f := from.view
					if f == nil || f.body != v.body || strings.Join(f.options, ",") != strings.Join(v.options, ",") ||
						!sameColumns(f.cols, v.cols) {
						return nil, false
					}
					if v.populated {
						return []string{"REFRESH MATERIALIZED VIEW " + qname}, true
					}
					return []string{"REFRESH MATERIALIZED VIEW " + qname + " WITH NO DATA"}, true
				},
			}
		}
		o.Schema, o.Name, o.Addr, o.view = schema, name, Addr{"pg_class", oid, 0}, &v
		o.Def = v.compared(kind == "m")
		if err := m.Add(o); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: views: %w", err)
	}
	return inspectMatViewIndexes(ctx, q, m)
}

func (v *view) compared(matview bool) string {
	cols := make([]string, len(v.cols))
	for i, c := range v.cols {
		cols[i] = c.String()
	}
	s := "options " + strings.Join(v.options, ",") + "\ncolumns " + strings.Join(cols, ", ") + "\n" + v.body
	if matview {
		s += fmt.Sprintf("\npopulated %t", v.populated)
	}
	return s
}

func (v *view) create(kind, name string) string {
	s := "CREATE " + kind + " " + name
	if len(v.options) > 0 {
		s += " WITH (" + strings.Join(v.options, ", ") + ")"
	}
	s += " AS " + v.body
	if kind == "MATERIALIZED VIEW" && !v.populated {
		s += " WITH NO DATA"
	}
	return s
}

// alter replaces a view in place when CREATE OR REPLACE VIEW can: the
// old columns are kept, with their names, types and collations, in
// their order, and new ones come after them. CREATE OR REPLACE VIEW
// sets the options it is given but keeps the others, so options the new
// view lacks are reset first.
func (v *view) alter(name string, from *view) ([]string, bool) {
	if from == nil || len(from.cols) > len(v.cols) || !sameColumns(from.cols, v.cols[:len(from.cols)]) {
		return nil, false
	}
	var stmts []string
	var reset []string
	for _, o := range from.options {
		k, _, _ := strings.Cut(o, "=")
		found := false
		for _, n := range v.options {
			if nk, _, _ := strings.Cut(n, "="); nk == k {
				found = true
			}
		}
		if !found {
			reset = append(reset, k)
		}
	}
	if len(reset) > 0 {
		stmts = append(stmts, "ALTER VIEW "+name+" RESET ("+strings.Join(reset, ", ")+")")
	}
	return append(stmts, strings.Replace(v.create("VIEW", name), "CREATE VIEW", "CREATE OR REPLACE VIEW", 1)), true
}

func sameColumns(a, b []column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// inspectMatViewIndexes adds the indexes of materialized views: the
// diff's own objects (not Atlas's), re-created with their view.
func inspectMatViewIndexes(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, t.relname, c.relname, c.oid, pg_get_indexdef(c.oid), quote_ident(n.nspname) || '.' || quote_ident(t.relname)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND t.relkind = 'm' AND `+fmt.Sprintf(extOwned, "pg_class", "c.oid")+`
  AND `+fmt.Sprintf(extOwned, "pg_class", "t.oid")+`
ORDER BY 1, 2, 3`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: materialized view indexes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			schema, table, name, def, qualified string
			oid                                 uint32
		)
		if err := rows.Scan(&schema, &table, &name, &oid, &def, &qualified); err != nil {
			return fmt.Errorf("catalog: materialized view indexes: %w", err)
		}
		// pg_get_indexdef qualifies the table always; write it the way
		// every other name is written (unqualified in the default schema).
		def = strings.Replace(def, " ON "+qualified+" ", " ON "+m.Qualify(schema, table)+" ", 1)
		if err := m.Add(&Object{
			ID:     ID(KindIndex, schema, name),
			Kind:   KindIndex,
			Schema: schema,
			Name:   name,
			Table:  table,
			Def:    def,
			Create: []string{def},
			Drop:   []string{"DROP INDEX " + m.Qualify(schema, name)},
			Addr:   Addr{"pg_class", oid, 0},
			Deps:   []Dep{{ID: ID(KindMatView, schema, table), Auto: true}},
		}); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ruleEnabled turns pg_rewrite.ev_enabled into the ALTER TABLE clause
// that sets it.
var ruleEnabled = map[string]string{"O": "ENABLE RULE", "D": "DISABLE RULE", "R": "ENABLE REPLICA RULE", "A": "ENABLE ALWAYS RULE"}

// inspectRules adds the rules of the managed schemas' tables and views
// (not the _RETURN rule that is a view's query). Def is PostgreSQL's
// rendering of the rule and its enabled state; CREATE OR REPLACE RULE
// changes it in place.
func inspectRules(ctx context.Context, q Querier, m *Model) error {
	rows, err := q.QueryContext(ctx, `
SELECT n.nspname, c.relname, c.oid, r.oid, r.rulename, pg_get_ruledef(r.oid, true), r.ev_enabled
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND r.rulename <> '_RETURN' AND `+fmt.Sprintf(extOwned, "pg_rewrite", "r.oid")+`
ORDER BY 1, 2, 5`, pqArray(m.Schemas))
	if err != nil {
		return fmt.Errorf("catalog: rules: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			schema, table, name, def, enabled string
			rel, oid                          uint32
		)
		if err := rows.Scan(&schema, &table, &rel, &oid, &name, &def, &enabled); err != nil {
			return fmt.Errorf("catalog: rules: %w", err)
		}
		parent, ok := m.Lookup(Addr{"pg_class", rel, 0})
		if !ok {
			continue // on a relation no inspector claims: unclaimed names both
		}
		def = strings.TrimSuffix(strings.TrimSpace(def), ";")
		qtable := m.Qualify(schema, table)
		enable := "ALTER TABLE " + qtable + " " + ruleEnabled[enabled] + " " + QuoteIdent(name)
		create := []string{def}
		if enabled != "O" {
			create = append(create, enable)
		}
		if err := m.Add(&Object{
			ID:     ID(KindRule, schema, table, name),
			Kind:   KindRule,
			Schema: schema,
			Name:   name,
			Table:  table,
			Def:    def + "\nenabled " + enabled,
			Create: create,
			Drop:   []string{"DROP RULE " + QuoteIdent(name) + " ON " + qtable},
			Addr:   Addr{"pg_rewrite", oid, 0},
			Deps:   []Dep{{ID: parent, Auto: true}},
			Alter: func(from *Object) ([]string, bool) {
				fdef, fen, _ := strings.Cut(from.Def, "\nenabled ")
				var stmts []string
				if fdef != def {
					stmts = append(stmts, strings.Replace(def, "CREATE RULE", "CREATE OR REPLACE RULE", 1))
				}
				if fen != enabled {
					stmts = append(stmts, enable)
				}
				return stmts, true
			},
		}); err != nil {
			return err
		}
	}
	return rows.Err()
}
