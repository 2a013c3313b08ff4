package store_test

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/lib/pq"

	"tasks/internal/store"
)

// openGuarded opens the database as api.Run does, through
// store.Connector over lib/pq's connector.
func openGuarded(t *testing.T, url string) *sql.DB {
	t.Helper()
	conn, err := pq.NewConnector(url + "&binary_parameters=yes")
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(store.Connector(conn))
	t.Cleanup(func() { db.Close() })
	return db
}

// lockRow holds a row lock on task id until the test ends or the
// returned function is called.
func lockRow(t *testing.T, url string, id int64) (unlock func()) {
	t.Helper()
	admin, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	tx, err := admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	if _, err := tx.Exec("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", id); err != nil {
		t.Fatal(err)
	}
	return func() { tx.Rollback() }
}

// TestLimitsEndAStatementTheServerDoesNotAnswer: an UPDATE waiting on a
// row lock (no lock_timeout, no statement_timeout: the server stays
// silent) ends at the timeout. Through store.Connector the limit is the
// connection's deadline, a timeout error; on any other database, the
// statement's context deadline. Either way the pool keeps working, also
// after its connections sat idle for longer than the timeout.
func TestLimitsEndAStatementTheServerDoesNotAnswer(t *testing.T) {
	const timeout = 400 * time.Millisecond
	for _, guarded := range []bool{true, false} {
		name := map[bool]string{true: "store.Connector", false: "sql.Open"}[guarded]
		t.Run(name, func(t *testing.T) {
			url := cluster.Migrated(t)
			db := openGuarded(t, url)
			if !guarded {
				var err error
				if db, err = sql.Open("postgres", url+"&binary_parameters=yes"); err != nil {
					t.Fatal(err)
				}
				defer db.Close()
			}
			s := store.New(db, store.WithLimits(2, timeout))
			ctx := context.Background()
			locked, err := s.Create(ctx, "locked", false)
			if err != nil {
				t.Fatal(err)
			}
			free, err := s.Create(ctx, "free", false)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(timeout + 100*time.Millisecond) // idle past the deadlines set so far
			if _, err := s.Get(ctx, free.ID); err != nil {
				t.Fatalf("a statement on a connection idle for longer than the timeout: %v", err)
			}

			unlock := lockRow(t, url, locked.ID)
			start := time.Now()
			_, err = s.Update(ctx, locked.ID, store.Changes{Done: ptr(true)}, store.Version{})
			took := time.Since(start)
			t.Logf("blocked update: %v after %s", err, took.Round(time.Millisecond))
			if guarded {
				var netErr net.Error
				if !errors.As(err, &netErr) || !netErr.Timeout() {
					t.Fatalf("got %v; want the connection's timeout error", err)
				}
			} else if err == nil {
				t.Fatal("the update waited for the lock past the timeout and succeeded")
			}
			// A connection keeps an earlier statement's deadline when it
			// ends this one at most 1/64 of the timeout early (conn.go).
			if took < timeout-timeout/64 || took > timeout+time.Second {
				t.Errorf("the update ended after %s; the timeout is %s", took, timeout)
			}
			unlock()
			for _, id := range []int64{free.ID, locked.ID} {
				if _, err := s.Get(ctx, id); err != nil {
					t.Fatalf("Get after a statement timed out: %v", err)
				}
			}
		})
	}
}

// TestLimitsBoundTheWaitForAConnection: with every slot taken, a
// statement waits at most the timeout for one and fails with
// context.DeadlineExceeded; once a slot is free it runs.
func TestLimitsBoundTheWaitForAConnection(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s := store.New(openGuarded(t, cluster.Migrated(t)), store.WithLimits(1, timeout))
	ctx := context.Background()
	task, err := s.Create(ctx, "x", false)
	if err != nil {
		t.Fatal(err)
	}
	release := s.TakeSlot()
	start := time.Now()
	_, err = s.Get(ctx, task.ID)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get with no slot free returned %v after %s; want context.DeadlineExceeded", err, took)
	}
	if took < timeout || took > timeout+time.Second {
		t.Errorf("Get waited %s for a slot; the limit is %s", took, timeout)
	}
	release()
	if _, err := s.Get(ctx, task.ID); err != nil {
		t.Fatalf("Get with a slot free: %v", err)
	}
}
