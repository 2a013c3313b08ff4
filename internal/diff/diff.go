// Package diff computes the next versioned migration (one file, or
// several when a live-database plan must run some statements outside a
// transaction, see files.go): the desired state
// (an Ent schema and SQL files such as schema.sql, in atlas.hcl's order)
// minus the state the migration directory builds, both materialized on
// scratch databases of a dev server and inspected the same way. Every
// object kind the catalog holds in the managed schemas is inspected
// (internal/catalog): tables through the Atlas library, the rest, which
// the open-source Atlas build leaves out, from the PostgreSQL catalog.
// internal/plan orders the changes by the catalog's dependencies, and a
// plan is written only when replaying it reaches the desired state's
// fingerprint (internal/fingerprint); otherwise each difference is named.
package diff

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	entschema "entgo.io/ent/dialect/sql/schema"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"tasks/internal/atlasconf"
	"tasks/internal/catalog"
	"tasks/internal/fingerprint"
	"tasks/internal/migrate"
	dplan "tasks/internal/plan"
)

// SyncedMessage is what the Atlas CLI prints when there is nothing to do.
const SyncedMessage = "The migration directory is synced with the desired state, no changes to be made"

// ErrDrift is returned in check mode when the directory does not build
// the desired state.
var ErrDrift = errors.New("diff: the migration directory is not in sync with the desired state; run 'make diff name=<name>'")

// Config is one diff.
type Config struct {
	Dir     amigrate.Dir       // the migration directory
	Sources []atlasconf.Source // the desired state, in order
	DevURL  string             // dev database (docker:// or postgres://)
	Name    string             // the new file's description
	// BaseDir resolves the relative paths of ent:// and file:// sources
	// (the directory of atlas.hcl); "" means the working directory.
	BaseDir string
	// Check writes nothing: with changes it prints them and returns
	// ErrDrift.
	Check bool
	Out   io.Writer
	Now   func() time.Time
	// Online is the env's diff block: online shapes for existing tables,
	// lock_timeout (files.go, plan.Online). The zero value writes plans
	// as for an idle database.
	Online atlasconf.Diff
	// Schemas is the env's schemas attribute: when set, the only schemas
	// the diff may manage besides the sources' (see withCreated).
	Schemas []string
	// LoadEnt loads the Ent schema package at a directory; nil uses Ent's
	// own loader (which compiles the package, as Atlas's ent:// does).
	LoadEnt func(ctx context.Context, dir string) ([]*entschema.Table, error)

	// mutate, set by tests only, alters the plan before it is verified
	// (a fault injected into the planner).
	mutate func([]*amigrate.Change) []*amigrate.Change
}

// Result is what a diff found and wrote.
type Result struct {
	File    string             // the (first) new file's name, "" when none
	Files   []string           // every new file's name, in order
	Changes []*amigrate.Change // in file order
}

