package lint

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"ariga.io/atlas/schemahcl"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlcheck"
)

// Codes of the project's analyzers for the kinds Atlas's open-source
// analyzers do not see (its inspector reads tables only). The letters
// are the project's own: Atlas's codes are DS, MF, BC, CD, PG, MY, LT
// and NM (naming); none of these pairs.
const (
	// CodeViewDependedOn: a view or materialized view that other
	// objects depend on is dropped and not put back with them.
	CodeViewDependedOn = "VW101"
	// CodePolicyRemoved: a row-level security policy of a table that
	// stays is removed.
	CodePolicyRemoved = "RS101"
	// CodeRowSecurityDisabled: a table that stays no longer has
	// row-level security enabled.
	CodeRowSecurityDisabled = "RS102"
	// CodePrivilegeRevoked: a role loses a privilege on an object that
	// stays.
	CodePrivilegeRevoked = "PV101"
)

// snapshotAnalyzer is the frame of the analyzers that compare what the
// dev database's catalog holds before a file with what it holds after
// it: Atlas's changes say nothing of views, policies or privileges. The
// runner calls start before the first linted file and again after a
// file it skips, and Analyze right after each file is loaded, when the
// dev database is at the file's end.
type snapshotAnalyzer struct {
	// Error makes findings fail the lint; true unless `error = false`.
	Error bool
	// Skip turns the analyzer off: `<name> { skip = true }`.
	Skip bool

	name   string
	text   string // the report's summary
	schema string
	read   func(ctx context.Context, q schema.ExecQuerier, schemaName string) (snapshot, error)
	check  func(before, after snapshot, f *sqlcheck.File) []sqlcheck.Diagnostic
	last   snapshot
}

// snapshot is one catalog reading: per object, the facts an analyzer
// compares (dependents of a view, policies of a table, a grantee's
// privileges…). present lists every object that exists, with or without
// facts, so that a fact gone with its object is told apart from one
// taken from an object that stays.
type snapshot struct {
	facts   map[string][]string
	present map[string]bool
	names   map[string]string // object → its bare name, to find the statement naming it
}

func newSnapshot() snapshot {
	return snapshot{facts: map[string][]string{}, present: map[string]bool{}, names: map[string]string{}}
}

// Name implements sqlcheck.NamedAnalyzer: the lint block's name for the
// analyzer's settings and what `-- atlas:nolint` takes.
func (a *snapshotAnalyzer) Name() string { return a.name }

func (a *snapshotAnalyzer) start(ctx context.Context, q schema.ExecQuerier) error {
	var err error
	a.last, err = a.read(ctx, q, a.schema)
	return err
}

// Analyze implements sqlcheck.Analyzer.
func (a *snapshotAnalyzer) Analyze(ctx context.Context, p *sqlcheck.Pass) error {
	now, err := a.read(ctx, p.Dev, a.schema)
	if err != nil {
		return err
	}
	before := a.last
	a.last = now
	diags := a.check(before, now, p.File)
	if len(diags) == 0 {
		return nil
	}
	p.Reporter.WriteReport(sqlcheck.Report{Text: a.text, Diagnostics: diags})
	if a.Error {
		return errors.New(a.text)
	}
	return nil
}

// configure reads the analyzer's block of the lint settings: `error`
// and `skip`, as Atlas's analyzers take them.
func (a *snapshotAnalyzer) configure(r *schemahcl.Resource) error {
	e, skip, err := options(r, a.name, a.Error)
	a.Error, a.Skip = e, skip
	return err
}

// options reads `error` and `skip` from the lint block's child named
// name; errDefault is the level without an `error` attribute.
func options(r *schemahcl.Resource, name string, errDefault bool) (isError, skip bool, err error) {
	if r == nil {
		return errDefault, false, nil
	}
	c, ok := r.Resource(name)
	if !ok {
		return errDefault, false, nil
	}
	var o struct {
		Error *bool `spec:"error"`
		Skip  bool  `spec:"skip"`
		schemahcl.DefaultExtension
	}
	if err := c.As(&o); err != nil {
		return false, false, fmt.Errorf("lint: parsing %s options: %w", name, err)
	}
	isError = errDefault
	if o.Error != nil {
		isError = *o.Error
	}
	return isError, o.Skip, nil
}

