package migratecli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// diffProject writes an atlas.hcl whose desired state is schema.sql (with
// the given text) and whose migration directory does not exist yet.
func diffProject(t *testing.T, schemaSQL string) (conf, dir string) {
	t.Helper()
	work := t.TempDir()
	dir = filepath.Join(work, "db", "migrations")
	if err := os.WriteFile(filepath.Join(work, "schema.sql"), []byte(schemaSQL), 0o644); err != nil {
		t.Fatal(err)
	}
	conf = filepath.Join(work, "atlas.hcl")
	if err := os.WriteFile(conf, []byte(`env "local" {
  src = "file://schema.sql"
  dev = getenv("DEV_URL")
  migration {
    dir = "file://`+dir+`"
  }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf, dir
}

func TestDiffCreatesTheMigrationDirectory(t *testing.T) {
	conf, dir := diffProject(t, "CREATE FUNCTION one() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;\n")
	out, _, err := run(t, map[string]string{"DEV_URL": cluster.Empty(t)}, "diff", "--config", conf, "--env", "local", "first")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("migration directory not created: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 || !regexp.MustCompile(`^\d{14}_first\.sql$`).MatchString(names[0]) || names[1] != "atlas.sum" {
		t.Fatalf("directory holds %v; want the new file and atlas.sum (output %q)", names, out)
	}
}

func TestDiffSQLErrorIsPositionedAndAlone(t *testing.T) {
	conf, _ := diffProject(t, "-- a helper\nCREATE FUNCTIO one() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;\n")
	_, _, err := run(t, map[string]string{"DEV_URL": cluster.Empty(t)}, "diff", "--config", conf, "--env", "local", "first")
	if err == nil {
		t.Fatal("diff succeeded on invalid SQL")
	}
	// The whole message: file:line:col: the database's message, nothing after.
	want := `diff: schema.sql:2:8: syntax error at or near "FUNCTIO"`
	if err.Error() != want {
		t.Fatalf("err = %q; want %q", err, want)
	}
}
