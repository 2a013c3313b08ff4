package migratecli_test

import (
	"bytes"
	"context"
	"database/sql"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tasks/internal/dbtest"
	"tasks/internal/migratecli"
)

var cluster *dbtest.Cluster

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m, &cluster)) }

// run calls the command in-process with a fixed environment.
func run(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = migratecli.Run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return out.String(), errb.String(), err
}

// writeDir creates a migration directory with the given files, hashed by
// the command itself.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := run(t, nil, "hash", "--dir", "file://"+dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestApplyStatusThroughTheCommand(t *testing.T) {
	url := cluster.Empty(t)
	dir := writeDir(t, map[string]string{
		"20240101000000_a.sql": "CREATE TABLE a (id int);\n",
		"20240102000000_b.sql": "CREATE TABLE b (id int);\n",
	})
	env := map[string]string{"DATABASE_URL": url}

	out, _, err := run(t, env, "status", "--dir", "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "Migration Status: PENDING\n" +
		"  -- Current Version: No migration applied yet\n" +
		"  -- Next Version:    20240101000000\n" +
		"  -- Executed Files:  0\n" +
		"  -- Pending Files:   2\n" +
		"\nNext: run 'make migrate' to apply 2 pending files.\n"
	if out != want {
		t.Fatalf("status before apply:\n%s\nwant:\n%s", out, want)
	}

	if out, _, err = run(t, env, "apply", "--dir", "file://"+dir, "1"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "Migrating to version 20240101000000 (1 migrations in total):\n") {
		t.Fatalf("apply 1 output:\n%s", out)
	}
	if out, _, err = run(t, env, "apply", "--dir", "file://"+dir); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "Migrating to version 20240102000000 from 20240101000000 (1 migrations in total):\n") {
		t.Fatalf("apply rest output:\n%s", out)
	}
	out, _, err = run(t, env, "status", "--dir", "file://"+dir)
	if err != nil || !strings.HasPrefix(out, "Migration Status: OK\n  -- Current Version: 20240102000000\n  -- Next Version:    Already at latest version\n  -- Executed Files:  2\n  -- Pending Files:   0\n") {
		t.Fatalf("status after apply (%v):\n%s", err, out)
	}
}

func TestBadInvocations(t *testing.T) {
	dir := writeDir(t, map[string]string{"1.sql": "SELECT 1;\n"})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"apply", "--dir", "file://" + dir}, "no database URL"},
		{[]string{"apply", "--dir", "file://" + dir, "--url", "mysql://x"}, "database URL must look like postgres://"},
		{[]string{"apply", "--dir", "file://" + dir, "--url", "postgres://u@127.0.0.1:1/db", "zero"}, `N must be a positive number, got "zero"`},
		{[]string{"apply", "--dir", "file://" + dir, "--url", "postgres://u@127.0.0.1:1/db", "--tx-mode", "some"}, `unknown transaction mode "some"`},
		{[]string{"status", "--dir", "file://" + dir, "extra"}, "takes no arguments"},
		{[]string{"set", "--dir", "file://" + dir}, "exactly one argument"},
		{[]string{"set", "--dir", "file://" + dir, "1", "2"}, "exactly one argument"},
		{[]string{"apply", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"apply", "--dir", "file://" + dir, "--url", "postgres://u@127.0.0.1:1/db", "--lock-retries", "-1"}, "--lock-retries must be 0 or more, got -1"},
		{[]string{"apply", "--dir", "file://" + dir, "--url", "postgres://u@127.0.0.1:1/db", "--lock-retry-delay", "0s"}, "must be positive durations"},
		{[]string{"apply", "--dir", "file://" + dir, "--url", "postgres://u@127.0.0.1:1/db", "--lock-retry-delay", "2s", "--lock-retry-max-delay", "1s"}, "--lock-retry-max-delay (1s) is shorter than --lock-retry-delay (2s)"},
		{[]string{"lint", "--var", "novalue"}, `want key=value, got "novalue"`},
	} {
		_, _, err := run(t, nil, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("migrate %v: err = %v; want one containing %q", tc.args, err, tc.want)
		}
	}
}

