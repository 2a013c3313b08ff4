package migrations_test

import (
	"context"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"tasks/ent"
)

// The seed's lesson in the ORM's own terms: a second writer that goes
// through Ent's generated client — which declares no UpdateDefault and
// sends no timestamps — still gets both of them from PostgreSQL, by the
// same rules as plain SQL.
func TestEntClientWriterGetsTheDatabasesTimestamps(t *testing.T) {
	ctx := context.Background()
	db, _ := setup(t)
	client := ent.NewClient(ent.Driver(entsql.OpenDB(dialect.Postgres, db)))

	created, err := client.Task.Create().SetTitle("from ent").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Ent does not read the defaults back; the row has them.
	r0 := get(t, db, int64(created.ID))
	if r0.created.IsZero() || !r0.updated.Equal(r0.created) {
		t.Fatalf("after an Ent create: created_at %v, updated_at %v; want now() in both", r0.created, r0.updated)
	}

	changed, err := client.Task.UpdateOneID(created.ID).SetDone(true).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r1 := get(t, db, int64(created.ID))
	if !r1.updated.After(r0.updated) || !r1.created.Equal(r0.created) {
		t.Fatalf("after an Ent update: %+v, before %+v; want updated_at later, created_at the same", r1, r0)
	}
	// What Ent hands its caller is the trigger's value.
	if !changed.UpdatedAt.Equal(r1.updated) || !changed.CreatedAt.Equal(r1.created) {
		t.Errorf("Ent returned created %v updated %v; the row holds %v, %v", changed.CreatedAt, changed.UpdatedAt, r1.created, r1.updated)
	}

	// An update that changes nothing leaves updated_at alone.
	if _, err := client.Task.UpdateOneID(created.ID).SetDone(true).Save(ctx); err != nil {
		t.Fatal(err)
	}
	if r := get(t, db, int64(created.ID)); !r.updated.Equal(r1.updated) {
		t.Errorf("a no-op Ent update moved updated_at from %v to %v", r1.updated, r.updated)
	}

	// Two updates in one transaction share now(): the second still moves
	// updated_at forward.
	tx, err := client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first, err := tx.Task.UpdateOneID(created.ID).SetTitle("first").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, err := tx.Task.UpdateOneID(created.ID).SetTitle("second").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if !second.UpdatedAt.After(first.UpdatedAt) || !first.UpdatedAt.After(r1.updated) {
		t.Errorf("updated_at in one transaction: %v then %v (before: %v); want strictly increasing", first.UpdatedAt, second.UpdatedAt, r1.updated)
	}
}
