package migrate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	amigrate "ariga.io/atlas/sql/migrate"
	"github.com/google/go-cmp/cmp"

	"tasks/internal/migrate"
)

// TestImport converts a directory of each tool's format: up statements
// only, with the comments above them, under the tool's versions; the
// result has a valid atlas.sum and applies.
func TestImport(t *testing.T) {
	tests := []struct {
		format string
		files  map[string]string
		want   map[string]string
	}{{
		format: "golang-migrate",
		files: map[string]string{
			"1_init.up.sql":   "-- the table\nCREATE TABLE t (id int);\n",
			"1_init.down.sql": "DROP TABLE t;\n",
			"2_note.up.sql":   "ALTER TABLE t ADD COLUMN note text;\n",
			"2_note.down.sql": "ALTER TABLE t DROP COLUMN note;\n",
		},
		want: map[string]string{
			"1_init.sql": "-- the table\nCREATE TABLE t (id int);\n",
			"2_note.sql": "ALTER TABLE t ADD COLUMN note text;\n",
		},
	}, {
		format: "goose",
		files: map[string]string{
			"20221027094633_init.sql": "-- +goose Up\nCREATE TABLE t (id int);\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n-- +goose StatementEnd\n\n-- +goose Down\nDROP TABLE t;\n",
			"20221027094642_note.sql": "-- +goose Up\nALTER TABLE t ADD COLUMN note text;\n-- +goose Down\nALTER TABLE t DROP COLUMN note;\n",
		},
		want: map[string]string{
			"20221027094633_init.sql": "CREATE TABLE t (id int);\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n",
			"20221027094642_note.sql": "ALTER TABLE t ADD COLUMN note text;\n",
		},
	}, {
		format: "flyway",
		files: map[string]string{
			"V1__init.sql":  "CREATE TABLE t (id int);\n",
			"U1__init.sql":  "DROP TABLE t;\n", // an undo file: dropped
			"V2__note.sql":  "ALTER TABLE t ADD COLUMN note text;\n",
			"R__t_view.sql": "CREATE OR REPLACE VIEW v AS SELECT id FROM t;\n",
		},
		want: map[string]string{
			"1_init.sql":    "CREATE TABLE t (id int);\n",
			"2_note.sql":    "ALTER TABLE t ADD COLUMN note text;\n",
			"2R_t_view.sql": "CREATE OR REPLACE VIEW v AS SELECT id FROM t;\n",
		},
	}, {
		format: "dbmate",
		files: map[string]string{
			"20200101000000_init.sql": "-- migrate:up\nCREATE TABLE t (id int);\n\n-- migrate:down\nDROP TABLE t;\n",
			"20200102000000_note.sql": "-- migrate:up\nALTER TABLE t ADD COLUMN note text;\n-- migrate:down\nALTER TABLE t DROP COLUMN note;\n",
		},
		want: map[string]string{
			"20200101000000_init.sql": "CREATE TABLE t (id int);\n",
			"20200102000000_note.sql": "ALTER TABLE t ADD COLUMN note text;\n",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			t.Parallel()
			src := t.TempDir()
			for name, body := range tt.files {
				if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			dst := newDir(t, nil)
			n, err := migrate.Import("file://"+src+"?format="+tt.format, dst)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tt.want) {
				t.Errorf("imported %d files, want %d", n, len(tt.want))
			}
			got := map[string]string{}
			files, err := dst.Files()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				got[f.Name()] = string(f.Bytes())
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("imported files (-want +got):\n%s", d)
			}
			if err := amigrate.Validate(dst); err != nil {
				t.Fatalf("atlas.sum: %v", err)
			}
			db := open(t, cluster.Empty(t))
			if _, err := migrate.Apply(context.Background(), db, dst, 0, migrate.Options{}); err != nil {
				t.Fatalf("the imported directory does not apply: %v", err)
			}
		})
	}
}

func TestImportRefuses(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "1_a.up.sql"), []byte("CREATE TABLE a (id int);\n"), 0o644)
	full := newDir(t, map[string]string{"1_x.sql": "SELECT 1;\n"})
	for _, tt := range []struct {
		from string
		dst  *amigrate.LocalDir
		want string
	}{
		{"file://" + src, newDir(t, nil), "already in Atlas's format"},
		{"file://" + src + "?format=liquibase2", newDir(t, nil), `unknown format "liquibase2"`},
		{"file://" + src + "?format=golang-migrate", full, "already holds 1 migration file(s)"},
	} {
		if _, err := migrate.Import(tt.from, tt.dst); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Import(%q): err = %v; want %q", tt.from, err, tt.want)
		}
	}
}