// The lock-retry flags reach apply: one retry, then the way out.
func TestLockRetriesThroughTheCommand(t *testing.T) {
	url := cluster.Empty(t)
	env := map[string]string{"DATABASE_URL": url}
	dir := writeDir(t, map[string]string{
		"1_t.sql":     "CREATE TABLE t (id int);\n",
		"2_alter.sql": "SET lock_timeout = '50ms';\nALTER TABLE t ADD COLUMN x int;\n",
	})
	if _, _, err := run(t, env, "apply", "--dir", "file://"+dir, "1"); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("SELECT * FROM t"); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, env, "apply", "--dir", "file://"+dir, "--lock-retries", "1", "--lock-retry-delay", "10ms")
	if err == nil || !strings.Contains(err.Error(), "could not get its lock within lock_timeout (tries: 2)") {
		t.Fatalf("err = %v; want the lock timeout after 2 tries", err)
	}
	if !strings.Contains(out, "(try 1 of 2)") || strings.Contains(out, "(try 2 of 2)") {
		t.Fatalf("output:\n%s\nwant exactly one retry", out)
	}
	out, _, err = run(t, env, "apply", "--dir", "file://"+dir, "--lock-retries", "0")
	if err == nil || strings.Contains(out, "(try ") {
		t.Fatalf("--lock-retries 0: err = %v, output:\n%s\nwant no retry", err, out)
	}
}

func TestUnreachableDatabaseFailsFast(t *testing.T) {
	// A listener that accepts and never answers: the worst kind of outage.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	dir := writeDir(t, map[string]string{"1.sql": "SELECT 1;\n"})
	done := make(chan error, 1)
	go func() {
		_, _, err := run(t, nil, "apply", "--dir", "file://"+dir, "--connect-timeout", "1s",
			"--url", "postgres://u:secret@"+l.Addr().String()+"/db?sslmode=disable")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "cannot connect to postgres://u:xxxxx@"+l.Addr().String()) {
			t.Fatalf("err = %v; want a clear connection error with the password hidden", err)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("error leaks the password: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("apply hung on an unreachable database")
	}

	// Nothing listening at all.
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l2.Addr().String()
	l2.Close()
	_, _, err = run(t, nil, "apply", "--dir", "file://"+dir, "--url", "postgres://u@"+addr+"/db?sslmode=disable")
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v; want connection refused", err)
	}
}

// TestConcurrentProcesses runs five real `migrate apply` processes at once
// on a fresh database: every file must run exactly once and all must
// succeed.
func TestConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "migrate")
	if out, err := exec.Command("go", "build", "-o", bin, "tasks/cmd/migrate").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	url := cluster.Empty(t)
	files := map[string]string{}
	for i, v := range []string{"1", "2", "3", "4"} {
		body := "INSERT INTO runs VALUES (" + v + ");\nSELECT pg_sleep(0.02);\n"
		if i == 0 {
			body = "CREATE TABLE runs (file int);\n" + body
		}
		files[v+"_f.sql"] = body
	}
	dir := writeDir(t, files)

	const procs = 5
	var wg sync.WaitGroup
	outs := make([]string, procs)
	errs := make([]error, procs)
	for i := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "apply", "--dir", "file://"+dir, "--url", url)
			b, err := cmd.CombinedOutput()
			outs[i], errs[i] = string(b), err
		}()
	}
	wg.Wait()
	applied := 0
	for i := range procs {
		if errs[i] != nil {
			t.Errorf("process %d: %v\n%s", i, errs[i], outs[i])
		}
		applied += strings.Count(outs[i], "-- migrating version")
	}
	if applied != 4 {
		t.Errorf("files applied across processes = %d; want 4\n%s", applied, strings.Join(outs, "\n---\n"))
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, distinct int
	if err := db.QueryRow("SELECT count(*), count(DISTINCT file) FROM runs").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != 4 || distinct != 4 {
		t.Fatalf("runs has %d rows (%d distinct); want each of the 4 files once", n, distinct)
	}
}