// Run computes the diff and, unless there is none (or Check is set),
// writes the next migration file and rewrites atlas.sum.
func Run(ctx context.Context, c Config) (*Result, error) {
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.LoadEnt == nil {
		c.LoadEnt = LoadEnt
	}
	if len(c.Sources) == 0 {
		return nil, errors.New("diff: no desired state: the env needs a src (e.g. data.composite_schema.app.url)")
	}
	if err := migrate.ValidateSum(c.Dir); err != nil {
		return nil, err
	}
	dev, err := openDev(ctx, c.DevURL)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	defer dev.close()

	schemas, def := managed(c.Sources, dev.schema)
	cur, err := dev.scratch(ctx)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	defer cur.Close()
	if err := Replay(ctx, cur, c.Dir); err != nil {
		return nil, err
	}
	des, err := dev.scratch(ctx)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	defer des.Close()
	if err := c.build(ctx, des, dev.schema); err != nil {
		return nil, err
	}
	created, err := createdSchemas(ctx, append(slices.Clone(schemas), dev.schema), cur, des)
	if err != nil {
		return nil, err
	}
	if schemas, def, err = withCreated(schemas, def, created, c.Schemas); err != nil {
		return nil, err
	}
	if err := inspectPath(ctx, def, cur, des); err != nil {
		return nil, err
	}
	changes, err := plan(ctx, cur, des, schemas, def, c.Online)
	if err != nil {
		return nil, err
	}
	if c.mutate != nil {
		changes = c.mutate(changes)
	}
	format := fileFormat{lockTimeout: c.Online.LockTimeout}
	if len(changes) > 0 {
		// Never write what does not build the desired state: replay the
		// directory and the new files on a scratch database, each as
		// apply runs it, and compare it with the desired one.
		err := c.verify(ctx, dev, des, schemas, def, changes, format)
		var pqErr *pq.Error
		if errors.As(err, &pqErr) && pqErr.Code == pqerror.UnsafeNewEnumValueUsage {
			// An enum value added and used in one file cannot share a
			// transaction (PostgreSQL: unsafe use of new value): the
			// file runs statement by statement instead.
			format.allNoTx = true
			err = c.verify(ctx, dev, des, schemas, def, changes, format)
		}
		if err != nil {
			return nil, err
		}
	}
	res := &Result{Changes: changes}
	if len(changes) == 0 {
		// "Nothing to change" is a claim about every attribute too: the
		// fingerprint, which reads them all its own way, must agree, or
		// something the model does not see would be lost in silence.
		ds, err := differences(ctx, des, cur, schemas)
		if err != nil {
			return nil, err
		}
		if len(ds) > 0 {
			return nil, fmt.Errorf("diff: self-check: the desired state differs from the migration directory's in what this tool cannot migrate, nothing written:\n  %s\n"+
				"(each line: the object, the attribute, the desired value and the directory's). Write the change of these attributes "+
				"by hand in a migration of its own (migrate new <name>, write the SQL, then migrate hash), then run migrate diff again",
				strings.Join(ds, "\n  "))
		}
		fmt.Fprintln(c.Out, SyncedMessage)
		return res, nil
	}
	if c.Check {
		// The same text the file would hold.
		f, err := format.Format(&amigrate.Plan{Changes: changes})
		if err != nil {
			return nil, fmt.Errorf("diff: %w", err)
		}
		for i, file := range f {
			if len(f) > 1 {
				fmt.Fprintf(c.Out, "-- file %d of %d --\n", i+1, len(f))
			}
			c.Out.Write(file.Bytes())
		}
		return res, ErrDrift
	}
	version, err := nextVersion(c.Dir, c.Now())
	if err != nil {
		return nil, err
	}
	p := &amigrate.Plan{Version: version, Name: c.Name, Changes: changes}
	if err := amigrate.NewPlanner(nil, c.Dir, amigrate.PlanFormat(format)).WritePlan(p); err != nil {
		return nil, fmt.Errorf("diff: write plan: %w", err)
	}
	for i, pt := range format.split(changes) {
		name, err := fileName(version, c.Name, i)
		if err != nil {
			return nil, err
		}
		res.Files = append(res.Files, name)
		fmt.Fprintf(c.Out, "Wrote %s (%d change%s)\n", name, len(pt.changes), map[bool]string{true: "s"}[len(pt.changes) != 1])
	}
	res.File = res.Files[0]
	return res, nil
}

// Replay runs every file of dir on db, recording nothing.
func Replay(ctx context.Context, db *sql.DB, dir amigrate.Dir) error {
	drv, err := postgres.Open(db)
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	// The database is a scratch one made for this replay: with a dev URL
	// scoped to a schema other than public it already holds that schema,
	// which Atlas's executor would take for a database not clean.
	ex, err := amigrate.NewExecutor(drv, dir, amigrate.NopRevisionReadWriter{}, amigrate.WithAllowDirty(true))
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	err = ex.ExecuteN(ctx, 0)
	var se *amigrate.StmtExecError
	switch {
	case err == nil, errors.Is(err, amigrate.ErrNoPendingFiles):
		return nil
	case errors.As(err, &se):
		return fmt.Errorf("diff: replay migration %s: %w\n%s", se.Version, se.Err, se.Stmt.Text)
	}
	return fmt.Errorf("diff: replay migration directory: %w", err)
}

