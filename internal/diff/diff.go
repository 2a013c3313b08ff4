// Package diff computes the next versioned migration: the desired state
// (an Ent schema and SQL files such as schema.sql, in atlas.hcl's order)
// minus the state the migration directory builds, both materialized on
// scratch databases of a dev server and inspected the same way. Tables,
// columns, indexes and constraints are diffed by the Atlas library;
// functions, procedures and triggers by this package from the PostgreSQL
// catalog, which the open-source Atlas build leaves out.
package diff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/entc/gen"
	"entgo.io/ent/entc/load"
	"github.com/lib/pq"

	"tasks/internal/atlasconf"
	"tasks/internal/catalog"
	"tasks/internal/migrate"
)

// SyncedMessage is what the Atlas CLI prints when there is nothing to do.
const SyncedMessage = "The migration directory is synced with the desired state, no changes to be made"

// ErrDrift is returned in check mode when the directory does not build
// the desired state.
var ErrDrift = errors.New("diff: the migration directory is not in sync with the desired state; run 'migrate diff <name>'")

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
	// LoadEnt loads the Ent schema package at a directory; nil uses Ent's
	// own loader (which compiles the package, as Atlas's ent:// does).
	LoadEnt func(ctx context.Context, dir string) ([]*entschema.Table, error)
}

// Result is what a diff found and wrote.
type Result struct {
	File    string             // the new file's name, "" when none
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
		return nil, err
	}
	defer dev.close()

	cur, err := dev.scratch(ctx)
	if err != nil {
		return nil, err
	}
	defer cur.Close()
	if err := Replay(ctx, cur, c.Dir); err != nil {
		return nil, err
	}
	des, err := dev.scratch(ctx)
	if err != nil {
		return nil, err
	}
	defer des.Close()
	if err := c.build(ctx, des, dev.schema); err != nil {
		return nil, err
	}

	changes, err := plan(ctx, cur, des, dev.schema)
	if err != nil {
		return nil, err
	}
	res := &Result{Changes: changes}
	if len(changes) == 0 {
		fmt.Fprintln(c.Out, SyncedMessage)
		return res, nil
	}
	if c.Check {
		// The same text the file would hold.
		f, err := amigrate.DefaultFormatter.Format(&amigrate.Plan{Changes: changes})
		if err != nil {
			return nil, fmt.Errorf("diff: %w", err)
		}
		for _, file := range f {
			c.Out.Write(file.Bytes())
		}
		return res, ErrDrift
	}
	version, err := nextVersion(c.Dir, c.Now())
	if err != nil {
		return nil, err
	}
	p := &amigrate.Plan{Version: version, Name: c.Name, Changes: changes}
	if err := amigrate.NewPlanner(nil, c.Dir, amigrate.PlanFormat(amigrate.DefaultFormatter)).WritePlan(p); err != nil {
		return nil, fmt.Errorf("diff: write plan: %w", err)
	}
	res.File = version + ".sql"
	if c.Name != "" {
		res.File = version + "_" + c.Name + ".sql"
	}
	fmt.Fprintf(c.Out, "Wrote %s (%d changes)\n", res.File, len(changes))
	return res, nil
}

// Replay runs every file of dir on db, recording nothing.
func Replay(ctx context.Context, db *sql.DB, dir amigrate.Dir) error {
	drv, err := postgres.Open(db)
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	ex, err := amigrate.NewExecutor(drv, dir, amigrate.NopRevisionReadWriter{})
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

// build materializes the desired state on db: each source in order.
func (c *Config) build(ctx context.Context, db *sql.DB, schemaName string) error {
	entTables := map[string]bool{}
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
		switch u.Scheme {
		case "ent":
			tables, err := c.LoadEnt(ctx, path)
			if err != nil {
				return err
			}
			if err := createTables(ctx, db, tables); err != nil {
				return fmt.Errorf("diff: %s: %w", src.URL, err)
			}
			for _, t := range tables {
				entTables[t.Name] = true
			}
		case "file":
			if err := execFile(ctx, db, path, src.URL); err != nil {
				return err
			}
		default:
			return fmt.Errorf("diff: source %q: unsupported scheme (ent:// or file://)", src.URL)
		}
	}
	// Never lose an object silently: anything in the desired state that
	// neither Atlas's driver nor this package diffs is refused by name.
	objs, err := catalog.Unsupported(ctx, db, schemaName, entTables)
	if err != nil {
		return err
	}
	if len(objs) > 0 {
		names := make([]string, len(objs))
		for i, o := range objs {
			names[i] = o.String()
		}
		return fmt.Errorf("diff: the desired state has objects this tool does not diff: %s "+
			"(tables belong in the Ent schema; functions, procedures and triggers in SQL files are supported)",
			strings.Join(names, ", "))
	}
	return nil
}

