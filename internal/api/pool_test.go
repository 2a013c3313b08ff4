package api_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"tasks/internal/api"
	"tasks/internal/devdb"
	"tasks/internal/pgbouncer"
)

// fleet is several API instances, each its own api.Run with its own
// connection pool, behind one PgBouncer in transaction mode in front of
// one database: the shape of a production deployment.
type fleet struct {
	bases  []string
	direct *sql.DB // the test's own session, straight to PostgreSQL
	dbName string
	pooler *pgbouncer.Bouncer
}

// Timeouts of the fleet's instances. PostgreSQL's, set on the database as
// an operator sets them per role, are below the request timeout, as the
// API sets them itself when it may send them at connect.
const (
	fleetRequestTimeout = 2 * time.Second
	fleetLockTimeout    = 500 * time.Millisecond
	fleetStmtTimeout    = 1600 * time.Millisecond
)

// startFleet starts n instances with DB_STATEMENTS=unnamed behind a
// PgBouncer whose pool is smaller than the instances' pools together, so
// that server connections pass from one client to another all the time.
// It skips only when PgBouncer is missing outside CI.
func startFleet(t *testing.T, n int) *fleet {
	t.Helper()
	if _, err := pgbouncer.Binary(); errors.Is(err, pgbouncer.ErrNoBinary) {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("%v (the pooler tests run in CI, where .ci/run installs it)", err)
	}
	dbURL := cluster.Migrated(t)
	u, err := neturl.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{dbName: strings.TrimPrefix(u.Path, "/")}
	f.direct, err = sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.direct.Close() })
	// The deploy step the README asks for behind a pooler: the timeouts
	// travel with the database (or role), not with the connection.
	for _, q := range []string{
		fmt.Sprintf(`ALTER DATABASE %q SET statement_timeout = '%dms'`, f.dbName, fleetStmtTimeout.Milliseconds()),
		fmt.Sprintf(`ALTER DATABASE %q SET lock_timeout = '%dms'`, f.dbName, fleetLockTimeout.Milliseconds()),
	} {
		if _, err := f.direct.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	f.pooler, err = pgbouncer.Start(context.Background(), dbURL, pgbouncer.WithPoolSize(4))
	if err != nil {
		t.Fatal(err)
	}
	pooled, err := f.pooler.Through(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("PgBouncer's log:\n%s", f.pooler.Log())
		}
		f.pooler.Stop()
	})
	for range n {
		base, _, _ := startRun(t, map[string]string{
			"DATABASE_URL":    pooled,
			"DB_STATEMENTS":   "unnamed",
			"DB_MAX_CONNS":    "8",
			"REQUEST_TIMEOUT": fleetRequestTimeout.String(),
		})
		f.bases = append(f.bases, base)
	}
	for _, b := range f.bases {
		waitReady(t, b)
	}
	return f
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for get(t, base+"/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("%s never became ready behind PgBouncer", base)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// call is one request's outcome.
type call struct {
	status int
	header http.Header
	task   taskBody
	body   string
}

var fleetClient = &http.Client{Timeout: 20 * time.Second}

func send(t *testing.T, method, url, body string, header ...string) call {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Error(err)
		return call{}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := fleetClient.Do(req)
	if err != nil {
		t.Error(err)
		return call{}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	c := call{status: res.StatusCode, header: res.Header, body: string(b)}
	jsonUnmarshal(b, &c.task)
	return c
}

// TestFleetBehindTransactionPooler runs three API instances behind
// PgBouncer in transaction mode, DB_STATEMENTS=unnamed, and checks that
// they behave as one instance on a direct connection does.
//
// Conditional writes race on the same tasks from all three, and there
// is one truth however many instances write:
//   - every version of a task has exactly one winner: the successful
//     writes form one chain, each one's If-Match the ETag the previous
//     one returned, and every other attempt is a 412 carrying a newer
//     ETag;
//   - updated_at strictly increases along the chain, and the row ends at
//     the last winner's;
//   - created_at never moves;
//   - an ETag read from one instance is honoured by another;
//   - nothing fails: no 5xx, whichever server connection a statement
//     lands on.
//
// Then keyed creates race, and the documented 503s are checked through
// the pooler: a lock wait, a missing or unmigrated database, the pooler
// itself gone (each subtest says what it proves).
func TestFleetBehindTransactionPooler(t *testing.T) {
	f := startFleet(t, 3)
	t.Run("conditional writes race", func(t *testing.T) { raceConditionalWrites(t, f) })
	t.Run("idempotent creates race", func(t *testing.T) { raceIdempotentCreates(t, f) })
	t.Run("a lock wait is a 503 and the write never lands", func(t *testing.T) { lockTimeout(t, f) })
	t.Run("readiness says why through the pooler too", func(t *testing.T) { readinessThroughPooler(t, f) })
	// Last: it stops the pooler.
	t.Run("the pooler gone is a 503, and back is served", func(t *testing.T) { poolerOutage(t, f) })
}

func raceConditionalWrites(t *testing.T, f *fleet) {
	const (
		tasks      = 3
		writers    = 6 // per task, spread over the instances
		attempts   = 12
		totalCalls = tasks * writers * attempts
	)
	created := make([]taskBody, tasks)
	createdETag := make([]string, tasks)
	for i := range created {
		c := send(t, "POST", f.bases[i%len(f.bases)]+"/tasks", fmt.Sprintf(`{"title":"race %d"}`, i))
		if c.status != http.StatusCreated {
			t.Fatalf("create: %d %s", c.status, c.body)
		}
		created[i], createdETag[i] = c.task, c.header.Get("ETag")
	}

	// win is one successful conditional write: the ETag it was sent with
	// and the task it returned.
	type win struct {
		ifMatch string
		task    taskBody
		etag    string
		readOn  int // instance the ETag was read from
		wroteOn int
	}
	var (
		mu          sync.Mutex
		wins        = make([][]win, tasks)
		conflicts   int
		crossHonour int // wins whose ETag was read on another instance
	)
	var wg sync.WaitGroup
	for ti := range tasks {
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := created[ti].ID
				for a := range attempts {
					readOn := (w + a) % len(f.bases)
					wroteOn := (readOn + 1 + a%2) % len(f.bases) // always another instance
					r := send(t, "GET", fmt.Sprintf("%s/tasks/%d", f.bases[readOn], id), "")
					if r.status != http.StatusOK {
						t.Errorf("get on instance %d: %d %s", readOn, r.status, r.body)
						return
					}
					etag := r.header.Get("ETag")
					title := fmt.Sprintf("task %d writer %d attempt %d", ti, w, a)
					c := send(t, "PATCH", fmt.Sprintf("%s/tasks/%d", f.bases[wroteOn], id), `{"title":"`+title+`"}`, "If-Match", etag)
					switch c.status {
					case http.StatusOK:
						if c.task.Title != title {
							t.Errorf("a winning PATCH returned title %q, want %q", c.task.Title, title)
						}
						mu.Lock()
						wins[ti] = append(wins[ti], win{ifMatch: etag, task: c.task, etag: c.header.Get("ETag"), readOn: readOn, wroteOn: wroteOn})
						if readOn != wroteOn {
							crossHonour++
						}
						mu.Unlock()
					case http.StatusPreconditionFailed:
						if now := c.header.Get("ETag"); now == "" || now == etag {
							t.Errorf("412 with ETag %q for If-Match %q: want the task's newer ETag", now, etag)
						}
						mu.Lock()
						conflicts++
						mu.Unlock()
					default:
						t.Errorf("PATCH on instance %d: %d %s", wroteOn, c.status, c.body)
					}
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	total := conflicts
	for ti := range tasks {
		ws := wins[ti]
		total += len(ws)
		// One chain from the created version: each version is the
		// precondition of at most one win, and the wins link up.
		byPrecondition := map[string]win{}
		for _, w := range ws {
			if other, dup := byPrecondition[w.ifMatch]; dup {
				t.Fatalf("task %d: two writes won on version %s: %q and %q", created[ti].ID, w.ifMatch, other.task.Title, w.task.Title)
			}
			byPrecondition[w.ifMatch] = w
		}
		cur := createdETag[ti]
		prev := created[ti].UpdatedAt
		for range ws {
			w, ok := byPrecondition[cur]
			if !ok {
				t.Fatalf("task %d: the winning writes do not form one chain: none was made on version %s", created[ti].ID, cur)
			}
			if !after(t, w.task.UpdatedAt, prev) {
				t.Fatalf("task %d: updated_at went from %s to %s", created[ti].ID, prev, w.task.UpdatedAt)
			}
			if w.task.CreatedAt != created[ti].CreatedAt {
				t.Fatalf("task %d: created_at moved from %s to %s", created[ti].ID, created[ti].CreatedAt, w.task.CreatedAt)
			}
			prev, cur = w.task.UpdatedAt, w.etag
		}
		var title string
		var createdAt, updatedAt time.Time
		if err := f.direct.QueryRow(`SELECT title, created_at, updated_at FROM tasks WHERE id = $1`, created[ti].ID).Scan(&title, &createdAt, &updatedAt); err != nil {
			t.Fatal(err)
		}
		if got := updatedAt.UTC().Format(time.RFC3339Nano); !sameInstant(t, got, prev) {
			t.Fatalf("task %d: the row's updated_at is %s, the last winner's %s", created[ti].ID, got, prev)
		}
		if !sameInstant(t, createdAt.UTC().Format(time.RFC3339Nano), created[ti].CreatedAt) {
			t.Fatalf("task %d: the row's created_at %s is not the one created (%s)", created[ti].ID, createdAt, created[ti].CreatedAt)
		}
		if len(ws) == 0 {
			t.Fatalf("task %d: no write won", created[ti].ID)
		}
	}
	if total != totalCalls {
		t.Fatalf("%d writes answered 200 or 412, want all %d", total, totalCalls)
	}
	if crossHonour == 0 {
		t.Fatal("no write won with an ETag read on another instance")
	}
	t.Logf("%d conditional writes from %d instances: %d won (%d with an ETag read on another instance), %d answered 412",
		totalCalls, len(f.bases), totalCalls-conflicts, crossHonour, conflicts)
}

// after reports whether RFC 3339 timestamp a is later than b.
func after(t *testing.T, a, b string) bool {
	t.Helper()
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	if err1 != nil || err2 != nil {
		t.Fatalf("timestamps %q, %q: %v %v", a, b, err1, err2)
	}
	return ta.After(tb)
}

func sameInstant(t *testing.T, a, b string) bool {
	t.Helper()
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	if err1 != nil || err2 != nil {
		t.Fatalf("timestamps %q, %q: %v %v", a, b, err1, err2)
	}
	return ta.Equal(tb)
}

// raceIdempotentCreates sends the same create with the same
// Idempotency-Key from every instance at once: one task is created, and
// every answer is its 201, all but one marked as replayed.
func raceIdempotentCreates(t *testing.T, f *fleet) {
	const perInstance = 4
	body := `{"title":"exactly once"}`
	var (
		mu    sync.Mutex
		calls []call
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for _, base := range f.bases {
		for range perInstance {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c := send(t, "POST", base+"/tasks", body, "Idempotency-Key", "fleet-race-1")
				mu.Lock()
				calls = append(calls, c)
				mu.Unlock()
			}()
		}
	}
	close(start)
	wg.Wait()
	first := 0
	for _, c := range calls {
		if c.status != http.StatusCreated {
			t.Fatalf("create with a shared key: %d %s", c.status, c.body)
		}
		if c.header.Get("Idempotent-Replayed") != "true" {
			first++
		}
		if c.task != calls[0].task || c.header.Get("ETag") != calls[0].header.Get("ETag") || c.header.Get("Location") != calls[0].header.Get("Location") {
			t.Fatalf("answers differ: %+v %s and %+v %s", calls[0].task, calls[0].header, c.task, c.header)
		}
	}
	if first != 1 {
		t.Fatalf("%d of %d answers were not replays, want exactly 1", first, len(calls))
	}
	var n int
	if err := f.direct.QueryRow(`SELECT count(*) FROM tasks WHERE title = 'exactly once'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d tasks created under one key, want 1", n)
	}
}

// lockTimeout holds a task's row lock in a session of its own for longer
// than the request timeout while an instance writes it. PostgreSQL's
// lock_timeout, from the database's settings since no startup parameter
// reaches the server through the pooler, cancels the write: the client
// gets the documented 503 with Retry-After, and when the lock is released
// the write does not land later, as it would if only the client had
// given up waiting.
func lockTimeout(t *testing.T, f *fleet) {
	c := send(t, "POST", f.bases[0]+"/tasks", `{"title":"locked"}`)
	if c.status != http.StatusCreated {
		t.Fatalf("create: %d %s", c.status, c.body)
	}
	id := c.task.ID
	ctx := context.Background()
	tx, err := f.direct.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SELECT FROM tasks WHERE id = $1 FOR UPDATE`, id); err != nil {
		t.Fatal(err)
	}
	w := send(t, "PATCH", fmt.Sprintf("%s/tasks/%d", f.bases[1], id), `{"title":"should never land"}`)
	if w.status != http.StatusServiceUnavailable || w.header.Get("Retry-After") == "" {
		t.Fatalf("PATCH of a locked task: %d (Retry-After %q) %s; want 503 with Retry-After", w.status, w.header.Get("Retry-After"), w.body)
	}
	// Past the request timeout: a statement the server still ran would be
	// waiting for the lock now, and would land on release.
	time.Sleep(fleetRequestTimeout - fleetLockTimeout + 200*time.Millisecond)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n int
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if err := f.direct.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, f.dbName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var title string
	if err := f.direct.QueryRow(`SELECT title FROM tasks WHERE id = $1`, id).Scan(&title); err != nil {
		t.Fatal(err)
	}
	if title != "locked" {
		t.Fatalf("the write answered 503 landed after the lock was released: title %q", title)
	}
	// And the instance serves the next write at once.
	if c := send(t, "PATCH", fmt.Sprintf("%s/tasks/%d", f.bases[1], id), `{"done":true}`); c.status != http.StatusOK {
		t.Fatalf("PATCH after the lock: %d %s", c.status, c.body)
	}
}

// poolerOutage stops PgBouncer: every instance answers requests with 503
// and Retry-After and reports not ready, and serves again once a pooler
// is back on the same address.
func poolerOutage(t *testing.T, f *fleet) {
	c := send(t, "POST", f.bases[0]+"/tasks", `{"title":"before the outage"}`)
	if c.status != http.StatusCreated {
		t.Fatalf("create: %d %s", c.status, c.body)
	}
	port := f.pooler.Port()
	if err := f.pooler.Stop(); err != nil {
		t.Fatal(err)
	}
	for i, base := range f.bases {
		r := send(t, "GET", fmt.Sprintf("%s/tasks/%d", base, c.task.ID), "")
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Fatalf("instance %d with the pooler gone: %d (Retry-After %q) %s", i, r.status, r.header.Get("Retry-After"), r.body)
		}
		if s := get(t, base+"/readyz"); s != http.StatusServiceUnavailable {
			t.Fatalf("instance %d: /readyz = %d with the pooler gone, want 503", i, s)
		}
	}
	u, err := neturl.Parse(cluster.Migrated(t)) // any database of the same server
	if err != nil {
		t.Fatal(err)
	}
	back, err := pgbouncer.Start(context.Background(), u.String(), pgbouncer.WithPort(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { back.Stop() })
	for i, base := range f.bases {
		waitReady(t, base)
		if r := send(t, "GET", fmt.Sprintf("%s/tasks/%d", base, c.task.ID), ""); r.status != http.StatusOK {
			t.Fatalf("instance %d after the pooler came back: %d %s", i, r.status, r.body)
		}
	}
}

// TestStatementsSetting: DB_STATEMENTS takes prepared or unnamed, and
// anything else stops the service before it serves, naming the variable
// and what it takes.
func TestStatementsSetting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := map[string]string{"DB_STATEMENTS": "named", "DATABASE_URL": "postgres://127.0.0.1:1/none?sslmode=disable"}
	err = api.RunOn(context.Background(), ln, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "DB_STATEMENTS must be prepared or unnamed") {
		t.Fatalf("DB_STATEMENTS=named: %v", err)
	}
}

// TestUnnamedWarnsWithoutServerTimeouts: with DB_STATEMENTS=unnamed the
// API sends no timeouts at connect, so it reads what the role and
// database give the session and says, with the statements to run, when
// they do not bound a statement below the request timeout.
func TestUnnamedWarnsWithoutServerTimeouts(t *testing.T) {
	dbURL := cluster.Migrated(t)
	for _, tc := range []struct {
		name  string
		setup []string
		warn  bool
	}{
		{"none set", nil, true},
		{"set on the database", []string{"statement_timeout = '4s'", "lock_timeout = '2500ms'"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := sql.Open("postgres", dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			u, _ := neturl.Parse(dbURL)
			for _, s := range tc.setup {
				if _, err := db.Exec(fmt.Sprintf(`ALTER DATABASE %q SET %s`, strings.TrimPrefix(u.Path, "/"), s)); err != nil {
					t.Fatal(err)
				}
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var log fleetLog
			env := map[string]string{"DATABASE_URL": dbURL, "DB_STATEMENTS": "unnamed", "SHUTDOWN_DELAY": "10ms"}
			done := make(chan error, 1)
			go func() { done <- api.RunOn(ctx, ln, func(k string) string { return env[k] }, io.Discard, &log) }()
			waitReady(t, "http://"+ln.Addr().String())
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			got := strings.Contains(log.String(), "ALTER ROLE")
			if got != tc.warn {
				t.Fatalf("warning with the ALTER ROLE to run: %v, want %v; log:\n%s", got, tc.warn, log.String())
			}
		})
	}
}

// fleetLog is a log the server's log writer and the test
// may use at once.
type fleetLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *fleetLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *fleetLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// readinessThroughPooler points an instance at a database the server
// does not have, and another at one that is not migrated, both through
// the fleet's PgBouncer (which passes any database name through): each
// reports the reason it reports on a direct connection, and answers
// requests with 503 and Retry-After.
func readinessThroughPooler(t *testing.T, f *fleet) {
	empty, err := f.pooler.Through(cluster.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	u, err := neturl.Parse(empty)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/no_such_database"
	for _, tc := range []struct{ url, reason string }{
		{u.String(), "database_refused"},
		{empty, "schema_not_migrated"},
	} {
		base, _, _ := startRun(t, map[string]string{"DATABASE_URL": tc.url, "DB_STATEMENTS": "unnamed"})
		r := send(t, "GET", base+"/readyz", "")
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "not ready: "+tc.reason) {
			t.Errorf("%s: /readyz = %d %s, want 503 not ready: %s", tc.reason, r.status, r.body, tc.reason)
		}
		r = send(t, "GET", base+"/tasks/1", "")
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Errorf("%s: GET /tasks/1 = %d (Retry-After %q) %s, want 503 with Retry-After", tc.reason, r.status, r.header.Get("Retry-After"), r.body)
		}
	}
}

// TestPreparedBehindPoolerSaysWhatToSet starts an instance with the
// default DB_STATEMENTS=prepared behind PgBouncer in transaction mode,
// as the operator did: PgBouncer refuses the timeouts sent at
// connect, the instance is not ready, and its log names the setting that
// fixes it.
func TestPreparedBehindPoolerSaysWhatToSet(t *testing.T) {
	if _, err := pgbouncer.Binary(); errors.Is(err, pgbouncer.ErrNoBinary) {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("%v (the pooler tests run in CI, where .ci/run installs it)", err)
	}
	dbURL := cluster.Migrated(t)
	b, err := pgbouncer.Start(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	pooled, err := b.Through(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var log fleetLog
	env := map[string]string{"DATABASE_URL": pooled, "SHUTDOWN_DELAY": "10ms"}
	done := make(chan error, 1)
	go func() { done <- api.RunOn(ctx, ln, func(k string) string { return env[k] }, io.Discard, &log) }()
	if s := get(t, "http://"+ln.Addr().String()+"/readyz"); s != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d with the timeouts refused, want 503", s)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "set DB_STATEMENTS=unnamed") {
		t.Fatalf("the log does not say to set DB_STATEMENTS=unnamed:\n%s", log.String())
	}
}

// TestDatabaseOutageBehindPooler restarts PostgreSQL behind PgBouncer
// under a steady load on an instance with DB_STATEMENTS=unnamed, as
// TestDatabaseOutage does on a direct connection, and expects the same:
// only 200, 201 and 503 while it is down (PgBouncer hands out server
// connections that died with the server, and reconnects), recovery
// without help, every 201 in the database and no failed create leaving
// a row.
func TestDatabaseOutageBehindPooler(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a database server")
	}
	if _, err := pgbouncer.Binary(); errors.Is(err, pgbouncer.ErrNoBinary) {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("%v (the pooler tests run in CI, where .ci/run installs it)", err)
	}
	if cluster.Server() == nil {
		t.Skip("needs the throwaway server's binaries (TEST_DATABASE_URL is set)")
	}
	ctx := context.Background()
	srv, dbURL, err := devdb.Start(ctx, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	b, err := pgbouncer.Start(ctx, dbURL, pgbouncer.WithPoolSize(4))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	pooled, err := b.Through(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	const requestTimeout = 2 * time.Second
	base, _, _ := startRun(t, map[string]string{
		"DATABASE_URL": pooled, "DB_STATEMENTS": "unnamed", "DB_MAX_CONNS": "8", "REQUEST_TIMEOUT": requestTimeout.String(),
	})
	waitReady(t, base)

	stop := make(chan struct{})
	load := runLoad(t, base, 8, stop)
	time.Sleep(700 * time.Millisecond)
	if err := srv.Restart(ctx, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	before := len(load.createdSnapshot())
	deadline := time.Now().Add(20 * time.Second)
	for len(load.createdSnapshot()) < before+20 {
		if time.Now().After(deadline) {
			t.Fatalf("the service did not recover after the database came back behind PgBouncer\n%s", b.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	<-load.done
	load.mu.Lock()
	defer load.mu.Unlock()
	t.Logf("statuses %v; creates answered 201: %d, failed: %d; slowest %s",
		load.statuses, len(load.created), len(load.failed), load.slowest.Round(time.Millisecond))
	for status := range load.statuses {
		if status != 200 && status != 201 && status != 503 {
			t.Errorf("status %d under outage behind the pooler: only 200, 201 and 503 are acceptable", status)
		}
	}
	if load.statuses[503] == 0 {
		t.Error("the outage was not visible: no 503")
	}
	if load.slowest > requestTimeout+time.Second {
		t.Errorf("a request took %s: requests must fail fast behind the pooler too, not wait past the %s request timeout", load.slowest, requestTimeout)
	}
	if load.transport > 0 {
		t.Errorf("%d requests got no HTTP answer", load.transport)
	}
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	load.checkCreates(t, db)
}
