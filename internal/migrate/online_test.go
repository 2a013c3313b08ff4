package migrate_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	execpkg "os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"tasks/internal/migrate"
)

// holdLock opens a transaction that reads table and stays open, as an
// API request or a forgotten psql session would: it holds ACCESS SHARE,
// which every ALTER TABLE waits for. The returned function ends it.
func holdLock(t *testing.T, url, table string) func() {
	t.Helper()
	tx := holdTx(t, url, "SELECT count(*) FROM "+table)
	return func() { tx.Rollback() }
}

// onLine is an io.Writer that calls fn once, the first time a line
// containing marker is written.
type onLine struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	fn     func()
	done   bool
}

func (w *onLine) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && strings.Contains(w.buf.String(), w.marker) {
		w.done = true
		w.fn()
	}
	return len(p), nil
}

func (w *onLine) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

var lockFiles = map[string]string{
	"1_init.sql":  "CREATE TABLE t (id int);\n",
	"2_alter.sql": "SET lock_timeout = '100ms';\nALTER TABLE t ADD COLUMN x int;\n",
}

// A transactional file whose ALTER gives up on lock_timeout while
// another session holds the table is rolled back and tried again; once
// that session ends, a later try succeeds. Each try is reported with the
// session that holds the lock.
func TestLockTimeoutRetrySucceeds(t *testing.T) {
	ctx := context.Background()
	url, db, dir := firstApplied(t, lockFiles)
	release := holdLock(t, url, "t")
	// The holder finishes once apply has said who holds the lock.
	out := &onLine{marker: "-- holding a lock on t: pid", fn: release}
	rep, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Out: out, LockRetryDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if len(rep.Files) != 1 || rep.Files[0].Retries < 1 {
		t.Fatalf("report = %+v; want file 2 retried at least once", rep.Files)
	}
	for _, want := range []string{
		"  -- lock timeout: statement 2 of 2_alter.sql could not get its lock (try 1 of 6); the file was rolled back and runs again whole in ",
		"(idle in transaction, transaction open ",
		"SELECT count(*) FROM t)",
		"  -- ok (",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'x'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("column x: %d, %v", n, err)
	}
	if r := revAt(t, db, 1); r.Applied != 2 || r.Total != 2 || r.Error != "" {
		t.Fatalf("revision = %+v", r)
	}
}

// When the lock stays taken, apply gives up after the configured tries
// with PostgreSQL's error, a rolled-back file leaving no row, and a way
// out that names the blocking session and the query to find it.
func TestLockTimeoutRetriesExhausted(t *testing.T) {
	ctx := context.Background()
	url, db, dir := firstApplied(t, lockFiles)
	holdLock(t, url, "t")
	var out bytes.Buffer
	rep, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Out: &out, LockRetries: 2, LockRetryDelay: 10 * time.Millisecond})
	if pq.As(err, pqerror.LockNotAvailable) == nil {
		t.Fatalf("err = %v; want lock_not_available (55P03)", err)
	}
	var se *migrate.StmtError
	if !errors.As(err, &se) || se.Index != 2 || se.Applied != 0 {
		t.Fatalf("err = %#v; want a StmtError at statement 2 with nothing applied", err)
	}
	if len(rep.Files) != 1 || rep.Files[0].Retries != 2 {
		t.Fatalf("report = %+v; want 2 retries", rep.Files)
	}
	if n := strings.Count(out.String(), "  -- lock timeout: statement 2"); n != 2 {
		t.Errorf("retry lines = %d; want 2:\n%s", n, out.String())
	}
	for _, want := range []string{
		"Nothing of 2_alter.sql was applied.",
		"Statement 2 of 2_alter.sql could not get its lock within lock_timeout (tries: 3)",
		"Holding a lock on t now: pid ",
		"WHERE l.relation = 't'::regclass AND l.granted",
		"then run 'make migrate' again",
		"--lock-retries=N",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if revs := readRevs(t, db, revTable); len(revs) != 1 {
		t.Fatalf("revisions = %+v; want only version 1", revs)
	}
}

