package store_test

import (
	"context"
	"database/sql"
	"net/url"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"tasks/internal/dbtest"
	"tasks/internal/store"
)

// TestPreparedStatementOutlivesASchemaChange changes the type of a
// column the prepared statements return, as a migration applied while
// the service runs may: PostgreSQL then refuses the prepared statements
// ("cached plan must not change result type"), and the store prepares
// them again instead of failing every request on that connection.
func TestPreparedStatementOutlivesASchemaChange(t *testing.T) {
	u, err := url.Parse(dbtest.Require(t, cluster).Migrated(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("binary_parameters", "yes") // as the API sets it
	u.RawQuery = q.Encode()
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // the statements are prepared on this one connection
	ctx := context.Background()
	s := store.New(db)
	created, err := s.Create(ctx, "before", false)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.Get(ctx, created.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`ALTER TABLE tasks ALTER COLUMN title TYPE varchar(300)`); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		got, err := s.Get(ctx, created.ID)
		if err != nil || got.Title != "before" {
			t.Fatalf("get %d after the change: %+v, %v", i, got, err)
		}
		if _, err := s.Update(ctx, created.ID, store.Changes{Title: ptr("after")}, store.Version{}); err != nil {
			t.Fatalf("update %d after the change: %v", i, err)
		}
		if _, err := s.Update(ctx, created.ID, store.Changes{Title: ptr("before")}, store.Version{}); err != nil {
			t.Fatalf("update %d after the change: %v", i, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestUnnamedStatementsLeaveNoSessionState runs every kind of operation
// on one connection in each mode and reads what the session holds
// afterwards: prepared statements by name in Prepared mode (what a
// transaction pooler cannot carry from one transaction to the next), and
// nothing in Unnamed mode.
func TestUnnamedStatementsLeaveNoSessionState(t *testing.T) {
	u, err := url.Parse(dbtest.Require(t, cluster).Migrated(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("binary_parameters", "yes") // as the API sets it
	u.RawQuery = q.Encode()
	for _, tc := range []struct {
		name     string
		mode     store.Statements
		prepared bool
	}{
		{"prepared", store.Prepared, true},
		{"unnamed", store.Unnamed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := sql.Open("postgres", u.String())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1) // every statement on this one session
			ctx := context.Background()
			s := store.New(db, store.WithStatements(tc.mode))
			created, err := s.Create(ctx, "one", false)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.CreateOnce(ctx, "key-"+tc.name, []byte("fp"), "two", false); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, created.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.List(ctx, store.ListParams{Limit: 10}); err != nil {
				t.Fatal(err)
			}
			moved, err := s.Update(ctx, created.ID, store.Changes{Done: ptr(true)}, store.Version{UpdatedAt: []time.Time{created.UpdatedAt}})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, created.ID, store.Version{UpdatedAt: []time.Time{moved.UpdatedAt}}); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_prepared_statements`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if got := n > 0; got != tc.prepared {
				t.Fatalf("%d statements prepared by name in the session; want some: %v", n, tc.prepared)
			}
		})
	}
}
