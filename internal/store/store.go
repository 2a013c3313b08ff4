// Package store reads and writes tasks with exactly one SQL statement per
// successful operation.
//
// Every statement is SQL written here, named, and run as a prepared
// statement, or, behind a transaction pooler, as an unnamed one (see
// Statements). Ent declares the schema, but its client does not fit the
// request path: Create does not read the database's defaults back,
// UpdateOne wraps UPDATE and SELECT in a transaction, and building and
// scanning through its query graph cost a third of the API's CPU per read
// (measured with a CPU profile under load). Writing the statements out
// keeps each request one statement and one round trip, with RETURNING.
package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Task is a stored task. The database sets both timestamps.
type Task struct {
	ID        int64
	Title     string
	Done      bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Infinity is how a Task holds PostgreSQL's 'infinity' timestamp, which
// time.Time has no value for: an instant far past PostgreSQL's last
// (294276 AD), so no finite timestamp reads as it. The schema's
// tasks_timestamps_check keeps tasks within the years 1 to 9999; rows
// written before it, or by hand where it is missing, may hold anything
// PostgreSQL can, and the store reads every one.
func Infinity() time.Time { return time.Date(1_000_000, time.January, 1, 0, 0, 0, 0, time.UTC) }

// NegativeInfinity is how a Task holds '-infinity': an instant far
// before PostgreSQL's first (4713 BC).
func NegativeInfinity() time.Time {
	return time.Date(-1_000_000, time.January, 1, 0, 0, 0, 0, time.UTC)
}

// timestamp scans a timestamptz into *t, PostgreSQL's infinities (which
// lib/pq hands over as text) as Infinity and NegativeInfinity.
type timestamp struct{ t *time.Time }

func (s timestamp) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		*s.t = v
		return nil
	case []byte:
		switch string(v) {
		case "infinity":
			*s.t = Infinity()
			return nil
		case "-infinity":
			*s.t = NegativeInfinity()
			return nil
		}
	}
	return fmt.Errorf("store: cannot read %T %v as a timestamp", v, v)
}

// timeArg is t as a statement parameter: Infinity and NegativeInfinity
// as PostgreSQL's infinities.
func timeArg(t time.Time) any {
	switch {
	case t.Equal(Infinity()):
		return "infinity"
	case t.Equal(NegativeInfinity()):
		return "-infinity"
	}
	return t
}

// ErrNoConnection is returned, with the cause, for a statement that
// never had a connection to run on: every connection stayed busy for its
// whole timeout, or a new one could not be opened. It was never sent.
var ErrNoConnection = errors.New("store: no database connection")

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

// Conditional reports whether v lists versions (If-Match with entity
// tags); Any and the zero Version match every existing task.
func (v Version) Conditional() bool { return v.conditional() }

// Matches reports whether t is at one of the versions v lists, or v
// lists none.
func Matches(t Task, v Version) bool { return !v.conditional() || matches(t, v) }

// Tasks is the task store.
type Tasks struct {
	db        *prepared
	retention time.Duration
	// The common shapes of the statements that vary, written once:
	// updates[fields][versions] and deletes[versions], for up to
	// cachedVersions versions. Rarer ones are written per request.
	updates [4][cachedVersions + 1]string
	deletes [cachedVersions + 1]string
}

// cachedVersions is the most If-Match versions whose statements are
// written once at start.
const cachedVersions = 4

// taskColumns are the columns a Task is scanned from, in scanTask's order.
const taskColumns = `"id", "title", "done", "created_at", "updated_at"`

// The statements of the request path, by name. InsertTask, SelectTask
// and ListTasks are also what the bench replays.
const (
	// InsertTask creates a task from $1 title and $2 done.
	InsertTask = `INSERT INTO "tasks" ("title", "done") VALUES ($1, $2) RETURNING ` + taskColumns
	// SelectTask reads task $1.
	SelectTask = `SELECT ` + taskColumns + ` FROM "tasks" WHERE "id" = $1`
	// ListTasks reads a page, newest first: ids below $1 (FirstPage for
	// the first page), at most $2 rows.
	ListTasks = `SELECT ` + taskColumns + ` FROM "tasks" WHERE "id" < $1 ORDER BY "id" DESC LIMIT $2`
	// ListDoneTasks and ListNotDoneTasks are ListTasks of the tasks done
	// and not done, through the index on (done, id). Each filter value is
	// a statement of its own, with the value written in: a prepared
	// statement's generic plan is planned without its parameters, and for
	// "done = $1" PostgreSQL takes half the rows to match and walks the
	// primary key past every row that does not (0.47 s on 1M tasks none
	// done); with the value in the text, the plan follows the table's
	// statistics as a custom plan would.
	ListDoneTasks    = `SELECT ` + taskColumns + ` FROM "tasks" WHERE "done" AND "id" < $1 ORDER BY "id" DESC LIMIT $2`
	ListNotDoneTasks = `SELECT ` + taskColumns + ` FROM "tasks" WHERE NOT "done" AND "id" < $1 ORDER BY "id" DESC LIMIT $2`
)