// build materializes the desired state on db: each source in order, in
// its composite_schema member's schema (created when missing), as Atlas
// loads a composite schema.
func (c *Config) build(ctx context.Context, db *sql.DB, devSchema string) error {
	for _, src := range c.Sources {
		u, err := url.Parse(src.URL)
		if err != nil {
			return fmt.Errorf("diff: source %q: %w", src.URL, err)
		}
		path := filepath.Join(u.Host, u.Path)
		if !filepath.IsAbs(path) {
			// Absolute, so that Go's loader reads it as a directory, not
			// an import path.
			if path, err = filepath.Abs(filepath.Join(c.BaseDir, path)); err != nil {
				return fmt.Errorf("diff: source %q: %w", src.URL, err)
			}
		}
		s := src.Schema
		if s == "" {
			s = devSchema
		}
		if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+pq.QuoteIdentifier(s)); err != nil {
			return fmt.Errorf("diff: schema %s: %w", s, err)
		}
		if _, err := db.ExecContext(ctx, "SELECT set_config('search_path', $1, false)", pq.QuoteIdentifier(s)); err != nil {
			return fmt.Errorf("diff: schema %s: %w", s, err)
		}
		switch u.Scheme {
		case "ent":
			tables, err := c.LoadEnt(ctx, path)
			if err != nil {
				return err
			}
			if err := createTables(ctx, db, tables, s); err != nil {
				return fmt.Errorf("diff: %s: %w", src.URL, err)
			}
		case "file":
			if err := execFile(ctx, db, path, src.URL); err != nil {
				return err
			}
		default:
			return fmt.Errorf("diff: source %q: unsupported scheme (ent:// or file://)", src.URL)
		}
	}
	_, err := db.ExecContext(ctx, "SELECT set_config('search_path', $1, false)", pq.QuoteIdentifier(devSchema))
	return err
}

// managed returns the schemas a diff manages (the sources' composite
// schema members, else the dev URL's schema) and the one written
// unqualified: the dev schema when it is the only one, else none.
func managed(sources []atlasconf.Source, devSchema string) ([]string, string) {
	var schemas []string
	seen := map[string]bool{}
	for _, s := range sources {
		name := s.Schema
		if name == "" {
			name = devSchema
		}
		if !seen[name] {
			seen[name] = true
			schemas = append(schemas, name)
		}
	}
	if len(schemas) == 0 {
		schemas = []string{devSchema}
	}
	if len(schemas) == 1 && schemas[0] == devSchema {
		return schemas, devSchema
	}
	return schemas, ""
}

// inspectPath sets the search_path the catalogs are read under: the
// unqualified schema, or none at all so that PostgreSQL qualifies every
// name it renders.
func inspectPath(ctx context.Context, def string, dbs ...*sql.DB) error {
	path := ""
	if def != "" {
		path = pq.QuoteIdentifier(def)
	}
	for _, db := range dbs {
		if _, err := db.ExecContext(ctx, "SELECT set_config('search_path', $1, false)", path); err != nil {
			return fmt.Errorf("diff: %w", err)
		}
	}
	return nil
}

