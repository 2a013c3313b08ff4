package pgbouncer_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"testing"

	"github.com/lib/pq"

	"tasks/internal/pgbouncer"
	"tasks/internal/pgtemp"
)

// TestTransactionMode starts PgBouncer in front of a throwaway server and
// checks what the service must live with: queries pass through to the
// server's database, and a statement prepared by name in one transaction
// is not there in the next once another client has taken the server
// connection in between.
func TestTransactionMode(t *testing.T) {
	if _, err := pgbouncer.Binary(); errors.Is(err, pgbouncer.ErrNoBinary) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	ctx := context.Background()
	srv, err := pgtemp.Open(ctx, os.Getenv("TEST_DATABASE_URL"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	defer srv.Stop()
	name := srv.NewName()
	dbURL, err := srv.CreateDatabase(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pgbouncer.Start(ctx, dbURL, pgbouncer.WithPoolSize(1))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	pooled, err := b.Through(dbURL)
	if err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("postgres", pooled)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got string
	if err := db.QueryRowContext(ctx, `SELECT current_database()`).Scan(&got); err != nil {
		t.Fatalf("query through PgBouncer: %v\n%s", err, b.Log())
	}
	if got != name {
		t.Fatalf("through PgBouncer: database %q, want %q", got, name)
	}

	// Two client connections share the one server connection: what one
	// prepares by name, the other finds, and the first then collides.
	a, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := a.ExecContext(ctx, `PREPARE probe AS SELECT 1`); err != nil {
		t.Fatal(err)
	}
	_, err = c.ExecContext(ctx, `PREPARE probe AS SELECT 2`)
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || pqErr.Code != "42P05" {
		t.Fatalf("a second client preparing the same name on the shared server connection: got %v, want 42P05 duplicate_prepared_statement", err)
	}
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}
