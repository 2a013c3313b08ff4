package migrations_test

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"tasks/internal/dbtest"
)

// These tests prove the trigger rules of DESIGN.md with plain SQL, the way
// psql or a script would write: the rules hold whoever writes the row.

var cluster *dbtest.Cluster

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m, &cluster)) }

type row struct {
	title            string
	done             bool
	created, updated time.Time
}

func setup(t *testing.T) (*sql.DB, int64) {
	t.Helper()
	db, err := sql.Open("postgres", cluster.Migrated(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var id int64
	if err := db.QueryRow("INSERT INTO tasks (title) VALUES ('sugoi_task') RETURNING id").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return db, id
}

func get(t *testing.T, q interface {
	QueryRow(string, ...any) *sql.Row
}, id int64) row {
	t.Helper()
	var r row
	if err := q.QueryRow("SELECT title, done, created_at, updated_at FROM tasks WHERE id = $1", id).
		Scan(&r.title, &r.done, &r.created, &r.updated); err != nil {
		t.Fatal(err)
	}
	return r
}

func exec(t *testing.T, db interface {
	Exec(string, ...any) (sql.Result, error)
}, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestInsertDefaultsBothTimestamps(t *testing.T) {
	db, id := setup(t)
	r := get(t, db, id)
	if r.created.IsZero() || !r.created.Equal(r.updated) || r.done {
		t.Fatalf("after insert: %+v; want created_at = updated_at, done false", r)
	}
}

func TestUpdateBumpsUpdatedAt(t *testing.T) {
	db, id := setup(t)
	before := get(t, db, id)
	exec(t, db, "UPDATE tasks SET done = true WHERE id = $1", id)
	after := get(t, db, id)
	if !after.done || !after.updated.After(before.updated) || !after.created.Equal(before.created) {
		t.Fatalf("before %+v, after %+v; want updated_at later, created_at unchanged", before, after)
	}
}

func TestClientUpdatedAtIsOverridden(t *testing.T) {
	db, id := setup(t)
	before := get(t, db, id)
	exec(t, db, "UPDATE tasks SET title = 'x', updated_at = '2001-01-01' WHERE id = $1", id)
	after := get(t, db, id)
	if !after.updated.After(before.updated) {
		t.Fatalf("updated_at = %v; a past value must be overridden by a later one than %v", after.updated, before.updated)
	}
	// Setting only updated_at is no change at all: it stays.
	exec(t, db, "UPDATE tasks SET updated_at = '2999-01-01' WHERE id = $1", id)
	if got := get(t, db, id); !got.updated.Equal(after.updated) {
		t.Fatalf("updated_at = %v after setting only updated_at; want it left at %v", got.updated, after.updated)
	}
}

func TestCreatedAtCannotChange(t *testing.T) {
	db, id := setup(t)
	before := get(t, db, id)
	exec(t, db, "UPDATE tasks SET created_at = '2001-01-01', done = true WHERE id = $1", id)
	exec(t, db, "UPDATE tasks SET created_at = now() + interval '1 day' WHERE id = $1", id)
	if after := get(t, db, id); !after.created.Equal(before.created) {
		t.Fatalf("created_at changed from %v to %v", before.created, after.created)
	}
}

func TestNoOpUpdateLeavesUpdatedAt(t *testing.T) {
	db, id := setup(t)
	exec(t, db, "UPDATE tasks SET done = true WHERE id = $1", id)
	before := get(t, db, id)
	exec(t, db, "UPDATE tasks SET done = true, title = title WHERE id = $1", id)
	if after := get(t, db, id); !after.updated.Equal(before.updated) {
		t.Fatalf("a no-op UPDATE moved updated_at from %v to %v", before.updated, after.updated)
	}
}

func TestUpdatesStrictlyIncrease(t *testing.T) {
	db, id := setup(t)
	// Inside one transaction now() does not move: the trigger must still
	// give each change a later updated_at than the last.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	prev := get(t, tx, id).updated
	for i := range 5 {
		exec(t, tx, "UPDATE tasks SET title = $2 WHERE id = $1", id, "t"+string(rune('a'+i)))
		cur := get(t, tx, id).updated
		if !cur.After(prev) {
			t.Fatalf("update %d: updated_at %v is not after %v", i, cur, prev)
		}
		prev = cur
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestOlderTransactionStillMovesForward(t *testing.T) {
	db, id := setup(t)
	ctx := context.Background()
	// tx1 starts first, so its now() is earlier; it writes after tx2 has
	// committed a later updated_at. The row must still move forward.
	tx1, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback()
	exec(t, tx1, "SELECT 1") // fixes tx1's now()
	time.Sleep(5 * time.Millisecond)
	exec(t, db, "UPDATE tasks SET title = 'later' WHERE id = $1", id)
	committed := get(t, db, id).updated
	exec(t, tx1, "UPDATE tasks SET title = 'earlier tx' WHERE id = $1", id)
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := get(t, db, id).updated; !got.After(committed) {
		t.Fatalf("updated_at %v from the older transaction is not after the committed %v", got, committed)
	}
}

// The no-op check compares whole rows, so it must work whatever columns a
// project adds, including types with no equality operator (json, point):
// a change to one moves updated_at, writing the same value does not.
func TestColumnsWithoutEquality(t *testing.T) {
	db, id := setup(t)
	exec(t, db, "ALTER TABLE tasks ADD COLUMN meta json, ADD COLUMN spot point")
	exec(t, db, `UPDATE tasks SET meta = '{"a": 1}', spot = '(1,2)' WHERE id = $1`, id)
	before := get(t, db, id)
	exec(t, db, `UPDATE tasks SET meta = '{"a": 1}', spot = '(1,2)' WHERE id = $1`, id)
	if same := get(t, db, id); !same.updated.Equal(before.updated) {
		t.Fatalf("writing the same json and point moved updated_at from %v to %v", before.updated, same.updated)
	}
	exec(t, db, `UPDATE tasks SET meta = '{"a": 2}' WHERE id = $1`, id)
	if after := get(t, db, id); !after.updated.After(before.updated) {
		t.Fatalf("changing the json column left updated_at at %v", after.updated)
	}
}
