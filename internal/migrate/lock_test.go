package migrate_test

import (
	"context"
	"database/sql"
	"testing"

	"tasks/internal/migrate"
)

// Apply and set release Atlas's advisory lock before they return: a
// session handed back to the pool still holding it would lock out every
// other apply, of this tool or the Atlas CLI, for as long as the process
// lives. The check runs on a session of its own, since the pool's own
// sessions could take the lock again (advisory locks are re-entrant).
func TestApplyAndSetReleaseTheLock(t *testing.T) {
	ctx := context.Background()
	url := cluster.Empty(t)
	db := open(t, url)
	other := open(t, url)
	dir := newDir(t, twoFiles)
	if _, err := migrate.Apply(ctx, db, dir, 0, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	wantLockFree(t, other, "after apply")
	if _, err := migrate.Set(ctx, db, dir, "1", migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	wantLockFree(t, other, "after set")
}

// wantLockFree takes and releases the apply lock on one session of db.
func wantLockFree(t *testing.T, db *sql.DB, when string) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// 2686470616 is Atlas's key for apply: FNV-1 32 of "atlas_migrate_execute".
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(2686470616)").Scan(&ok); err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("%s: another session still holds the migrate lock", when)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock(2686470616)"); err != nil {
		t.Fatal(err)
	}
}