// Only lock_timeout is retried: a statement_timeout (57014), its nearest
// neighbour, ends the run at once.
func TestNoRetryForOtherErrors(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	dir := newDir(t, map[string]string{
		"1_slow.sql": "SET statement_timeout = '50ms';\nSELECT pg_sleep(1);\n",
	})
	var out bytes.Buffer
	rep, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Out: &out, LockRetryDelay: 10 * time.Millisecond})
	if pq.As(err, pqerror.QueryCanceled) == nil {
		t.Fatalf("err = %v; want query_canceled (57014)", err)
	}
	if rep.Files[0].Retries != 0 || strings.Contains(out.String(), "lock timeout") {
		t.Fatalf("retried a statement_timeout: %+v\n%s", rep.Files, out.String())
	}
	if strings.Contains(err.Error(), "lock_timeout") {
		t.Errorf("the hint speaks of lock_timeout:\n%v", err)
	}
}

// A txmode-none file that stopped after its SET lock_timeout resumes on
// a new session: the setting is made again first, so the resumed ALTER
// gives up on the lock again instead of queueing for ever, and the
// statements after it see the setting.
func TestResumeRerunsSessionSettings(t *testing.T) {
	ctx := context.Background()
	url, db, dir := firstApplied(t, map[string]string{
		"1_init.sql": "CREATE TABLE t (id int);\nCREATE TABLE seen (v text);\n",
		"2_none.sql": "-- atlas:txmode none\n\nSET lock_timeout = '200ms';\nALTER TABLE t ADD COLUMN a int;\n" +
			"INSERT INTO seen SELECT current_setting('lock_timeout');\n",
	})
	release := holdLock(t, url, "t")
	noRetry := migrate.Options{LockRetries: -1}
	if _, err := migrate.Apply(ctx, db, dir, 0, noRetry); pq.As(err, pqerror.LockNotAvailable) == nil {
		t.Fatalf("first run: err = %v; want lock_not_available", err)
	}
	if r := revAt(t, db, 1); r.Applied != 1 || r.Total != 3 {
		t.Fatalf("revision after the first run = %+v; want 1 of 3 applied", r)
	}
	st, err := migrate.Status(ctx, db, dir, migrate.Options{})
	if want := "statement 2 of 2_none.sql gave up waiting for a lock (lock_timeout): the file needs no fix."; err != nil || !strings.HasPrefix(st.Hint, want) {
		t.Fatalf("status hint = %q, %v; want it to start with %q", st.Hint, err, want)
	}

	// Without the SET made again the ALTER would wait for the holder
	// until this deadline.
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	noRetry.Out = &out
	_, err = migrate.Apply(tctx, db, dir, 0, noRetry)
	if pq.As(err, pqerror.LockNotAvailable) == nil {
		t.Fatalf("resumed run: err = %v; want lock_not_available, within the file's lock_timeout", err)
	}
	if want := "    -> SET lock_timeout = '200ms';   (again: a session setting of the applied statements)\n    -> ALTER TABLE t ADD COLUMN a int;\n"; !strings.Contains(out.String(), want) {
		t.Fatalf("output lacks %q:\n%s", want, out.String())
	}
	if !strings.Contains(err.Error(), "Its first 1 statements stay applied (the file runs without a transaction); the next run resumes at statement 2.") {
		t.Errorf("error does not say where the next run resumes:\n%v", err)
	}

	release()
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := db.QueryRow("SELECT v FROM seen").Scan(&v); err != nil || v != "200ms" {
		t.Fatalf("lock_timeout seen by the resumed statements = %q, %v; want 200ms", v, err)
	}
	if r := revAt(t, db, 1); r.Applied != 3 || r.Total != 3 || r.Error != "" || r.Partial != "null" {
		t.Fatalf("revision = %+v; want complete", r)
	}
	// The session's settings do not leak into the pool.
	var lt string
	if err := db.QueryRow("SHOW lock_timeout").Scan(&lt); err != nil || lt != "0" {
		t.Fatalf("lock_timeout of a pooled connection = %q, %v; want 0", lt, err)
	}
}