// UpdateTask is the UPDATE … RETURNING that sets title (when title), then
// done (when done), numbered in that order from $1, of the task whose id
// is the next parameter, and, with versions > 0, only while its
// updated_at is one of the versions parameters after it.
func UpdateTask(title, done bool, versions int) string {
	var b strings.Builder
	b.WriteString(`UPDATE "tasks" SET `)
	n := 0
	if title {
		n++
		b.WriteString(`"title" = $1`)
	}
	if done {
		if n > 0 {
			b.WriteString(", ")
		}
		n++
		b.WriteString(`"done" = $` + strconv.Itoa(n))
	}
	b.WriteString(whereTask(n+1, versions))
	b.WriteString(" RETURNING " + taskColumns)
	return b.String()
}

// DeleteTask is the DELETE of the task $1, with versions > 0 only while
// its updated_at is one of the versions parameters after it.
func DeleteTask(versions int) string {
	return `DELETE FROM "tasks"` + whereTask(1, versions)
}

// whereArgs appends the parameters whereTask numbers: the id, then the
// versions.
func whereArgs(args []any, id int64, v Version) []any {
	args = append(args, id)
	for _, u := range v.UpdatedAt {
		args = append(args, timeArg(u))
	}
	return args
}

// whereTask selects the task whose id is parameter id, and with versions
// > 0 only while its updated_at is one of the parameters after it.
func whereTask(id, versions int) string {
	w := ` WHERE "id" = $` + strconv.Itoa(id)
	if versions == 0 {
		return w
	}
	vs := make([]string, versions)
	for i := range vs {
		vs[i] = "$" + strconv.Itoa(id+1+i)
	}
	return w + ` AND "updated_at" IN (` + strings.Join(vs, ", ") + ")"
}

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
// entry (or on its row, when the key had expired) until the other
// commits, then claims nothing. Its snapshot, taken before that commit,
// shows no key row, or the expired one the other took over: the last
// SELECT takes only a live key, so no row comes back, never the expired
// answer, and CreateOnce reads the key in a second statement, on that
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
WHERE "key" = $3 AND "created_at" > now() - $5 * interval '1 microsecond' AND NOT EXISTS (SELECT FROM k)`

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

// Statements says how the store sends its statements.
type Statements int

const (
	// Prepared prepares each statement by name once per connection, so
	// that PostgreSQL parses and plans it once; then a request is Bind,
	// Execute, Sync. The names live in the server session, so this needs
	// every transaction of a client connection to reach the same server
	// connection: a direct connection or a session pooler.
	Prepared Statements = iota
	// Unnamed sends every statement as the protocol's unnamed statement,
	// Parse, Bind, Describe, Execute and Sync in one round trip (lib/pq
	// with binary_parameters=yes), which leaves nothing behind in the
	// session: safe behind a transaction pooler, which may hand each
	// transaction to another server connection. PostgreSQL parses and
	// plans the statement on every execution.
	Unnamed
)

// WithStatements sets how statements are sent; Prepared unless set.
func WithStatements(m Statements) Option {
	return func(s *Tasks) { s.db.unnamed = m == Unnamed }
}

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

// WithLimits runs at most conns statements at once, the size it sets
// for db's pool, and bounds each statement's database work by timeout: a
// statement that finds every connection busy waits at most timeout for
// one, and a statement that runs is given timeout to end, including
// opening a connection, however the server behaves. On a db opened on
// Connector over lib/pq's connector, the limit is the connection's
// deadline, which costs far less than a cancelable context per statement;
// otherwise it is a context deadline. Without it, statements wait for a
// connection and for the server as long as their context allows.
func WithLimits(conns int, timeout time.Duration) Option {
	return func(s *Tasks) {
		if conns > 0 && timeout > 0 {
			s.db.slots = make(chan struct{}, conns)
			s.db.timeout = timeout
			s.db.db.SetMaxOpenConns(conns)
			s.db.db.SetMaxIdleConns(conns)
		}
	}
}

// New returns a store on db. Open db on Connector, so that no failed
// statement can leave an unusable connection in the pool.
func New(db *sql.DB, opts ...Option) *Tasks {
	s := &Tasks{db: newPrepared(db), retention: DefaultKeyRetention}
	for v := range cachedVersions + 1 {
		for f := range s.updates {
			s.updates[f][v] = UpdateTask(f&1 != 0, f&2 != 0, v)
		}
		s.deletes[v] = DeleteTask(v)
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Create inserts a task; the database assigns id and timestamps.
func (s *Tasks) Create(ctx context.Context, title string, done bool) (Task, error) {
	t, err := scanTask(s.db.QueryRowContext(ctx, InsertTask, title, done))
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
		return row.Scan(&t.ID, &t.Title, &t.Done, timestamp{&t.CreatedAt}, timestamp{&t.UpdatedAt}, &fp, &replayed)
	}
	// The key read after a lost race can be gone again (the winner rolled
	// back, or the key expired in between): then claim it once more.
	for range 3 {
		err = scan(s.db.QueryRowContext(ctx, createOnce, title, done, key, fingerprint, retention))
		if errors.Is(err, sql.ErrNoRows) {
			err = scan(s.db.QueryRowContext(ctx, readKey, key, retention))
		}
		if !errors.Is(err, sql.ErrNoRows) {
			break
		}
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
	t, err := scanTask(s.db.QueryRowContext(ctx, SelectTask, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Task{}, ErrNotFound
	case err != nil:
		return Task{}, fmt.Errorf("store: get %d: %w", id, err)
	}
	return t, nil
}

// FirstPage is the cursor of ListTasks's first page: above every id.
const FirstPage = math.MaxInt64

// ListParams selects a page of tasks, newest (highest id) first.
type ListParams struct {
	Before int64 // only ids below this one; 0 for the first page
	Done   *bool // filter on done when set
	Limit  int
}

// List returns up to p.Limit tasks.
func (s *Tasks) List(ctx context.Context, p ListParams) ([]Task, error) {
	before := p.Before
	if before == 0 {
		before = FirstPage
	}
	q := ListTasks
	switch {
	case p.Done == nil:
	case *p.Done:
		q = ListDoneTasks
	default:
		q = ListNotDoneTasks
	}
	ts := make([]Task, 0, p.Limit)
	err := s.db.Each(ctx, func(rows *sql.Rows) error {
		t, err := scanTask(rows)
		if err != nil {
			return err
		}
		ts = append(ts, t)
		return nil
	}, q, before, p.Limit)
	if err != nil {
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
	// Arguments in the order UpdateTask numbers them: the SET values, the
	// id, then the versions.
	args := make([]any, 0, 3+len(v.UpdatedAt))
	if c.Title != nil {
		args = append(args, *c.Title)
	}
	if c.Done != nil {
		args = append(args, *c.Done)
	}
	args = whereArgs(args, id, v)
	t, err := scanTask(s.db.QueryRowContext(ctx, s.updateSQL(c.Title != nil, c.Done != nil, len(v.UpdatedAt)), args...))
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
	args := whereArgs(make([]any, 0, 1+len(v.UpdatedAt)), id, v)
	res, err := s.db.ExecContext(ctx, s.deleteSQL(len(v.UpdatedAt)), args...)
	if err != nil {
		return fmt.Errorf("store: delete %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: delete %d: %w", id, err)
	}
	if n == 0 {
		return s.missOrConflict(ctx, id, v)
	}
	return nil
}

// updateSQL returns UpdateTask's statement for a shape, written at
// start for the common ones.
func (s *Tasks) updateSQL(title, done bool, versions int) string {
	if versions > cachedVersions {
		return UpdateTask(title, done, versions)
	}
	f := 0
	if title {
		f |= 1
	}
	if done {
		f |= 2
	}
	return s.updates[f][versions]
}

// deleteSQL returns DeleteTask's statement, written at start for the
// common numbers of versions.
func (s *Tasks) deleteSQL(versions int) string {
	if versions > cachedVersions {
		return DeleteTask(versions)
	}
	return s.deletes[versions]
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

// scanTask scans the columns of a Task (taskColumns), in order, from a
// row or from the current row of rows.
func scanTask(row interface{ Scan(dest ...any) error }) (Task, error) {
	var t Task
	err := row.Scan(&t.ID, &t.Title, &t.Done, timestamp{&t.CreatedAt}, timestamp{&t.UpdatedAt})
	return t, err
}
