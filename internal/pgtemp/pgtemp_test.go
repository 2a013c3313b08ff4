package pgtemp_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"tasks/internal/pgtemp"
)

func TestStartQueryRestartStop(t *testing.T) {
	ctx := context.Background()
	s, err := pgtemp.Start(ctx)
	if errors.Is(err, pgtemp.ErrNoBinaries) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	url, err := s.CreateDatabase(ctx, "probe")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.QueryRow("SELECT current_database()").Scan(&name); err != nil || name != "probe" {
		t.Fatalf("current_database() = %q, %v; want probe", name, err)
	}
	if _, err := db.Exec("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}

	if err := s.Restart(ctx, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := db.QueryRow("SELECT v FROM kept").Scan(&v); err != nil || v != 42 {
		t.Fatalf("after restart: v = %d, %v; want 42", v, err)
	}

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	db2, _ := sql.Open("postgres", url)
	defer db2.Close()
	ctx2, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := db2.PingContext(ctx2); err == nil {
		t.Fatal("server still answers after Stop")
	}
}

func TestMissingBinaries(t *testing.T) {
	_, err := pgtemp.Start(context.Background(), pgtemp.WithBinDir(t.TempDir()))
	if !errors.Is(err, pgtemp.ErrNoBinaries) {
		t.Fatalf("Start with an empty bin dir: %v; want ErrNoBinaries", err)
	}
}

func TestStaleDirectoriesAreRemoved(t *testing.T) {
	stale, err := os.MkdirTemp("", "pgtemp-")
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	fresh, err := os.MkdirTemp("", "pgtemp-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(fresh)
	s, err := pgtemp.Start(context.Background())
	if err != nil {
		t.Skip(err) // covered by TestStartQueryRestartStop
	}
	defer s.Stop()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale directory still there: %v", err)
		os.RemoveAll(stale)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh directory was removed: %v", err)
	}
}

// TestDatabasesOnAGivenServer makes, clones and drops databases on a
// server it did not start, and checks that Stop drops what is left there
// and leaves the server running.
func TestDatabasesOnAGivenServer(t *testing.T) {
	ctx := context.Background()
	s := start(t)
	given, err := pgtemp.Connect(ctx, s.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if given.Local() {
		t.Fatal("a connected server reports itself local")
	}

	tmpl := given.NewName()
	u, err := given.CreateDatabase(ctx, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, u, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)")
	clone := given.NewName()
	if clone == tmpl {
		t.Fatalf("NewName gave %q twice", clone)
	}
	cu, err := given.CreateFromTemplate(ctx, clone, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if v := queryInt(t, cu, "SELECT v FROM kept"); v != 7 {
		t.Fatalf("clone holds %d; want the template's 7", v)
	}
	if err := given.DropDatabase(ctx, clone); err != nil {
		t.Fatal(err)
	}
	if err := given.DropDatabase(ctx, clone); err != nil {
		t.Fatalf("dropping a dropped database: %v", err)
	}

	if err := given.Stop(); err != nil {
		t.Fatal(err)
	}
	admin := s.URL("postgres")
	if n := queryInt(t, admin, "SELECT count(*) FROM pg_database WHERE datname IN ('"+tmpl+"', '"+clone+"')"); n != 0 {
		t.Fatalf("%d databases made through the given server survive its Stop", n)
	}
	if n := queryInt(t, admin, "SELECT 1"); n != 1 {
		t.Fatal("the given server stopped answering")
	}
}

// TestURLKeepsTheGivenParameters: databases on a given server are reached
// with the given URL's credentials and parameters.
func TestURLKeepsTheGivenParameters(t *testing.T) {
	ctx := context.Background()
	s := start(t)
	given, err := pgtemp.Connect(ctx, s.URL("postgres")+"&application_name=given")
	if err != nil {
		t.Fatal(err)
	}
	defer given.Stop()
	got := given.URL("other")
	want := s.URL("other") + "&application_name=given"
	if got != want {
		t.Fatalf("URL(other) = %q; want %q", got, want)
	}
	if _, err := pgtemp.Connect(ctx, "host=127.0.0.1 password=secret"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("Connect with a keyword string: err = %v; want an error that does not echo it", err)
	}
}

func exec(t *testing.T, url, q string) {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

func queryInt(t *testing.T, url, q string) int {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// start starts a server stopped when the test ends; without the binaries
// the test is skipped, except under CI.
func start(t *testing.T) *pgtemp.Server {
	t.Helper()
	s, err := pgtemp.Start(context.Background())
	if errors.Is(err, pgtemp.ErrNoBinaries) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

// TestMaintenanceSessionsAreReused: creating and dropping databases on a
// server goes through one pool of sessions, not a new backend each (a
// backend start cost about as much as the statement).
func TestMaintenanceSessionsAreReused(t *testing.T) {
	ctx := context.Background()
	s := start(t)
	exec(t, s.URL("postgres"), "CREATE DATABASE maint")
	given, err := pgtemp.Connect(ctx, s.URL("maint"))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		name := given.NewName()
		if _, err := given.CreateDatabase(ctx, name); err != nil {
			t.Fatal(err)
		}
		if err := given.DropDatabase(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := given.CreateDatabase(ctx, given.NewName()); err != nil {
		t.Fatal(err)
	}
	// Stop drops what is left and closes the sessions, whose statistics
	// are written as they end.
	if err := given.Stop(); err != nil {
		t.Fatal(err)
	}
	n := queryInt(t, s.URL("postgres"), "SELECT sessions FROM pg_stat_database WHERE datname = 'maint'")
	if n > 2 {
		t.Fatalf("11 maintenance statements opened %d sessions; want them to share one or two", n)
	}
}
