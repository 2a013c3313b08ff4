// Package dbtest gives tests fresh PostgreSQL databases whose schema comes
// from the project's own migrations/, applied by the project's own migrate
// engine (never Ent's Schema.Create, which would miss the trigger).
//
// The server is TEST_DATABASE_URL's when set, else a throwaway one started
// by pgtemp for the test binary. Without either, tests are skipped, except
// under CI=true (or TEST_DATABASE_REQUIRED=1), where that is a failure.
package dbtest

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"

	_ "github.com/lib/pq" // database/sql driver

	"tasks/internal/devdb"
	"tasks/internal/pgtemp"
)

// Cluster hands out databases on one server, through pgtemp.
type Cluster struct {
	server *pgtemp.Server

	once     sync.Once
	template string // name of the migrated template database
	tmplErr  error
}

// Main runs a test binary's tests with *c set to a ready Cluster, and
// returns the exit code for os.Exit. Use it from TestMain.
func Main(m *testing.M, c **Cluster) int {
	// A fuzzing run re-executes the test binary once per worker; none of
	// them runs database tests, so none starts a server.
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return m.Run()
	}
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		return m.Run()
	}
	ctx := context.Background()
	cl, err := Open(ctx)
	if err != nil {
		if required() {
			fmt.Fprintln(os.Stderr, "dbtest:", err)
			return 1
		}
		// Run anyway: tests that need a database skip through Require.
		fmt.Fprintln(os.Stderr, "dbtest: no PostgreSQL, database tests will be skipped:", err)
		return m.Run()
	}
	*c = cl
	code := m.Run()
	if err := cl.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("TEST_DATABASE_REQUIRED") == "1"
}

// Open connects to TEST_DATABASE_URL's server or starts a throwaway one.
func Open(ctx context.Context) (*Cluster, error) {
	s, err := pgtemp.Open(ctx, os.Getenv("TEST_DATABASE_URL"))
	if err != nil {
		return nil, err
	}
	return &Cluster{server: s}, nil
}

// Server returns the throwaway server, or nil when TEST_DATABASE_URL is
// used (tests that stop or restart the server need it).
func (c *Cluster) Server() *pgtemp.Server {
	if c == nil || !c.server.Local() {
		return nil
	}
	return c.server
}

// Close drops the databases left (the template) and stops the throwaway
// server, if any.
func (c *Cluster) Close() error { return c.server.Stop() }

// Require skips the test when no database can be had (and fails it under
// CI), and returns the cluster.
func Require(t testing.TB, c *Cluster) *Cluster {
	t.Helper()
	if c == nil {
		if required() {
			t.Fatal("dbtest: no PostgreSQL available")
		}
		t.Skip("dbtest: no PostgreSQL available (set TEST_DATABASE_URL or install the server binaries)")
	}
	return c
}

// Empty creates a fresh, empty database, dropped when the test ends, and
// returns its URL.
func (c *Cluster) Empty(t testing.TB) string {
	t.Helper()
	return c.clone(t, "")
}

// Migrated creates a fresh database with every file of migrations/
// applied, dropped when the test ends, and returns its URL. The files are
// applied once per test binary into a template that is then cloned.
func (c *Cluster) Migrated(t testing.TB) string {
	t.Helper()
	Require(t, c)
	c.once.Do(func() { c.template, c.tmplErr = c.migrateTemplate(context.Background()) })
	if c.tmplErr != nil {
		t.Fatal(c.tmplErr)
	}
	return c.clone(t, c.template)
}

// clone creates a database from template ("" for an empty one), dropped
// when the test ends.
func (c *Cluster) clone(t testing.TB, template string) string {
	t.Helper()
	Require(t, c)
	name := c.server.NewName()
	u, err := c.server.CreateFromTemplate(context.Background(), name, template)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.server.DropDatabase(context.Background(), name); err != nil {
			t.Error(err)
		}
	})
	return u
}

func (c *Cluster) migrateTemplate(ctx context.Context) (string, error) {
	name := c.server.NewName()
	u, err := c.server.CreateDatabase(ctx, name)
	if err != nil {
		return "", err
	}
	// Migrate closes its connection: a template cannot be cloned while
	// anyone is connected to it.
	if err := devdb.Migrate(ctx, u, io.Discard); err != nil {
		return "", fmt.Errorf("dbtest: apply migrations/: %w", err)
	}
	return name, nil
}