// verify replays the directory and then the planned statements on a new
// scratch database, and compares it with the desired one: any object or
// attribute the plan did not reproduce ends the diff, naming it.
func (c *Config) verify(ctx context.Context, dev *devServer, des *sql.DB, schemas []string, def string, changes []*amigrate.Change, format fileFormat) error {
	v, err := dev.scratch(ctx)
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	defer v.Close()
	if err := Replay(ctx, v, c.Dir); err != nil {
		return err
	}
	files, err := format.Format(&amigrate.Plan{Changes: changes})
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	if err := execFiles(ctx, v, files); err != nil {
		return err
	}
	if err := inspectPath(ctx, def, v); err != nil {
		return err
	}
	// The fingerprint reads the catalog by queries of its own, so a bug
	// in the inspector that planned the migration cannot hide itself.
	ds, err := differences(ctx, des, v, schemas)
	if err != nil {
		return err
	}
	if len(ds) > 0 {
		return fmt.Errorf("diff: self-check: the planned migration does not build the desired state, nothing written; it cannot migrate:\n  %s\n"+
			"(each line: the object, the attribute, the desired value and what the plan gives). Write the change of these "+
			"attributes by hand in a migration file of its own (migrate new, then make hash), then run migrate diff again",
			strings.Join(ds, "\n  "))
	}
	rest, err := plan(ctx, v, des, schemas, def, c.Online)
	if err != nil {
		return fmt.Errorf("diff: self-check: %w", err)
	}
	if len(rest) > 0 {
		var left []string
		for _, ch := range rest {
			left = append(left, ch.Cmd)
		}
		return fmt.Errorf("diff: self-check: the planned migration does not reach the desired state, nothing written; a second diff "+
			"would still plan:\n  %s\nWrite these changes by hand in a migration of their own (migrate new <name>, write the SQL, "+
			"then migrate hash), then run migrate diff again",
			strings.Join(left, "\n  "))
	}
	return nil
}

// differences compares the fingerprints of two databases, one line per
// object attribute that differs.
func differences(ctx context.Context, want, got *sql.DB, schemas []string) ([]string, error) {
	wp, err := fingerprint.Take(ctx, want, schemas)
	if err != nil {
		return nil, fmt.Errorf("diff: self-check: %w", err)
	}
	gp, err := fingerprint.Take(ctx, got, schemas)
	if err != nil {
		return nil, fmt.Errorf("diff: self-check: %w", err)
	}
	var lines []string
	for _, d := range fingerprint.Compare(wp, gp) {
		lines = append(lines, d.String())
	}
	return lines, nil
}

// createTables creates Ent's tables and views as Atlas's ent:// source
// holds them: each in the schema its entsql.Schema annotation names,
// else in the source's schema (def). Ent's own Migrate.Create cannot be
// used: it builds only the first schema of a multi-schema Ent state and
// skips views, which would drop those objects from the desired state
// without a word.
func createTables(ctx context.Context, db *sql.DB, tables []*entschema.Table, def string) error {
	m, err := entschema.NewMigrate(entsql.OpenDB(dialect.Postgres, db))
	if err != nil {
		return err
	}
	state, err := m.StateReader(tables...).ReadState(ctx)
	if err != nil {
		return fmt.Errorf("read Ent tables: %w", err)
	}
	drv, err := postgres.Open(db)
	if err != nil {
		return err
	}
	// Tables without a schema annotation belong to the source's schema,
	// which may also be named by annotations.
	bySchema := map[string]*schema.Schema{}
	want, have := &schema.Realm{}, &schema.Realm{}
	var views []*schema.View
	for _, s := range state.Schemas {
		name := cmp.Or(s.Name, def)
		to := bySchema[name]
		if to == nil {
			if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+pq.QuoteIdentifier(name)); err != nil {
				return fmt.Errorf("schema %s of Ent tables: %w", name, err)
			}
			to = schema.New(name)
			bySchema[name] = to
			want.AddSchemas(to)
			have.AddSchemas(schema.New(name))
		}
		to.AddTables(s.Tables...)
		views = append(views, s.Views...)
	}
	changes, err := drv.RealmDiff(have, want)
	if err != nil {
		return fmt.Errorf("plan Ent tables: %w", err)
	}
	if err := drv.ApplyChanges(ctx, changes); err != nil {
		return fmt.Errorf("create Ent tables: %w", err)
	}
	// Atlas's open-source differ plans no views: each is created from its
	// entsql.ViewAs definition, as Ent writes them itself (schema.DDL).
	for _, v := range views {
		var cols []*entsql.ColumnBuilder
		for _, c := range v.Columns {
			cols = append(cols, entsql.Dialect(dialect.Postgres).Column(c.Name).Type(c.Type.Raw))
		}
		q, _ := entsql.Dialect(dialect.Postgres).CreateView(v.Name).Schema(cmp.Or(v.Schema.Name, def)).
			Columns(cols...).As(entsql.Raw(v.Def)).Query()
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create Ent view %s: %w", v.Name, err)
		}
	}
	return nil
}

