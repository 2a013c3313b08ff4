package diff_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"

	"tasks/internal/atlasconf"
	"tasks/internal/diff"
	"tasks/internal/migrate"
)

// schemaDiffer runs diffs of schema.sql texts into one directory.
type schemaDiffer struct {
	t     *testing.T
	work  string
	dir   *amigrate.LocalDir
	dev   string
	clock time.Time
}

func newSchemaDiffer(t *testing.T) *schemaDiffer {
	work, dir := migrationsDir(t)
	return &schemaDiffer{t: t, work: work, dir: dir, dev: cluster.Empty(t), clock: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (d *schemaDiffer) diff(sqlText, name string) (*diff.Result, error) {
	if err := os.WriteFile(filepath.Join(d.work, "schema.sql"), []byte(sqlText), 0o644); err != nil {
		d.t.Fatal(err)
	}
	d.clock = d.clock.Add(time.Minute)
	return diff.Run(context.Background(), diff.Config{
		Dir: d.dir, Sources: []atlasconf.Source{{URL: "file://schema.sql"}}, DevURL: d.dev, Name: name,
		BaseDir: d.work, Now: func() time.Time { return d.clock },
	})
}

// A created schema removed from the desired state is dropped without
// CASCADE: on a target where someone put a table of their own in it, the
// migration fails and takes nothing with it, not even the objects it
// planned to drop (one transaction).
func TestDropSchemaKeepsUnmanagedObjects(t *testing.T) {
	ctx := context.Background()
	d := newSchemaDiffer(t)
	if _, err := d.diff("CREATE SCHEMA audit;\nCREATE TABLE audit.log (id bigint PRIMARY KEY);\n", "audit"); err != nil {
		t.Fatal(err)
	}
	// Apply holds its lock on one connection and runs files on another.
	target, err := sql.Open("postgres", cluster.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if _, err := migrate.Apply(ctx, target, d.dir, 0, migrate.Options{}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if _, err := target.ExecContext(ctx, "CREATE TABLE audit.notes (body text); INSERT INTO audit.notes VALUES ('kept')"); err != nil {
		t.Fatal(err)
	}
	res, err := d.diff("CREATE TABLE items (id bigint PRIMARY KEY);\n", "no_audit")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(d.work, "migrations", res.File))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "DROP SCHEMA \"audit\";") {
		t.Fatalf("the migration does not drop the schema (without CASCADE):\n%s", b)
	}
	if _, err := migrate.Apply(ctx, target, d.dir, 0, migrate.Options{}); err == nil {
		t.Fatal("apply dropped a schema holding a table no migration created")
	}
	var n int
	if err := target.QueryRowContext(ctx, "SELECT count(*) FROM audit.notes").Scan(&n); err != nil || n != 1 {
		t.Fatalf("audit.notes after the failed apply: %d rows, %v", n, err)
	}
	if err := target.QueryRowContext(ctx, "SELECT count(*) FROM audit.log").Scan(&n); err != nil {
		t.Fatalf("audit.log after the failed apply: %v (the file's drops were not rolled back)", err)
	}
}

// An object of an unsupported kind that a hand-written migration created
// stops the diff with the way out that fits the migration directory, not
// the desired state.
func TestUnsupportedInDirectoryHint(t *testing.T) {
	d := newSchemaDiffer(t)
	name := filepath.Join(d.work, "migrations", "20240101000000_words.sql")
	if err := os.WriteFile(name, []byte("CREATE TEXT SEARCH CONFIGURATION words (COPY = english);\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := d.dir.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if err := amigrate.WriteSumFile(d.dir, sum); err != nil {
		t.Fatal(err)
	}
	_, err = d.diff("CREATE TABLE items (id bigint PRIMARY KEY);\n", "items")
	for _, want := range []string{
		"current state", "text search configuration public.words",
		"in the state the migration directory builds", "add a migration that drops them (migrate new <name>",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v; want one containing %q", err, want)
		}
	}
}
