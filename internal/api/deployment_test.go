package api_test

// Tests of the API under what a real deployment brings: rows written by
// other tools, a role with fewer grants, racing retries, preconditions
// from the whole of RFC 9110, writes whose outcome is unknown, and the
// smaller edges of the HTTP surface.

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"tasks/internal/api"
	"tasks/internal/store"
)

// etagForm is every entity tag the API writes: microseconds since 1970
// (negative before it) or one of PostgreSQL's infinities.
var etagForm = regexp.MustCompile(`^"(-?[0-9]+|-?infinity)"$`)

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestRowsWrittenByOtherTools: rows PostgreSQL accepts but the API never
// writes — infinities, its first and last representable instants, years
// past 9999 and before 1970 — written by SQL where tasks_timestamps_check
// is not (yet) in place. Every endpoint answers for every one of them: the
// list and each read 200 with a well-formed ETag, a conditional PATCH
// with that ETag 200 (the trigger gives an updated_at past the range the
// transaction's time), the old ETag 412 afterwards, and DELETE 204.
func TestRowsWrittenByOtherTools(t *testing.T) {
	e := newEnv(t)
	// A database from before the constraint, or one an operator altered.
	mustExec(t, e.db, `ALTER TABLE tasks DROP CONSTRAINT tasks_timestamps_check`)
	rows := []struct {
		title, created, updated string
		json                    string // updated_at as the API writes it
	}{
		{"infinite", "-infinity", "infinity", "infinity"},
		{"negative infinite", "-infinity", "-infinity", "-infinity"},
		{"last instant", "294276-12-31 23:59:59.999999+00", "294276-12-31 23:59:59.999999+00", "294276-12-31T23:59:59.999999Z"},
		{"first instant", "4713-01-01 00:00:00+00 BC", "4713-01-01 00:00:00+00 BC", "-4712-01-01T00:00:00.000000Z"},
		{"year 10000", "2020-01-01 00:00:00+00", "10000-01-01 00:00:00+00", "10000-01-01T00:00:00.000000Z"},
		{"before 1970", "1960-06-01 12:00:00+00", "1960-06-01 12:00:00+00", "1960-06-01T12:00:00.000000Z"},
	}
	ids := map[string]int64{}
	for _, r := range rows {
		var id int64
		if err := e.db.QueryRow(`INSERT INTO tasks (title, created_at, updated_at) VALUES ($1, $2, $3) RETURNING id`,
			r.title, r.created, r.updated).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[r.title] = id
	}

	list := e.do("GET", "/tasks?limit=100", "")
	var page struct{ Items []taskBody }
	if err := jsonUnmarshal(list.body, &page); list.status != 200 || err != nil || len(page.Items) != len(rows) {
		t.Fatalf("GET /tasks: %d, %d items (%v): %s", list.status, len(page.Items), err, list.body)
	}
	for _, done := range []string{"true", "false"} {
		if r := e.do("GET", "/tasks?done="+done, ""); r.status != 200 {
			t.Errorf("GET /tasks?done=%s: %d %s", done, r.status, r.body)
		}
	}
	for _, r := range rows {
		path := fmt.Sprintf("/tasks/%d", ids[r.title])
		got := e.do("GET", path, "")
		tag := got.header.Get("ETag")
		if got.status != 200 || !etagForm.MatchString(tag) {
			t.Errorf("%s: GET %d, ETag %s: %s", r.title, got.status, tag, got.body)
			continue
		}
		if r.title == "last instant" && strings.HasPrefix(tag, `"-`) {
			t.Errorf("%s: negative ETag %s for a date after 1970", r.title, tag)
		}
		if ts := got.task().UpdatedAt; ts != r.json {
			t.Errorf("%s: updated_at %q, want %q", r.title, ts, r.json)
		}
		if nm := e.do("GET", path, "", "If-None-Match", tag); nm.status != 304 {
			t.Errorf("%s: If-None-Match with its own ETag: %d", r.title, nm.status)
		}
		patched := e.do("PATCH", path, `{"done":true}`, "If-Match", tag)
		if patched.status != 200 {
			t.Errorf("%s: PATCH with If-Match %s: %d %s", r.title, tag, patched.status, patched.body)
			continue
		}
		newTag := patched.header.Get("ETag")
		if newTag == tag || !etagForm.MatchString(newTag) {
			t.Errorf("%s: ETag after PATCH %s (before %s)", r.title, newTag, tag)
		}
		if u := patched.task().UpdatedAt; r.json != "-4712-01-01T00:00:00.000000Z" && !strings.HasPrefix(u, "20") {
			t.Errorf("%s: updated_at after PATCH %s; want the transaction's time", r.title, u)
		}
		if again := e.do("PATCH", path, `{"done":false}`, "If-Match", tag); again.status != 412 {
			t.Errorf("%s: PATCH with the old ETag: %d", r.title, again.status)
		}
		if del := e.do("DELETE", path, "", "If-Match", newTag); del.status != 204 {
			t.Errorf("%s: DELETE with If-Match %s: %d %s", r.title, newTag, del.status, del.body)
		}
	}
}