// NewViewDependents builds the analyzer reporting VW101 from the lint
// block's `view_dependents` child. Dropping a view fails while others
// depend on it, so a file that drops one either drops its dependents
// first or says CASCADE, which drops them without naming them. Both
// lose objects the file may not mean to lose; a view re-created in the
// same file with every dependent back is not reported.
func NewViewDependents(r *schemahcl.Resource, schemaName string) (*snapshotAnalyzer, error) {
	a := &snapshotAnalyzer{
		name: "view_dependents", text: "views other objects depend on dropped",
		Error: true, schema: schemaName, read: viewDependents,
		check: func(before, after snapshot, f *sqlcheck.File) []sqlcheck.Diagnostic {
			var diags []sqlcheck.Diagnostic
			for _, view := range slices.Sorted(maps.Keys(before.facts)) {
				lost := before.facts[view]
				if after.present[view] {
					lost = missing(before.facts[view], after.facts[view])
				}
				if len(lost) == 0 {
					continue
				}
				n := before.names[view]
				diags = append(diags, sqlcheck.Diagnostic{
					Code: CodeViewDependedOn,
					Pos:  culpritStmt(f, func(t []token) bool { return first(t, "drop") && names(t, n) }, func(t []token) bool { return names(t, "cascade") }),
					Text: fmt.Sprintf("Dropping %s, which other objects depend on: %s", view, strings.Join(lost, ", ")),
				})
			}
			return diags
		},
	}
	return a, a.configure(r)
}

// viewDependents reads, per view and materialized view of the schema,
// the objects that depend on it: other views and materialized views
// (through their rewrite rule), rules of tables, routines with SQL
// bodies, policies.
func viewDependents(ctx context.Context, q schema.ExecQuerier, schemaName string) (snapshot, error) {
	rows, err := q.QueryContext(ctx, `
SELECT pg_describe_object('pg_class'::regclass, v.oid, 0), v.relname, dep.obj
FROM pg_class v
JOIN pg_namespace n ON n.oid = v.relnamespace
LEFT JOIN LATERAL (
  SELECT CASE WHEN d.classid = 'pg_rewrite'::regclass AND r.rulename = '_RETURN'
    THEN pg_describe_object('pg_class'::regclass, r.ev_class, 0)
    ELSE pg_describe_object(d.classid, d.objid, 0) END
  FROM pg_depend d
  LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
  WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = v.oid AND d.deptype = 'n'
    -- a view's own rule is not a dependent
    AND (r.oid IS NULL OR r.ev_class <> v.oid)
) dep(obj) ON true
WHERE n.nspname = $1 AND v.relkind IN ('v', 'm')`, schemaName)
	if err != nil {
		return snapshot{}, fmt.Errorf("lint: view_dependents: %w", err)
	}
	return scanSnapshot(rows, "view_dependents")
}

// NewRowSecurity builds the analyzer reporting RS101 and RS102 from the
// lint block's `row_security` child: a policy removed from a table that
// stays, or row-level security disabled on one. Either widens or
// narrows what every role sees without a change to any grant, so it is
// easy to miss in a review.
func NewRowSecurity(r *schemahcl.Resource, schemaName string) (*snapshotAnalyzer, error) {
	a := &snapshotAnalyzer{
		name: "row_security", text: "row-level security removed",
		Error: true, schema: schemaName, read: rowSecurity,
		check: func(before, after snapshot, f *sqlcheck.File) []sqlcheck.Diagnostic {
			var diags []sqlcheck.Diagnostic
			for _, table := range slices.Sorted(maps.Keys(before.facts)) {
				if !after.present[table] {
					continue
				}
				n := before.names[table]
				for _, fact := range missing(before.facts[table], after.facts[table]) {
					if fact == rlsEnabled {
						diags = append(diags, sqlcheck.Diagnostic{
							Code: CodeRowSecurityDisabled,
							Pos: culpritStmt(f, func(t []token) bool {
								return first(t, "alter") && names(t, n) && names(t, "disable") && names(t, "security")
							}),
							Text: fmt.Sprintf("Disabling row-level security on %s: its policies no longer restrict any role", table),
						})
						continue
					}
					policy := strings.TrimPrefix(fact, "policy ")
					diags = append(diags, sqlcheck.Diagnostic{
						Code: CodePolicyRemoved,
						Pos:  culpritStmt(f, func(t []token) bool { return first(t, "drop") && names(t, "policy") && names(t, policy) && names(t, n) }),
						Text: fmt.Sprintf("Removing policy %q on %s", policy, table),
					})
				}
			}
			return diags
		},
	}
	return a, a.configure(r)
}

// rlsEnabled is the fact of a table with row-level security enabled.
const rlsEnabled = "row-level security"

func rowSecurity(ctx context.Context, q schema.ExecQuerier, schemaName string) (snapshot, error) {
	rows, err := q.QueryContext(ctx, `
SELECT pg_describe_object('pg_class'::regclass, c.oid, 0), c.relname, f.fact
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
  SELECT 'policy ' || p.polname FROM pg_policy p WHERE p.polrelid = c.oid
  UNION ALL
  SELECT $2 WHERE c.relrowsecurity
) f(fact) ON true
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`, schemaName, rlsEnabled)
	if err != nil {
		return snapshot{}, fmt.Errorf("lint: row_security: %w", err)
	}
	return scanSnapshot(rows, "row_security")
}

