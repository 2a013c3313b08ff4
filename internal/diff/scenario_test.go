package diff_test

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	entschema "entgo.io/ent/dialect/sql/schema"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"tasks/internal/atlasconf"
	"tasks/internal/catalog"
	"tasks/internal/diff"
	"tasks/internal/fingerprint"
	"tasks/internal/migrate"
)

// TestScenarioFiles runs every testdata/scenarios/*.txtar: the desired
// SQL before (built into the migration directory first) and after, and
// the migration the diff must write between them, or the error it must
// refuse with (and then write nothing). Each written file is checked
// four ways: it is the expected text, it applies, the next diff finds
// nothing, and the migrated database's catalog equals that of a
// database built straight from the desired SQL.
//
// A diff.hcl section holds an atlas.hcl diff block (online plans), or an
// env "scenario" block with one and the env's schemas attribute; a
// migration written as several files is checked against want.sql,
// want.2.sql, want.3.sql… An ent section names an Ent schema under
// testdata/ent (its schema package) that comes before the SQL in the
// desired state, as in atlas.hcl's composite_schema; before.ent names
// the one of the before state when it differs.
//
// Beyond the text, every written migration is one Atlas reads as this
// tool wrote it: atlas.sum passes Atlas's own validation, Atlas's
// statement splitter finds exactly the planned statements, and the
// output counts them; a diff that writes nothing says the directory is
// synced.
//
// With -update, a scenario whose migration differs gets the produced one
// written into its want sections instead (review it before committing).
func TestScenarioFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scenario files")
	}
	// One dev database for every scenario: a diff only connects to it to
	// make its scratch databases on the server, so an empty database per
	// scenario was a CREATE DATABASE spent on nothing.
	dev := cluster.Empty(t)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc, err := readScenario(f)
			if err != nil {
				t.Fatal(err)
			}
			sc.path, sc.dev = f, dev
			sc.run(t)
		})
	}
}

type fileScenario struct {
	before, after, want, wantErr string
	hasBefore                    bool
	ent, beforeEnt               string // Ent schemas under testdata/ent, "" for none
	schemas                      []string
	path                         string
	diffHCL                      string
	wantMore                     []string // want.2.sql, want.3.sql…
	dev                          string   // the dev database's URL
}

var update = flag.Bool("update", false, "write produced migrations into the scenario files' want.sql")

