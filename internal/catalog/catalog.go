// Package catalog reads from PostgreSQL's catalog what the open-source
// Atlas driver does not inspect: functions, procedures and triggers, in a
// form that can be compared between two databases and turned back into
// DDL. It also lists objects that neither Atlas nor this package handles,
// so that a diff can refuse them instead of dropping them silently.
package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// Querier is a *sql.DB, *sql.Conn or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Function is a function or procedure of one schema.
type Function struct {
	Name string
	Args string // identity arguments, e.g. "a integer, b text"
	// ArgsDecl is the full argument list with defaults, for CREATE.
	ArgsDecl  string
	Result    string // "trigger", "integer", "SETOF t", …; "" for a procedure
	Language  string
	Kind      string   // "f" function, "p" procedure
	Attrs     []string // volatility, STRICT, SECURITY DEFINER, … as SQL clauses
	Body      string   // prosrc, byte for byte
	SQLBody   bool     // a SQL-standard body (BEGIN ATOMIC / RETURN): Def holds it
	Def       string   // pg_get_functiondef, used when SQLBody
	Extension bool     // owned by an extension: never diffed
}

// Key identifies a function: its name and identity arguments. Two
// functions with the same key are the same object to PostgreSQL.
func (f *Function) Key() string { return f.Name + "(" + f.Args + ")" }

// Trigger is a user trigger (not the internal ones behind foreign keys).
type Trigger struct {
	Name     string
	Table    string
	Def      string // pg_get_triggerdef(oid, true), unqualified under the schema's search_path
	Function string // key of the function it executes
}

// Key identifies a trigger: table and name.
func (t *Trigger) Key() string { return t.Table + "." + t.Name }

// State is the functions and triggers of one schema.
type State struct {
	Functions map[string]*Function // by Key
	Triggers  map[string]*Trigger  // by Key
}

// InspectState reads the functions and triggers of schema. Run it on a
// connection whose search_path is that schema, so trigger definitions come
// out unqualified and comparable between databases.
func InspectState(ctx context.Context, q Querier, schema string) (*State, error) {
	s := &State{Functions: map[string]*Function{}, Triggers: map[string]*Trigger{}}
	rows, err := q.QueryContext(ctx, `
SELECT p.proname,
       pg_get_function_identity_arguments(p.oid),
       pg_get_function_arguments(p.oid),
       coalesce(pg_get_function_result(p.oid), ''),
       l.lanname, p.prokind, p.provolatile, p.proisstrict, p.prosecdef, p.proleakproof,
       p.proparallel, p.procost, p.prorows, coalesce(p.proconfig, '{}'),
       p.prosrc, p.prosqlbody IS NOT NULL, pg_get_functiondef(p.oid),
       EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname = $1 AND p.prokind IN ('f', 'p')`, schema)
	if err != nil {
		return nil, fmt.Errorf("catalog: functions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			f                         Function
			volatile, parallel        string
			strict, secdef, leakproof bool
			cost, nrows               float64
			config                    []byte
		)
		if err := rows.Scan(&f.Name, &f.Args, &f.ArgsDecl, &f.Result, &f.Language, &f.Kind, &volatile,
			&strict, &secdef, &leakproof, &parallel, &cost, &nrows, &config, &f.Body, &f.SQLBody, &f.Def,
			&f.Extension); err != nil {
			return nil, fmt.Errorf("catalog: functions: %w", err)
		}
		f.Attrs = attrs(f.Language, volatile, parallel, strict, secdef, leakproof, cost, nrows, string(config))
		if f.Kind == "p" {
			f.Result = ""
		}
		s.Functions[f.Key()] = &f
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: functions: %w", err)
	}

	trows, err := q.QueryContext(ctx, `
SELECT t.tgname, c.relname, pg_get_triggerdef(t.oid, true),
       p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE n.nspname = $1 AND NOT t.tgisinternal`, schema)
	if err != nil {
		return nil, fmt.Errorf("catalog: triggers: %w", err)
	}
	defer trows.Close()
	for trows.Next() {
		var t Trigger
		if err := trows.Scan(&t.Name, &t.Table, &t.Def, &t.Function); err != nil {
			return nil, fmt.Errorf("catalog: triggers: %w", err)
		}
		s.Triggers[t.Key()] = &t
	}
	if err := trows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: triggers: %w", err)
	}
	return s, nil
}

