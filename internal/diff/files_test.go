package diff

import (
	"testing"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	"github.com/google/go-cmp/cmp"

	dplan "tasks/internal/plan"
)

// The file layout `migrate apply` (and its resume of a txmode none
// file) relies on: directive and blank line, then SET lock_timeout,
// then the statements; consecutive statements of one mode share a file;
// versions one second apart under one name.
func TestFileFormat(t *testing.T) {
	tx := func(cmd, comment string, hazards ...string) *amigrate.Change {
		return &amigrate.Change{Cmd: cmd, Comment: comment, Source: &dplan.Step{Hazards: hazards}}
	}
	none := func(cmd, comment string) *amigrate.Change {
		return &amigrate.Change{Cmd: cmd, Comment: comment, Source: &dplan.Step{NoTx: true}}
	}
	p := &amigrate.Plan{Version: "20241231235959", Name: "add", Changes: []*amigrate.Change{
		tx(`CREATE TABLE "o" ("id" integer NOT NULL)`, `create "o" table`),
		tx(`ALTER TABLE "t" ADD COLUMN "x" integer NULL`, `modify "t" table`, `first`, `second`),
		none(`CREATE INDEX CONCURRENTLY "i" ON "t" ("x")`, `create index "i" to table: "t"`),
		none(`ALTER TABLE "t" VALIDATE CONSTRAINT "c"`, ``),
		tx(`ALTER TABLE "t" DROP COLUMN "y"`, `modify "t" table`),
	}}
	files, err := fileFormat{lockTimeout: 1500 * time.Millisecond}.Format(p)
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]string
	for _, f := range files {
		got = append(got, [2]string{f.Name(), string(f.Bytes())})
	}
	want := [][2]string{
		{"20241231235959_add.sql", `SET lock_timeout = '1500ms';
-- Create "o" table
CREATE TABLE "o" ("id" integer NOT NULL);
-- Modify "t" table
-- hazard: first
-- hazard: second
ALTER TABLE "t" ADD COLUMN "x" integer NULL;
`},
		{"20250101000000_add.sql", `-- atlas:txmode none

SET lock_timeout = '1500ms';
-- Create index "i" to table: "t"
CREATE INDEX CONCURRENTLY "i" ON "t" ("x");
ALTER TABLE "t" VALIDATE CONSTRAINT "c";
`},
		{"20250101000001_add.sql", `SET lock_timeout = '1500ms';
-- Modify "t" table
ALTER TABLE "t" DROP COLUMN "y";
`},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("files (-want +got):\n%s", d)
	}
	// Without settings or hazards: Atlas's own formatter, byte for byte.
	plain := &amigrate.Plan{Version: "1", Changes: []*amigrate.Change{
		{Cmd: `CREATE TABLE "o" ("id" integer NOT NULL)`, Comment: `create "o" table`},
		{Cmd: `COMMENT ON TABLE "o" IS 'x'`},
	}}
	mine, err := fileFormat{}.Format(plain)
	if err != nil {
		t.Fatal(err)
	}
	atlas, err := amigrate.DefaultFormatter.Format(plain)
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 1 || mine[0].Name() != atlas[0].Name() || string(mine[0].Bytes()) != string(atlas[0].Bytes()) {
		t.Fatalf("plain plan differs from Atlas's formatter:\n%s\n%s", mine[0].Bytes(), atlas[0].Bytes())
	}
}
