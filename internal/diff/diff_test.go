package diff_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	entschema "entgo.io/ent/dialect/sql/schema"
	"github.com/google/go-cmp/cmp"

	"tasks/internal/atlasconf"
	"tasks/internal/catalog"
	"tasks/internal/dbtest"
	"tasks/internal/diff"
	"tasks/internal/migrate"
)

var cluster *dbtest.Cluster

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m, &cluster)) }

// Ent's loader compiles the schema package; each variant is loaded once.
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

const baseSQL = `CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.created_at := OLD.created_at;
  NEW.updated_at := OLD.updated_at;
  IF NEW IS NOT DISTINCT FROM OLD THEN
    RETURN NEW;
  END IF;
  NEW.updated_at := greatest(now(), OLD.updated_at + interval '1 microsecond');
  RETURN NEW;
END;
$$;

CREATE TRIGGER tasks_set_updated_at
  BEFORE UPDATE ON tasks
  FOR EACH ROW
  EXECUTE FUNCTION set_updated_at();
`

// The same function and trigger, reformatted: other whitespace, comments
// and keyword case must not produce a migration.
const reformattedSQL = `-- set_updated_at keeps updated_at current.
create function set_updated_at()
  returns trigger language plpgsql
as $body$
begin
  -- created_at never changes
  new.created_at := old.created_at;   new.updated_at := old.updated_at;
  if new is not distinct from old then return new; end if;
  /* strictly increasing */
  new.updated_at := GREATEST(NOW(), old.updated_at + INTERVAL '1 microsecond');
  return new;
end;
$body$;
create trigger tasks_set_updated_at before update on tasks for each row execute function set_updated_at();
`

type state struct {
	ent string // variant under testdata/ent
	sql string // the schema.sql
}

type scenario struct {
	name  string
	steps []state // applied in order; the last diff is the one checked
	// want lists fragments of the last generated file, in order.
	want []string
	// notWant lists fragments that must not appear in it.
	notWant []string
	// noFile: the last diff must find nothing.
	noFile bool
	// wantErr: the last diff must fail with this in its message.
	wantErr string
}