// A concurrent build that failed (here on duplicates) leaves an INVALID
// index; once the data is fixed, apply drops it and builds it again.
func TestInvalidIndexIsRebuilt(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	dir := newDir(t, map[string]string{
		"1_init.sql": "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1), (1);\n",
		"2_idx.sql":  "-- atlas:txmode none\n\nCREATE UNIQUE INDEX CONCURRENTLY \"t_id\" ON \"t\" (\"id\");\n",
	})
	_, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{})
	if pq.As(err, pqerror.UniqueViolation) == nil {
		t.Fatalf("err = %v; want unique_violation", err)
	}
	if valid := indexValid(t, db, "t_id"); valid == nil || *valid {
		t.Fatalf("after the failed build: valid = %v; want an INVALID index", valid)
	}
	if _, err := db.Exec("DELETE FROM t WHERE ctid = (SELECT max(ctid) FROM t)"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Out: &out}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		"    -- index t_id exists but is INVALID (an earlier concurrent build failed or was interrupted): dropping it to build it again\n",
		"    -> DROP INDEX CONCURRENTLY t_id;\n",
		"    -> CREATE UNIQUE INDEX CONCURRENTLY \"t_id\" ON \"t\" (\"id\");\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if valid := indexValid(t, db, "t_id"); valid == nil || !*valid {
		t.Fatalf("after apply: valid = %v; want a valid index", valid)
	}
}

// A valid index of the statement's name that an earlier run built but
// did not record counts as done if it is exactly the statement's index;
// any other is refused, and nothing is dropped.
func TestValidIndexNotRecorded(t *testing.T) {
	ctx := context.Background()
	db := open(t, cluster.Empty(t))
	files := map[string]string{
		"1_init.sql": "CREATE TABLE t (id int, v text);\n",
		"2_idx.sql":  "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY t_v ON t (lower(v)) WHERE id > 0;\n",
	}
	dir := newDir(t, files)
	if _, err := migrate.Apply(ctx, db, dir, 1, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	// Written differently, the same index.
	if _, err := db.Exec(`CREATE INDEX "t_v" ON public.t USING btree (LOWER(v)) WHERE (id > 0)`); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Out: &out}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if want := "    -- index t_v already exists, valid and as this statement defines it"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	if r := revAt(t, db, 1); r.Applied != 1 || r.Total != 1 || r.Error != "" {
		t.Fatalf("revision = %+v; want complete", r)
	}

	// Another index under that name.
	db2 := open(t, cluster.Empty(t))
	if _, err := migrate.Apply(ctx, db2, dir, 1, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db2.Exec(`CREATE INDEX t_v ON t (lower(v))`); err != nil {
		t.Fatal(err)
	}
	_, err := migrate.Apply(ctx, db2, dir, 0, migrate.Options{})
	for _, want := range []string{
		"index t_v already exists and is valid, but it is not the index this statement builds (it is: CREATE INDEX t_v ON public.t USING btree (lower(v)))",
		"DROP INDEX CONCURRENTLY t_v",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v; want it to contain %q", err, want)
		}
	}
	if valid := indexValid(t, db2, "t_v"); valid == nil || !*valid {
		t.Fatal("the existing index was touched")
	}
	var probes int
	db2.QueryRow("SELECT count(*) FROM pg_class WHERE relname = 'migrate_index_probe'").Scan(&probes)
	if probes != 0 {
		t.Fatal("the probe table was left behind")
	}
}