// The README's three ways out of a failed migration ("When a migration
// fails"), run as its steps say, through the command.
func TestWaysOutOfAFailedMigration(t *testing.T) {
	const (
		fileA   = "CREATE TABLE a (id int);\n"
		fileBad = "CREATE TABLE b (id int);\nINSERT INTO nope VALUES (1);\n"
		fileC   = "CREATE TABLE c (id int);\n"
	)
	// failed returns a database where 2_b.sql has just failed, and its
	// directory.
	failed := func(t *testing.T) (env map[string]string, dir string, db *sql.DB) {
		url := cluster.Empty(t)
		dir = writeDir(t, map[string]string{"1_a.sql": fileA, "2_b.sql": fileBad})
		env = map[string]string{"DATABASE_URL": url}
		_, _, err := run(t, env, "apply", "--dir", "file://"+dir)
		if err == nil || !strings.Contains(err.Error(), "Nothing of 2_b.sql was applied. Fix the statement, run 'make hash', then 'make migrate'") {
			t.Fatalf("apply of the failing file: %v", err)
		}
		db, err = sql.Open("postgres", url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return env, dir, db
	}
	atLatest := func(t *testing.T, env map[string]string, dir, version string) {
		t.Helper()
		out, _, err := run(t, env, "status", "--dir", "file://"+dir)
		if err != nil || !strings.Contains(out, "Migration Status: OK\n  -- Current Version: "+version+"\n") ||
			!strings.HasSuffix(out, "Next: nothing to do: the database is at the latest version.\n") {
			t.Fatalf("status (%v):\n%s", err, out)
		}
	}
	tableExists := func(t *testing.T, db *sql.DB, name string) {
		t.Helper()
		var ok bool
		if db.QueryRow("SELECT to_regclass($1) IS NOT NULL", name).Scan(&ok); !ok {
			t.Fatalf("table %s missing", name)
		}
	}

	t.Run("fix the file, make hash, make migrate", func(t *testing.T) {
		env, dir, db := failed(t)
		os.WriteFile(filepath.Join(dir, "2_b.sql"), []byte("CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\n"), 0o644)
		if _, _, err := run(t, env, "hash", "--dir", "file://"+dir); err != nil {
			t.Fatal(err)
		}
		if _, _, err := run(t, env, "apply", "--dir", "file://"+dir); err != nil {
			t.Fatal(err)
		}
		tableExists(t, db, "b")
		atLatest(t, env, dir, "2")
	})

	t.Run("revert with a new migration", func(t *testing.T) {
		env, dir, db := failed(t)
		os.Remove(filepath.Join(dir, "2_b.sql"))
		// What make diff writes after the schema change is undone or changed.
		os.WriteFile(filepath.Join(dir, "3_c.sql"), []byte(fileC), 0o644)
		if _, _, err := run(t, env, "hash", "--dir", "file://"+dir); err != nil {
			t.Fatal(err)
		}
		out, _, err := run(t, env, "status", "--dir", "file://"+dir)
		if err != nil || !strings.Contains(out, "Next: run 'make migrate' to apply 1 pending file.") {
			t.Fatalf("status (%v):\n%s", err, out)
		}
		if _, _, err := run(t, env, "apply", "--dir", "file://"+dir); err != nil {
			t.Fatal(err)
		}
		tableExists(t, db, "c")
		atLatest(t, env, dir, "3")
	})

	t.Run("do it by hand, then make set", func(t *testing.T) {
		env, dir, db := failed(t)
		if _, err := db.Exec("CREATE TABLE b (id int)"); err != nil { // the corrected SQL, run in psql
			t.Fatal(err)
		}
		out, _, err := run(t, env, "set", "--dir", "file://"+dir, "2")
		if err != nil || out != "Current version is 2 (1 set):\n\n  + 2 (b)\n" {
			t.Fatalf("set (%v):\n%q", err, out)
		}
		atLatest(t, env, dir, "2")
		out, _, err = run(t, env, "apply", "--dir", "file://"+dir)
		if err != nil || out != "No migration files to execute\n" {
			t.Fatalf("apply after set (%v):\n%s", err, out)
		}
		// The next migration applies on top.
		os.WriteFile(filepath.Join(dir, "3_c.sql"), []byte(fileC), 0o644)
		run(t, env, "hash", "--dir", "file://"+dir)
		if _, _, err := run(t, env, "apply", "--dir", "file://"+dir); err != nil {
			t.Fatal(err)
		}
		atLatest(t, env, dir, "3")
	})
}

// migrate set takes Atlas's lock once and does not wait for it.
func TestSetDoesNotWaitForTheLock(t *testing.T) {
	url := cluster.Empty(t)
	dir := writeDir(t, map[string]string{"1_a.sql": "CREATE TABLE a (id int);\n"})
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "SELECT pg_advisory_lock(2686470616)"); err != nil {
		t.Fatal(err)
	}
	_, _, err = run(t, map[string]string{"DATABASE_URL": url}, "set", "--dir", "file://"+dir, "1")
	if err == nil || !strings.Contains(err.Error(), "lock is held by other session") {
		t.Fatalf("set while locked: %v", err)
	}
	var n int
	db.QueryRow("SELECT count(*) FROM pg_namespace WHERE nspname = 'atlas_schema_revisions'").Scan(&n)
	if n != 0 {
		t.Fatal("a refused set created the revision table")
	}
}