// attrs renders the non-default attributes of a function as the clauses
// of CREATE FUNCTION, in a fixed order.
func attrs(lang, volatile, parallel string, strict, secdef, leakproof bool, cost, nrows float64, config string) []string {
	var a []string
	switch volatile {
	case "i":
		a = append(a, "IMMUTABLE")
	case "s":
		a = append(a, "STABLE")
	}
	if strict {
		a = append(a, "STRICT")
	}
	if secdef {
		a = append(a, "SECURITY DEFINER")
	}
	if leakproof {
		a = append(a, "LEAKPROOF")
	}
	switch parallel {
	case "s":
		a = append(a, "PARALLEL SAFE")
	case "r":
		a = append(a, "PARALLEL RESTRICTED")
	}
	// The default cost is 1 for C and internal functions, 100 otherwise.
	defCost := 100.0
	if lang == "c" || lang == "internal" {
		defCost = 1
	}
	if cost != defCost {
		a = append(a, fmt.Sprintf("COST %g", cost))
	}
	if nrows != 0 && nrows != 1000 {
		a = append(a, fmt.Sprintf("ROWS %g", nrows))
	}
	config = strings.Trim(config, "{}")
	if config != "" {
		for _, kv := range strings.Split(config, ",") {
			k, v, _ := strings.Cut(strings.Trim(kv, `"`), "=")
			a = append(a, fmt.Sprintf("SET %s = %s", k, QuoteLiteral(v)))
		}
	}
	return a
}

// unsupportedObject is something in a schema that this package and Atlas's driver do
// not diff.
type unsupportedObject struct {
	Kind, Name string
}

func (o unsupportedObject) String() string { return o.Kind + " " + o.Name }

// Unsupported lists the objects of schema (and of the database around it)
// that a diff would otherwise lose without a word: views, materialized
// views, sequences not owned by a column, types, domains, extensions,
// policies, rules, event triggers, aggregates, other schemas, and tables
// not in keepTables.
func Unsupported(ctx context.Context, q Querier, schema string, keepTables map[string]bool) ([]unsupportedObject, error) {
	rows, err := q.QueryContext(ctx, `
SELECT 'view', c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind = 'v'
UNION ALL
SELECT 'materialized view', c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind = 'm'
UNION ALL
SELECT 'table', c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'f')
UNION ALL
SELECT 'sequence', c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind = 'S'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
UNION ALL
SELECT CASE t.typtype WHEN 'e' THEN 'enum type' WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range type' ELSE 'type' END, t.typname
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE n.nspname = $1 AND t.typtype IN ('c', 'd', 'e', 'r', 'm') AND t.typrelid = 0
    OR (n.nspname = $1 AND t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
UNION ALL
SELECT 'extension', e.extname FROM pg_extension e WHERE e.extname <> 'plpgsql'
UNION ALL
SELECT 'policy', p.polname || ' on ' || c.relname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1
UNION ALL
SELECT 'rule', r.rulename || ' on ' || c.relname FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind <> 'v' AND c.relkind <> 'm'
UNION ALL
SELECT 'event trigger', evtname FROM pg_event_trigger
UNION ALL
SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' ELSE 'window function' END, p.proname FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.prokind IN ('a', 'w')
UNION ALL
SELECT 'schema', nspname FROM pg_namespace
  WHERE nspname <> $1 AND nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND nspname NOT LIKE 'pg_temp_%' AND nspname NOT LIKE 'pg_toast_temp_%'
UNION ALL
SELECT 'trigger on a table in another schema', t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE NOT t.tgisinternal AND n.nspname NOT IN ($1, 'pg_catalog', 'information_schema')`, schema)
	if err != nil {
		return nil, fmt.Errorf("catalog: list objects: %w", err)
	}
	defer rows.Close()
	var objs []unsupportedObject
	for rows.Next() {
		var o unsupportedObject
		if err := rows.Scan(&o.Kind, &o.Name); err != nil {
			return nil, fmt.Errorf("catalog: list objects: %w", err)
		}
		if o.Kind == "table" && keepTables[o.Name] {
			continue
		}
		objs = append(objs, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: list objects: %w", err)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].String() < objs[j].String() })
	return objs, nil
}