// execFile runs a SQL file statement by statement.
func execFile(ctx context.Context, db *sql.DB, path, srcURL string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("diff: source %s: %w", srcURL, err)
	}
	// Messages name the file as atlas.hcl does.
	return execSQL(ctx, db, strings.TrimPrefix(srcURL, "file://"), string(b))
}

// execSQL runs SQL text statement by statement; an error names the file,
// line and column, and the database's message.
func execSQL(ctx context.Context, db *sql.DB, path, text string) error {
	stmts, err := amigrate.Stmts(text)
	if err != nil {
		return fmt.Errorf("diff: %s: %w", path, err)
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s.Text); err != nil {
			offset := s.Pos
			var pqErr *pq.Error
			if errors.As(err, &pqErr) && pqErr.Position != "" {
				var p int
				fmt.Sscan(pqErr.Position, &p)
				offset += byteOffset(s.Text, p-1)
			}
			line, col := lineCol(text, offset)
			msg := err.Error()
			if pqErr != nil {
				msg = pqErr.Message // the driver's text repeats the position
			}
			return fmt.Errorf("diff: %s:%d:%d: %s", path, line, col, msg)
		}
	}
	return nil
}

// byteOffset converts a character index into s to a byte offset.
func byteOffset(s string, chars int) int {
	n := 0
	for i := range s {
		if n == chars {
			return i
		}
		n++
	}
	return len(s)
}

func lineCol(text string, offset int) (int, int) {
	offset = min(max(offset, 0), len(text))
	before := text[:offset]
	line := strings.Count(before, "\n") + 1
	col := offset - strings.LastIndex(before, "\n")
	return line, col
}

// nextVersion is the UTC timestamp version for a new file, moved past the
// directory's last version if the clock has not (two diffs in a second).
func nextVersion(dir amigrate.Dir, now time.Time) (string, error) {
	v := now.UTC().Format("20060102150405")
	last, err := migrate.Head(dir)
	if err != nil {
		return "", err
	}
	if last >= v {
		t, err := time.Parse("20060102150405", last)
		if err != nil {
			return "", fmt.Errorf("diff: last version %q is not a timestamp and is not older than %s", last, v)
		}
		v = t.Add(time.Second).Format("20060102150405")
	}
	return v, nil
}

// Plan returns the statements that turn the database cur into des, as
// `migrate diff` plans them without online shapes: schemas are the
// managed schemas, def the one written unqualified ("" for none); both
// connections' search_path must be def (see catalog.Inspector).
func Plan(ctx context.Context, cur, des *sql.DB, schemas []string, def string) ([]*amigrate.Change, error) {
	return plan(ctx, cur, des, schemas, def, atlasconf.Diff{})
}