// TestTimestampsAPIMayHold: with tasks_timestamps_check in place, another
// tool cannot write a timestamp outside the years 1–9999, and a migration
// that adds the constraint refuses to run over such a row (so the
// operator repairs it first, see the README). A task at the last instant
// allowed can no longer change: a write is a 409 of its own type, not a
// 422 blaming the client.
func TestTimestampsAPIMayHold(t *testing.T) {
	e := newEnv(t)
	for _, ts := range []string{"infinity", "-infinity", "10000-01-01 00:00:00+00", "0001-01-01 00:00:00+00 BC"} {
		_, err := e.db.Exec(`INSERT INTO tasks (title, updated_at) VALUES ('other tool', $1)`, ts)
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != "23514" || pqErr.Constraint != "tasks_timestamps_check" {
			t.Errorf("INSERT with updated_at %s: %v; want a tasks_timestamps_check violation", ts, err)
		}
	}
	var id int64
	if err := e.db.QueryRow(`INSERT INTO tasks (title, created_at, updated_at)
		VALUES ('at the limit', '2020-01-01 00:00:00+00', '9999-12-31 23:59:59.999999+00') RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/tasks/%d", id)
	before := e.snapshot()
	r := e.do("PATCH", path, `{"done":true}`)
	if p := r.problem(); r.status != 409 || p.Type != "/problems/timestamp-limit" {
		t.Errorf("PATCH of a task at the last instant: %d %s", r.status, r.body)
	}
	if e.snapshot() != before {
		t.Error("the refused PATCH changed the table")
	}
	if r := e.do("GET", path, ""); r.status != 200 || r.header.Get("ETag") != `"253402300799999999"` {
		t.Errorf("GET: %d ETag %s", r.status, r.header.Get("ETag"))
	}

	mustExec(t, e.db, `ALTER TABLE tasks DROP CONSTRAINT tasks_timestamps_check`)
	mustExec(t, e.db, `INSERT INTO tasks (title, created_at) VALUES ('from before', 'infinity')`)
	_, err := e.db.Exec(`ALTER TABLE tasks ADD CONSTRAINT tasks_timestamps_check CHECK (created_at >= '0001-01-01 00:00:00+00'
		AND created_at < '10000-01-01 00:00:00+00' AND updated_at >= '0001-01-01 00:00:00+00' AND updated_at < '10000-01-01 00:00:00+00')`)
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || pqErr.Code != "23514" {
		t.Errorf("adding the constraint over a row outside it: %v; want a check violation", err)
	}
}

// startRunLog is startRun with the server's log kept.
func startRunLog(t *testing.T, env map[string]string) (string, *syncBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := env["SHUTDOWN_DELAY"]; !ok {
		env["SHUTDOWN_DELAY"] = "100ms"
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		api.RunOn(ctx, ln, func(k string) string { return env[k] }, io.Discard, logs)
		ln.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return "http://" + ln.Addr().String(), logs
}

// TestLeastPrivilegeRole runs the service as a role created here with
// every grant but USAGE on the id sequence, the README's own case:
// /readyz says insufficient_privilege, a keyed create (which draws its id
// from the sequence) is a 503 of its own type, not a 500, and once the
// grant is given the service is ready and the create works. When the
// grant is taken away while serving, the next keyed creates are 503
// again, /readyz follows, and the log says once what is missing.
func TestLeastPrivilegeRole(t *testing.T) {
	dbURL := cluster.Migrated(t)
	admin, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	role := fmt.Sprintf("least_%d", time.Now().UnixNano()%1_000_000_000)
	var revSchema string
	if err := admin.QueryRow(`SELECT table_schema FROM information_schema.tables WHERE table_name = 'atlas_schema_revisions'`).Scan(&revSchema); err != nil {
		t.Fatal(err)
	}
	mustExec(t, admin, `CREATE ROLE `+role+` LOGIN`)
	t.Cleanup(func() {
		admin.Exec(`DROP OWNED BY ` + role)
		admin.Exec(`DROP ROLE ` + role)
	})
	for _, q := range []string{
		`GRANT SELECT, INSERT, UPDATE, DELETE ON tasks, idempotency_keys TO ` + role,
		`GRANT USAGE ON SCHEMA ` + pq.QuoteIdentifier(revSchema) + ` TO ` + role,
		`GRANT SELECT ON ` + pq.QuoteIdentifier(revSchema) + `.atlas_schema_revisions TO ` + role,
	} {
		mustExec(t, admin, q)
	}
	u, err := neturl.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = neturl.User(role)
	base, logs := startRunLog(t, map[string]string{"DATABASE_URL": u.String()})
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path, body string, header ...string) (int, problemBody, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var p problemBody
		jsonUnmarshal(b, &p)
		return res.StatusCode, p, res.Header
	}
	ready := func() string {
		t.Helper()
		status, p, _ := do("GET", "/readyz", "")
		if status == 200 {
			return "ready"
		}
		return p.Detail
	}

	if got := ready(); got != "not ready: insufficient_privilege" {
		t.Fatalf("/readyz without USAGE on the sequence: %q", got)
	}
	status, p, h := do("POST", "/tasks", `{"title":"keyed"}`, "Idempotency-Key", "k1")
	if status != 503 || p.Type != "/problems/insufficient-privilege" || h.Get("Retry-After") == "" {
		t.Errorf("keyed create without USAGE on the sequence: %d %+v", status, p)
	}
	if status, _, _ := do("POST", "/tasks", `{"title":"plain"}`); status != 201 {
		t.Errorf("create without a key (no sequence privilege needed): %d", status)
	}

	mustExec(t, admin, `GRANT USAGE ON SEQUENCE tasks_id_seq TO `+role)
	if got := ready(); got != "ready" {
		t.Fatalf("/readyz after the grant: %q", got)
	}
	if status, _, _ := do("POST", "/tasks", `{"title":"keyed"}`, "Idempotency-Key", "k1"); status != 201 {
		t.Errorf("keyed create after the grant: %d", status)
	}

	mustExec(t, admin, `REVOKE USAGE ON SEQUENCE tasks_id_seq FROM `+role)
	for i := range 5 {
		status, p, _ := do("POST", "/tasks", `{"title":"keyed"}`, "Idempotency-Key", fmt.Sprintf("after-revoke-%d", i))
		if status != 503 || p.Type != "/problems/insufficient-privilege" {
			t.Errorf("keyed create after the revoke: %d %+v", status, p)
		}
	}
	if got := ready(); got != "not ready: insufficient_privilege" {
		t.Errorf("/readyz after the revoke: %q", got)
	}
	// The log is written in batches; wait for the line a while, then
	// for any other that would follow it.
	var lines []string
	for deadline := time.Now().Add(3 * time.Second); len(lines) == 0 && time.Now().Before(deadline); {
		time.Sleep(300 * time.Millisecond)
		lines = lines[:0]
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, `level=ERROR msg="the database role lacks`) {
				lines = append(lines, l)
			}
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], `missing="USAGE on sequence public.tasks_id_seq"`) {
		t.Errorf("error lines after the revoke, want one naming the missing privilege:\n%s", strings.Join(lines, "\n"))
	}
	if strings.Contains(logs.String(), "internal error") {
		t.Error("a privilege error was logged as an internal error")
	}
}

