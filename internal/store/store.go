// Package store reads and writes tasks with exactly one SQL statement per
// successful operation. Ent's SQL builder renders the statements, with
// RETURNING where Ent's own Create/Update would add round trips (Create
// does not read the database's defaults back; UpdateOne wraps UPDATE and
// SELECT in a transaction); the hot reads are rendered once, and deletes
// go through Ent's client, which sends a single DELETE.
package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"tasks/ent"
	"tasks/ent/task"
)

// Task is a stored task. The database sets both timestamps.
type Task struct {
	ID        int64
	Title     string
	Done      bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ErrNotFound is returned when no task has the given id.
var ErrNotFound = errors.New("store: task not found")

// ConflictError is returned when a conditional write finds the task at
// another version than the caller expected.
type ConflictError struct {
	Current Task // the task as it is now
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("store: task %d changed (now at %s)", e.Current.ID, e.Current.UpdatedAt.Format(time.RFC3339Nano))
}

// Version is the condition of a conditional write. The zero value means
// unconditional.
type Version struct {
	// Any matches any existing task (If-Match: *).
	Any bool
	// UpdatedAt lists acceptable values of updated_at; the write happens
	// only if the task still has one of them.
	UpdatedAt []time.Time
}

func (v Version) conditional() bool { return len(v.UpdatedAt) > 0 }

// Tasks is the task store.
type Tasks struct {
	db     *prepared
	client *ent.Client
	// Statements rendered once by Ent's SQL builder: building and
	// scanning through Ent's query graph on every request cost a third of
	// the API's CPU per read (measured with a CPU profile under load).
	insert, get, list string
	updates           sync.Map // updateShape → rendered UPDATE … RETURNING
	retention         time.Duration
}

// updateShape is what varies between UPDATE statements: which fields are
// set and how many versions If-Match allows. There are few, so each is
// rendered once.
type updateShape struct {
	title, done bool
	versions    int
}

// columns are the ones a Task is scanned from, in order.
var columns = []string{task.FieldID, task.FieldTitle, task.FieldDone, task.FieldCreatedAt, task.FieldUpdatedAt}

// createOnce inserts a task under an idempotency key, or, when the key
// is live (used less than the retention ago), returns what the key's
// first create answered, with the fingerprint of that request. In one
// statement:
//
//   - k claims the key: inserted when new, taken over when expired (the
//     ON CONFLICT … WHERE), nothing when live. The task's id is drawn
//     from its identity sequence up front, so the key row can hold the
//     task as created before the task row exists; both timestamps of a
//     new task are now(), the transaction's time, which the key row's
//     created_at equals too.
//   - t inserts the task only when k claimed the key.
//   - the last SELECT returns either the new task (replayed false) or the
//     key's stored answer (replayed true).
//
// A request racing another with the same key waits on the key's index
// entry until the other commits, then claims nothing, and its snapshot,
// taken before that commit, does not show the key row either: no row
// comes back, and CreateOnce reads the key in a second statement, on that
// path only.
const createOnce = `WITH k AS (
	INSERT INTO "idempotency_keys" AS k ("key", "fingerprint", "task_id", "title", "done")
	VALUES ($3, $4, nextval(pg_get_serial_sequence('"tasks"', 'id')), $1, $2)
	ON CONFLICT ("key") DO UPDATE SET "fingerprint" = EXCLUDED."fingerprint", "task_id" = EXCLUDED."task_id",
		"title" = EXCLUDED."title", "done" = EXCLUDED."done", "created_at" = EXCLUDED."created_at"
	WHERE k."created_at" <= now() - $5 * interval '1 microsecond'
	RETURNING "task_id", "title", "done"
), t AS (
	INSERT INTO "tasks" ("id", "title", "done") SELECT "task_id", "title", "done" FROM k
	RETURNING "id", "title", "done", "created_at", "updated_at"
)
SELECT "id", "title", "done", "created_at", "updated_at", NULL::bytea, false FROM t
UNION ALL
SELECT "task_id", "title", "done", "created_at", "created_at", "fingerprint", true FROM "idempotency_keys"
WHERE "key" = $3 AND NOT EXISTS (SELECT FROM k)`

// readKey reads a live key's stored answer, after createOnce lost a race.
const readKey = `SELECT "task_id", "title", "done", "created_at", "created_at", "fingerprint", true FROM "idempotency_keys"
WHERE "key" = $1 AND "created_at" > now() - $2 * interval '1 microsecond'`

// expireKeys deletes a batch of expired keys, oldest first. SKIP LOCKED
// leaves alone any key a create is taking over right now, so neither
// waits for the other.
const expireKeys = `DELETE FROM "idempotency_keys" WHERE "key" IN (
	SELECT "key" FROM "idempotency_keys" WHERE "created_at" <= now() - $1 * interval '1 microsecond'
	ORDER BY "created_at" LIMIT $2 FOR UPDATE SKIP LOCKED)`

// DefaultKeyRetention is how long an idempotency key is remembered after
// its first use, unless WithKeyRetention says otherwise.
const DefaultKeyRetention = 24 * time.Hour

// MaxVersions is the most entity tags a conditional write may list. A
// statement has at most 65,535 parameters, and a client has no use for
// more than a few versions.
const MaxVersions = 16

// ErrTooManyVersions is returned for a Version listing more than
// MaxVersions values.
var ErrTooManyVersions = fmt.Errorf("store: more than %d versions", MaxVersions)

// ErrKeyReused is returned by CreateOnce when the key's first request had
// another fingerprint: the client reused a key for a different request.
var ErrKeyReused = errors.New("store: idempotency key used for another request")

// Option is an optional setting of New.
type Option func(*Tasks)

// WithKeyRetention sets how long an idempotency key is remembered; a
// duration of zero or less keeps the default.
func WithKeyRetention(d time.Duration) Option {
	return func(s *Tasks) {
		if d > 0 {
			s.retention = d
		}
	}
}

// New returns a store on db. Open db on Connector, so that no failed
// statement can leave an unusable connection in the pool.
func New(db *sql.DB, opts ...Option) *Tasks {
	st := Statements()
	p := newPrepared(db)
	s := &Tasks{
		db: p,
		// Ent's statements (the deletes) go through the same prepared
		// statements as the store's own.
		client:    ent.NewClient(ent.Driver(entsql.NewDriver(dialect.Postgres, entsql.Conn{ExecQuerier: p}))),
		insert:    st["create"],
		get:       st["get"],
		list:      st["list"],
		retention: DefaultKeyRetention,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Statements returns the SQL the store sends for create, get, list and
// patch (an update of done), so that benchmarks can replay exactly it.
func Statements() map[string]string {
	pg := entsql.Dialect(dialect.Postgres)
	insert, _ := pg.Insert(task.Table).
		Columns(task.FieldTitle, task.FieldDone).
		Values("", false).
		Returning(columns...).
		Query()
	get, _ := pg.Select(columns...).From(entsql.Table(task.Table)).
		Where(entsql.EQ(task.FieldID, 0)).
		Query()
	// One shape for every page: a zero cursor and a NULL filter fold away
	// when PostgreSQL plans the unnamed statement with its parameters.
	list, _ := pg.Select(columns...).From(entsql.Table(task.Table)).
		Where(entsql.And(
			entsql.ExprP(`($1::bigint = 0 OR "id" < $1)`),
			entsql.ExprP(`($2::boolean IS NULL OR "done" = $2)`),
		)).
		OrderBy(entsql.Desc(task.FieldID)).
		Query()
	patch, _ := pg.Update(task.Table).Set(task.FieldDone, false).
		Where(entsql.EQ(task.FieldID, 0)).Returning(columns...).
		Query()
	return map[string]string{"create": insert, "get": get, "list": list + " LIMIT $3", "patch": patch}
}

// Create inserts a task; the database assigns id and timestamps.
func (s *Tasks) Create(ctx context.Context, title string, done bool) (Task, error) {
	t, err := scanTask(s.db.QueryRowContext(ctx, s.insert, title, done))
	if err != nil {
		return Task{}, fmt.Errorf("store: create: %w", err)
	}
	return t, nil
}

// CreateOnce is Create under an idempotency key whose request has the
// given fingerprint. The first request with a key inserts; every later
// one within the retention (also while racing) gets the task as the first
// one created it, with replayed true, even if the task has changed or is
// gone since; a later request with another fingerprint gets ErrKeyReused.
func (s *Tasks) CreateOnce(ctx context.Context, key string, fingerprint []byte, title string, done bool) (t Task, replayed bool, err error) {
	retention := s.retention.Microseconds()
	var fp []byte
	scan := func(row *row) error {
		return row.Scan(&t.ID, &t.Title, &t.Done, &t.CreatedAt, &t.UpdatedAt, &fp, &replayed)
	}
	err = scan(s.db.QueryRowContext(ctx, createOnce, title, done, key, fingerprint, retention))
	if errors.Is(err, sql.ErrNoRows) {
		err = scan(s.db.QueryRowContext(ctx, readKey, key, retention))
	}
	if err != nil {
		return Task{}, false, fmt.Errorf("store: create: %w", err)
	}
	if replayed && !bytes.Equal(fp, fingerprint) {
		return Task{}, false, ErrKeyReused
	}
	return t, replayed, nil
}

// ExpireKeys deletes up to batch idempotency keys older than the
// retention and returns how many it deleted. Expired keys are ignored by
// CreateOnce whether deleted or not; this only reclaims their space.
func (s *Tasks) ExpireKeys(ctx context.Context, batch int) (int64, error) {
	res, err := s.db.ExecContext(ctx, expireKeys, s.retention.Microseconds(), batch)
	if err != nil {
		return 0, fmt.Errorf("store: expire keys: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: expire keys: %w", err)
	}
	return n, nil
}

// Get returns the task with the given id.
func (s *Tasks) Get(ctx context.Context, id int64) (Task, error) {
	t, err := scanTask(s.db.QueryRowContext(ctx, s.get, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Task{}, ErrNotFound
	case err != nil:
		return Task{}, fmt.Errorf("store: get %d: %w", id, err)
	}
	return t, nil
}

// ListParams selects a page of tasks, newest (highest id) first.
type ListParams struct {
	Before int64 // only ids below this one; 0 for the first page
	Done   *bool // filter on done when set
	Limit  int
}

// List returns up to p.Limit tasks.
func (s *Tasks) List(ctx context.Context, p ListParams) ([]Task, error) {
	var done sql.NullBool
	if p.Done != nil {
		done = sql.NullBool{Bool: *p.Done, Valid: true}
	}
	rows, err := s.db.QueryContext(ctx, s.list, p.Before, done, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("store: list: %w", err)
	}
	defer rows.Close()
	ts := make([]Task, 0, p.Limit)
	for rows.Next() {
		var t Task
		if err := rows.Scan(&t.ID, &t.Title, &t.Done, &t.CreatedAt, &t.UpdatedAt); err != nil {
			return nil, fmt.Errorf("store: list: %w", err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list: %w", err)
	}
	return ts, nil
}

// Changes are the fields an update sets; nil fields stay as they are.
type Changes struct {
	Title *string
	Done  *bool
}

// Update applies c to the task if it matches v, in one UPDATE … RETURNING.
// An update that changes no value leaves updated_at alone (the trigger
// sees to it). With no field to set it reads the task instead.
func (s *Tasks) Update(ctx context.Context, id int64, c Changes, v Version) (Task, error) {
	if len(v.UpdatedAt) > MaxVersions {
		return Task{}, ErrTooManyVersions
	}
	if c.Title == nil && c.Done == nil {
		t, err := s.Get(ctx, id)
		if err == nil && v.conditional() && !matches(t, v) {
			return Task{}, &ConflictError{Current: t}
		}
		return t, err
	}
	shape := updateShape{title: c.Title != nil, done: c.Done != nil, versions: len(v.UpdatedAt)}
	// Arguments in the order the rendered statement numbers them: the SET
	// values, the id, then the versions.
	args := make([]any, 0, 3+len(v.UpdatedAt))
	if c.Title != nil {
		args = append(args, *c.Title)
	}
	if c.Done != nil {
		args = append(args, *c.Done)
	}
	args = append(args, id)
	for _, u := range v.UpdatedAt {
		args = append(args, u)
	}
	t, err := scanTask(s.db.QueryRowContext(ctx, s.updateSQL(shape), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Task{}, s.missOrConflict(ctx, id, v)
	}
	if err != nil {
		return Task{}, fmt.Errorf("store: update %d: %w", id, err)
	}
	return t, nil
}

// Delete removes the task if it matches v, in one DELETE.
func (s *Tasks) Delete(ctx context.Context, id int64, v Version) error {
	if len(v.UpdatedAt) > MaxVersions {
		return ErrTooManyVersions
	}
	q := s.client.Task.Delete().Where(task.ID(int(id)))
	if v.conditional() {
		q.Where(task.UpdatedAtIn(v.UpdatedAt...))
	}
	n, err := q.Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: delete %d: %w", id, err)
	}
	if n == 0 {
		return s.missOrConflict(ctx, id, v)
	}
	return nil
}

// updateSQL renders, once per shape, the UPDATE … RETURNING statement
// with Ent's SQL builder.
func (s *Tasks) updateSQL(sh updateShape) string {
	if q, ok := s.updates.Load(sh); ok {
		return q.(string)
	}
	b := entsql.Dialect(dialect.Postgres).Update(task.Table)
	if sh.title {
		b.Set(task.FieldTitle, "")
	}
	if sh.done {
		b.Set(task.FieldDone, false)
	}
	where := entsql.EQ(task.FieldID, 0)
	if sh.versions > 0 {
		vs := make([]any, sh.versions)
		for i := range vs {
			vs[i] = time.Time{}
		}
		where = entsql.And(where, entsql.In(task.FieldUpdatedAt, vs...))
	}
	q, _ := b.Where(where).Returning(columns...).Query()
	// Clients choose how many versions If-Match lists; keep only the
	// common shapes so the cache cannot grow without bound.
	if sh.versions <= 4 {
		s.updates.Store(sh, q)
	}
	return q
}

// missOrConflict tells, after a conditional write touched no row, whether
// the task is gone or has moved on. This second statement is spent only
// on that error path.
func (s *Tasks) missOrConflict(ctx context.Context, id int64, v Version) error {
	t, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if !v.conditional() {
		// Deleted and re-read between our statements is impossible with
		// an unconditional write; report what we see.
		return fmt.Errorf("store: task %d: write matched no row", id)
	}
	return &ConflictError{Current: t}
}

func matches(t Task, v Version) bool {
	for _, u := range v.UpdatedAt {
		if u.Equal(t.UpdatedAt) {
			return true
		}
	}
	return false
}

// scanTask scans the columns of a Task, in order.
func scanTask(row *row) (Task, error) {
	var t Task
	err := row.Scan(&t.ID, &t.Title, &t.Done, &t.CreatedAt, &t.UpdatedAt)
	return t, err
}
