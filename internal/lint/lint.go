// Package lint is `migrate lint`: it runs Atlas's open-source migration
// analyzers (ariga.io/atlas/sql/sqlcheck: destructive DS1xx, data-dependent
// MF1xx, backward-incompatible BC1xx, constraint drops CD1xx, with the
// PostgreSQL settings of sql/postgres/postgrescheck) and the project's own
// analyzers (updated_at, and the views, row-level security and privileges
// that Atlas's table-only inspection cannot see) over the newest files of
// a migration directory,
// configured from atlas.hcl's lint block as the Atlas CLI configures them.
//
// The analyzers read, per file, each statement with the schema changes
// it caused. They are computed on an empty dev database: the older files
// are replayed, then each linted statement is executed and the schema
// inspected and diffed with the state before it.
package lint

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"ariga.io/atlas/schemahcl"
	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	_ "ariga.io/atlas/sql/postgres/postgrescheck" // registers Atlas's PostgreSQL analyzers with sqlcheck
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlcheck"
	"ariga.io/atlas/sql/sqlclient"

	projmigrate "tasks/internal/migrate"
)

// ErrFindings is returned (wrapped, naming the files and reports) when an
// analyzer whose findings are errors reported any: destructive changes by
// default, any analyzer with `error = true` in the lint block, and the
// updated_at analyzer unless `error = false`.
var ErrFindings = errors.New("lint: error-level findings")

// Config is one lint run.
type Config struct {
	// Dir is the migration directory; it must match its atlas.sum.
	Dir migrate.Dir
	// DB is an empty database of the dev server, on one connection, with
	// Schema as its search_path. Lint replays the directory into it.
	DB     *sql.DB
	Schema string
	// Latest is how many of the newest files to lint; 0 or less lints all.
	Latest int
	// Rules is atlas.hcl's lint block (atlasconf.Lint.Rules); nil means
	// every analyzer's defaults.
	Rules *schemahcl.Resource
	// Out receives the report; nil discards it.
	Out io.Writer
}

// Diagnostic is one finding, positioned in its file.
type Diagnostic struct {
	File string
	Line int
	Code string // DS103, MF103, UA101…
	Text string
}

// Run lints the newest files of c.Dir and writes a report to c.Out: per
// file with findings, its name and then `  L<line>: <text> (<code>)`.
// It returns the findings; the error wraps ErrFindings when one of them
// came from an analyzer at error level.
func Run(ctx context.Context, c Config) ([]Diagnostic, error) {
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Rules == nil {
		c.Rules = &schemahcl.Resource{}
	}
	if err := projmigrate.ValidateSum(c.Dir); err != nil {
		return nil, err
	}
	files, err := c.Dir.Files()
	if err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	n := len(files)
	if c.Latest > 0 && c.Latest < n {
		n = c.Latest
	}
	base, linted := files[:len(files)-n], files[len(files)-n:]

	analyzers, err := sqlcheck.AnalyzerFor(postgres.DriverName, c.Rules)
	if err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	watch := &stmtWatch{schema: c.Schema}
	own, err := ownAnalyzers(c.Rules, c.Schema, watch)
	if err != nil {
		return nil, err
	}
	for _, az := range own {
		analyzers = append(analyzers, az)
	}

	drv, err := postgres.Open(c.DB)
	if err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	l := &loader{db: c.DB, drv: drv, schema: c.Schema, watch: watch}
	dev := &sqlclient.Client{Name: postgres.DriverName, DB: c.DB, Driver: drv}
	if err := l.replay(ctx, base); err != nil {
		return nil, err
	}
	cur, err := l.inspect(ctx)
	if err != nil {
		return nil, err
	}
	if err := startAll(ctx, own, c.DB); err != nil {
		return nil, err
	}

	var (
		diags  []Diagnostic
		failed []string
	)
	for i, f := range linted {
		sf, err := l.load(ctx, f, cur, len(base) == 0 && i == 0)
		if err != nil {
			return nil, err
		}
		cur = sf.To
		rules := nolintRules(sf)
		if rules.file {
			// The next file's changes start where this one ends.
			if err := startAll(ctx, own, c.DB); err != nil {
				return nil, err
			}
			continue
		}
		fileDiags, fileFailed, err := analyzeFile(ctx, sf, analyzers, rules, dev)
		if err != nil {
			return nil, err
		}
		failed = append(failed, fileFailed...)
		// In file order; analyzers report in their own.
		slices.SortStableFunc(fileDiags, func(a, b Diagnostic) int { return a.Line - b.Line })
		if len(fileDiags) > 0 {
			fmt.Fprintln(c.Out, f.Name())
			for _, d := range fileDiags {
				fmt.Fprintf(c.Out, "  L%d: %s (%s)\n", d.Line, d.Text, d.Code)
			}
		}
		diags = append(diags, fileDiags...)
	}
	if len(diags) == 0 {
		fmt.Fprintf(c.Out, "No issues found in %d file(s)\n", len(linted))
	}
	if len(failed) > 0 {
		return diags, fmt.Errorf("%w: %s", ErrFindings, strings.Join(failed, "; "))
	}
	return diags, nil
}