func TestScenarios(t *testing.T) {
	base := state{"base", baseSQL}
	helper := `
CREATE FUNCTION title_ok(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT length(t) BETWEEN 1 AND 200 $$;`
	for _, sc := range []scenario{
		{name: "initial from empty", steps: []state{base}, want: []string{
			`-- Create "tasks" table`, `CREATE TABLE "tasks" (`, `"updated_at" timestamptz NOT NULL DEFAULT now()`,
			`-- Create "set_updated_at" function`, `CREATE FUNCTION "set_updated_at" () RETURNS trigger LANGUAGE plpgsql AS $$`,
			`-- Create trigger "tasks_set_updated_at"`, `CREATE TRIGGER "tasks_set_updated_at" BEFORE UPDATE ON "tasks" FOR EACH ROW EXECUTE FUNCTION "set_updated_at"();`,
		}},
		{name: "no change", steps: []state{base, base}, noFile: true},
		{name: "formatting-only change in schema.sql", steps: []state{base, {"base", reformattedSQL}}, noFile: true},
		{name: "Ent field added, nullable and with default", steps: []state{base, {"fields", baseSQL}}, want: []string{
			`-- Modify "tasks" table`, `ALTER TABLE "tasks" ADD COLUMN "priority" bigint NOT NULL DEFAULT 0, ADD COLUMN "note" character varying NULL;`,
		}, notWant: []string{"FUNCTION", "TRIGGER"}},
		{name: "index added", steps: []state{base, {"index", baseSQL}}, want: []string{
			`-- Create index "task_done" to table: "tasks"`, `CREATE INDEX "task_done" ON "tasks" ("done");`,
		}, notWant: []string{"FUNCTION", "TRIGGER"}},
		{name: "function body changed", steps: []state{base, {"base", strings.Replace(baseSQL, "interval '1 microsecond'", "interval '1 millisecond'", 1)}}, want: []string{
			`-- Modify "set_updated_at" function`, `CREATE OR REPLACE FUNCTION "set_updated_at" () RETURNS trigger LANGUAGE plpgsql AS $$`, `interval '1 millisecond'`,
		}, notWant: []string{"DROP", "TRIGGER"}},
		{name: "trigger WHEN changed", steps: []state{base, {"base", strings.Replace(baseSQL, "FOR EACH ROW", "FOR EACH ROW\n  WHEN (OLD.* IS DISTINCT FROM NEW.*)", 1)}}, want: []string{
			`-- Drop trigger "tasks_set_updated_at" from table: "tasks"`, `DROP TRIGGER "tasks_set_updated_at" ON "tasks";`,
			`-- Create trigger "tasks_set_updated_at"`, `FOR EACH ROW WHEN (old.* IS DISTINCT FROM new.*) EXECUTE FUNCTION "set_updated_at"();`,
		}, notWant: []string{" FUNCTION \"set_updated_at\" ("}},
		{name: "trigger removed", steps: []state{base, {"base", baseSQL[:strings.Index(baseSQL, "CREATE TRIGGER")]}}, want: []string{
			`-- Drop trigger "tasks_set_updated_at" from table: "tasks"`, `DROP TRIGGER "tasks_set_updated_at" ON "tasks";`,
		}, notWant: []string{"DROP FUNCTION", "CREATE"}},
		{name: "function and trigger removed together", steps: []state{base, {"base", ""}}, want: []string{
			`DROP TRIGGER "tasks_set_updated_at" ON "tasks";`, `-- Drop "set_updated_at" function`, `DROP FUNCTION "set_updated_at" ();`,
		}},
		{name: "function renamed, trigger repointed", steps: []state{base, {"base", strings.ReplaceAll(baseSQL, "set_updated_at()", "touch_row()")}}, want: []string{
			`DROP TRIGGER "tasks_set_updated_at" ON "tasks";`, `DROP FUNCTION "set_updated_at" ();`,
			`CREATE FUNCTION "touch_row" () RETURNS trigger`, `EXECUTE FUNCTION "touch_row"();`,
		}},
		{name: "function signature changed", steps: []state{{"base", baseSQL + helper}, {"base", baseSQL + strings.Replace(helper, "title_ok(t text)", "title_ok(t text, max integer DEFAULT 200)", 1)}}, want: []string{
			`DROP FUNCTION "title_ok" (t text);`, `CREATE FUNCTION "title_ok" (t text, max integer DEFAULT 200) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$`,
		}, notWant: []string{"TRIGGER"}},
		{name: "function return type changed", steps: []state{{"base", baseSQL + helper}, {"base", baseSQL + strings.Replace(strings.Replace(helper, "RETURNS boolean", "RETURNS integer", 1), "BETWEEN 1 AND 200", "", 1)}}, want: []string{
			`DROP FUNCTION "title_ok" (t text);`, `CREATE FUNCTION "title_ok" (t text) RETURNS integer`,
		}},
		{name: "trigger function attributes changed: replaced in place, trigger kept", steps: []state{base, {"base", strings.Replace(baseSQL, "LANGUAGE plpgsql", "LANGUAGE plpgsql SECURITY DEFINER", 1)}}, want: []string{
			`CREATE OR REPLACE FUNCTION "set_updated_at" () RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$`,
		}, notWant: []string{"DROP"}},
		{name: "second table reusing the function", steps: []state{base, {"two", baseSQL + "\nCREATE TRIGGER projects_set_updated_at BEFORE UPDATE ON projects FOR EACH ROW EXECUTE FUNCTION set_updated_at();\n"}}, want: []string{
			`-- Create "projects" table`, `-- Create trigger "projects_set_updated_at"`, `ON "projects" FOR EACH ROW EXECUTE FUNCTION "set_updated_at"();`,
		}, notWant: []string{" FUNCTION \"set_updated_at\" (", "tasks_set_updated_at"}},
		{name: "table dropped takes its trigger", steps: []state{{"two", baseSQL + "\nCREATE TRIGGER projects_set_updated_at BEFORE UPDATE ON projects FOR EACH ROW EXECUTE FUNCTION set_updated_at();\n"}, base}, want: []string{
			`-- Drop "projects" table`, `DROP TABLE "projects";`,
		}, notWant: []string{"DROP TRIGGER", "FUNCTION"}},
		{name: "unsupported object", steps: []state{base, {"base", baseSQL + "\nCREATE TEXT SEARCH CONFIGURATION task_words (COPY = english);\n"}},
			wantErr: "objects this tool does not diff: text search configuration public.task_words"},
		{name: "table outside Ent", steps: []state{base, {"base", baseSQL + "\nCREATE TABLE audit (id int);\n"}},
			want: []string{`-- Create "audit" table`, `CREATE TABLE "audit" ("id" integer NULL);`}},
		{name: "invalid SQL in schema.sql", steps: []state{base, {"base", baseSQL + "\nCREATE TRIGGER broken BEFORE UPDATE ON nowhere FOR EACH ROW EXECUTE FUNCTION set_updated_at();\n"}},
			wantErr: `schema.sql:19:1: relation "nowhere" does not exist`},
		{name: "syntax error in schema.sql", steps: []state{base, {"base", baseSQL + "\n  CREATE TABLEX audit (id int);\n"}},
			wantErr: `schema.sql:19:10: syntax error at or near "TABLEX"`},
	} {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
}

func runScenario(t *testing.T, sc scenario) {
	ctx := context.Background()
	dev := cluster.Empty(t)
	work := t.TempDir()
	dirPath := filepath.Join(work, "migrations")
	os.Mkdir(dirPath, 0o755)
	dir, err := amigrate.NewLocalDir(dirPath)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	run := func(st state, name string, check bool) (*diff.Result, string, error) {
		if err := os.WriteFile(filepath.Join(work, "schema.sql"), []byte(st.sql), 0o644); err != nil {
			t.Fatal(err)
		}
		entDir, _ := filepath.Abs(filepath.Join("testdata", "ent", st.ent, "schema"))
		var out bytes.Buffer
		clock = clock.Add(time.Minute)
		res, err := diff.Run(ctx, diff.Config{
			Dir:     dir,
			Sources: []atlasconf.Source{{URL: "ent://" + entDir}, {URL: "file://schema.sql"}},
			DevURL:  dev,
			Name:    name,
			BaseDir: work,
			Check:   check,
			Out:     &out,
			Now:     func() time.Time { return clock },
			LoadEnt: cachedLoadEnt,
		})
		return res, out.String(), err
	}

	for i, st := range sc.steps[:len(sc.steps)-1] {
		if _, _, err := run(st, "step"+string(rune('a'+i)), false); err != nil {
			t.Fatalf("setting up step %d: %v", i, err)
		}
	}
	filesBefore, _ := dir.Files()
	last := sc.steps[len(sc.steps)-1]
	res, out, err := run(last, "change", false)
	if sc.wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), sc.wantErr) {
			t.Fatalf("err = %v; want one containing %q", err, sc.wantErr)
		}
		if files, _ := dir.Files(); len(files) != len(filesBefore) {
			t.Fatal("a failed diff wrote a file")
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if sc.noFile {
		if res.File != "" || strings.TrimSpace(out) != diff.SyncedMessage {
			t.Fatalf("want no file and the synced message; got file %q, output %q", res.File, out)
		}
		if files, _ := dir.Files(); len(files) != len(filesBefore) {
			t.Fatal("a no-op diff wrote a file")
		}
		return
	}
	if res.File == "" {
		t.Fatalf("no file written; output %q", out)
	}
	if n := len(res.Changes); !strings.Contains(out, fmt.Sprintf("(%d change%s)", n, map[bool]string{true: "s"}[n != 1])) {
		t.Errorf("output %q does not count %d change(s) in good English", out, n)
	}
	body, err := os.ReadFile(filepath.Join(dirPath, res.File))
	if err != nil {
		t.Fatal(err)
	}
	text := string(body)
	pos := 0
	for _, w := range sc.want {
		i := strings.Index(text[pos:], w)
		if i < 0 {
			t.Fatalf("generated file lacks %q after offset %d:\n%s", w, pos, text)
		}
		pos += i + len(w)
	}
	for _, w := range sc.notWant {
		if strings.Contains(text, w) {
			t.Fatalf("generated file contains %q:\n%s", w, text)
		}
	}

	// Atlas's own checksum validation accepts the sum, and its statement
	// splitter finds exactly the statements that were planned.
	if err := amigrate.Validate(dir); err != nil {
		t.Fatalf("atlas.sum rejected by the Atlas library: %v", err)
	}
	stmts, err := amigrate.Stmts(text)
	if err != nil {
		t.Fatal(err)
	}
	var got, wantStmts []string
	for _, s := range stmts {
		got = append(got, s.Text)
	}
	for _, c := range res.Changes {
		wantStmts = append(wantStmts, c.Cmd+";")
	}
	if d := cmp.Diff(wantStmts, got); d != "" {
		t.Fatalf("the Atlas splitter reads other statements than planned (-planned +split):\n%s", d)
	}

	// Apply every file to a fresh database, then a second diff finds
	// nothing, and the catalog matches the desired state.
	target := cluster.Empty(t)
	db, err := sql.Open("postgres", target)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{}); err != nil {
		t.Fatalf("apply generated files: %v", err)
	}
	res2, out2, err := run(last, "again", false)
	if err != nil || res2.File != "" {
		t.Fatalf("round trip: a second diff found changes (%v):\n%s", err, out2)
	}
	assertCatalog(t, db, last)
}

