package api_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"tasks/internal/api"
	"tasks/internal/migrate"
	"tasks/internal/revtable"
	"tasks/migrations"
)

// TestReadinessFindsTheRevisionTableWhereApplyPutsIt: /readyz looks for
// the revision table with the same URL rule as migrate apply, so a
// database migrated through a URL bound to a schema is ready through that
// URL, and a table in Atlas's default schema next to a bound URL is
// refused by both as ambiguous.
func TestReadinessFindsTheRevisionTableWhereApplyPutsIt(t *testing.T) {
	ctx := context.Background()
	head, err := migrations.Head()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := migrate.OpenDir(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	reason := func(rd *api.Readiness) string {
		var nr *api.NotReady
		if err := rd.Check(ctx); errors.As(err, &nr) {
			return nr.Reason
		} else if err != nil {
			t.Fatal(err)
		}
		return "ready"
	}

	bound := cluster.Empty(t) + "&search_path=public"
	db, err := sql.Open("postgres", bound)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{Schema: revtable.BoundSchema(bound)}); err != nil {
		t.Fatal(err)
	}
	if r := reason(&api.Readiness{DB: db, Head: head, Schema: revtable.BoundSchema(bound)}); r != "ready" {
		t.Errorf("migrated through a URL bound to public, readiness through it says %s", r)
	}
	if r := reason(&api.Readiness{DB: db, Head: head}); r != api.ReasonSchemaNotMigrated {
		t.Errorf("through a URL bound to no schema, readiness says %s; want %s (apply would look in %s)",
			r, api.ReasonSchemaNotMigrated, revtable.DefaultSchema)
	}

	// Atlas's default schema holds the table, the URL is bound to public.
	plain := cluster.Migrated(t)
	db2, err := sql.Open("postgres", plain+"&search_path=public")
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if _, err := migrate.Status(ctx, db2, dir, migrate.Options{Schema: "public"}); !errors.Is(err, migrate.ErrAmbiguousRevisions) {
		t.Fatalf("migrate status: %v; want ErrAmbiguousRevisions", err)
	}
	if r := reason(&api.Readiness{DB: db2, Head: head, Schema: "public"}); r != api.ReasonSchemaNotMigrated {
		t.Errorf("ambiguous revision table: readiness says %s; want %s", r, api.ReasonSchemaNotMigrated)
	}
}
