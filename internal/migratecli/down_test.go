package migratecli_test

import (
	"database/sql"
	"strings"
	"testing"
)

// TestDown reverts the last applied file of a database, planned from the
// database's current state on the dev database: a revert that would drop
// a table or column holding data is refused with nothing changed, a dry
// run prints the plan and changes nothing, and a safe one drops what the
// file added, removes its revision, and lets apply bring it back.
func TestDown(t *testing.T) {
	files := map[string]string{
		"20240101000000_a.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
		"20240102000000_b.sql": "CREATE TABLE b (id int);\nALTER TABLE a ADD COLUMN note text;\n",
	}
	setup := func(t *testing.T, data string) (map[string]string, string, *sql.DB) {
		t.Helper()
		url := cluster.Empty(t)
		dir := writeDir(t, files)
		env := map[string]string{"DATABASE_URL": url}
		if _, _, err := run(t, env, "apply", "--dir", "file://"+dir); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("postgres", url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if data != "" {
			if _, err := db.Exec(data); err != nil {
				t.Fatal(err)
			}
		}
		return env, dir, db
	}
	state := func(t *testing.T, db *sql.DB) string {
		t.Helper()
		var s string
		err := db.QueryRow(`SELECT (SELECT string_agg(table_name || '.' || column_name, ',' ORDER BY table_name, column_name)
			FROM information_schema.columns WHERE table_schema = 'public') || ' | ' ||
			(SELECT string_agg(version, ',' ORDER BY version) FROM atlas_schema_revisions.atlas_schema_revisions)`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	const before = "a.id,a.note,b.id | 20240101000000,20240102000000"

	for _, tt := range []struct {
		name, data, want string
	}{
		{"a table with rows", "INSERT INTO b VALUES (1)", `table "b", which the revert drops, holds rows`},
		{"a column with values", "INSERT INTO a VALUES (1, 'keep me')", `column "note" of table "a", which the revert drops, holds values`},
	} {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			env, dir, db := setup(t, tt.data)
			dev := cluster.Empty(t)
			out, _, err := run(t, env, "down", "--dir", "file://"+dir, "--dev-url", dev)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "Nothing was changed") {
				t.Fatalf("down: err = %v\nwant it to name %q\n%s", err, tt.want, out)
			}
			if got := state(t, db); got != before {
				t.Fatalf("a refused revert changed the database: %s, want %s", got, before)
			}
			// A dry run says the same and changes nothing either.
			if _, _, err := run(t, env, "down", "--dir", "file://"+dir, "--dev-url", dev, "--dry-run"); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("down --dry-run: err = %v; want %q", err, tt.want)
			}
		})
	}

	t.Run("applied: nothing to lose", func(t *testing.T) {
		env, dir, db := setup(t, "INSERT INTO a (id) VALUES (1)")
		dev := cluster.Empty(t)
		out, _, err := run(t, env, "down", "--dir", "file://"+dir, "--dev-url", dev, "--dry-run")
		if err != nil {
			t.Fatalf("down --dry-run: %v\n%s", err, out)
		}
		for _, want := range []string{"Reverting from version 20240102000000 to 20240101000000 (1 migration):",
			`DROP TABLE "b";`, `DROP COLUMN "note"`, "Dry run: the checks pass; nothing was changed"} {
			if !strings.Contains(out, want) {
				t.Errorf("dry run output lacks %q:\n%s", want, out)
			}
		}
		if got := state(t, db); got != before {
			t.Fatalf("a dry run changed the database: %s", got)
		}

		out, _, err = run(t, env, "down", "--dir", "file://"+dir, "--dev-url", dev)
		if err != nil {
			t.Fatalf("down: %v\n%s", err, out)
		}
		if !strings.Contains(out, "Reverted to 20240101000000: 2 statements run, revision removed: 20240102000000") {
			t.Errorf("down output:\n%s", out)
		}
		if got, want := state(t, db), "a.id | 20240101000000"; got != want {
			t.Fatalf("after down: %s, want %s", got, want)
		}
		var n int
		if err := db.QueryRow("SELECT count(*) FROM a").Scan(&n); err != nil || n != 1 {
			t.Fatalf("the kept table lost its row: %d, %v", n, err)
		}
		// The directory applies again on top of the reverted database.
		status, _, err := run(t, env, "status", "--dir", "file://"+dir)
		if err != nil || !strings.Contains(status, "Next Version:    20240102000000") {
			t.Fatalf("status after down: %v\n%s", err, status)
		}
		if _, _, err := run(t, env, "apply", "--dir", "file://"+dir); err != nil {
			t.Fatalf("apply after down: %v", err)
		}
		if got := state(t, db); got != before {
			t.Fatalf("after apply again: %s, want %s", got, before)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		env, dir, _ := setup(t, "")
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"down", "--dir", "file://" + dir}, "needs a dev database"},
			{[]string{"down", "--dir", "file://" + dir, "--dev-url", "postgres://x", "--to-version", "20240102000000"}, "must be an earlier applied version"},
			{[]string{"down", "--dir", "file://" + dir, "--dev-url", "postgres://x", "3"}, "only 2 migrations applied, cannot revert 3"},
			{[]string{"down", "--dir", "file://" + dir, "--dev-url", "postgres://x", "--to-version", "1999"}, "version 1999 is not applied"},
		} {
			if _, _, err := run(t, env, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v: err = %v; want %q", tt.args, err, tt.want)
			}
		}
	})
}
