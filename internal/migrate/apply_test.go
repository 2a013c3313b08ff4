package migrate_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	"github.com/google/go-cmp/cmp"

	"tasks/internal/dbtest"
	"tasks/internal/migrate"
	"tasks/internal/revtable"
	"tasks/migrations"
)

var cluster *dbtest.Cluster

func TestMain(m *testing.M) {
	if os.Getenv(childURL) != "" {
		os.Exit(applyChild())
	}
	os.Exit(dbtest.Main(m, &cluster))
}

// newDir writes files into a fresh directory and hashes it.
func newDir(t testing.TB, files map[string]string) *amigrate.LocalDir {
	t.Helper()
	p := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(p, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := amigrate.NewLocalDir(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.Hash(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func open(t testing.TB, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type revRow struct {
	Version, Description   string
	Type, Applied, Total   int
	Error, ErrorStmt, Hash string
	Partial                string
}

func readRevs(t testing.TB, db *sql.DB, table string) []revRow {
	t.Helper()
	rows, err := db.Query(`SELECT version, description, type, applied, total, coalesce(error, ''),
		coalesce(error_stmt, ''), hash, coalesce(partial_hashes::text, 'SQL NULL') FROM ` + table + ` ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []revRow
	for rows.Next() {
		var r revRow
		if err := rows.Scan(&r.Version, &r.Description, &r.Type, &r.Applied, &r.Total, &r.Error, &r.ErrorStmt, &r.Hash, &r.Partial); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

const revTable = "atlas_schema_revisions.atlas_schema_revisions"

// revAt is the i-th row of the revision table, failing the test with the
// rows there are when it has fewer.
func revAt(t testing.TB, db *sql.DB, i int) revRow {
	t.Helper()
	revs := readRevs(t, db, revTable)
	if i >= len(revs) {
		t.Fatalf("revision table has %d rows, want at least %d: %+v", len(revs), i+1, revs)
	}
	return revs[i]
}

func fileHash(t testing.TB, dir amigrate.Dir, name string) string {
	t.Helper()
	sum, err := dir.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	h, err := sum.SumByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var twoFiles = map[string]string{
	"1_first.sql":  "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n",
	"2_second.sql": "-- Create \"b\" table\nCREATE TABLE b (id int);\n",
}

func TestApplyTwiceIsNoop(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	dir := newDir(t, twoFiles)

	var out bytes.Buffer
	rep, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if rep.From != "" || rep.To != "2" || len(rep.Files) != 2 || rep.Statements != 3 {
		t.Fatalf("report = %+v; want 2 files, 3 statements, to version 2", rep)
	}
	for _, want := range []string{
		"Migrating to version 2 (2 migrations in total):",
		"  -- migrating version 1\n    -> CREATE TABLE a (id int);\n    -> INSERT INTO a VALUES (1);\n  -- ok (",
		"  -- 2 migrations\n  -- 3 sql statements\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	want := []revRow{
		{Version: "1", Description: "first", Type: 2, Applied: 2, Total: 2, Hash: fileHash(t, dir, "1_first.sql"), Partial: "null"},
		{Version: "2", Description: "second", Type: 2, Applied: 1, Total: 1, Hash: fileHash(t, dir, "2_second.sql"), Partial: "null"},
	}
	if diff := cmp.Diff(want, readRevs(t, db, revTable)); diff != "" {
		t.Fatalf("revisions (-want +got):\n%s", diff)
	}

	out.Reset()
	rep, err = migrate.Apply(ctx, db, dir, 0, migrate.Options{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 0 || rep.To != "2" || out.String() != "No migration files to execute\n" {
		t.Fatalf("second apply: report %+v, output %q", rep, out.String())
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM a").Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows in a = %d, %v; want 1 (file 1 ran once)", n, err)
	}
	if diff := cmp.Diff(want, readRevs(t, db, revTable)); diff != "" {
		t.Fatalf("revisions changed by a no-op apply (-want +got):\n%s", diff)
	}
}

func TestApplyN(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	dir := newDir(t, twoFiles)
	rep, err := migrate.Apply(ctx, db, dir, 1, migrate.Options{})
	if err != nil || rep.To != "1" || len(rep.Files) != 1 {
		t.Fatalf("apply 1: %+v, %v", rep, err)
	}
	rep, err = migrate.Apply(ctx, db, dir, 0, migrate.Options{})
	if err != nil || rep.From != "1" || rep.To != "2" || len(rep.Files) != 1 {
		t.Fatalf("apply rest: %+v, %v", rep, err)
	}
}

func TestConcurrentApplyRunsEachFileOnce(t *testing.T) {
	ctx := context.Background()
	url := cluster.Empty(t)
	dir := newDir(t, map[string]string{
		"1_log.sql":  "CREATE TABLE runs (file int);\nINSERT INTO runs VALUES (1);\nSELECT pg_sleep(0.05);\n",
		"2_more.sql": "INSERT INTO runs VALUES (2);\n",
		"3_more.sql": "INSERT INTO runs VALUES (3);\n",
	})
	const workers = 5
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied int
		errs    []error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := sql.Open("postgres", url)
			if err == nil {
				defer db.Close()
				var rep *migrate.ApplyReport
				rep, err = migrate.Apply(ctx, db, dir, 0, migrate.Options{})
				if err == nil {
					mu.Lock()
					applied += len(rep.Files)
					mu.Unlock()
				}
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent applies failed: %v", errs)
	}
	if applied != 3 {
		t.Errorf("files applied across %d runs = %d; want 3", workers, applied)
	}
	db := open(t, url)
	var got []int
	rows, err := db.Query("SELECT file FROM runs ORDER BY file")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var f int
		rows.Scan(&f)
		got = append(got, f)
	}
	if diff := cmp.Diff([]int{1, 2, 3}, got); diff != "" {
		t.Fatalf("each file must run exactly once (-want +got):\n%s", diff)
	}
}

func TestEditedFileIsRefusedAndChangesNothing(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	dir := newDir(t, twoFiles)
	if err := os.WriteFile(filepath.Join(dir.Path(), "2_second.sql"), []byte("CREATE TABLE b (id bigint);\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{})
	if !errors.Is(err, amigrate.ErrChecksumMismatch) {
		t.Fatalf("err = %v; want a checksum mismatch", err)
	}
	if !strings.Contains(err.Error(), "2_second.sql was edited") {
		t.Errorf("error does not name the file: %v", err)
	}
	var objects int
	if err := db.QueryRow(`SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`).Scan(&objects); err != nil {
		t.Fatal(err)
	}
	var schemas int
	db.QueryRow(`SELECT count(*) FROM pg_namespace WHERE nspname = 'atlas_schema_revisions'`).Scan(&schemas)
	if objects != 0 || schemas != 0 {
		t.Fatalf("a refused apply changed the database: %d relations, %d revision schemas", objects, schemas)
	}

	// A missing atlas.sum is refused too.
	os.Remove(filepath.Join(dir.Path(), amigrate.HashFileName))
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{}); !errors.Is(err, amigrate.ErrChecksumNotFound) {
		t.Fatalf("without atlas.sum: err = %v; want ErrChecksumNotFound", err)
	}
}

// A failing file is rolled back and leaves no revision, as with the Atlas
// CLI (see recover.go for why no failure row): the error and the way out
// are in apply's error, and the fixed file applies.
func TestFailingStatementRollsBackAndLeavesNoRow(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	dir := newDir(t, map[string]string{
		"1_ok.sql":  "CREATE TABLE a (id int);\n",
		"2_bad.sql": "CREATE TABLE b (id int);\nINSERT INTO nope VALUES (1);\n",
	})
	var out bytes.Buffer
	_, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Out: &out})
	var se *migrate.StmtError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v; want a StmtError", err)
	}
	if se.File != "2_bad.sql" || se.Stmt != "INSERT INTO nope VALUES (1);" ||
		!strings.Contains(err.Error(), `relation "nope" does not exist`) || !strings.Contains(err.Error(), "INSERT INTO nope") {
		t.Fatalf("error does not name file, statement and cause: %v", err)
	}
	if want := "Nothing of 2_bad.sql was applied. Fix the statement, run 'make hash', then 'make migrate'"; !strings.Contains(err.Error(), want) {
		t.Errorf("error lacks the way out %q:\n%v", want, err)
	}
	if !strings.Contains(out.String(), "  -- 1 migration ok, 1 with errors") {
		t.Errorf("summary missing:\n%s", out.String())
	}
	var b sql.NullString
	db.QueryRow("SELECT to_regclass('b')::text").Scan(&b)
	if b.Valid {
		t.Fatal("table b exists: the failed file was not rolled back")
	}
	revs := readRevs(t, db, revTable)
	if len(revs) != 1 || revs[0].Version != "1" {
		t.Fatalf("revisions = %+v; want only version 1", revs)
	}

	st, err := migrate.Status(ctx, db, dir, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	st.Print(&sb)
	want := "Migration Status: PENDING\n  -- Current Version: 1\n  -- Next Version:    2\n" +
		"  -- Executed Files:  1\n  -- Pending Files:   1\n\nNext: run 'make migrate' to apply 1 pending file.\n"
	if sb.String() != want {
		t.Errorf("status:\n%s\nwant:\n%s", sb.String(), want)
	}

	// Fix the file (now a single statement), re-hash, apply again.
	os.WriteFile(filepath.Join(dir.Path(), "2_bad.sql"), []byte("CREATE TABLE b (id int);\n"), 0o644)
	if err := migrate.Hash(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	fixed := revAt(t, db, 1)
	wantRow := revRow{Version: "2", Description: "bad", Type: 2, Applied: 1, Total: 1, Hash: fileHash(t, dir, "2_bad.sql"), Partial: "null"}
	if diff := cmp.Diff(wantRow, fixed); diff != "" {
		t.Fatalf("revision after the fix (-want +got):\n%s", diff)
	}
	st, _ = migrate.Status(ctx, db, dir, migrate.Options{})
	if st.Status != "OK" || st.Current != "2" || st.Partial {
		t.Fatalf("status after the fix = %+v", st)
	}
}

func TestTxModeNone(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	// CREATE INDEX CONCURRENTLY cannot run inside a transaction: this file
	// only works if its directive is honoured.
	dir := newDir(t, map[string]string{
		"1_t.sql":   "CREATE TABLE t (id int);\n",
		"2_idx.sql": "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY t_id ON t (id);\nINSERT INTO missing VALUES (1);\n",
	})
	_, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{})
	var se *migrate.StmtError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v; want the INSERT to fail", err)
	}
	var idx sql.NullString
	db.QueryRow("SELECT to_regclass('t_id')::text").Scan(&idx)
	if !idx.Valid {
		t.Fatal("index missing: without a transaction the first statement must stay applied")
	}
	if r := revAt(t, db, 1); r.Applied != 1 || r.Total != 2 || r.ErrorStmt != "INSERT INTO missing VALUES (1);" {
		t.Fatalf("partial revision = %+v", r)
	}
	if want := "Its first 1 statements stay applied (the file runs without a transaction). Fix statement 2, run 'make hash', then 'make migrate' to resume from it."; !strings.Contains(err.Error(), want) {
		t.Errorf("error lacks %q:\n%v", want, err)
	}
	// Fix the second statement: the next run resumes after the index
	// (re-running it would fail: the index exists).
	os.WriteFile(filepath.Join(dir.Path(), "2_idx.sql"),
		[]byte("-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY t_id ON t (id);\nINSERT INTO t VALUES (1);\n"), 0o644)
	migrate.Hash(dir)
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	if r := revAt(t, db, 1); r.Applied != 2 || r.Total != 2 || r.Error != "" {
		t.Fatalf("revision after resume = %+v", r)
	}

	// A changed statement that was already applied is refused.
	os.WriteFile(filepath.Join(dir.Path(), "3_x.sql"), []byte("-- atlas:txmode all\n\nSELECT 1;\n"), 0o644)
	migrate.Hash(dir)
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{}); err == nil || !strings.Contains(err.Error(), `unknown atlas:txmode "all"`) {
		t.Fatalf("txmode all in a file: err = %v", err)
	}
}

func TestTxModeAllRollsBackEverything(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	dir := newDir(t, map[string]string{
		"1_a.sql": "CREATE TABLE a (id int);\n",
		"2_b.sql": "CREATE TABLE b (id int);\nSELECT 1/0;\n",
	})
	_, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{TxMode: migrate.TxModeAll})
	if err == nil || !strings.Contains(err.Error(), "division by zero") {
		t.Fatalf("err = %v; want division by zero", err)
	}
	var a sql.NullString
	db.QueryRow("SELECT to_regclass('a')::text").Scan(&a)
	if a.Valid {
		t.Fatal("table a exists: tx mode all must undo the whole batch")
	}
	if revs := readRevs(t, db, revTable); len(revs) != 0 {
		t.Fatalf("revisions = %+v; want none (the batch was rolled back)", revs)
	}
}

func TestLockHeldByOtherSession(t *testing.T) {
	ctx := context.Background()
	url := cluster.Empty(t)
	holder := open(t, url)
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// 2686470616 is Atlas's key for apply: FNV-1 32 of "atlas_migrate_execute".
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(2686470616)"); err != nil {
		t.Fatal(err)
	}
	db := open(t, url)
	_, err = migrate.Apply(ctx, db, newDir(t, twoFiles), 0, migrate.Options{LockTimeout: 300 * time.Millisecond})
	if !errors.Is(err, migrate.ErrLocked) {
		t.Fatalf("err = %v; want ErrLocked", err)
	}
	conn.ExecContext(ctx, "SELECT pg_advisory_unlock(2686470616)")
	if _, err := migrate.Apply(ctx, db, newDir(t, twoFiles), 0, migrate.Options{LockTimeout: time.Second}); err != nil {
		t.Fatalf("after the lock is released: %v", err)
	}
}

func TestBoundSchemaAndDirtyDatabase(t *testing.T) {
	ctx := context.Background()
	url := cluster.Empty(t)
	db := open(t, url)
	if _, err := db.Exec("CREATE TABLE legacy (id int)"); err != nil {
		t.Fatal(err)
	}
	dir := newDir(t, twoFiles)
	opts := migrate.Options{Schema: revtable.BoundSchema(url + "&search_path=public")}
	if opts.Schema != "public" {
		t.Fatalf("BoundSchema = %q", opts.Schema)
	}
	_, err := migrate.Apply(ctx, db, dir, 0, opts)
	if err == nil || !strings.Contains(err.Error(), `connected database is not clean: found table "legacy"`) ||
		!strings.Contains(err.Error(), "baseline version or allow-dirty is required") {
		t.Fatalf("dirty database: err = %v", err)
	}
	opts.Baseline = "1"
	rep, err := migrate.Apply(ctx, db, dir, 0, opts)
	if err != nil || len(rep.Files) != 1 || rep.Files[0].Version != "2" {
		t.Fatalf("baseline apply: %+v, %v", rep, err)
	}
	revs := readRevs(t, db, "public.atlas_schema_revisions")
	if len(revs) != 2 || revs[0].Type != 1 || revs[1].Type != 2 {
		t.Fatalf("revisions in public = %+v; want a baseline and an executed row", revs)
	}
}

func TestEmbeddedMigrationsBuildTheSchema(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	dir, err := migrate.OpenDir(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	head, _ := migrate.Head(dir)
	st, err := migrate.Status(ctx, db, dir, migrate.Options{})
	if err != nil || st.Status != "OK" || st.Current != head {
		t.Fatalf("status = %+v, %v; want OK at %s", st, err, head)
	}
	var fn, trg string
	db.QueryRow("SELECT 'set_updated_at'::regproc::text").Scan(&fn)
	db.QueryRow("SELECT tgname FROM pg_trigger WHERE tgrelid = 'tasks'::regclass AND NOT tgisinternal").Scan(&trg)
	if fn != "set_updated_at" || trg != "tasks_set_updated_at" {
		t.Fatalf("function %q, trigger %q", fn, trg)
	}
}

// Regression: with lib/pq's binary_parameters=yes (which the API sets),
// writing partial_hashes as []byte failed ("unsupported jsonb version").
func TestApplyWithBinaryParameters(t *testing.T) {
	db := open(t, cluster.Empty(t)+"&binary_parameters=yes")
	if _, err := migrate.Apply(context.Background(), db, newDir(t, twoFiles), 0, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	if revs := readRevs(t, db, revTable); len(revs) != 2 || revs[1].Applied != 1 || revs[1].Partial != "null" {
		t.Fatalf("revisions = %+v", revs)
	}
}

// A URL bound to a schema without a revision table, on a database whose
// default revision schema has one, is refused rather than guessed (as the
// Atlas CLI does); naming the schema explicitly resolves it.
func TestAmbiguousRevisionTable(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	dir := newDir(t, twoFiles)
	if _, err := migrate.Apply(ctx, db, dir, 1, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	_, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Schema: "public"})
	if !errors.Is(err, migrate.ErrAmbiguousRevisions) {
		t.Fatalf("err = %v; want ErrAmbiguousRevisions", err)
	}
	var b sql.NullString
	db.QueryRow("SELECT to_regclass('b')::text").Scan(&b)
	if b.Valid {
		t.Fatal("the refused apply ran file 2")
	}
	rep, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Schema: "public", RevisionsSchema: migrate.DefaultRevisionsSchema})
	if err != nil || len(rep.Files) != 1 || rep.Files[0].Version != "2" {
		t.Fatalf("with the schema named: %+v, %v", rep, err)
	}
}
