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
	"golang.org/x/tools/txtar"

	"tasks/internal/atlasconf"
	"tasks/internal/dbtest"
	"tasks/internal/lint"
	"tasks/internal/migrate"
)

var cluster *dbtest.Cluster

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m, &cluster)) }

var update = flag.Bool("update", false, "rewrite the want.txt sections of testdata/*.txtar from the current output")

// TestCases runs every testdata/*.txtar, in the format of the diff's
// scenario files: the migration directory (its *.sql sections), an
// optional atlas.hcl whose env "test" holds the lint settings (without
// one, the newest file is linted with the analyzers' defaults), and
// want.txt, the expected report followed, when lint must fail, by
// "error: <message>".
func TestCases(t *testing.T) {
	cases, err := filepath.Glob("testdata/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases in testdata/")
	}
	for _, path := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			t.Parallel()
			a, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := runCase(t, a)
			want, ok := section(a, "want.txt")
			if *update {
				setSection(a, "want.txt", got)
				if err := os.WriteFile(path, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				want, ok = got, true
			}
			if !ok {
				t.Fatal("no want.txt section")
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("report (-want +got):\n%s", d)
			}
		})
	}
}

// section returns the text of the archive's file called name.
func section(a *txtar.Archive, name string) (string, bool) {
	for _, f := range a.Files {
		if f.Name == name {
			return string(f.Data), true
		}
	}
	return "", false
}

// setSection replaces (or appends) the archive's file called name.
func setSection(a *txtar.Archive, name, text string) {
	for i, f := range a.Files {
		if f.Name == name {
			a.Files[i].Data = []byte(text)
			return
		}
	}
	a.Files = append(a.Files, txtar.File{Name: name, Data: []byte(text)})
}

func runCase(t *testing.T, a *txtar.Archive) string {
	t.Helper()
	cfg := lint.Config{Latest: 1, Schema: "public"}
	if hcl, ok := section(a, "atlas.hcl"); ok {
		path := filepath.Join(t.TempDir(), "atlas.hcl")
		if err := os.WriteFile(path, []byte(hcl), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := atlasconf.Load(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		env, err := f.Env("test")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Rules, cfg.Latest = env.Lint.Rules, env.Lint.Latest
	}
	cfg.Dir = writeDir(t, a)
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

// writeDir writes a case's migration files (its *.sql sections) to a
// fresh directory with their atlas.sum, so that a case holds only what
// it is about.
func writeDir(t *testing.T, a *txtar.Archive) amigrate.Dir {
	t.Helper()
	p := t.TempDir()
	for _, f := range a.Files {
		if filepath.Ext(f.Name) != ".sql" {
			continue
		}
		if err := os.WriteFile(filepath.Join(p, f.Name), f.Data, 0o644); err != nil {
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

// caseDir is writeDir for the case file at path.
func caseDir(t *testing.T, path string) amigrate.Dir {
	t.Helper()
	a, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return writeDir(t, a)
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
	d := caseDir(t, "testdata/ds102_drop_table.txtar")
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
	d := caseDir(t, "testdata/ds102_drop_table.txtar")
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
