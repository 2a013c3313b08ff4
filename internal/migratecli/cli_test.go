package migratecli_test

import (
	"bytes"
	"context"
	"database/sql"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tasks/internal/migratecli"
)

// The command's tests are scripts (testdata/script, run by
// script_test.go). Those here need Go-level control while the command
// runs: a transaction or advisory lock held, a server that never answers.

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