// assertCatalog compares the functions and triggers of the migrated
// database with the desired state built from scratch.
func assertCatalog(t *testing.T, migrated *sql.DB, st state) {
	t.Helper()
	ctx := context.Background()
	want, err := sql.Open("postgres", cluster.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	tables, err := cachedLoadEnt(ctx, mustAbs(filepath.Join("testdata", "ent", st.ent, "schema")))
	if err != nil {
		t.Fatal(err)
	}
	if err := diff.Build(ctx, want, tables, st.sql); err != nil {
		t.Fatal(err)
	}
	got, err := catalog.Inspect(ctx, migrated, []string{"public"}, "public")
	if err != nil {
		t.Fatal(err)
	}
	exp, err := catalog.Inspect(ctx, want, []string{"public"}, "public")
	if err != nil {
		t.Fatal(err)
	}
	defs := func(m *catalog.Model) map[string]string {
		out := map[string]string{}
		for id, o := range m.Objects {
			out[id.String()] = o.Def
		}
		return out
	}
	if d := cmp.Diff(defs(exp), defs(got)); d != "" {
		t.Errorf("objects differ from the desired state (-want +got):\n%s", d)
	}
}

func TestTamperedSumIsRefused(t *testing.T) {
	dirPath := t.TempDir()
	os.WriteFile(filepath.Join(dirPath, "1_init.sql"), []byte("CREATE TABLE t (id int);\n"), 0o644)
	dir, _ := amigrate.NewLocalDir(dirPath)
	if err := migrate.Hash(dir); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dirPath, "1_init.sql"), []byte("CREATE TABLE t (id bigint);\n"), 0o644)
	_, err := diff.Run(context.Background(), diff.Config{
		Dir:     dir,
		Sources: []atlasconf.Source{{URL: "file://schema.sql"}},
		DevURL:  "postgres://127.0.0.1:1/never-reached",
	})
	if !errors.Is(err, amigrate.ErrChecksumMismatch) || !strings.Contains(err.Error(), "1_init.sql was edited") {
		t.Fatalf("err = %v; want a checksum mismatch naming the file", err)
	}
}

