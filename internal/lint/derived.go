package lint

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"ariga.io/atlas/schemahcl"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlcheck"

	"tasks/internal/sqltext"
)

// CodeStaleDerivedData: a function is replaced in place while data
// computed with it stays (index entries, stored generated columns, rows a
// CHECK or a domain accepted, a materialized view's rows). DD: derived
// data; not one of Atlas's pairs nor the project's other ones.
const CodeStaleDerivedData = "DD101"

// NewDerivedData builds the analyzer reporting DD101 from the lint
// block's `derived_data` child. CREATE OR REPLACE FUNCTION keeps every
// result PostgreSQL stored with the old function: an index on it returns
// wrong rows, a generated column holds old values, a check no longer
// holds for rows it accepted. An index rebuilt in the same file (REINDEX,
// or dropped and created again) is not reported. A warning by default:
// the file may be right, and only its author knows whether the results
// change.
func NewDerivedData(r *schemahcl.Resource, schemaName string) (*snapshotAnalyzer, error) {
	a := &snapshotAnalyzer{
		name: "derived_data", text: "data computed by a replaced function left stale",
		Error: false, schema: schemaName, read: derivedData,
		check: func(before, after snapshot, f *sqlcheck.File) []sqlcheck.Diagnostic {
			var diags []sqlcheck.Diagnostic
			for _, fn := range slices.Sorted(maps.Keys(before.facts)) {
				if !after.present[fn] {
					continue
				}
				var def string
				deps := map[string]bool{}
				for _, fact := range before.facts[fn] {
					if d, ok := strings.CutPrefix(fact, "def "); ok {
						def = d
					} else {
						deps[fact] = true
					}
				}
				if slices.Contains(after.facts[fn], "def "+def) {
					continue // not replaced
				}
				var stale []string
				for _, fact := range after.facts[fn] {
					// A dependent with the same storage as before kept
					// its old results.
					if deps[fact] {
						what, _, _ := strings.Cut(fact, "\t")
						stale = append(stale, what)
					}
				}
				if len(stale) == 0 {
					continue
				}
				slices.Sort(stale)
				n := before.names[fn]
				diags = append(diags, sqlcheck.Diagnostic{
					Code: CodeStaleDerivedData,
					Pos: culpritStmt(f, func(t []token) bool {
						return first(t, "create") && names(t, "function") && names(t, n)
					}, func(t []token) bool { return names(t, n) }),
					Text: fmt.Sprintf("Replacing %s leaves data computed by its old version: %s", fn, strings.Join(stale, "; ")),
				})
			}
			return diags
		},
	}
	return a, a.configure(r)
}

// derivedData reads, per function of the schema, its definition and the
// dependents that store results of it, each with what a rebuild changes
// (an index's or table's storage, a constraint's identity): "def <md5>"
// and "<dependent and what to do>\t<storage>".
func derivedData(ctx context.Context, q schema.ExecQuerier, schemaName string) (snapshot, error) {
	rows, err := q.QueryContext(ctx, `
SELECT pg_describe_object('pg_proc'::regclass, p.oid, 0), p.proname, f.fact
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
LEFT JOIN LATERAL (
  SELECT 'def ' || md5(CASE WHEN p.prokind IN ('a', 'w') THEN p.oid::text ELSE pg_get_functiondef(p.oid) END)
  UNION ALL
  SELECT CASE
      WHEN d.classid = 'pg_class'::regclass AND c.relkind IN ('i', 'I') THEN
        pg_describe_object(d.classid, d.objid, 0) || ' (REINDEX it)' || E'\t' || c.relfilenode
      WHEN d.classid = 'pg_attrdef'::regclass AND a.attgenerated = 's' THEN
        'stored generated ' || pg_describe_object('pg_class'::regclass, ad.adrelid, ad.adnum)
          || ' (UPDATE it to DEFAULT)' || E'\t' || ac.relfilenode
      WHEN d.classid = 'pg_constraint'::regclass AND k.contype = 'c' THEN
        pg_describe_object(d.classid, d.objid, 0) || ' (rows it accepted may now violate it)' || E'\t' || k.oid
      WHEN d.classid = 'pg_rewrite'::regclass AND rc.relkind = 'm' THEN
        pg_describe_object('pg_class'::regclass, rc.oid, 0) || ' (REFRESH it)' || E'\t' || rc.relfilenode
    END
  FROM pg_depend d
  LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
  LEFT JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid
  LEFT JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
  LEFT JOIN pg_class ac ON ac.oid = ad.adrelid
  LEFT JOIN pg_constraint k ON d.classid = 'pg_constraint'::regclass AND k.oid = d.objid
  LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
  LEFT JOIN pg_class rc ON rc.oid = r.ev_class
  WHERE d.refclassid = 'pg_proc'::regclass AND d.refobjid = p.oid AND d.deptype = 'n'
) f(fact) ON f.fact IS NOT NULL
WHERE n.nspname = $1`, schemaName)
	if err != nil {
		return snapshot{}, fmt.Errorf("lint: derived_data: %w", err)
	}
	s, err := scanSnapshot(rows, "derived_data")
	if err != nil {
		return snapshot{}, err
	}
	return s, withCallers(ctx, q, schemaName, s)
}

// withCallers adds to each function's facts the dependents of the
// functions that call it from their bodies, at any depth: PostgreSQL
// records no dependency on a function a body kept as text calls, so an
// index on a caller holds the replaced function's results too.
func withCallers(ctx context.Context, q schema.ExecQuerier, schemaName string, s snapshot) error {
	rows, err := q.QueryContext(ctx, `
SELECT pg_describe_object('pg_proc'::regclass, p.oid, 0), p.prosrc
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname = $1 AND l.lanname NOT IN ('c', 'internal') AND p.prosqlbody IS NULL`, schemaName)
	if err != nil {
		return fmt.Errorf("lint: derived_data: %w", err)
	}
	defer rows.Close()
	routines := map[string]sqltext.Routine{}
	for rows.Next() {
		var fn, body string
		if err := rows.Scan(&fn, &body); err != nil {
			return fmt.Errorf("lint: derived_data: %w", err)
		}
		routines[fn] = sqltext.Routine{Name: s.names[fn], Calls: sqltext.CallTest(body)}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("lint: derived_data: %w", err)
	}
	stored := func(fn string) []string {
		var out []string
		for _, f := range s.facts[fn] {
			if !strings.HasPrefix(f, "def ") {
				out = append(out, f)
			}
		}
		return out
	}
	added := map[string][]string{}
	for fn := range s.present {
		for u := range sqltext.Callers(routines, s.names[fn]) {
			if u != fn {
				added[fn] = append(added[fn], stored(u)...)
			}
		}
	}
	for fn, facts := range added {
		for _, f := range facts {
			if !slices.Contains(s.facts[fn], f) {
				s.facts[fn] = append(s.facts[fn], f)
			}
		}
	}
	return nil
}
