package migratecli_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The diff block of atlas.hcl, as a user (and the benchmark) writes it,
// reaches the planner through the command: an index and a check added to
// an existing table become a transactional file (the check NOT VALID), a
// txmode none file for the concurrent build (without lock_timeout: it
// blocks no traffic while it waits) and one for the validation (under
// lock_timeout), which apply runs and after which the directory is in
// sync.
func TestDiffOnlineThroughAtlasHCL(t *testing.T) {
	work := t.TempDir()
	dir := filepath.Join(work, "migrations")
	schemaSQL := filepath.Join(work, "schema.sql")
	conf := filepath.Join(work, "atlas.hcl")
	write := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(conf, `diff {
  concurrent_index {
    create = true
    drop   = true
  }
  online_constraints = true
  lock_timeout       = "500ms"
}
env "local" {
  src = "file://schema.sql"
  dev = getenv("DEV_URL")
  migration {
    dir = "file://`+dir+`"
  }
}
`)
	env := map[string]string{"DEV_URL": cluster.Empty(t)}
	write(schemaSQL, "CREATE TABLE t (id integer PRIMARY KEY, a integer);\n")
	if _, _, err := run(t, env, "diff", "--config", conf, "--env", "local", "init"); err != nil {
		t.Fatal(err)
	}
	write(schemaSQL, "CREATE TABLE t (id integer PRIMARY KEY, a integer CONSTRAINT t_a_positive CHECK (a > 0));\nCREATE INDEX t_a_idx ON t (a);\n")
	out, _, err := run(t, env, "diff", "--config", conf, "--env", "local", "online")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*_online.sql"))
	if err != nil || len(files) != 3 {
		t.Fatalf("files %v (%v); want three *_online.sql; output %q", files, err, out)
	}
	first, _ := os.ReadFile(files[0])
	second, _ := os.ReadFile(files[1])
	third, _ := os.ReadFile(files[2])
	if want := "SET lock_timeout = '500ms';\n-- Modify \"t\" table\nALTER TABLE \"t\" ADD CONSTRAINT \"t_a_positive\" CHECK (a > 0) NOT VALID;\n"; string(first) != want {
		t.Errorf("%s:\n%s\nwant:\n%s", filepath.Base(files[0]), first, want)
	}
	if !regexp.MustCompile(`(?s)^-- atlas:txmode none\n\n-- [^\n]*\nCREATE INDEX CONCURRENTLY "t_a_idx" ON "t" \("a"\);\n$`).Match(second) {
		t.Errorf("%s:\n%s", filepath.Base(files[1]), second)
	}
	if !regexp.MustCompile(`(?s)^-- atlas:txmode none\n\nSET lock_timeout = '500ms';\n.*ALTER TABLE "t" VALIDATE CONSTRAINT "t_a_positive";\n$`).Match(third) {
		t.Errorf("%s:\n%s", filepath.Base(files[2]), third)
	}
	if strings.Count(out, "Wrote ") != 3 {
		t.Errorf("output %q; want a line per file", out)
	}
	target := cluster.Empty(t)
	if out, _, err := run(t, env, "apply", "--config", conf, "--env", "local", "--url", target); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	// Applied as planned: the index built and valid, the check validated.
	db, err := sql.Open("postgres", target)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var indexValid, checkValid bool
	if err := db.QueryRowContext(context.Background(), `SELECT
	  (SELECT indisvalid FROM pg_index WHERE indexrelid = 't_a_idx'::regclass),
	  (SELECT convalidated FROM pg_constraint WHERE conname = 't_a_positive')`).Scan(&indexValid, &checkValid); err != nil {
		t.Fatal(err)
	}
	if !indexValid || !checkValid {
		t.Fatalf("index valid %v, check validated %v; want both", indexValid, checkValid)
	}
	if out, _, err := run(t, env, "diff", "--config", conf, "--env", "local", "--check"); err != nil {
		t.Fatalf("diff --check after the online files: %v\n%s", err, out)
	}
}