func TestCheckModeWritesNothing(t *testing.T) {
	dirPath := t.TempDir()
	dir, _ := amigrate.NewLocalDir(dirPath)
	work := t.TempDir()
	os.WriteFile(filepath.Join(work, "schema.sql"), []byte(baseSQL), 0o644)
	var out bytes.Buffer
	_, err := diff.Run(context.Background(), diff.Config{
		Dir:     dir,
		Sources: []atlasconf.Source{{URL: "ent://" + mustAbs("testdata/ent/base/schema")}, {URL: "file://schema.sql"}},
		DevURL:  cluster.Empty(t),
		BaseDir: work,
		Check:   true,
		Out:     &out,
		LoadEnt: cachedLoadEnt,
	})
	if !errors.Is(err, diff.ErrDrift) || !strings.Contains(out.String(), `CREATE TABLE "tasks"`) {
		t.Fatalf("err = %v, output:\n%s", err, out.String())
	}
	if entries, _ := os.ReadDir(dirPath); len(entries) != 0 {
		t.Fatalf("check mode wrote %d files", len(entries))
	}
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

// Ent's examples/triggers layout (two entities, an audit function and
// three triggers in SQL) gives, from an empty directory, the file Atlas
// Pro writes for it: tables, then the function, then the triggers by
// name, every name quoted. The function body here is this test's own.
func TestEntTriggersExampleMatchesAtlasPro(t *testing.T) {
	const src = `-- Audits every change of a user.
CREATE OR REPLACE FUNCTION audit_users_changes()
RETURNS TRIGGER AS $$
BEGIN
    INSERT INTO user_audit_logs(operation_type, operation_time, old_value, new_value)
    VALUES (TG_OP, CURRENT_TIMESTAMP, row_to_json(OLD), row_to_json(NEW));
    RETURN coalesce(NEW, OLD);
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_insert_audit AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION audit_users_changes();
CREATE TRIGGER users_update_audit AFTER UPDATE ON users FOR EACH ROW EXECUTE FUNCTION audit_users_changes();
CREATE TRIGGER users_delete_audit AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION audit_users_changes();
`
	const want = `-- Create "user_audit_logs" table
CREATE TABLE "user_audit_logs" ("id" bigint NOT NULL GENERATED BY DEFAULT AS IDENTITY, "operation_type" character varying NOT NULL, "operation_time" character varying NOT NULL, "old_value" character varying NULL, "new_value" character varying NULL, PRIMARY KEY ("id"));
-- Create "users" table
CREATE TABLE "users" ("id" bigint NOT NULL GENERATED BY DEFAULT AS IDENTITY, "name" character varying NOT NULL, PRIMARY KEY ("id"));
-- Create "audit_users_changes" function
CREATE FUNCTION "audit_users_changes" () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_audit_logs(operation_type, operation_time, old_value, new_value)
    VALUES (TG_OP, CURRENT_TIMESTAMP, row_to_json(OLD), row_to_json(NEW));
    RETURN coalesce(NEW, OLD);
END;
$$;
-- Create trigger "users_delete_audit"
CREATE TRIGGER "users_delete_audit" AFTER DELETE ON "users" FOR EACH ROW EXECUTE FUNCTION "audit_users_changes"();
-- Create trigger "users_insert_audit"
CREATE TRIGGER "users_insert_audit" AFTER INSERT ON "users" FOR EACH ROW EXECUTE FUNCTION "audit_users_changes"();
-- Create trigger "users_update_audit"
CREATE TRIGGER "users_update_audit" AFTER UPDATE ON "users" FOR EACH ROW EXECUTE FUNCTION "audit_users_changes"();
`
	work := t.TempDir()
	dirPath := filepath.Join(work, "migrations")
	os.Mkdir(dirPath, 0o755)
	dir, err := amigrate.NewLocalDir(dirPath)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(work, "schema.sql"), []byte(src), 0o644)
	res, err := diff.Run(context.Background(), diff.Config{
		Dir:     dir,
		Sources: []atlasconf.Source{{URL: "ent://" + mustAbs("testdata/ent/triggers/schema")}, {URL: "file://schema.sql"}},
		DevURL:  cluster.Empty(t),
		BaseDir: work,
		LoadEnt: cachedLoadEnt,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dirPath, res.File))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, string(got)); d != "" {
		t.Errorf("file differs from Atlas Pro's shape (-want +got):\n%s", d)
	}
}

