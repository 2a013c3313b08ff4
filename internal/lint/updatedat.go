package lint

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"ariga.io/atlas/schemahcl"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlcheck"
)

// CodeUpdatedAt is the code of the project's analyzer: a table with an
// updated_at column that no trigger maintains.
const CodeUpdatedAt = "UA101"

// UpdatedAt is the project's own analyzer. A column default fills
// updated_at on INSERT, but nothing in PostgreSQL touches it on UPDATE;
// only a BEFORE UPDATE row trigger whose function assigns NEW.updated_at
// keeps it right whoever writes. It reports the tables a file leaves with
// an updated_at column and no such trigger, that had one (or did not
// exist, or had no updated_at) before the file.
//
// It reads the dev database, so the runner calls it right after the file
// is loaded; it remembers, between files, which tables were already
// reported.
type UpdatedAt struct {
	// Error makes findings fail the lint; true unless `error = false`.
	Error bool
	// Skip turns the analyzer off: `updated_at { skip = true }`.
	Skip bool

	schema string
	stale  map[string]bool // tables without a trigger after the last file
}

// NewUpdatedAt builds the analyzer from a lint block (its `updated_at`
// child), as Atlas's analyzers are built.
func NewUpdatedAt(r *schemahcl.Resource, schemaName string) (*UpdatedAt, error) {
	az := &UpdatedAt{schema: schemaName}
	var err error
	az.Error, az.Skip, err = options(r, az.Name(), true)
	if err != nil {
		return nil, err
	}
	return az, nil
}

// Name implements sqlcheck.NamedAnalyzer; it is also the lint block's
// name for the analyzer's settings and what `-- atlas:nolint` takes.
func (*UpdatedAt) Name() string { return "updated_at" }

// start records the tables already without a trigger where the linted
// files begin, so that only the files' own doing is reported.
func (a *UpdatedAt) start(ctx context.Context, q schema.ExecQuerier) error {
	var err error
	a.stale, err = staleTables(ctx, q, a.schema)
	return err
}

// Analyze implements sqlcheck.Analyzer.
func (a *UpdatedAt) Analyze(ctx context.Context, p *sqlcheck.Pass) error {
	now, err := staleTables(ctx, p.Dev, a.schema)
	if err != nil {
		return err
	}
	before := a.stale
	a.stale = now
	var names []string
	for t := range now {
		if !before[t] {
			names = append(names, t)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	diags := make([]sqlcheck.Diagnostic, len(names))
	for i, t := range names {
		diags[i] = sqlcheck.Diagnostic{
			Code: CodeUpdatedAt,
			Pos:  culprit(p.File, t),
			Text: fmt.Sprintf("Table %q has an updated_at column but no BEFORE UPDATE row trigger that sets it: UPDATEs leave it stale", t),
		}
	}
	const text = "updated_at columns no trigger maintains"
	p.Reporter.WriteReport(sqlcheck.Report{Text: text, Diagnostics: diags})
	if a.Error {
		return errors.New(text)
	}
	return nil
}

// culprit is the position of the statement that left table t without
// its trigger: the one that created the table with its updated_at column
// or added (or renamed to) that column, else the first that touches a trigger or a function (a drop,
// a replaced function), else the file's first statement.
func culprit(f *sqlcheck.File, t string) int {
	for _, c := range f.Changes {
		for _, ch := range c.Changes {
			switch ch := ch.(type) {
			case *schema.AddTable:
				if _, ok := ch.T.Column("updated_at"); ok && ch.T.Name == t {
					return c.Stmt.Pos
				}
			case *schema.RenameTable:
				if ch.To.Name == t {
					return c.Stmt.Pos
				}
			case *schema.ModifyTable:
				if ch.T.Name != t {
					continue
				}
				for _, mc := range ch.Changes {
					switch mc := mc.(type) {
					case *schema.AddColumn:
						if mc.C.Name == "updated_at" {
							return c.Stmt.Pos
						}
					case *schema.RenameColumn:
						if mc.To.Name == "updated_at" {
							return c.Stmt.Pos
						}
					}
				}
			}
		}
	}
	// A statement on triggers or functions that names the table (DROP
	// TRIGGER … ON t, ALTER TABLE t DISABLE TRIGGER …), else any (DROP
	// FUNCTION … CASCADE, a replaced function body).
	first := -1
	for _, c := range f.Changes {
		routine, names := false, false
		for _, tok := range tokens(c.Stmt.Text) {
			routine = routine || tok.is("trigger") || tok.is("function") || tok.is("procedure")
			names = names || tok.text == t
		}
		if routine && names {
			return c.Stmt.Pos
		}
		if routine && first == -1 {
			first = c.Stmt.Pos
		}
	}
	if first != -1 {
		return first
	}
	if len(f.Changes) > 0 {
		return f.Changes[0].Stmt.Pos
	}
	return 0
}

// staleTables lists the tables of the schema with an updated_at column
// and no BEFORE UPDATE row trigger whose function assigns it.
func staleTables(ctx context.Context, q schema.ExecQuerier, schemaName string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `
SELECT c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'updated_at' AND NOT a.attisdropped
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
  AND NOT EXISTS (
    SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
    WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND t.tgenabled <> 'D'
      -- tgtype bits: 1 row, 2 before, 16 update
      AND t.tgtype & 19 = 19
      AND p.prosrc ~* 'new\s*\.\s*"?updated_at')`, schemaName)
	if err != nil {
		return nil, fmt.Errorf("lint: updated_at: %w", err)
	}
	defer rows.Close()
	stale := map[string]bool{}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("lint: updated_at: %w", err)
		}
		stale[t] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lint: updated_at: %w", err)
	}
	return stale, nil
}