// plan diffs the two databases: their catalogs are read into models,
// Atlas diffs their tables, and the planner orders every change in the
// dependency graph of both.
func plan(ctx context.Context, cur, des *sql.DB, schemas []string, def string, online atlasconf.Diff) ([]*amigrate.Change, error) {
	curM, err := catalog.Inspect(ctx, cur, schemas, def)
	if err != nil {
		var ue *catalog.UnsupportedError
		if errors.As(err, &ue) {
			ue.Directory = true
		}
		return nil, fmt.Errorf("diff: current state: %w", err)
	}
	desM, err := catalog.Inspect(ctx, des, schemas, def)
	if err != nil {
		return nil, fmt.Errorf("diff: desired state: %w", err)
	}
	if err := catalog.RefusePartitionChanges(curM, desM); err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	curDrv, err := postgres.Open(cur)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	desDrv, err := postgres.Open(des)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	from, err := inspectTables(ctx, curDrv, schemas, def)
	if err != nil {
		return nil, fmt.Errorf("diff: inspect current state: %w", err)
	}
	to, err := inspectTables(ctx, desDrv, schemas, def)
	if err != nil {
		return nil, fmt.Errorf("diff: inspect desired state: %w", err)
	}
	if err := domainNullability(ctx, cur, from); err != nil {
		return nil, err
	}
	if err := domainNullability(ctx, des, to); err != nil {
		return nil, err
	}
	// Indexes and constraints the model plans itself (those of
	// materialized views, deferrable ones) are not Atlas's to diff.
	withoutOwn(from, curM)
	withoutOwn(to, desM)
	if err := withoutClones(ctx, cur, from, schemas); err != nil {
		return nil, err
	}
	if err := withoutClones(ctx, des, to, schemas); err != nil {
		return nil, err
	}
	var diffOpts []schema.DiffOption
	if online.Extra != nil {
		// Atlas's differ reads its own settings from the diff block
		// (concurrent_index), as the Atlas CLI passes them.
		diffOpts = append(diffOpts, func(o *schema.DiffOptions) { o.Extra = online.Extra })
	}
	regen := regenerated(from, to)
	all, err := desDrv.RealmDiff(from, to, diffOpts...)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	all = withRegenerated(all, regen)
	var tables []schema.Change
	for _, c := range all {
		switch c := c.(type) {
		case *schema.AddTable, *schema.DropTable, *schema.ModifyTable:
			tables = append(tables, c)
		case *schema.DropSchema:
			// A managed schema the desired state no longer creates:
			// Atlas's PostgreSQL driver drops it with its tables in one
			// statement; here each table is dropped where the graph
			// puts it, and the schema, a model object, after them.
			for _, t := range c.S.Tables {
				tables = append(tables, &schema.DropTable{T: t})
			}
		}
	}
	var opts []amigrate.PlanOption
	if def != "" {
		opts = append(opts, func(o *amigrate.PlanOptions) {
			o.SchemaQualifier = new(string) // unqualified names, as with a schema-scoped dev URL
		})
	}
	return dplan.Plan(ctx, dplan.Input{
		Cur: curM, Des: desM, Changes: tables, From: from, To: to,
		Planner: desDrv, PlanOptions: opts,
		Online: dplan.Online{
			ConcurrentCreate: online.ConcurrentCreate,
			ConcurrentDrop:   online.ConcurrentDrop,
			Constraints:      online.OnlineConstraints,
		},
	})
}

// regeneratedColumn is a column of a table in both states whose
// generation expression the desired state changes or adds.
type regeneratedColumn struct {
	table    *schema.Table // the desired one
	from, to *schema.Column
}

// regenerated takes out of both realms the columns whose generation
// expression changes, or that become generated: PostgreSQL before 17
// cannot change an expression in place (nor Atlas's differ, which fails
// on them), so each is dropped and added again (withRegenerated), which
// recomputes it; what depends on it is re-created around that by the
// planner, as for any dropped column.
func regenerated(from, to *schema.Realm) []regeneratedColumn {
	var out []regeneratedColumn
	for _, ts := range to.Schemas {
		fs, ok := from.Schema(ts.Name)
		if !ok {
			continue
		}
		for _, tt := range ts.Tables {
			ft, ok := fs.Table(tt.Name)
			if !ok {
				continue
			}
			for _, tc := range tt.Columns {
				fc, ok := ft.Column(tc.Name)
				if !ok {
					continue
				}
				fx, tx := dplan.GeneratedExpr(fc), dplan.GeneratedExpr(tc)
				if tx != "" && (fx == "" || fx != tx) {
					out = append(out, regeneratedColumn{table: tt, from: fc, to: tc})
				}
			}
			for _, r := range out {
				if r.table == tt {
					ft.Columns = slices.DeleteFunc(ft.Columns, func(c *schema.Column) bool { return c == r.from })
					tt.Columns = slices.DeleteFunc(tt.Columns, func(c *schema.Column) bool { return c == r.to })
				}
			}
		}
	}
	return out
}