// rewrite stores got as the scenario file's want.sql, want.2.sql….
func (sc *fileScenario) rewrite(t *testing.T, got []string) {
	a, err := txtar.ParseFile(sc.path)
	if err != nil {
		t.Fatal(err)
	}
	kept := a.Files[:0]
	for _, f := range a.Files {
		if f.Name != "want.sql" && !wantN(f.Name) {
			kept = append(kept, f)
		}
	}
	a.Files = kept
	for i, g := range got {
		name := "want.sql"
		if i > 0 {
			name = fmt.Sprintf("want.%d.sql", i+1)
		}
		a.Files = append(a.Files, txtar.File{Name: name, Data: []byte(g)})
	}
	if err := os.WriteFile(sc.path, txtar.Format(a), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readScenario(path string) (*fileScenario, error) {
	a, err := txtar.ParseFile(path)
	if err != nil {
		return nil, err
	}
	sc := &fileScenario{schemas: []string{"public"}}
	for _, f := range a.Files {
		switch f.Name {
		case "before.sql":
			sc.before, sc.hasBefore = string(f.Data), true
		case "after.sql":
			sc.after = string(f.Data)
		case "want.sql":
			sc.want = string(f.Data)
		case "error":
			sc.wantErr = strings.TrimSpace(string(f.Data))
		case "schemas":
			sc.schemas = strings.Fields(string(f.Data))
		case "diff.hcl":
			sc.diffHCL = string(f.Data)
		case "ent":
			sc.ent = strings.TrimSpace(string(f.Data))
		case "before.ent":
			sc.beforeEnt = strings.TrimSpace(string(f.Data))
		default:
			if wantN(f.Name) {
				sc.wantMore = append(sc.wantMore, string(f.Data))
				continue
			}
			return nil, &os.PathError{Op: "scenario", Path: path, Err: os.ErrInvalid}
		}
	}
	if sc.beforeEnt == "" {
		sc.beforeEnt = sc.ent
	}
	return sc, nil
}

// entDir is the schema package of an Ent schema under testdata/ent.
func entDir(name string) string {
	return mustAbs(filepath.Join("testdata", "ent", name, "schema"))
}

// Ent's loader compiles the schema package; each one is loaded once.
var (
	entMu    sync.Mutex
	entCache = map[string][]*entschema.Table{}
)

func cachedLoadEnt(ctx context.Context, dir string) ([]*entschema.Table, error) {
	entMu.Lock()
	defer entMu.Unlock()
	if t, ok := entCache[dir]; ok {
		return t, nil
	}
	t, err := diff.LoadEnt(ctx, dir)
	if err == nil {
		entCache[dir] = t
	}
	return t, err
}

// sources is the desired state's composite schema: the Ent schema ent
// names, if any, then the SQL.
func (sc *fileScenario) sources(ent string) []atlasconf.Source {
	var srcs []atlasconf.Source
	if ent != "" {
		srcs = append(srcs, atlasconf.Source{Schema: sc.schemas[0], URL: "ent://" + entDir(ent)})
	}
	// The file is loaded in the first schema; the others are managed
	// members whose objects it creates qualified.
	srcs = append(srcs, atlasconf.Source{Schema: sc.schemas[0], URL: "file://schema.sql"})
	for _, s := range sc.schemas[1:] {
		srcs = append(srcs, atlasconf.Source{Schema: s, URL: "file://empty.sql"})
	}
	return srcs
}

func (sc *fileScenario) run(t *testing.T) {
	ctx := context.Background()
	dev := sc.dev
	work, dir := migrationsDir(t)
	os.WriteFile(filepath.Join(work, "empty.sql"), nil, 0o644)
	clock := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	run := func(ent, text, name string) (*diff.Result, string, error) {
		if err := os.WriteFile(filepath.Join(work, "schema.sql"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		clock = clock.Add(time.Minute)
		env := sc.env(t)
		res, err := diff.Run(ctx, diff.Config{
			Dir: dir, Sources: sc.sources(ent), DevURL: dev, Name: name, BaseDir: work,
			Out: &out, Now: func() time.Time { return clock }, Online: env.Diff, Schemas: env.Schemas,
			LoadEnt: cachedLoadEnt,
		})
		return res, out.String(), err
	}
	switch {
	case !sc.hasBefore:
	case sc.beforeEnt == "" && len(sc.schemas) == 1 && sc.schemas[0] == "public":
		// The directory starts as before.sql itself, run statement by
		// statement as the desired state is built: a diff from empty
		// would reach the same state (the scenarios without a before
		// check that), at a third of the scenario's cost.
		writeMigration(t, dir, "20240101000000_before.sql", "-- atlas:txmode none\n\n"+sc.before)
	default:
		if _, _, err := run(sc.beforeEnt, sc.before, "before"); err != nil {
			t.Fatalf("before.sql: %v", err)
		}
	}
	res, out, err := run(sc.ent, sc.after, "after")
	if sc.wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), sc.wantErr) {
			t.Fatalf("err = %v; want one containing %q", err, sc.wantErr)
		}
		// A refused diff writes nothing.
		if written, _ := filepath.Glob(filepath.Join(dir.Path(), "*_after.sql")); len(written) > 0 {
			t.Fatalf("a refused diff wrote %v", written)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	got := written(t, dir.Path(), res.Files)
	if d := cmp.Diff(append([]string{sc.want}, sc.wantMore...), got); d != "" && *update {
		sc.rewrite(t, got)
	} else if d != "" {
		t.Fatalf("migration (-want +got):\n%s\noutput: %s", d, out)
	}
	if got[0] == "" {
		if strings.TrimSpace(out) != diff.SyncedMessage {
			t.Fatalf("no file written, and the output is %q; want the synced message", out)
		}
		return
	}
	checkAtlasReads(t, dir, got, res, out)

	// It applies.
	migratedURL := cluster.Empty(t)
	applyDB, err := sql.Open("postgres", migratedURL)
	if err != nil {
		t.Fatal(err)
	}
	defer applyDB.Close()
	if _, err := migrate.Apply(ctx, applyDB, dir, 0, migrate.Options{}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	// The next diff is empty.
	if res, out, err := run(sc.ent, sc.after, "again"); err != nil || res.File != "" {
		t.Fatalf("second diff: %v\n%s", err, out)
	}
	// The migrated catalog is the desired one.
	want := openDB(t, cluster.Empty(t))
	for _, s := range sc.schemas {
		if _, err := want.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+catalog.QuoteIdent(s)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := want.ExecContext(ctx, "SET search_path = "+catalog.QuoteIdent(sc.schemas[0])); err != nil {
		t.Fatal(err)
	}
	if sc.ent == "" {
		err = diff.ExecSQL(ctx, want, "after.sql", sc.after)
	} else {
		var tables []*entschema.Table
		if tables, err = cachedLoadEnt(ctx, entDir(sc.ent)); err != nil {
			t.Fatal(err)
		}
		err = diff.Build(ctx, want, sc.schemas[0], tables, sc.after)
	}
	if err != nil {
		t.Fatal(err)
	}
	// Schemas after.sql creates are managed as well: compare them too.
	created, err := diff.CreatedSchemas(ctx, sc.schemas, want)
	if err != nil {
		t.Fatal(err)
	}
	compareCatalogs(t, append(sc.schemas, created...), want, openDB(t, migratedURL))
}

// checkAtlasReads checks that the Atlas library accepts the written
// files as this tool meant them: its checksum validation passes, its
// statement splitter finds exactly the planned statements, in order
// (besides each file's lock_timeout), and the output counts each file's
// changes in good English.
func checkAtlasReads(t *testing.T, dir amigrate.Dir, texts []string, res *diff.Result, out string) {
	t.Helper()
	if err := amigrate.Validate(dir); err != nil {
		t.Fatalf("atlas.sum rejected by the Atlas library: %v", err)
	}
	var split, planned []string
	for i, text := range texts {
		stmts, err := amigrate.Stmts(text)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range stmts {
			// The file's own setting under an online diff block, not a
			// planned change.
			if strings.HasPrefix(s.Text, "SET lock_timeout = ") {
				continue
			}
			split = append(split, s.Text)
			n++
		}
		if want := fmt.Sprintf("Wrote %s (%d change%s)\n", res.Files[i], n, map[bool]string{true: "s"}[n != 1]); !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	for _, c := range res.Changes {
		planned = append(planned, c.Cmd+";")
	}
	if d := cmp.Diff(planned, split); d != "" {
		t.Fatalf("the Atlas splitter reads other statements than planned (-planned +split):\n%s", d)
	}
}

// wantN reports whether a section holds a later file of a migration
// written as several (want.2.sql…).
func wantN(name string) bool {
	n, ok := strings.CutPrefix(name, "want.")
	n, ok2 := strings.CutSuffix(n, ".sql")
	_, err := strconv.Atoi(n)
	return ok && ok2 && err == nil
}

// env reads the scenario's diff block (online plans), and the env's
// schemas attribute when it has an env "scenario" of its own, as
// atlas.hcl would hold them.
func (sc *fileScenario) env(t *testing.T) *atlasconf.Env {
	if sc.diffHCL == "" {
		return &atlasconf.Env{}
	}
	// A global diff block alone, or with an env "scenario" of its own.
	src := sc.diffHCL
	if !strings.Contains(src, `env "scenario"`) {
		src += "\nenv \"scenario\" {}\n"
	}
	f, err := atlasconf.Parse("diff.hcl", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	env, err := f.Env("scenario")
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// written returns the texts of a diff's files ([""] when none).
func written(t *testing.T, dir string, names []string) []string {
	if len(names) == 0 {
		return []string{""}
	}
	var out []string
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func openDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// compareCatalogs fails the test naming every object whose definition
// differs between the two databases.
func compareCatalogs(t *testing.T, schemas []string, want, got *sql.DB) {
	t.Helper()
	ctx := context.Background()
	def := ""
	if len(schemas) == 1 {
		def = schemas[0]
	}
	defs := func(db *sql.DB) map[string]string {
		path := ""
		if def != "" {
			path = catalog.QuoteIdent(def)
		}
		if _, err := db.ExecContext(ctx, "SELECT set_config('search_path', $1, false)", path); err != nil {
			t.Fatal(err)
		}
		m, err := catalog.Inspect(ctx, db, schemas, def)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for id, o := range m.Objects {
			out[id.String()] = o.Def
		}
		return out
	}
	if d := cmp.Diff(defs(want), defs(got)); d != "" {
		t.Errorf("catalog differs from the desired state (-want +got):\n%s", d)
	}
	// And through the fingerprint, which shares no code with the model.
	wp, err := fingerprint.Take(ctx, want, schemas)
	if err != nil {
		t.Fatal(err)
	}
	gp, err := fingerprint.Take(ctx, got, schemas)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range fingerprint.Compare(wp, gp) {
		t.Errorf("fingerprint: %s", d)
	}
}

// A planner that withholds a statement is caught by the self-check before
// anything is written: here the CREATE INDEX of a new index is dropped
// from the plan.
func TestSelfCheckCatchesWithheldStatement(t *testing.T) {
	ctx := context.Background()
	work, dir := migrationsDir(t)
	os.WriteFile(filepath.Join(work, "schema.sql"), []byte(`
CREATE TABLE notes (id bigint PRIMARY KEY, title text NOT NULL);
CREATE FUNCTION norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE INDEX notes_norm ON notes (norm(title));
COMMENT ON TABLE notes IS 'kept';
`), 0o644)
	cfg := diff.Config{Dir: dir, Sources: []atlasconf.Source{{URL: "file://schema.sql"}}, DevURL: cluster.Empty(t), BaseDir: work}
	withheld := ""
	cfg = diff.WithMutation(cfg, func(cs []*amigrate.Change) []*amigrate.Change {
		var out []*amigrate.Change
		for _, c := range cs {
			if strings.HasPrefix(c.Cmd, "CREATE INDEX") {
				withheld = c.Cmd
				continue
			}
			out = append(out, c)
		}
		return out
	})
	_, err := diff.Run(ctx, cfg)
	if withheld == "" {
		t.Fatal("the plan had no CREATE INDEX to withhold")
	}
	if err == nil || !strings.Contains(err.Error(), "self-check") || !strings.Contains(err.Error(), "notes_norm") {
		t.Fatalf("err = %v; want the self-check naming the missing index", err)
	}
	if files, _ := os.ReadDir(dir.Path()); len(files) != 0 {
		t.Fatalf("a refused diff wrote %d files", len(files))
	}
}

// writeMigration adds a file to the directory and rewrites atlas.sum.
func writeMigration(t *testing.T, dir *amigrate.LocalDir, name, text string) {
	t.Helper()
	if err := dir.WriteFile(name, []byte(text)); err != nil {
		t.Fatal(err)
	}
	sum, err := dir.Checksum()
	if err == nil {
		err = amigrate.WriteSumFile(dir, sum)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// migrationsDir makes a work directory holding an empty migrations/, as
// a project has before its first diff.
func migrationsDir(t *testing.T) (work string, dir *amigrate.LocalDir) {
	t.Helper()
	work = t.TempDir()
	path := filepath.Join(work, "migrations")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := amigrate.NewLocalDir(path)
	if err != nil {
		t.Fatal(err)
	}
	return work, dir
}