// analyzeFile runs every analyzer on one loaded file and returns the
// findings nolint leaves, and, per analyzer at error level with a finding
// shown, "<file>: <its error>".
func analyzeFile(ctx context.Context, sf *sqlcheck.File, analyzers []sqlcheck.Analyzer, rules nolint, dev *sqlclient.Client) (fileDiags []Diagnostic, failed []string, err error) {
	f := sf.File
	for _, az := range analyzers {
		var reports, shown int
		rep := sqlcheck.ReportWriterFunc(func(r sqlcheck.Report) {
			reports++
			for _, d := range r.Diagnostics {
				if rules.skips(d, az) {
					continue
				}
				shown++
				fileDiags = append(fileDiags, Diagnostic{File: f.Name(), Line: line(f.Bytes(), d.Pos), Code: d.Code, Text: d.Text})
			}
		})
		err := analyze(ctx, az, &sqlcheck.Pass{File: sf, Dev: dev, Reporter: rep})
		// An analyzer at error level says so by returning an error
		// after its report; one whose findings were all silenced by
		// nolint has nothing left to fail for. An error without a
		// report is the analyzer failing to run.
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil, nil, ctx.Err()
		case reports == 0:
			// The project's analyzers name this package in their
			// errors; Atlas's do not.
			if _, own := az.(ownAnalyzer); !own {
				err = fmt.Errorf("lint: %s: %w", f.Name(), err)
			}
			return nil, nil, err
		case shown > 0:
			failed = append(failed, fmt.Sprintf("%s: %v", f.Name(), err))
		}
	}
	return fileDiags, failed, nil
}

// ownAnalyzer is one of the project's analyzers: they read the dev
// database, so each takes a reading where the linted files start.
type ownAnalyzer interface {
	sqlcheck.NamedAnalyzer
	start(ctx context.Context, q schema.ExecQuerier) error
}

// ownAnalyzers builds the project's analyzers from the lint block,
// leaving out those it skips.
func ownAnalyzers(rules *schemahcl.Resource, schemaName string, watch *stmtWatch) ([]ownAnalyzer, error) {
	ua, err := NewUpdatedAt(rules, schemaName)
	if err != nil {
		return nil, err
	}
	var out []ownAnalyzer
	if !ua.Skip {
		out = append(out, ua)
	}
	for _, build := range []func(*schemahcl.Resource, string) (*snapshotAnalyzer, error){NewViewDependents, NewRowSecurity, NewPrivileges, NewDerivedData} {
		az, err := build(rules, schemaName)
		if err != nil {
			return nil, err
		}
		if !az.Skip {
			out = append(out, az)
		}
	}
	locks, err := lockAnalyzers(rules, watch)
	if err != nil {
		return nil, err
	}
	return append(out, locks...), nil
}

func startAll(ctx context.Context, azs []ownAnalyzer, q schema.ExecQuerier) error {
	for _, az := range azs {
		if err := az.start(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// analyze runs one analyzer; a panic in it becomes an error naming it, so
// one broken check cannot take the command down with no word.
func analyze(ctx context.Context, az sqlcheck.Analyzer, p *sqlcheck.Pass) (err error) {
	defer func() {
		if r := recover(); r != nil {
			name := fmt.Sprintf("%T", az)
			if n, ok := az.(sqlcheck.NamedAnalyzer); ok {
				name = n.Name()
			}
			err = fmt.Errorf("lint: %s: analyzer %s crashed: %v", p.File.Name(), name, r)
		}
	}()
	return az.Analyze(ctx, p)
}

// nolint holds a file's `-- atlas:nolint` directives, as the Atlas CLI
// reads them: at the top of the file (followed by a blank line) with no
// argument it skips the file, with analyzer names or codes it applies to
// every statement; above a statement, to that statement.
type nolint struct {
	file  bool
	rules map[int][]string // statement position → names and codes; [""] for all
}

func nolintRules(f *sqlcheck.File) nolint {
	n := nolint{rules: map[int][]string{}}
	if lf, ok := f.File.(*migrate.LocalFile); ok {
		ds := lf.Directive("nolint")
		if len(ds) == 1 && ds[0] == "" {
			n.file = true
			return n
		}
		for _, d := range ds {
			for _, c := range f.Changes {
				n.rules[c.Stmt.Pos] = append(n.rules[c.Stmt.Pos], strings.Fields(d)...)
			}
		}
	}
	for _, c := range f.Changes {
		for _, d := range c.Stmt.Directive("nolint") {
			if d == "" {
				n.rules[c.Stmt.Pos] = append(n.rules[c.Stmt.Pos], "")
				continue
			}
			n.rules[c.Stmt.Pos] = append(n.rules[c.Stmt.Pos], strings.Fields(d)...)
		}
	}
	return n
}

// skips reports whether d, from analyzer az, is silenced.
func (n nolint) skips(d sqlcheck.Diagnostic, az sqlcheck.Analyzer) bool {
	rules := n.rules[d.Pos]
	if slices.Contains(rules, "") || slices.Contains(rules, d.Code) {
		return true
	}
	named, ok := az.(sqlcheck.NamedAnalyzer)
	return ok && slices.Contains(rules, named.Name())
}