// withRegenerated adds to the table changes the drop and add of each
// regenerated column.
func withRegenerated(all []schema.Change, regen []regeneratedColumn) []schema.Change {
	for _, r := range regen {
		var mt *schema.ModifyTable
		for _, c := range all {
			if m, ok := c.(*schema.ModifyTable); ok && m.T.Name == r.table.Name && dplan.SchemaName(m.T) == dplan.SchemaName(r.table) {
				mt = m
				break
			}
		}
		if mt == nil {
			mt = &schema.ModifyTable{T: r.table}
			all = append(all, mt)
		}
		mt.Changes = append(mt.Changes, &schema.DropColumn{C: r.from}, &schema.AddColumn{C: r.to})
	}
	return all
}

// inspectTables reads Atlas's view of the tables. One unqualified schema
// is inspected as a schema, under its search_path, so expressions name
// its functions unqualified as the Atlas CLI does with a schema-scoped dev
// URL; several are inspected as a realm, every name qualified.
func inspectTables(ctx context.Context, drv migrateDriver, schemas []string, def string) (*schema.Realm, error) {
	if def != "" {
		s, err := drv.InspectSchema(ctx, def, &schema.InspectOptions{Mode: schema.InspectTypes | schema.InspectTables})
		if err != nil {
			return nil, err
		}
		return schema.NewRealm(s), nil
	}
	return drv.InspectRealm(ctx, &schema.InspectRealmOption{Schemas: schemas, Mode: schema.InspectSchemas | schema.InspectTypes | schema.InspectTables})
}

type migrateDriver interface {
	InspectSchema(context.Context, string, *schema.InspectOptions) (*schema.Schema, error)
	InspectRealm(context.Context, *schema.InspectRealmOption) (*schema.Realm, error)
}

// withoutOwn removes from Atlas's tables the indexes and constraints that
// the model plans with its own DDL.
func withoutOwn(r *schema.Realm, m *catalog.Model) {
	for _, s := range r.Schemas {
		for _, t := range s.Tables {
			own := func(name string) bool {
				for _, id := range []catalog.ObjectID{catalog.ID(catalog.KindIndex, s.Name, name),
					catalog.ID(catalog.KindConstraint, s.Name, t.Name, name)} {
					if o := m.Objects[id]; o != nil && !o.Atlas {
						return true
					}
				}
				return false
			}
			if t.PrimaryKey != nil && own(t.PrimaryKey.Name) {
				// A deferrable primary key: Atlas keeps it apart from
				// the other indexes, and would write it plain.
				t.PrimaryKey = nil
			}
			idx := t.Indexes[:0]
			for _, i := range t.Indexes {
				if !own(i.Name) {
					idx = append(idx, i)
				}
			}
			t.Indexes = idx
			fks := t.ForeignKeys[:0]
			for _, f := range t.ForeignKeys {
				if !own(f.Symbol) {
					fks = append(fks, f)
				}
			}
			t.ForeignKeys = fks
			attrs := t.Attrs[:0]
			for _, a := range t.Attrs {
				if c, ok := a.(*schema.Check); ok && own(c.Name) {
					continue
				}
				attrs = append(attrs, a)
			}
			t.Attrs = attrs
		}
	}
}
