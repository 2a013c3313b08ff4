package lint_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	amigrate "ariga.io/atlas/sql/migrate"
	"github.com/google/go-cmp/cmp"

	"tasks/internal/atlasconf"
	"tasks/internal/dbtest"
	"tasks/internal/lint"
	"tasks/internal/migrate"
)

var cluster *dbtest.Cluster

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m, &cluster)) }

var update = flag.Bool("update", false, "rewrite the want.txt files of testdata/ from the current output")

// TestCases runs every case of testdata/: a migration directory (its
// *.sql files), an optional atlas.hcl whose env "test" holds the lint
// settings (without one, the newest file is linted with the analyzers'
// defaults), and want.txt, the expected report followed, when lint must
// fail, by "error: <message>".
func TestCases(t *testing.T) {
	cases, err := filepath.Glob("testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases in testdata/")
	}
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			got := runCase(t, dir)
			wantFile := filepath.Join(dir, "want.txt")
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Fatalf("report (-want +got):\n%s", d)
			}
		})
	}
}

func runCase(t *testing.T, dir string) string {
	t.Helper()
	cfg := lint.Config{Latest: 1, Schema: "public"}
	if _, err := os.Stat(filepath.Join(dir, "atlas.hcl")); err == nil {
		f, err := atlasconf.Load(filepath.Join(dir, "atlas.hcl"), nil)
		if err != nil {
			t.Fatal(err)
		}
		env, err := f.Env("test")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Rules, cfg.Latest = env.Lint.Rules, env.Lint.Latest
	}
	cfg.Dir = copyDir(t, dir)
	cfg.DB = emptyDB(t)
	var out bytes.Buffer
	cfg.Out = &out
	_, err := lint.Run(context.Background(), cfg)
	if err != nil {
		if !errors.Is(err, lint.ErrFindings) {
			t.Fatalf("lint failed, not for its findings: %v", err)
		}
		out.WriteString("error: " + err.Error() + "\n")
	}
	return out.String()
}

// copyDir copies a case's migration files to a fresh directory and
// writes their atlas.sum, so that testdata holds only what a case is.
func copyDir(t *testing.T, dir string) amigrate.Dir {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	p := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := amigrate.NewLocalDir(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.Hash(d); err != nil {
		t.Fatal(err)
	}
	return d
}

// emptyDB is an empty database on one connection, search_path public: what
// migrate lint gets from the dev server.
func emptyDB(t *testing.T) *sql.DB {
	t.Helper()
	u, err := url.Parse(cluster.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", "public")
	q.Set("sslmode", "disable")
	u.RawQuery = q.Encode()
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestChecksumMismatchRefused(t *testing.T) {
	d := copyDir(t, "testdata/ds102_drop_table")
	p := d.(*amigrate.LocalDir).Path()
	if err := os.WriteFile(filepath.Join(p, "2_drop.sql"), []byte("DROP TABLE nope;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := lint.Run(context.Background(), lint.Config{Dir: d, DB: emptyDB(t), Schema: "public"})
	if err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("err = %v; want a checksum error", err)
	}
}

func TestFailingStatementNamesFileAndLine(t *testing.T) {
	d := copyDir(t, "testdata/ds102_drop_table")
	p := d.(*amigrate.LocalDir).Path()
	if err := os.WriteFile(filepath.Join(p, "3_bad.sql"), []byte("-- nothing\nALTER TABLE missing ADD COLUMN x int;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := migrate.Hash(d); err != nil {
		t.Fatal(err)
	}
	_, err := lint.Run(context.Background(), lint.Config{Dir: d, DB: emptyDB(t), Schema: "public", Latest: 2})
	if err == nil || !strings.Contains(err.Error(), "lint: 3_bad.sql: L2:") || !strings.Contains(err.Error(), `relation "missing" does not exist`) {
		t.Fatalf("err = %v; want the file, line and the database's message", err)
	}
}
