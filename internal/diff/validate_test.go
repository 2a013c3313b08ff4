package diff_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	amigrate "ariga.io/atlas/sql/migrate"

	"tasks/internal/diff"
	"tasks/internal/migrate"
)

func hashedDir(t *testing.T, files map[string]string) amigrate.Dir {
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

func TestValidate(t *testing.T) {
	ok := hashedDir(t, map[string]string{"1_a.sql": "CREATE TABLE a (id int);\n"})
	if err := diff.Validate(context.Background(), ok, cluster.Empty(t)); err != nil {
		t.Fatal(err)
	}
	bad := hashedDir(t, map[string]string{
		"1_a.sql": "CREATE TABLE a (id int);\n",
		"2_b.sql": "ALTER TABLE missing ADD COLUMN x int;\n",
	})
	err := diff.Validate(context.Background(), bad, cluster.Empty(t))
	if err == nil || !strings.HasPrefix(err.Error(), "validate: migration 2 fails on an empty database") ||
		!strings.Contains(err.Error(), `relation "missing" does not exist`) {
		t.Fatalf("err = %v; want the failing file and the database's message", err)
	}
	// The way out, for a file fixed by hand on a database and marked
	// applied with make set: the file itself.
	if !strings.Contains(err.Error(), "then run 'make hash'") {
		t.Fatalf("err = %v; want the next step", err)
	}
}