// TestExpiredKeyRetriedInARace: right after a key expires, 20 retries
// race. Exactly one creates a new task; every racer gets that one (one
// Location, the others marked replayed), never the expired answer.
func TestExpiredKeyRetriedInARace(t *testing.T) {
	const (
		racers = 20
		rounds = 6
	)
	e := newEnv(t)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: racers}, Timeout: 10 * time.Second}
	for round := range rounds {
		key := fmt.Sprintf("race-%d", round)
		body := fmt.Sprintf(`{"title":"race %d"}`, round)
		first := e.do("POST", "/tasks", body, "Idempotency-Key", key)
		if first.status != 201 {
			t.Fatalf("first create: %d", first.status)
		}
		expire(t, e.db, key)
		type answer struct {
			status   int
			location string
			replayed bool
			err      error
		}
		answers := make([]answer, racers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := e.request("POST", "/tasks", body, "Idempotency-Key", key)
				<-start
				res, err := client.Do(req)
				if err != nil {
					answers[i].err = err
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				answers[i] = answer{status: res.StatusCode, location: res.Header.Get("Location"), replayed: res.Header.Get("Idempotent-Replayed") == "true"}
			}()
		}
		close(start)
		wg.Wait()
		locations := map[string]int{}
		created := 0
		for _, a := range answers {
			if a.err != nil || a.status != 201 {
				t.Errorf("round %d: %d %v", round, a.status, a.err)
				continue
			}
			locations[a.location]++
			if !a.replayed {
				created++
			}
		}
		if len(locations) != 1 || created != 1 || locations[first.header.Get("Location")] > 0 {
			t.Errorf("round %d: Locations %v (the expired one %s), %d new creates; want one new Location and one create",
				round, locations, first.header.Get("Location"), created)
		}
		var n int
		if err := e.db.QueryRow(`SELECT count(*) FROM tasks WHERE title = $1`, fmt.Sprintf("race %d", round)).Scan(&n); err != nil || n != 2 {
			t.Errorf("round %d: %d tasks (%v), want 2: the expired key's and one new", round, n, err)
		}
	}
}