// NewPrivileges builds the analyzer reporting PV101 from the lint
// block's `privileges` child: a role that loses a privilege on a table,
// view, sequence, column, routine or the schema itself, while the
// object stays. A REVOKE does it, and so does re-creating an object
// without granting again; either breaks whoever relied on the grant at
// once, with "permission denied".
func NewPrivileges(r *schemahcl.Resource, schemaName string) (*snapshotAnalyzer, error) {
	a := &snapshotAnalyzer{
		name: "privileges", text: "privileges revoked",
		Error: true, schema: schemaName, read: privileges,
		check: func(before, after snapshot, f *sqlcheck.File) []sqlcheck.Diagnostic {
			var diags []sqlcheck.Diagnostic
			for _, obj := range slices.Sorted(maps.Keys(before.facts)) {
				if !after.present[obj] {
					continue
				}
				byRole := map[string][]string{}
				for _, fact := range missing(before.facts[obj], after.facts[obj]) {
					role, priv, _ := strings.Cut(fact, " ")
					byRole[role] = append(byRole[role], priv)
				}
				n := before.names[obj]
				for _, role := range slices.Sorted(maps.Keys(byRole)) {
					diags = append(diags, sqlcheck.Diagnostic{
						Code: CodePrivilegeRevoked,
						Pos: culpritStmt(f,
							func(t []token) bool { return first(t, "revoke") && names(t, n) },
							func(t []token) bool { return names(t, n) },
							func(t []token) bool { return first(t, "revoke") }),
						Text: fmt.Sprintf("%s loses %s on %s", role, strings.Join(byRole[role], ", "), obj),
					})
				}
			}
			return diags
		},
	}
	return a, a.configure(r)
}

// privileges reads each grantee's privileges on the schema's objects,
// an absent ACL read as the default it stands for (the owner's
// privileges, and EXECUTE for PUBLIC on routines), so that revoking a
// default is seen too.
func privileges(ctx context.Context, q schema.ExecQuerier, schemaName string) (snapshot, error) {
	rows, err := q.QueryContext(ctx, `
WITH objs(obj, name, acl) AS (
  SELECT pg_describe_object('pg_class'::regclass, c.oid, 0), c.relname,
    coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner))
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  UNION ALL
  SELECT pg_describe_object('pg_class'::regclass, c.oid, a.attnum), a.attname, a.attacl
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT pg_describe_object('pg_proc'::regclass, p.oid, 0), p.proname, coalesce(p.proacl, acldefault('f'::"char", p.proowner))
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = $1
  UNION ALL
  SELECT pg_describe_object('pg_namespace'::regclass, n.oid, 0), n.nspname, coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))
  FROM pg_namespace n WHERE n.nspname = $1
)
SELECT o.obj, o.name,
  CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(e.grantee) END || ' ' || e.privilege_type
FROM objs o LEFT JOIN LATERAL aclexplode(o.acl) e ON true`, schemaName)
	if err != nil {
		return snapshot{}, fmt.Errorf("lint: privileges: %w", err)
	}
	return scanSnapshot(rows, "privileges")
}

// scanSnapshot reads rows of (object, bare name, fact or NULL).
func scanSnapshot(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}, name string) (snapshot, error) {
	defer rows.Close()
	s := newSnapshot()
	for rows.Next() {
		var obj, bare string
		var fact *string
		if err := rows.Scan(&obj, &bare, &fact); err != nil {
			return snapshot{}, fmt.Errorf("lint: %s: %w", name, err)
		}
		s.present[obj] = true
		s.names[obj] = bare
		if fact != nil && !slices.Contains(s.facts[obj], *fact) {
			s.facts[obj] = append(s.facts[obj], *fact)
		}
	}
	if err := rows.Err(); err != nil {
		return snapshot{}, fmt.Errorf("lint: %s: %w", name, err)
	}
	return s, nil
}

// missing lists the facts of before that after lacks, sorted.
func missing(before, after []string) []string {
	var out []string
	for _, f := range before {
		if !slices.Contains(after, f) {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// culpritStmt is the position of the first statement of f that the
// first matching test accepts, tried in order; the file's first
// statement when none does (the change came from something the tests do
// not recognise, such as a DROP SCHEMA … CASCADE).
func culpritStmt(f *sqlcheck.File, tests ...func([]token) bool) int {
	for _, test := range tests {
		for _, c := range f.Changes {
			if test(tokens(c.Stmt.Text)) {
				return c.Stmt.Pos
			}
		}
	}
	if len(f.Changes) > 0 {
		return f.Changes[0].Stmt.Pos
	}
	return 0
}

// first reports whether the statement begins with word.
func first(toks []token, word string) bool { return len(toks) > 0 && toks[0].is(word) }

// names reports whether a token of the statement is name (a keyword, or
// an identifier quoted or not).
func names(toks []token, name string) bool {
	for _, t := range toks {
		if t.text == name || (!t.quoted && t.text == strings.ToLower(name)) {
			return true
		}
	}
	return false
}