// BenchmarkNoChangeForty times `migrate diff` with nothing to change on a
// 40-table Ent schema and a given dev URL, Ent's loader (which compiles
// the schema package) included, as a user's run pays it.
//
//	go test -run '^$' -bench NoChangeForty -benchtime 5x ./internal/diff
func BenchmarkNoChangeForty(b *testing.B) {
	ctx := context.Background()
	dirPath := b.TempDir()
	dir, err := amigrate.NewLocalDir(dirPath)
	if err != nil {
		b.Fatal(err)
	}
	cfg := diff.Config{
		Dir:     dir,
		Sources: []atlasconf.Source{{URL: "ent://" + mustAbs("testdata/ent/forty/schema")}},
		DevURL:  dbtest.Require(b, cluster).Empty(b),
		Name:    "init",
	}
	if res, err := diff.Run(ctx, cfg); err != nil || res.File == "" {
		b.Fatalf("initial diff: %v", err)
	}
	b.ResetTimer()
	for range b.N {
		res, err := diff.Run(ctx, cfg)
		if err != nil || res.File != "" {
			b.Fatalf("no-change diff: %v (file %q)", err, res.File)
		}
	}
}

// Ent's examples/enumtypes: the enum type comes from SQL, listed before
// the Ent schema in the composite source, and Ent's column uses it. From
// empty, the diff creates the type first; the next diff is empty.
func TestEntEnumTypesExample(t *testing.T) {
	work := t.TempDir()
	dirPath := filepath.Join(work, "migrations")
	os.Mkdir(dirPath, 0o755)
	dir, err := amigrate.NewLocalDir(dirPath)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(work, "types.sql"), []byte("CREATE TYPE status AS ENUM ('active', 'inactive', 'pending');\n"), 0o644)
	cfg := diff.Config{
		Dir:     dir,
		Sources: []atlasconf.Source{{URL: "file://types.sql"}, {URL: "ent://" + mustAbs("testdata/ent/enumtypes/schema")}},
		DevURL:  cluster.Empty(t),
		BaseDir: work,
		LoadEnt: cachedLoadEnt,
	}
	res, err := diff.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dirPath, res.File))
	const want = `-- Create enum type "status"
CREATE TYPE "status" AS ENUM ('active', 'inactive', 'pending');
-- Create "users" table
CREATE TABLE "users" ("id" bigint NOT NULL GENERATED BY DEFAULT AS IDENTITY, "status" "status" NOT NULL, PRIMARY KEY ("id"));
`
	if d := cmp.Diff(want, string(got)); d != "" {
		t.Errorf("migration (-want +got):\n%s", d)
	}
	cfg.Now = func() time.Time { return time.Now().Add(time.Hour) }
	if res, err := diff.Run(context.Background(), cfg); err != nil || res.File != "" {
		t.Fatalf("second diff: %v, file %q", err, res.File)
	}
}
