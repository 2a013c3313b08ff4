package diff_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	amigrate "ariga.io/atlas/sql/migrate"
	"github.com/google/go-cmp/cmp"

	"tasks/internal/diff"
	"tasks/internal/migrate"
)

func lintDir(t *testing.T, files map[string]string) amigrate.Dir {
	t.Helper()
	p := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(p, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := amigrate.NewLocalDir(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.Hash(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLint(t *testing.T) {
	dir := lintDir(t, map[string]string{
		"1_init.sql": "CREATE TABLE tasks (id int, done bool, created_at timestamptz, updated_at timestamptz);\n" + baseSQL,
		"2_more.sql": "CREATE TABLE notes (id int, updated_at timestamptz);\nCREATE TABLE scratch (id int);\n",
		"3_drop.sql": "ALTER TABLE tasks DROP COLUMN done;\n" +
			"-- atlas:nolint the data moved elsewhere\nDROP TABLE scratch;\n" +
			"DROP TABLE IF EXISTS \"notes\";\n",
	})
	findings, err := diff.Lint(context.Background(), dir, cluster.Empty(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		got = append(got, f.String())
	}
	want := []string{
		"3_drop.sql:1: destructive change: drops column done of table tasks",
		`3_drop.sql:4: destructive change: drops table if exists "notes"`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("findings (-want +got):\n%s", d)
	}

	// Without the last file, notes exists with updated_at and no trigger.
	os.Remove(filepath.Join(dir.(*amigrate.LocalDir).Path(), "3_drop.sql"))
	migrate.Hash(dir)
	findings, err = diff.Lint(context.Background(), dir, cluster.Empty(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 1 || !strings.Contains(findings[0].Reason, `table "notes" has an updated_at column but no BEFORE UPDATE row trigger`) {
		t.Fatalf("findings = %v", findings)
	}
}

func TestValidate(t *testing.T) {
	ok := lintDir(t, map[string]string{"1_a.sql": "CREATE TABLE a (id int);\n"})
	if err := diff.Validate(context.Background(), ok, cluster.Empty(t)); err != nil {
		t.Fatal(err)
	}
	bad := lintDir(t, map[string]string{
		"1_a.sql": "CREATE TABLE a (id int);\n",
		"2_b.sql": "ALTER TABLE missing ADD COLUMN x int;\n",
	})
	err := diff.Validate(context.Background(), bad, cluster.Empty(t))
	if err == nil || !strings.Contains(err.Error(), "replay migration 2") || !strings.Contains(err.Error(), `relation "missing" does not exist`) {
		t.Fatalf("err = %v; want the failing file and the database's message", err)
	}
}
