package pgtemp_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
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
