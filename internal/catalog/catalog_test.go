package catalog_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	_ "github.com/lib/pq"

	"tasks/internal/catalog"
	"tasks/internal/dbtest"
	"tasks/internal/diff"
)

var cluster *dbtest.Cluster

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m, &cluster)) }

// The project's own schema, built from migrations/, inspected: its table,
// columns, index, function and trigger are in the model, with the
// trigger needing its table and its function.
func TestInspectProjectSchema(t *testing.T) {
	db, err := sql.Open("postgres", dbtest.Require(t, cluster).Migrated(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "DROP TABLE atlas_schema_revisions.atlas_schema_revisions; DROP SCHEMA atlas_schema_revisions"); err != nil {
		t.Fatal(err)
	}
	m, err := catalog.Inspect(ctx, db, []string{"public"}, "public")
	if err != nil {
		t.Fatal(err)
	}
	objects := byString(m)
	trg := objects["trigger public.tasks.tasks_set_updated_at"]
	if trg == nil {
		t.Fatalf("no trigger in %v", m.IDs())
	}
	want := []catalog.Dep{{ID: catalog.RoutineID(catalog.KindFunction, "public", "set_updated_at", "")},
		{ID: catalog.ID(catalog.KindTable, "public", "tasks"), Auto: true}}
	if len(trg.Deps) != 2 || trg.Deps[0] != want[0] || trg.Deps[1] != want[1] {
		t.Errorf("trigger deps = %+v, want %+v", trg.Deps, want)
	}
	for _, id := range []string{"table public.tasks", "column public.tasks.title", "function public.set_updated_at()"} {
		if objects[id] == nil {
			t.Errorf("%s missing from %v", id, m.IDs())
		}
	}
	t.Log(m.IDs())
}

// byString is the model's objects by their IDs' String, how tests name
// them.
func byString(m *catalog.Model) map[string]*catalog.Object {
	out := map[string]*catalog.Object{}
	for id, o := range m.Objects {
		out[id.String()] = o
	}
	return out
}

// planned is what the diff writes to turn the database cur into des
// (their managed schemas written qualified but for public): every
// change placed by plan.Plan, Atlas's table changes among them.
func planned(cur, des *sql.DB, schemas []string) ([]string, error) {
	changes, err := diff.Plan(context.Background(), cur, des, schemas, "public")
	if err != nil {
		return nil, err
	}
	stmts := make([]string, len(changes))
	for i, c := range changes {
		stmts[i] = c.Cmd
	}
	return stmts, nil
}