// expire ages an idempotency key past the default retention, as a day
// would. Waiting out a short retention instead made the race depend on
// the clock: a retry that queued longer than the retention behind the
// takeover found the new key expired too, and rightly created again.
func expire(t *testing.T, db *sql.DB, key string) {
	t.Helper()
	if _, err := db.Exec(`UPDATE idempotency_keys SET created_at = created_at - $2 * interval '1 microsecond' WHERE key = $1`,
		key, (store.DefaultKeyRetention + time.Hour).Microseconds()); err != nil {
		t.Fatal(err)
	}
}

// TestExpiredKeyTakenOverWhileOthersWait makes the race of
// TestExpiredKeyRetriedInARace certain: a transaction takes over an
// expired key (as a winning retry does) and holds it while 20 retries
// start, take their snapshots (which still show the expired key) and wait
// for it; then it commits. Every retry answers with the task the
// takeover created, none with the expired one, and none creates another.
func TestExpiredKeyTakenOverWhileOthersWait(t *testing.T) {
	const racers = 20
	e := newEnv(t)
	body := `{"title":"taken over"}`
	first := e.do("POST", "/tasks", body, "Idempotency-Key", "held")
	if first.status != 201 {
		t.Fatalf("first create: %d", first.status)
	}
	expire(t, e.db, "held")
	admin, err := sql.Open("postgres", e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	tx, err := admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var winner int64
	if err := tx.QueryRow(`WITH k AS (
		UPDATE idempotency_keys SET task_id = nextval(pg_get_serial_sequence('tasks', 'id')), created_at = now()
		WHERE key = 'held' RETURNING task_id, title, done)
	INSERT INTO tasks (id, title, done) SELECT task_id, title, done FROM k RETURNING id`).Scan(&winner); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: racers}, Timeout: 20 * time.Second}
	locations := make([]string, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := client.Do(e.request("POST", "/tasks", body, "Idempotency-Key", "held"))
			if err != nil {
				locations[i] = err.Error()
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			locations[i] = fmt.Sprintf("%d %s replayed=%s", res.StatusCode, res.Header.Get("Location"), res.Header.Get("Idempotent-Replayed"))
		}()
	}
	// Every retry is waiting on the key (or about to).
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`).Scan(&waiting)
		if waiting == racers || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	want := fmt.Sprintf("201 /tasks/%d replayed=true", winner)
	for i, got := range locations {
		if got != want {
			t.Errorf("retry %d: %s; want %s (the expired key's task was %s)", i, got, want, first.header.Get("Location"))
		}
	}
	var n int
	if err := admin.QueryRow(`SELECT count(*) FROM tasks WHERE title = 'taken over'`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d tasks (%v); want 2: the expired key's and the takeover's", n, err)
	}
}

// TestPreconditionOrder follows RFC 9110 §13.2.2: If-Match first (on
// GET too), then If-None-Match, whose "*" fails a PUT, PATCH or DELETE of
// an existing task with 412 and changes nothing.
func TestPreconditionOrder(t *testing.T) {
	e := newEnv(t)
	task := e.create("guarded")
	path := fmt.Sprintf("/tasks/%d", task.ID)
	tag := e.do("GET", path, "").header.Get("ETag")
	before := e.snapshot()
	for _, tc := range []struct {
		method, body string
		header       []string
		status       int
		detail       string // a word the detail must contain
	}{
		{"PUT", `{"title":"x","done":true}`, []string{"If-None-Match", "*"}, 412, "If-None-Match"},
		{"POST", `{"title":"x","done":true}`, []string{"If-None-Match", "*"}, 412, "If-None-Match"},
		{"PATCH", `{"done":true}`, []string{"If-None-Match", "*"}, 412, "If-None-Match"},
		{"DELETE", "", []string{"If-None-Match", "*"}, 412, "If-None-Match"},
		{"PUT", `{"title":"x","done":true}`, []string{"If-None-Match", `"1", ` + tag}, 412, "If-None-Match"},
		{"PATCH", `{"done":true}`, []string{"If-None-Match", "W/" + tag}, 412, "If-None-Match"},
		// If-Match is evaluated first: its failure is the one reported.
		{"PUT", `{"title":"x","done":true}`, []string{"If-Match", `"1"`, "If-None-Match", "*"}, 412, "If-Match"},
		{"GET", "", []string{"If-Match", `"1"`}, 412, "If-Match"},
		{"GET", "", []string{"If-Match", `"1"`, "If-None-Match", tag}, 412, "If-Match"},
		{"GET", "", []string{"If-Match", tag, "If-None-Match", tag}, 304, ""},
		{"GET", "", []string{"If-Match", "*", "If-None-Match", `"1"`}, 200, ""},
	} {
		r := e.do(tc.method, path, tc.body, tc.header...)
		if r.status != tc.status || !strings.Contains(r.problem().Detail, tc.detail) {
			t.Errorf("%s %v: %d %s; want %d naming %s", tc.method, tc.header, r.status, r.body, tc.status, tc.detail)
		}
		if r.status == 412 && r.header.Get("ETag") != tag {
			t.Errorf("%s %v: 412 with ETag %q, want the current %s", tc.method, tc.header, r.header.Get("ETag"), tag)
		}
	}
	if e.snapshot() != before {
		t.Fatal("a request that failed its precondition changed the task")
	}
	if r := e.do("PUT", "/tasks/424242", `{"title":"x","done":true}`, "If-None-Match", "*"); r.status != 404 {
		t.Errorf("PUT If-None-Match: * of no task: %d", r.status)
	}
	r := e.do("PATCH", path, `{"done":true}`, "If-None-Match", `"1"`, "If-Match", tag)
	if r.status != 200 {
		t.Errorf("PATCH whose If-Match holds and If-None-Match names another version: %d %s", r.status, r.body)
	}
}

// TestOutcomeUnknown stalls the database after a create was sent on an
// open connection: the answer is a 503 of type outcome-unknown, and it is
// right to be, for once the database answers again the stalled create
// commits. A statement that never had a connection (the next create, whose
// new connection cannot open) and a read keep the plain 503. A create
// with an Idempotency-Key, stalled the same way and retried, ends with
// exactly one task.
func TestOutcomeUnknown(t *testing.T) {
	dbURL := cluster.Migrated(t)
	u, err := neturl.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startStallProxy(t, u.Host)
	u.Host = proxy.addr
	// One connection, so that the stalled statements go out on the one
	// the warm-up prepared them on.
	base, _, _ := startRun(t, map[string]string{"DATABASE_URL": u.String(), "REQUEST_TIMEOUT": "1s", "DB_MAX_CONNS": "1"})
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path, body string, header ...string) (int, problemBody) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var p problemBody
		jsonUnmarshal(b, &p)
		return res.StatusCode, p
	}
	admin, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	count := func(title string) int {
		t.Helper()
		var n int
		if err := admin.QueryRow(`SELECT count(*) FROM tasks WHERE title = $1`, title).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// warm prepares both creates on the connection, retrying while the
	// pool reconnects after a stall.
	warm := func(round int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			s1, _ := do("POST", "/tasks", `{"title":"warm"}`)
			s2, _ := do("POST", "/tasks", `{"title":"warm"}`, "Idempotency-Key", fmt.Sprintf("warm-%d", round))
			if s1 == 201 && s2 == 201 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("warm-up: %d %d", s1, s2)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	committed := func(title string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for count(title) != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("the stalled create %q never committed; the test shows nothing", title)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	expect := func(what string, status int, p problemBody, typ string) {
		t.Helper()
		if status != 503 || p.Type != typ {
			t.Errorf("%s with the database stalled: %d %+v; want 503 of type %s", what, status, p, typ)
		}
	}

	warm(0)
	proxy.stall(true)
	status, p := do("POST", "/tasks", `{"title":"unknown"}`)
	expect("create sent", status, p, "/problems/outcome-unknown")
	status, p = do("POST", "/tasks", `{"title":"never sent"}`)
	expect("create on a connection that cannot open", status, p, "about:blank")
	status, p = do("GET", "/tasks", "")
	expect("list", status, p, "about:blank")
	proxy.stall(false)
	committed("unknown")

	warm(1)
	proxy.stall(true)
	status, p = do("POST", "/tasks", `{"title":"keyed unknown"}`, "Idempotency-Key", "retry-me")
	expect("keyed create sent", status, p, "/problems/outcome-unknown")
	proxy.stall(false)
	committed("keyed unknown")
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, _ := do("POST", "/tasks", `{"title":"keyed unknown"}`, "Idempotency-Key", "retry-me")
		if s == 201 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("keyed retry: %d", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := count("keyed unknown"); n != 1 {
		t.Errorf("%d tasks after the keyed retry; want exactly 1", n)
	}
	if n := count("never sent"); n != 0 {
		t.Errorf("the create that never had a connection made %d tasks", n)
	}
}

// TestSmallerEdges: page sizes only in their canonical form; the mux's
// redirect to a clean path and the answer to CONNECT are problem+json;
// an exhausted id sequence is the server's problem, not a 422.
func TestSmallerEdges(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{"limit=01", "limit=%2B5", "limit=+5", "limit=5.0", "limit=%205"} {
		r := e.do("GET", "/tasks?"+q, "")
		if p := r.problem(); r.status != 422 || len(p.Errors) != 1 || p.Errors[0].Name != "limit" {
			t.Errorf("GET /tasks?%s: %d %s; want 422 naming limit", q, r.status, r.body)
		}
	}
	if r := e.do("GET", "/tasks?limit=5", ""); r.status != 200 {
		t.Errorf("limit=5: %d", r.status)
	}

	addr := strings.TrimPrefix(e.srv.URL, "http://")
	for _, tc := range []struct {
		raw      string
		status   int
		location string
	}{
		{"GET //tasks HTTP/1.1\r\nHost: x\r\n\r\n", 307, "/tasks"},
		{"GET /tasks/./1?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", 307, "/tasks/1?x=1"},
		{"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n", 405, ""},
		{"CONNECT /tasks HTTP/1.1\r\nHost: x\r\n\r\n", 405, ""},
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, tc.raw)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", tc.raw, err)
		}
		b, _ := io.ReadAll(res.Body)
		c.Close()
		var p problemBody
		if res.StatusCode != tc.status || res.Header.Get("Content-Type") != "application/problem+json" ||
			jsonUnmarshal(b, &p) != nil || p.Status != tc.status || res.Header.Get("Location") != tc.location {
			t.Errorf("%q: %d %s Location %q: %s", tc.raw, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Location"), b)
		}
	}

	mustExec(t, e.db, `ALTER TABLE tasks ALTER COLUMN id SET MAXVALUE 3`)
	for range 3 {
		e.do("POST", "/tasks", `{"title":"fill"}`)
	}
	for _, key := range []string{"", "exhausted"} {
		var h []string
		if key != "" {
			h = []string{"Idempotency-Key", key}
		}
		r := e.do("POST", "/tasks", `{"title":"one too many"}`, h...)
		if p := r.problem(); r.status != 503 || p.Type != "/problems/ids-exhausted" || len(p.Errors) != 0 {
			t.Errorf("create past the id sequence's maximum (key %q): %d %s", key, r.status, r.body)
		}
	}
}