// Build materializes a desired state on db directly: Ent's tables, then
// SQL text as if read from schema.sql.
func Build(ctx context.Context, db *sql.DB, tables []*entschema.Table, sqlText string) error {
	if err := createTables(ctx, db, tables); err != nil {
		return err
	}
	return execSQL(ctx, db, "schema.sql", sqlText)
}

// createTables creates Ent's tables with Ent's own Atlas integration.
func createTables(ctx context.Context, db *sql.DB, tables []*entschema.Table) error {
	m, err := entschema.NewMigrate(entsql.OpenDB(dialect.Postgres, db))
	if err != nil {
		return err
	}
	if err := m.Create(ctx, tables...); err != nil {
		return fmt.Errorf("create Ent tables: %w", err)
	}
	return nil
}

// execFile runs a SQL file statement by statement.
func execFile(ctx context.Context, db *sql.DB, path, srcURL string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("diff: source %s: %w", srcURL, err)
	}
	return execSQL(ctx, db, path, string(b))
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
			first, _, _ := strings.Cut(s.Text, "\n")
			return fmt.Errorf("diff: %s:%d:%d: %w\n  in statement: %s", path, line, col, err, first)
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

// LoadEnt loads the Ent schema package in dir with Ent's loader and
// returns the tables Ent's migration would create.
func LoadEnt(ctx context.Context, dir string) ([]*entschema.Table, error) {
	spec, err := (&load.Config{Path: dir}).Load()
	if err != nil {
		return nil, fmt.Errorf("diff: load Ent schema %s: %w", dir, err)
	}
	g, err := gen.NewGraph(&gen.Config{Package: spec.PkgPath}, spec.Schemas...)
	if err != nil {
		return nil, fmt.Errorf("diff: Ent schema %s: %w", dir, err)
	}
	tables, err := g.Tables()
	if err != nil {
		return nil, fmt.Errorf("diff: Ent schema %s: %w", dir, err)
	}
	return tables, nil
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

// plan diffs the two databases: Atlas plans the tables, this package the
// functions and triggers, in an order PostgreSQL accepts.
func plan(ctx context.Context, cur, des *sql.DB, schemaName string) ([]*amigrate.Change, error) {
	drv, err := postgres.Open(des)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	curDrv, err := postgres.Open(cur)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	from, err := curDrv.InspectSchema(ctx, schemaName, nil)
	if err != nil {
		return nil, fmt.Errorf("diff: inspect current state: %w", err)
	}
	to, err := drv.InspectSchema(ctx, schemaName, nil)
	if err != nil {
		return nil, fmt.Errorf("diff: inspect desired state: %w", err)
	}
	tableChanges, err := drv.SchemaDiff(from, to)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	var tablePlan []*amigrate.Change
	if len(tableChanges) > 0 {
		p, err := drv.PlanChanges(ctx, "diff", tableChanges, func(o *amigrate.PlanOptions) {
			o.SchemaQualifier = new(string) // unqualified names, as with a schema-scoped dev URL
		})
		if err != nil {
			return nil, fmt.Errorf("diff: plan table changes: %w", err)
		}
		tablePlan = p.Changes
	}
	droppedTables := map[string]bool{}
	for _, ch := range tableChanges {
		if d, ok := ch.(*schema.DropTable); ok {
			droppedTables[d.T.Name] = true
		}
	}

	curCat, err := catalog.InspectState(ctx, cur, schemaName)
	if err != nil {
		return nil, err
	}
	desCat, err := catalog.InspectState(ctx, des, schemaName)
	if err != nil {
		return nil, err
	}
	routines := planRoutines(curCat, desCat, droppedTables)

	out := append(routines.dropTriggers, tablePlan...)
	out = append(out, routines.dropFunctions...)
	out = append(out, routines.createFunctions...)
	out = append(out, routines.createTriggers...)
	return out, nil
}

type routinePlan struct {
	dropTriggers, dropFunctions, createFunctions, createTriggers []*amigrate.Change
}

// planRoutines plans functions and triggers: a new function before the
// triggers that call it; a changed body as CREATE OR REPLACE; a changed
// result or argument defaults as drop and create, with the triggers that
// use the function dropped first and created again after; a changed
// trigger replaced; removed triggers dropped before the functions they
// used; triggers of dropped tables left to the table drop.
func planRoutines(cur, des *catalog.State, droppedTables map[string]bool) routinePlan {
	var p routinePlan
	droppedFn := map[string]bool{}
	for _, k := range sortedKeys(cur.Functions) {
		f := cur.Functions[k]
		if f.Extension {
			continue
		}
		d, ok := des.Functions[k]
		switch {
		case !ok:
			droppedFn[k] = true
			p.dropFunctions = append(p.dropFunctions, &amigrate.Change{Cmd: f.DropSQL(), Comment: fmt.Sprintf("drop %q function", f.Name)})
		case catalog.Same(f, d):
		case f.Result != d.Result || f.Kind != d.Kind || f.ArgsDecl != d.ArgsDecl:
			// CREATE OR REPLACE cannot change these.
			droppedFn[k] = true
			p.dropFunctions = append(p.dropFunctions, &amigrate.Change{Cmd: f.DropSQL(), Comment: fmt.Sprintf("drop %q function", f.Name)})
			p.createFunctions = append(p.createFunctions, &amigrate.Change{Cmd: d.CreateSQL(false), Comment: fmt.Sprintf("create %q function", d.Name)})
		default:
			p.createFunctions = append(p.createFunctions, &amigrate.Change{Cmd: d.CreateSQL(true), Comment: fmt.Sprintf("modify %q function", d.Name)})
		}
	}
	for _, k := range sortedKeys(des.Functions) {
		if _, ok := cur.Functions[k]; !ok && !des.Functions[k].Extension {
			d := des.Functions[k]
			p.createFunctions = append(p.createFunctions, &amigrate.Change{Cmd: d.CreateSQL(false), Comment: fmt.Sprintf("create %q function", d.Name)})
		}
	}
	for _, k := range sortedTriggers(cur.Triggers) {
		t := cur.Triggers[k]
		d, ok := des.Triggers[k]
		if ok && d.Def == t.Def && !droppedFn[t.Function] {
			continue
		}
		if !droppedTables[t.Table] {
			p.dropTriggers = append(p.dropTriggers, &amigrate.Change{Cmd: t.DropSQL(),
				Comment: fmt.Sprintf("drop trigger %q from table: %q", t.Name, t.Table)})
		}
		if ok {
			p.createTriggers = append(p.createTriggers, &amigrate.Change{Cmd: d.CreateSQL(), Comment: fmt.Sprintf("create trigger %q", d.Name)})
		}
	}
	for _, k := range sortedTriggers(des.Triggers) {
		if _, ok := cur.Triggers[k]; !ok {
			d := des.Triggers[k]
			p.createTriggers = append(p.createTriggers, &amigrate.Change{Cmd: d.CreateSQL(), Comment: fmt.Sprintf("create trigger %q", d.Name)})
		}
	}
	sort.SliceStable(p.createTriggers, func(i, j int) bool { return p.createTriggers[i].Comment < p.createTriggers[j].Comment })
	return p
}

func sortedKeys(m map[string]*catalog.Function) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sortedTriggers orders triggers by name, then table.
func sortedTriggers(m map[string]*catalog.Trigger) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := m[keys[i]], m[keys[j]]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Table < b.Table
	})
	return keys
}
