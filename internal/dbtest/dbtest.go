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
	"database/sql"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/lib/pq" // database/sql driver

	"tasks/internal/migrate"
	"tasks/internal/pgtemp"
	"tasks/migrations"
)

// Cluster hands out databases on one server.
type Cluster struct {
	admin  string         // URL of a maintenance database on the server
	server *pgtemp.Server // nil when TEST_DATABASE_URL is used
	prefix string         // unique per test binary, so parallel runs never collide
	seq    atomic.Int64

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
	c := &Cluster{prefix: fmt.Sprintf("t%d_%d_", os.Getpid(), time.Now().UnixNano()%1e6)}
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		c.admin = u
		db, err := sql.Open("postgres", u)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		if err := db.PingContext(ctx); err != nil {
			return nil, fmt.Errorf("dbtest: TEST_DATABASE_URL: %w", err)
		}
		return c, nil
	}
	s, err := pgtemp.Start(ctx)
	if err != nil {
		return nil, err
	}
	c.server, c.admin = s, s.URL("postgres")
	return c, nil
}

// Server returns the throwaway server, or nil when TEST_DATABASE_URL is
// used (tests that stop or restart the server need it).
func (c *Cluster) Server() *pgtemp.Server {
	if c == nil {
		return nil
	}
	return c.server
}

// Close drops the template and stops the throwaway server, if any.
func (c *Cluster) Close() error {
	if c.server != nil {
		return c.server.Stop()
	}
	if c.template != "" {
		return c.drop(context.Background(), c.template)
	}
	return nil
}

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
	Require(t, c)
	name := c.name()
	if err := c.create(context.Background(), name, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.drop(context.Background(), name); err != nil {
			t.Error(err)
		}
	})
	return c.urlFor(name)
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
	name := c.name()
	if err := c.create(context.Background(), name, c.template); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.drop(context.Background(), name); err != nil {
			t.Error(err)
		}
	})
	return c.urlFor(name)
}

func (c *Cluster) migrateTemplate(ctx context.Context) (string, error) {
	name := c.name()
	if err := c.create(ctx, name, ""); err != nil {
		return "", err
	}
	db, err := sql.Open("postgres", c.urlFor(name))
	if err != nil {
		return "", err
	}
	// A template cannot be cloned while anyone is connected to it.
	defer db.Close()
	dir, err := migrate.OpenDir(migrations.FS)
	if err != nil {
		return "", err
	}
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{}); err != nil {
		return "", fmt.Errorf("dbtest: apply migrations/: %w", err)
	}
	return name, nil
}

func (c *Cluster) name() string {
	return c.prefix + fmt.Sprint(c.seq.Add(1))
}

func (c *Cluster) urlFor(name string) string {
	u, err := url.Parse(c.admin)
	if err != nil {
		panic(err) // checked by Open's ping
	}
	u.Path = "/" + name
	return u.String()
}

func (c *Cluster) create(ctx context.Context, name, template string) error {
	q := "CREATE DATABASE " + quote(name)
	if template != "" {
		q += " TEMPLATE " + quote(template)
	}
	return c.adminExec(ctx, q)
}

func (c *Cluster) drop(ctx context.Context, name string) error {
	return c.adminExec(ctx, "DROP DATABASE IF EXISTS "+quote(name)+" WITH (FORCE)")
}

func (c *Cluster) adminExec(ctx context.Context, q string) error {
	db, err := sql.Open("postgres", c.admin)
	if err != nil {
		return err
	}
	defer db.Close()
	// CREATE DATABASE ... TEMPLATE fails while another session briefly
	// touches the template (e.g. its connections still closing); retry.
	for attempt := 0; ; attempt++ {
		_, err = db.ExecContext(ctx, q)
		if err == nil || attempt == 50 || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("dbtest: %s: %w", q, err)
	}
	return nil
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