// indexValid is pg_index.indisvalid of the named index, nil when there
// is none.
func indexValid(t *testing.T, db *sql.DB, name string) *bool {
	t.Helper()
	var valid bool
	err := db.QueryRow("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", name).Scan(&valid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return &valid
}

// childEnv names the environment of a test binary re-run as `migrate
// apply` (see TestMain).
const (
	childURL     = "MIGRATE_TEST_APPLY_URL"
	childDir     = "MIGRATE_TEST_APPLY_DIR"
	childNoCheck = "MIGRATE_TEST_APPLY_NO_CONN_CHECK"
)

// applyChild is the test binary re-run as a separate `migrate apply`
// process, so that a test can kill it as an operator's kill -9 or the
// OOM killer would.
func applyChild() int {
	db, err := sql.Open("postgres", os.Getenv(childURL))
	if err != nil {
		return 2
	}
	dir, err := migrate.OpenLocalDir(os.Getenv(childDir))
	if err != nil {
		return 2
	}
	opts := migrate.Options{Out: os.Stdout}
	if os.Getenv(childNoCheck) != "" {
		opts = migrate.WithoutConnectionCheck(opts)
	}
	if _, err := migrate.Apply(context.Background(), db, dir, 0, opts); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	return 0
}

// killDuringBuild starts `migrate apply` as a child process on a
// directory whose second file builds an index concurrently, kills it
// (SIGKILL) while the index is being built, and waits until no backend
// builds it any more. The index's expression sleeps 10ms per row, so
// that the build lasts seconds on any machine with a few hundred rows,
// instead of millions of rows and a race with the machine's speed.
func killDuringBuild(t *testing.T, connCheck bool) (*sql.DB, *amigrate.LocalDir) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a child process and waits for index builds")
	}
	url := cluster.Empty(t)
	db := open(t, url)
	dir := newDir(t, map[string]string{
		"1_init.sql": "CREATE FUNCTION slow(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN PERFORM pg_sleep(0.01); RETURN i; END $$;\n" +
			"CREATE TABLE t (id int);\nINSERT INTO t SELECT generate_series(1, 400);\n",
		"2_idx.sql": "-- atlas:txmode none\n\nSET lock_timeout = '5s';\nCREATE INDEX CONCURRENTLY t_slow ON t (slow(id));\n",
	})
	if _, err := migrate.Apply(context.Background(), db, dir, 1, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	child := execpkg.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childURL+"="+url, childDir+"="+dir.Path())
	if !connCheck {
		child.Env = append(child.Env, childNoCheck+"=1")
	}
	var childOut bytes.Buffer
	child.Stdout, child.Stderr = &childOut, &childOut
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	building := func() bool {
		var n int
		db.QueryRow(`SELECT count(*) FROM pg_stat_progress_create_index
			WHERE relid = 't'::regclass AND phase LIKE 'building index%'`).Scan(&n)
		return n > 0
	}
	if !waitFor(30*time.Second, building) {
		child.Process.Kill()
		child.Wait()
		t.Fatalf("the build never started:\n%s", childOut.String())
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	killed := time.Now()
	if strings.Contains(childOut.String(), "-- ok") {
		t.Fatalf("the child finished before it was killed:\n%s", childOut.String())
	}
	if !waitFor(30*time.Second, func() bool { return !building() }) {
		t.Fatal("the build went on for 30s after its client died")
	}
	t.Logf("the build ended %s after the kill", time.Since(killed).Round(10*time.Millisecond))
	if r := revAt(t, db, 1); r.Applied != 1 || r.Total != 2 {
		t.Fatalf("revision after the kill = %+v; want 1 of 2 applied", r)
	}
	return db, dir
}

