package migratecli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	amigrate "ariga.io/atlas/sql/migrate"
)

// TestNew creates migration files as the Atlas CLI's migrate new does: an
// empty one named after the UTC time and the name, atlas.sum updated;
// with --edit, what $EDITOR wrote, and no file at all when the editor
// fails.
func TestNew(t *testing.T) {
	dir := writeDir(t, map[string]string{"20240101000000_a.sql": "CREATE TABLE a (id int);\n"})
	out, _, err := run(t, nil, "new", "--dir", "file://"+dir, "add_b")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*_add_b.sql"))
	if len(names) != 1 || !regexp.MustCompile(`/\d{14}_add_b\.sql$`).MatchString(names[0]) || !strings.Contains(out, names[0]) {
		t.Fatalf("new add_b made %v; output %q", names, out)
	}
	if b, _ := os.ReadFile(names[0]); len(b) != 0 {
		t.Fatalf("new file is not empty: %q", b)
	}
	checkSum(t, dir, 2)

	editor := filepath.Join(t.TempDir(), "editor")
	os.WriteFile(editor, []byte("#!/bin/sh\necho 'CREATE TABLE c (id int);' > \"$1\"\n"), 0o755)
	if _, _, err := run(t, map[string]string{"EDITOR": editor}, "new", "--dir", "file://"+dir, "--edit", "add_c"); err != nil {
		t.Fatal(err)
	}
	names, _ = filepath.Glob(filepath.Join(dir, "*_add_c.sql"))
	if len(names) != 1 {
		t.Fatalf("new --edit made %v", names)
	}
	if b, _ := os.ReadFile(names[0]); string(b) != "CREATE TABLE c (id int);\n" {
		t.Fatalf("edited file holds %q", b)
	}
	checkSum(t, dir, 3)

	failing := filepath.Join(t.TempDir(), "editor")
	os.WriteFile(failing, []byte("#!/bin/sh\nexit 3\n"), 0o755)
	if _, _, err := run(t, map[string]string{"EDITOR": failing}, "new", "--dir", "file://"+dir, "--edit", "add_d"); err == nil ||
		!strings.Contains(err.Error(), "no file was created") {
		t.Fatalf("a failing editor: err = %v", err)
	}
	checkSum(t, dir, 3)
	if _, _, err := run(t, nil, "new", "--dir", "file://"+dir, "--edit"); err == nil || !strings.Contains(err.Error(), "$EDITOR is not set") {
		t.Fatalf("--edit without $EDITOR: err = %v", err)
	}
	if _, _, err := run(t, nil, "new", "--dir", "file://"+dir, "bad name"); err == nil || !strings.Contains(err.Error(), "use letters") {
		t.Fatalf("a bad name: err = %v", err)
	}
	checkSum(t, dir, 3)
}

// checkSum says the directory holds n files and matches its atlas.sum.
func checkSum(t *testing.T, dir string, n int) {
	t.Helper()
	d, err := amigrate.NewLocalDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := amigrate.Validate(d); err != nil {
		t.Fatalf("atlas.sum: %v", err)
	}
	if files, _ := d.Files(); len(files) != n {
		t.Fatalf("%d files, want %d", len(files), n)
	}
}
