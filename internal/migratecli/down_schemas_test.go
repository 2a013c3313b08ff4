package migratecli_test

import (
	"database/sql"
	"strings"
	"testing"
)

// TestDownCreatedSchema reverts a file that created a schema: the schema
// is managed as diff manages it, so the revert drops its table and then
// the schema, instead of refusing it as an object it does not diff.
func TestDownCreatedSchema(t *testing.T) {
	url := cluster.Empty(t)
	dir := writeDir(t, map[string]string{
		"20240101000000_a.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
		"20240102000000_b.sql": "CREATE SCHEMA audit;\nCREATE TABLE audit.log (id int);\n",
	})
	env := map[string]string{"DATABASE_URL": url}
	if _, _, err := run(t, env, "apply", "--dir", "file://"+dir); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, env, "down", "--dir", "file://"+dir, "--dev-url", cluster.Empty(t))
	if err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	for _, want := range []string{`DROP TABLE "audit"."log";`, `DROP SCHEMA "audit";`} {
		if !strings.Contains(out, want) {
			t.Errorf("down output lacks %q:\n%s", want, out)
		}
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var gone bool
	if err := db.QueryRow("SELECT NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'audit')").Scan(&gone); err != nil || !gone {
		t.Fatalf("schema audit after down: gone=%v, %v", gone, err)
	}
}