// `migrate apply` killed while CREATE INDEX CONCURRENTLY builds: the
// server stops the build once it sees the client gone
// (client_connection_check_interval), leaving an INVALID index and the
// file's revision at its SET statement; the next apply re-runs the SET,
// drops the invalid index, builds it and records the file complete.
func TestKilledDuringConcurrentBuild(t *testing.T) {
	db, dir := killDuringBuild(t, true)
	if valid := indexValid(t, db, "t_slow"); valid == nil || *valid {
		t.Fatalf("after the kill: valid = %v; want an INVALID index (the build stopped with its client)", valid)
	}
	var out bytes.Buffer
	if _, err := migrate.Apply(context.Background(), db, dir, 0, migrate.Options{Out: &out}); err != nil {
		t.Fatalf("apply after the kill: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"    -> SET lock_timeout = '5s';   (again: a session setting of the applied statements)\n",
		"    -- index t_slow exists but is INVALID",
		"    -> DROP INDEX CONCURRENTLY t_slow;\n",
		"    -> CREATE INDEX CONCURRENTLY t_slow ON t (slow(id));\n  -- ok (",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	checkBuilt(t, db, dir)
}

// Without client_connection_check_interval the server finishes the
// build of a killed run unseen: the index is valid but not recorded. The
// next apply finds it identical to the statement's, records it and does
// not build it again.
func TestKilledWithoutConnectionCheck(t *testing.T) {
	db, dir := killDuringBuild(t, false)
	if valid := indexValid(t, db, "t_slow"); valid == nil || !*valid {
		t.Fatalf("after the kill: valid = %v; want the build finished by the server", valid)
	}
	var out bytes.Buffer
	if _, err := migrate.Apply(context.Background(), db, dir, 0, migrate.Options{Out: &out}); err != nil {
		t.Fatalf("apply after the kill: %v\n%s", err, out.String())
	}
	if want := "    -- index t_slow already exists, valid and as this statement defines it (an earlier run built it and stopped before recording it): not built again\n" +
		"    -> CREATE INDEX CONCURRENTLY t_slow ON t (slow(id));\n  -- ok ("; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	if strings.Contains(out.String(), "DROP INDEX") {
		t.Errorf("the valid index was dropped:\n%s", out.String())
	}
	checkBuilt(t, db, dir)
}

// checkBuilt checks that t_slow is valid and 2_idx.sql recorded complete.
func checkBuilt(t *testing.T, db *sql.DB, dir *amigrate.LocalDir) {
	t.Helper()
	if valid := indexValid(t, db, "t_slow"); valid == nil || !*valid {
		t.Fatalf("after the next apply: valid = %v; want a valid index", valid)
	}
	r := revAt(t, db, 1)
	if r.Applied != 2 || r.Total != 2 || r.Error != "" || r.ErrorStmt != "" || r.Partial != "null" || r.Hash != fileHash(t, dir, "2_idx.sql") {
		t.Fatalf("revision = %+v; want 2_idx.sql complete", r)
	}
}

// waitFor polls cond every 20ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// Within one run, a txmode-none file that hit lock_timeout resumes at the
// failed statement, its SET made again; in --tx-mode all, the whole
// batch is rolled back and tried again.
func TestRetryResumesAndRetriesBatch(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, mode, file, want string
	}{
		{"txmode none file", migrate.TxModeFile,
			"-- atlas:txmode none\n\nSET lock_timeout = '100ms';\nALTER TABLE t ADD COLUMN x int;\n",
			"its first 1 statements stay applied; it resumes at statement 2 in "},
		{"tx-mode all", migrate.TxModeAll,
			"SET LOCAL lock_timeout = '100ms';\nALTER TABLE t ADD COLUMN x int;\n",
			"all files were rolled back and run again in "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := cluster.Empty(t)
			db := open(t, url)
			dir := newDir(t, map[string]string{"1_init.sql": "CREATE TABLE t (id int);\n", "2_alter.sql": tc.file})
			if _, err := migrate.Apply(ctx, db, dir, 1, migrate.Options{}); err != nil {
				t.Fatal(err)
			}
			out := &onLine{marker: tc.want, fn: holdLock(t, url, "t")}
			if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Out: out, TxMode: tc.mode, LockRetryDelay: 50 * time.Millisecond}); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Fatalf("output lacks %q:\n%s", tc.want, out)
			}
			if tc.mode == migrate.TxModeFile && !strings.Contains(out.String(), "    -> SET lock_timeout = '100ms';   (again") {
				t.Fatalf("the resumed file did not set lock_timeout again:\n%s", out)
			}
			if r := revAt(t, db, 1); r.Applied != 2 || r.Total != 2 || r.Error != "" {
				t.Fatalf("revision = %+v", r)
			}
		})
	}
}

// A concurrent build waits for transactions writing to the table; with
// lock_timeout it gives up and leaves an INVALID index. The retry drops
// it and builds it once the writer is done.
func TestConcurrentBuildBlockedByWriterIsRetried(t *testing.T) {
	ctx := context.Background()
	url, db, dir := firstApplied(t, map[string]string{
		"1_init.sql": "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n",
		"2_idx.sql":  "-- atlas:txmode none\n\nSET lock_timeout = '100ms';\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n",
	})
	writer := holdTx(t, url, "UPDATE t SET id = 2")
	out := &onLine{marker: "it resumes at statement 2", fn: func() { writer.Commit() }}
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Out: out, LockRetryDelay: 50 * time.Millisecond}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"  -- lock timeout: statement 2 of 2_idx.sql could not get its lock (try 1 of 6); its first 1 statements stay applied; it resumes at statement 2 in ",
		"    -- index t_id exists but is INVALID",
		"    -> DROP INDEX CONCURRENTLY t_id;\n    -> CREATE INDEX CONCURRENTLY t_id ON t (id);\n  -- ok (",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if valid := indexValid(t, db, "t_id"); valid == nil || !*valid {
		t.Fatalf("valid = %v; want a valid index", valid)
	}
}

