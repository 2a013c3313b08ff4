package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tasks/internal/store"
)

// openStore returns a store on a fresh migrated database, opened as the
// API opens it, and the database for checking what the store wrote.
func openStore(t *testing.T) (*store.Tasks, *sql.DB) {
	t.Helper()
	db, err := sql.Open("postgres", cluster.Migrated(t)+"&binary_parameters=yes")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return store.New(db), db
}

// stored reads task id straight from the table, not through the store.
func stored(t *testing.T, db *sql.DB, id int64) (store.Task, bool) {
	t.Helper()
	var got store.Task
	err := db.QueryRow(`SELECT id, title, done, created_at, updated_at FROM tasks WHERE id = $1`, id).
		Scan(&got.ID, &got.Title, &got.Done, &got.CreatedAt, &got.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Task{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return got, true
}

// TestUpdateShapes runs every shape of update the store writes: each set
// of fields, unconditional and with one, two and more versions than it
// writes at start (one of them the task's current one), and checks the
// answer against the row.
func TestUpdateShapes(t *testing.T) {
	s, db := openStore(t)
	ctx := context.Background()
	stale := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, fields := range []string{"title", "done", "title+done"} {
		for _, versions := range []int{0, 1, 2, 7} {
			t.Run(fmt.Sprintf("%s/versions=%d", fields, versions), func(t *testing.T) {
				before, err := s.Create(ctx, "before", false)
				if err != nil {
					t.Fatal(err)
				}
				var c store.Changes
				want := before
				if fields != "done" {
					c.Title, want.Title = ptr("after"), "after"
				}
				if fields != "title" {
					c.Done, want.Done = ptr(true), true
				}
				var v store.Version
				for i := range versions {
					v.UpdatedAt = append(v.UpdatedAt, stale.Add(time.Duration(i)*time.Second))
				}
				if versions > 0 {
					v.UpdatedAt[versions/2] = before.UpdatedAt
				}
				got, err := s.Update(ctx, before.ID, c, v)
				if err != nil {
					t.Fatal(err)
				}
				if !got.UpdatedAt.After(before.UpdatedAt) {
					t.Errorf("updated_at %s did not move past %s", got.UpdatedAt, before.UpdatedAt)
				}
				want.UpdatedAt = got.UpdatedAt
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
				row, _ := stored(t, db, before.ID)
				if diff := cmp.Diff(got, row); diff != "" {
					t.Errorf("row differs from the answer (-answer +row):\n%s", diff)
				}
			})
		}
	}
}

// TestUpdateWithoutChanges reads the task, and still honours the
// condition.
func TestUpdateWithoutChanges(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	task, err := s.Create(ctx, "same", true)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Update(ctx, task.ID, store.Changes{}, store.Version{UpdatedAt: []time.Time{task.UpdatedAt}})
	if err != nil || !cmp.Equal(got, task) {
		t.Fatalf("empty update: %+v, %v; want the task unchanged", got, err)
	}
	_, err = s.Update(ctx, task.ID, store.Changes{}, store.Version{UpdatedAt: []time.Time{task.UpdatedAt.Add(-time.Second)}})
	var conflict *store.ConflictError
	if !errors.As(err, &conflict) || !cmp.Equal(conflict.Current, task) {
		t.Fatalf("empty update at a stale version: %v; want a conflict with the task", err)
	}
	if _, err := s.Update(ctx, task.ID+1000, store.Changes{}, store.Version{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty update of a missing task: %v; want ErrNotFound", err)
	}
}

// TestConditionalWrites: a write at a stale version changes nothing and
// reports the task as it is (the API's 412); a matching one goes through;
// a missing task is ErrNotFound either way.
func TestConditionalWrites(t *testing.T) {
	s, db := openStore(t)
	ctx := context.Background()
	task, err := s.Create(ctx, "watched", false)
	if err != nil {
		t.Fatal(err)
	}
	stale := store.Version{UpdatedAt: []time.Time{task.UpdatedAt.Add(-time.Millisecond)}}
	current := store.Version{UpdatedAt: []time.Time{task.UpdatedAt}}

	_, err = s.Update(ctx, task.ID, store.Changes{Title: ptr("lost")}, stale)
	var conflict *store.ConflictError
	if !errors.As(err, &conflict) || !cmp.Equal(conflict.Current, task) {
		t.Fatalf("update at a stale version: %v; want a conflict naming the task as it is", err)
	}
	if err := s.Delete(ctx, task.ID, stale); !errors.As(err, &conflict) || !cmp.Equal(conflict.Current, task) {
		t.Fatalf("delete at a stale version: %v; want a conflict naming the task as it is", err)
	}
	if row, _ := stored(t, db, task.ID); !cmp.Equal(row, task) {
		t.Fatalf("a refused write changed the row: %+v", row)
	}

	moved, err := s.Update(ctx, task.ID, store.Changes{Done: ptr(true)}, current)
	if err != nil || !moved.Done {
		t.Fatalf("update at the current version: %+v, %v", moved, err)
	}
	// The old version is stale now: a second writer holding it loses.
	if _, err := s.Update(ctx, task.ID, store.Changes{Done: ptr(false)}, current); !errors.As(err, &conflict) || !cmp.Equal(conflict.Current, moved) {
		t.Fatalf("update at the version before the last write: %v; want a conflict", err)
	}
	if err := s.Delete(ctx, task.ID, current); !errors.As(err, &conflict) {
		t.Fatalf("delete at the version before the last write: %v; want a conflict", err)
	}
	if err := s.Delete(ctx, task.ID, store.Version{UpdatedAt: []time.Time{moved.UpdatedAt}}); err != nil {
		t.Fatalf("delete at the current version: %v", err)
	}
	if _, ok := stored(t, db, task.ID); ok {
		t.Fatal("the deleted task is still there")
	}

	for name, v := range map[string]store.Version{"unconditional": {}, "conditional": current, "any": {Any: true}} {
		if _, err := s.Update(ctx, task.ID, store.Changes{Done: ptr(true)}, v); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s update of a deleted task: %v; want ErrNotFound", name, err)
		}
		if err := s.Delete(ctx, task.ID, v); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s delete of a deleted task: %v; want ErrNotFound", name, err)
		}
	}
	many := store.Version{UpdatedAt: make([]time.Time, store.MaxVersions+1)}
	if _, err := s.Update(ctx, task.ID, store.Changes{Done: ptr(true)}, many); !errors.Is(err, store.ErrTooManyVersions) {
		t.Errorf("update with %d versions: %v; want ErrTooManyVersions", len(many.UpdatedAt), err)
	}
	if err := s.Delete(ctx, task.ID, many); !errors.Is(err, store.ErrTooManyVersions) {
		t.Errorf("delete with %d versions: %v; want ErrTooManyVersions", len(many.UpdatedAt), err)
	}
}

// TestCreateOnceRacing sends one create under one key from many
// goroutines at once: one task is created, and every caller gets it, the
// same one, exactly one of them as the original. The key keeps answering
// after the task is gone, and refuses another request.
//
// So that the creates really overlap, a transaction holds the key
// uncommitted until every one of them waits on it, then rolls back: one
// claims the key, and the others wait on that one, then find the key
// taken by a transaction their statement cannot see, the path that reads
// the key again.
func TestCreateOnceRacing(t *testing.T) {
	s, db := openStore(t)
	ctx := context.Background()
	const n = 24
	fp := []byte("fingerprint of the request")
	hold, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	if _, err := hold.Exec(`INSERT INTO idempotency_keys (key, fingerprint, task_id, title, done) VALUES ('race-key', '', 0, 'held', false)`); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		task     store.Task
		replayed bool
		err      error
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := &answers[i]
			a.task, a.replayed, a.err = s.CreateOnce(ctx, "race-key", fp, "raced", true)
		}()
	}
	waitForLockWaits(t, db, n)
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	originals := 0
	for i, a := range answers {
		if a.err != nil {
			t.Fatalf("caller %d: %v", i, a.err)
		}
		if !a.replayed {
			originals++
		}
		if diff := cmp.Diff(answers[0].task, a.task); diff != "" {
			t.Errorf("caller %d got another task (-first +this):\n%s", i, diff)
		}
	}
	if originals != 1 {
		t.Errorf("%d callers got replayed=false; want exactly 1", originals)
	}
	var rows, keys int
	if err := db.QueryRow(`SELECT count(*) FROM tasks WHERE title = 'raced'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM idempotency_keys WHERE key = 'race-key'`).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || keys != 1 {
		t.Fatalf("%d tasks and %d keys after %d racing creates; want 1 and 1", rows, keys, n)
	}
	row, _ := stored(t, db, answers[0].task.ID)
	if diff := cmp.Diff(answers[0].task, row); diff != "" {
		t.Errorf("answer differs from the row (-answer +row):\n%s", diff)
	}

	if err := s.Delete(ctx, row.ID, store.Version{}); err != nil {
		t.Fatal(err)
	}
	again, replayed, err := s.CreateOnce(ctx, "race-key", fp, "raced", true)
	if err != nil || !replayed || !cmp.Equal(again, answers[0].task) {
		t.Fatalf("retry after the task was deleted: %+v replayed=%v, %v; want the first answer replayed", again, replayed, err)
	}
	if _, _, err := s.CreateOnce(ctx, "race-key", []byte("another request"), "other", false); !errors.Is(err, store.ErrKeyReused) {
		t.Fatalf("the key with another request: %v; want ErrKeyReused", err)
	}
}

// waitForLockWaits waits until n sessions of this database wait for a
// lock.
func waitForLockWaits(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d creates wait on the held key; the others are held up before the database", waiting, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestListPages: newest first, below the cursor, filtered on done.
func TestListPages(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	var ids []int64
	for i := range 5 {
		task, err := s.Create(ctx, fmt.Sprint("t", i), i%2 == 0)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, task.ID)
	}
	page := func(p store.ListParams) []int64 {
		ts, err := s.List(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, t := range ts {
			got = append(got, t.ID)
		}
		return got
	}
	if got, want := page(store.ListParams{Limit: 3}), []int64{ids[4], ids[3], ids[2]}; !cmp.Equal(got, want) {
		t.Errorf("first page = %v; want %v", got, want)
	}
	if got, want := page(store.ListParams{Before: ids[2], Limit: 3}), []int64{ids[1], ids[0]}; !cmp.Equal(got, want) {
		t.Errorf("page before %d = %v; want %v", ids[2], got, want)
	}
	if got, want := page(store.ListParams{Done: ptr(true), Limit: 10}), []int64{ids[4], ids[2], ids[0]}; !cmp.Equal(got, want) {
		t.Errorf("done page = %v; want %v", got, want)
	}
}