// A DROP INDEX CONCURRENTLY waits for the transactions using the index's
// table; when it gives up, apply names the sessions holding that table.
func TestDropIndexBlockedNamesTheTable(t *testing.T) {
	ctx := context.Background()
	url, db, dir := firstApplied(t, map[string]string{
		"1_init.sql": "CREATE TABLE t (id int);\nCREATE INDEX t_id ON t (id);\n",
		"2_drop.sql": "-- atlas:txmode none\n\nSET lock_timeout = '50ms';\nDROP INDEX CONCURRENTLY t_id;\n",
	})
	holdTx(t, url, "INSERT INTO t VALUES (1)")
	var out bytes.Buffer
	_, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Out: &out, LockRetries: 1, LockRetryDelay: 10 * time.Millisecond})
	if pq.As(err, pqerror.LockNotAvailable) == nil {
		t.Fatalf("err = %v; want lock_not_available", err)
	}
	for _, want := range []string{"  -- holding a lock on t: pid ", "INSERT INTO t VALUES (1))"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, want := range []string{"Holding a lock on t now: pid ", "WHERE l.relation = 't'::regclass"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// holdTx runs stmt in a transaction on a session of its own and leaves
// it open, holding its locks, until the caller commits it or the test
// ends.
func holdTx(t *testing.T, url, stmt string) *sql.Tx {
	t.Helper()
	tx, err := open(t, url).Begin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	if _, err := tx.Exec(stmt); err != nil {
		t.Fatal(err)
	}
	return tx
}

// firstApplied is a new empty database with the first file of files
// applied: its URL, a pool on it, and the directory.
func firstApplied(t *testing.T, files map[string]string) (string, *sql.DB, *amigrate.LocalDir) {
	t.Helper()
	url := cluster.Empty(t)
	db := open(t, url)
	dir := newDir(t, files)
	if _, err := migrate.Apply(context.Background(), db, dir, 1, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	return url, db, dir
}

// A DETACH PARTITION … CONCURRENTLY stopped while it waits for older
// transactions (here cancelled) leaves the partition pending detach, and
// running the statement again would fail; the next apply finishes the
// detach (FINALIZE) instead.
func TestInterruptedDetachIsFinalized(t *testing.T) {
	ctx := context.Background()
	url := cluster.Empty(t)
	db := open(t, url)
	dir := newDir(t, map[string]string{
		"1_init.sql": "CREATE TABLE events (at date NOT NULL) PARTITION BY RANGE (at);\n" +
			"CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n",
		"2_detach.sql": "-- atlas:txmode none\n\nALTER TABLE \"events\" DETACH PARTITION \"events_2025\" CONCURRENTLY;\n",
	})
	if _, err := migrate.Apply(ctx, db, dir, 1, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	reader := holdTx(t, url, "SELECT count(*) FROM events")
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := migrate.Apply(short, db, dir, 0, migrate.Options{}); err == nil {
		t.Fatal("the detach did not wait for the open transaction")
	}
	reader.Rollback()
	var pending bool
	if err := db.QueryRow("SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 'events_2025'::regclass").Scan(&pending); err != nil || !pending {
		t.Fatalf("after the interrupted detach: pending = %v, %v; want a partition pending detach", pending, err)
	}
	var out bytes.Buffer
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Out: &out}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if want := "    -> ALTER TABLE \"events\" DETACH PARTITION \"events_2025\" FINALIZE;\n"; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	var left int
	if err := db.QueryRow("SELECT count(*) FROM pg_inherits WHERE inhrelid = 'events_2025'::regclass").Scan(&left); err != nil || left != 0 {
		t.Fatalf("after apply: %d inheritance rows, %v; want the partition detached", left, err)
	}
}
