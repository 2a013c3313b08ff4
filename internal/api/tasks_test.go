package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tasks/internal/api"
	"tasks/internal/store"
)

func TestTaskLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/tasks/", `{"title":"  sugoi_task  "}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	created := r.task()
	if created.Title != "sugoi_task" || created.Done || created.ID < 1 || created.CreatedAt != created.UpdatedAt {
		t.Fatalf("created task = %+v", created)
	}
	if loc := r.header.Get("Location"); loc != fmt.Sprintf("/tasks/%d", created.ID) {
		t.Errorf("Location = %q", loc)
	}
	if r.header.Get("ETag") == "" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", r.header)
	}
	if !strings.Contains(string(r.body), `"done":false`) {
		t.Errorf(`body lacks "done":false: %s`, r.body)
	}
	path := fmt.Sprintf("/tasks/%d", created.ID)

	got := e.do("GET", path, "")
	if got.status != http.StatusOK || got.task() != created || got.header.Get("ETag") != r.header.Get("ETag") {
		t.Fatalf("get: %d %s %v", got.status, got.body, got.header)
	}

	// The original sample's update call: POST /tasks/{id} with both fields.
	up := e.do("POST", path, `{"title":"sugoi_task","done":true}`)
	if up.status != http.StatusOK || !up.task().Done || up.task().CreatedAt != created.CreatedAt ||
		up.task().UpdatedAt <= created.UpdatedAt {
		t.Fatalf("update: %d %s; want done, same created_at, later updated_at than %s", up.status, up.body, created.UpdatedAt)
	}
	if up.header.Get("ETag") == r.header.Get("ETag") {
		t.Error("ETag did not change with the task")
	}

	put := e.do("PUT", path, `{"title":"renamed","done":false}`)
	if put.status != http.StatusOK || put.task().Title != "renamed" || put.task().Done {
		t.Fatalf("put: %d %s", put.status, put.body)
	}
	patch := e.do("PATCH", path, `{"done":true}`)
	if patch.status != http.StatusOK || patch.task().Title != "renamed" || !patch.task().Done {
		t.Fatalf("patch: %d %s", patch.status, patch.body)
	}

	list := e.do("GET", "/tasks", "")
	if list.status != http.StatusOK || !strings.Contains(string(list.body), `"next_cursor":null`) ||
		!strings.Contains(string(list.body), `"title":"renamed"`) {
		t.Fatalf("list: %d %s", list.status, list.body)
	}

	del := e.do("DELETE", path, "")
	if del.status != http.StatusNoContent || len(del.body) != 0 {
		t.Fatalf("delete: %d %s", del.status, del.body)
	}
	if r := e.do("GET", path, ""); r.status != http.StatusNotFound {
		t.Fatalf("get after delete: %d", r.status)
	}
	if r := e.do("DELETE", path, ""); r.status != http.StatusNotFound {
		t.Fatalf("delete twice: %d", r.status)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t)
	if r := e.do("GET", "/healthz", ""); r.status != 200 || string(r.body) != "{\"status\":\"ok\"}\n" {
		t.Fatalf("healthz: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/readyz", ""); r.status != 200 {
		t.Fatalf("readyz on a migrated database: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/openapi.yaml", ""); r.status != 200 || !strings.HasPrefix(string(r.body), "openapi: 3.1") {
		t.Fatalf("openapi.yaml: %d", r.status)
	}
}

// TestErrors covers every error status of the API: each answer must be
// the right problem, and the database must be left exactly as it was.
func TestErrors(t *testing.T) {
	e := newEnv(t)
	task := e.create("keep me")
	path := fmt.Sprintf("/tasks/%d", task.ID)
	etag := e.do("GET", path, "").header.Get("ETag")
	before := e.snapshot()

	for _, tc := range []struct {
		name, method, path, body string
		header                   []string
		status                   int
		fields                   []string // names the problem must list
		detail                   string   // part of the detail
	}{
		{"malformed JSON", "POST", "/tasks", `{"title":`, nil, 400, nil, "unexpected end"},
		{"not JSON", "POST", "/tasks", `title=x`, nil, 400, nil, "malformed JSON"},
		{"trailing data", "POST", "/tasks", `{"title":"a"} {}`, nil, 400, nil, "data after the object"},
		{"invalid UTF-8", "POST", "/tasks", "{\"title\":\"\xff\"}", nil, 400, nil, "UTF-8"},
		{"no content type", "POST", "/tasks", `{"title":"a"}`, []string{"Content-Type", ""}, 415, nil, "application/json"},
		{"text/plain", "PUT", path, `{"title":"a","done":true}`, []string{"Content-Type", "text/plain"}, 415, nil, ""},
		{"latin-1 charset", "PATCH", path, `{"done":true}`, []string{"Content-Type", "application/json; charset=latin1"}, 415, nil, ""},
		{"too large", "POST", "/tasks", `{"title":"` + strings.Repeat("a", 70<<10) + `"}`, nil, 413, nil, "exceeds"},
		{"unknown field", "POST", "/tasks", `{"title":"a","priority":1}`, nil, 422, []string{"priority"}, ""},
		{"duplicate field", "POST", "/tasks", `{"title":"a","title":"b"}`, nil, 422, []string{"title"}, ""},
		{"missing title", "POST", "/tasks", `{"done":true}`, nil, 422, []string{"title"}, ""},
		{"empty title", "POST", "/tasks", `{"title":"   "}`, nil, 422, []string{"title"}, ""},
		{"long title", "POST", "/tasks", `{"title":"` + strings.Repeat("é", 201) + `"}`, nil, 422, []string{"title"}, ""},
		{"control character", "POST", "/tasks", `{"title":"a\u0007b"}`, nil, 422, []string{"title"}, ""},
		{"title wrong type", "POST", "/tasks", `{"title":5,"done":"yes"}`, nil, 422, []string{"title", "done"}, ""},
		{"null title", "PATCH", path, `{"title":null}`, nil, 422, []string{"title"}, ""},
		{"null done", "PATCH", path, `{"done":null}`, nil, 422, []string{"done"}, ""},
		{"array body", "POST", "/tasks", `[{"title":"a"}]`, nil, 422, []string{"(body)"}, ""},
		{"put without done", "PUT", path, `{"title":"a"}`, nil, 422, []string{"done"}, ""},
		{"unknown and wrong type together", "PUT", path, `{"title":1,"done":true,"x":0}`, nil, 422, []string{"x", "title"}, ""},
		{"bad limit", "GET", "/tasks?limit=101", "", nil, 422, []string{"limit"}, ""},
		{"bad done filter", "GET", "/tasks?done=maybe", "", nil, 422, []string{"done"}, ""},
		{"bad cursor", "GET", "/tasks?after=zzz", "", nil, 422, []string{"after"}, ""},
		{"unknown parameter", "GET", "/tasks?sort=asc", "", nil, 422, []string{"sort"}, ""},
		{"unknown id", "GET", "/tasks/999999", "", nil, 404, nil, "no task"},
		{"non-numeric id", "GET", "/tasks/abc", "", nil, 404, nil, ""},
		{"zero id", "PATCH", "/tasks/0", `{"done":true}`, nil, 404, nil, ""},
		{"negative id", "DELETE", "/tasks/-1", "", nil, 404, nil, ""},
		{"huge id", "GET", "/tasks/99999999999999999999", "", nil, 404, nil, ""},
		{"padded id", "GET", "/tasks/01", "", nil, 404, nil, ""},
		{"unknown path", "GET", "/nope", "", nil, 404, nil, ""},
		{"nested path", "GET", path + "/x", "", nil, 404, nil, ""},
		{"wrong method on collection", "DELETE", "/tasks", "", nil, 405, nil, "GET, HEAD, POST"},
		{"wrong method on task", "OPTIONS", path, "", nil, 405, nil, "DELETE"},
		{"stale If-Match", "PATCH", path, `{"done":true}`, []string{"If-Match", `"1"`}, 412, nil, "changed"},
		{"weak If-Match", "PUT", path, `{"title":"a","done":true}`, []string{"If-Match", "W/" + etag}, 412, nil, ""},
		{"If-Match * on missing task", "DELETE", "/tasks/999999", "", []string{"If-Match", "*"}, 404, nil, ""},
		{"malformed If-Match", "DELETE", path, "", []string{"If-Match", "abc"}, 422, []string{"If-Match"}, ""},
		{"truncated string", "POST", "/tasks", `{"title":"ab`, nil, 400, nil, "unexpected end"},
		{"empty body", "POST", "/tasks", "", []string{"Content-Type", "application/json"}, 400, nil, "unexpected end"},
		{"null body", "POST", "/tasks", `null`, nil, 422, []string{"(body)"}, ""},
		{"number body", "PUT", path, `5`, nil, 422, []string{"(body)"}, ""},
		{"single quotes", "POST", "/tasks", `{'title':'a'}`, nil, 400, nil, "malformed JSON"},
		{"title array", "POST", "/tasks", `{"title":["a"]}`, nil, 422, []string{"title"}, ""},
		{"done as number", "PATCH", path, `{"done":1}`, nil, 422, []string{"done"}, ""},
		{"done as string", "PUT", path, `{"title":"a","done":"true"}`, nil, 422, []string{"done"}, ""},
		{"newline in title", "POST", "/tasks", `{"title":"a\nb"}`, nil, 422, []string{"title"}, ""},
		{"deeply nested value", "POST", "/tasks", `{"title":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`, nil, 422, []string{"title"}, ""},
		{"bad Idempotency-Key", "POST", "/tasks", `{"title":"a"}`, []string{"Idempotency-Key", "has space"}, 422, []string{"Idempotency-Key"}, ""},
		{"two Idempotency-Keys", "POST", "/tasks", `{"title":"a"}`, []string{"Idempotency-Key", "k1", "Idempotency-Key", "k2"}, 422, []string{"Idempotency-Key"}, ""},
		{"non-numeric limit", "GET", "/tasks?limit=ten", "", nil, 422, []string{"limit"}, ""},
		{"negative limit", "GET", "/tasks?limit=-1", "", nil, 422, []string{"limit"}, ""},
		{"limit twice", "GET", "/tasks?limit=1&limit=2", "", nil, 422, []string{"limit"}, ""},
		{"cursor of another format", "GET", "/tasks?after=MTIz", "", nil, 422, []string{"after"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.body, tc.header...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q", ct)
			}
			p := r.problem()
			if p.Status != tc.status || p.Title != http.StatusText(tc.status) || p.Type != "about:blank" {
				t.Errorf("problem = %+v", p)
			}
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", p.Detail, tc.detail)
			}
			var names []string
			for _, f := range p.Errors {
				names = append(names, f.Name)
				if f.Reason == "" {
					t.Errorf("field %s has no reason", f.Name)
				}
			}
			if diff := cmp.Diff(tc.fields, names); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if tc.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			if tc.name == "stale If-Match" && r.header.Get("ETag") != etag {
				t.Errorf("412 ETag = %q, want the current %q", r.header.Get("ETag"), etag)
			}
			if after := e.snapshot(); after != before {
				t.Fatalf("the failed request changed the database:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestTriggerRulesThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	task := e.create("sugoi_task")
	path := fmt.Sprintf("/tasks/%d", task.ID)

	// A PUT that changes nothing leaves updated_at alone.
	same := e.do("PUT", path, `{"title":"sugoi_task","done":false}`)
	if same.status != 200 || same.task().UpdatedAt != task.UpdatedAt {
		t.Fatalf("no-op PUT: %s; updated_at must stay %s", same.body, task.UpdatedAt)
	}
	// An empty PATCH returns the task unchanged.
	empty := e.do("PATCH", path, `{}`)
	if empty.status != 200 || empty.task() != task {
		t.Fatalf("empty PATCH: %d %s", empty.status, empty.body)
	}
	// Quick successive changes: strictly increasing updated_at, fixed created_at.
	prev := task.UpdatedAt
	for i := range 5 {
		r := e.do("PATCH", path, fmt.Sprintf(`{"title":"v%d"}`, i))
		got := r.task()
		if r.status != 200 || got.UpdatedAt <= prev || got.CreatedAt != task.CreatedAt {
			t.Fatalf("update %d: %s; want updated_at after %s and created_at %s", i, r.body, prev, task.CreatedAt)
		}
		prev = got.UpdatedAt
	}
	// A direct UPDATE in SQL still moves updated_at, and the API shows it.
	if _, err := e.db.Exec("UPDATE tasks SET done = true WHERE id = $1", task.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.do("GET", path, "").task(); got.UpdatedAt <= prev || !got.Done {
		t.Fatalf("after a psql-style UPDATE: %+v; want updated_at after %s", got, prev)
	}
}

// TestTimestampsComeFromTheDatabase shows that the API's own clock plays
// no part: no write carries a timestamp, and the values returned lie
// within the database's own clock readings around the request.
func TestTimestampsComeFromTheDatabase(t *testing.T) {
	e := newEnv(t)
	var dbBefore, dbAfter time.Time
	e.db.QueryRow("SELECT clock_timestamp()").Scan(&dbBefore)
	e.log.reset()
	task := e.create("clock")
	r := e.do("PATCH", fmt.Sprintf("/tasks/%d", task.ID), `{"done":true}`)
	stmts, args := e.log.take()
	e.db.QueryRow("SELECT clock_timestamp()").Scan(&dbAfter)
	for i, as := range args {
		for _, a := range as {
			if _, ok := a.Value.(time.Time); ok {
				t.Errorf("statement %q sent a timestamp from the API's clock: %v", stmts[i], a.Value)
			}
		}
	}
	for _, ts := range []string{task.CreatedAt, r.task().UpdatedAt} {
		v, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || v.Before(dbBefore) || v.After(dbAfter) {
			t.Errorf("timestamp %s (%v) is outside the database's clock window %v .. %v", ts, err, dbBefore, dbAfter)
		}
	}
}

// TestOneStatementPerRequest counts what the database receives: every
// successful request is exactly one statement, with no transaction, and
// one round trip. Statements are prepared once per connection (Parse,
// Describe, Sync); from then on a request is Bind, Execute, Sync.
func TestOneStatementPerRequest(t *testing.T) {
	e := newEnv(t)
	// One connection, so that a shape's second request finds its
	// statement prepared.
	e.db.SetMaxOpenConns(1)
	task := e.create("count me")
	path := fmt.Sprintf("/tasks/%d", task.ID)
	etag := e.do("GET", path, "").header.Get("ETag")
	del := e.create("delete me")
	for _, tc := range []struct {
		name, method, path, body string
		header                   []string
		status                   int
	}{
		{"create", "POST", "/tasks", `{"title":"a"}`, nil, 201},
		{"get", "GET", path, "", nil, 200},
		{"get not modified", "GET", path, "", []string{"If-None-Match", etag}, 304},
		{"list", "GET", "/tasks?limit=5", "", nil, 200},
		{"list filtered", "GET", "/tasks?done=false", "", nil, 200},
		{"patch", "PATCH", path, `{"done":true}`, nil, 200},
		{"empty patch", "PATCH", path, `{}`, nil, 200},
		{"put", "PUT", path, `{"title":"b","done":false}`, nil, 200},
		{"post update", "POST", path, `{"title":"c","done":true}`, nil, 200},
		{"conditional patch", "PATCH", path, `{"title":"d"}`, []string{"If-Match", "*"}, 200},
		{"create with Idempotency-Key", "POST", "/tasks", `{"title":"k"}`, []string{"Idempotency-Key", "count-1"}, 201},
		{"replayed create", "POST", "/tasks", `{"title":"k"}`, []string{"Idempotency-Key", "count-1"}, 201},
		{"delete", "DELETE", fmt.Sprintf("/tasks/%d", del.ID), "", nil, 204},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for round := range 2 {
				if tc.method == "DELETE" && round == 1 {
					// The same shape again, on another task.
					tc.path = fmt.Sprintf("/tasks/%d", e.create("delete me too").ID)
				}
				e.log.reset()
				e.wire.take()
				r := e.do(tc.method, tc.path, tc.body, tc.header...)
				if r.status != tc.status {
					t.Fatalf("round %d: status %d: %s", round, r.status, r.body)
				}
				checkOneStatement(t, e, round == 1)
			}
		})
	}
	// Conditional writes check the version inside that one statement.
	etag = e.do("GET", path, "").header.Get("ETag")
	e.log.reset()
	if r := e.do("PATCH", path, `{"done":false}`, "If-Match", etag); r.status != 200 {
		t.Fatalf("conditional patch: %d %s", r.status, r.body)
	}
	stmts, _ := e.log.take()
	if len(stmts) == 0 || !strings.Contains(stmts[len(stmts)-1], `"updated_at" IN`) {
		t.Fatalf("conditional patch sent %q", stmts)
	}
}

// checkOneStatement checks what the last request sent: one execution of
// one statement, outside any transaction, in one round trip (Bind,
// Execute, Sync), after at most one preparation of that statement on
// this connection (Parse, Describe, Sync), and none when steady.
func checkOneStatement(t *testing.T, e *env, steady bool) {
	t.Helper()
	stmts, _ := e.log.take()
	wire := e.wire.take()
	var runs, prepares []string
	for _, s := range stmts {
		if q, ok := strings.CutPrefix(s, "PREPARE "); ok {
			prepares = append(prepares, q)
		} else {
			runs = append(runs, s)
		}
	}
	if len(runs) != 1 || strings.HasPrefix(runs[0], "BEGIN") {
		t.Fatalf("statements run = %q; want exactly one, outside any transaction", runs)
	}
	want := "BES"
	switch {
	case len(prepares) == 1 && prepares[0] == runs[0] && !steady:
		want = "PDSBES"
	case len(prepares) > 0:
		t.Fatalf("prepared %q for %q (steady: %v); want at most the statement itself, once per connection", prepares, runs[0], steady)
	}
	if wire != want {
		t.Fatalf("protocol messages sent = %q; want %q (P Parse, D Describe, B Bind, E Execute, S Sync)", wire, want)
	}
}

// TestPreparedAgainAfterReconnect drops the store's connection under it:
// the next request on a new connection prepares its statement there and
// succeeds, with no restart.
func TestPreparedAgainAfterReconnect(t *testing.T) {
	e := newEnv(t)
	e.db.SetMaxOpenConns(1)
	task := e.create("survivor")
	path := fmt.Sprintf("/tasks/%d", task.ID)
	for range 2 {
		if r := e.do("GET", path, ""); r.status != 200 {
			t.Fatalf("get: %d %s", r.status, r.body)
		}
	}
	admin, err := sql.Open("postgres", e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var killed int
	err = admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminated %d backends (%v); want the store's one", killed, err)
	}
	// Wait until the backend is gone, so the next request meets a dead
	// connection.
	for i := 0; ; i++ {
		var left int
		admin.QueryRow(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`).Scan(&left)
		if left == 0 {
			break
		}
		if i == 100 {
			t.Fatal("the terminated backend is still there after 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// database/sql retries a request whose connection turns out dead on a
	// new one (lib/pq reports it as a bad connection); should the request
	// fail instead (503), the next one runs on a new connection.
	var r response
	for range 2 {
		e.log.reset()
		e.wire.take()
		if r = e.do("GET", path, ""); r.status == 200 {
			break
		}
		if r.status != 503 {
			t.Fatalf("get on a dropped connection: %d %s; want 503 or 200", r.status, r.body)
		}
	}
	if r.status != 200 {
		t.Fatalf("get after reconnect: %d %s", r.status, r.body)
	}
	stmts, _ := e.log.take()
	wire := e.wire.take()
	n := len(stmts)
	if n < 2 || stmts[n-2] != "PREPARE "+stmts[n-1] || !strings.HasSuffix(wire, "PDSBES") {
		t.Fatalf("after reconnect sent %q, on the wire %q; want the statement prepared on the new connection, then run", stmts, wire)
	}
}

func TestConcurrentPatchesWithTheSameIfMatch(t *testing.T) {
	e := newEnv(t)
	task := e.create("contended")
	path := fmt.Sprintf("/tasks/%d", task.ID)
	etag := e.do("GET", path, "").header.Get("ETag")
	const clients = 16
	statuses := make([]int, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := e.request("PATCH", path, fmt.Sprintf(`{"title":"writer %d"}`, i), "If-Match", etag)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			statuses[i] = res.StatusCode
		}()
	}
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	if counts[200] != 1 || counts[412] != clients-1 {
		t.Fatalf("statuses = %v; want exactly one 200 and %d 412", counts, clients-1)
	}
}

func TestIfNoneMatch(t *testing.T) {
	e := newEnv(t)
	task := e.create("cached")
	path := fmt.Sprintf("/tasks/%d", task.ID)
	etag := e.do("GET", path, "").header.Get("ETag")
	r := e.do("GET", path, "", "If-None-Match", etag)
	if r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != etag {
		t.Fatalf("matching If-None-Match: %d %q %v", r.status, r.body, r.header)
	}
	if r := e.do("GET", path, "", "If-None-Match", `"1", W/`+etag); r.status != http.StatusNotModified {
		t.Fatalf("weak match in a list: %d", r.status)
	}
	e.do("PATCH", path, `{"done":true}`)
	if r := e.do("GET", path, "", "If-None-Match", etag); r.status != http.StatusOK {
		t.Fatalf("after a change: %d; want 200", r.status)
	}
}

// TestPaginationWhileGrowing pages through a table that gains rows between
// pages: every row that existed at the start is seen exactly once.
func TestPaginationWhileGrowing(t *testing.T) {
	e := newEnv(t)
	want := map[int64]bool{}
	for i := range 45 {
		want[e.create(fmt.Sprintf("t%d", i)).ID] = true
	}
	seen := map[int64]int{}
	after := ""
	for page := 0; ; page++ {
		q := "/tasks?limit=7"
		if after != "" {
			q += "&after=" + after
		}
		r := e.do("GET", q, "")
		if r.status != 200 {
			t.Fatalf("page %d: %d %s", page, r.status, r.body)
		}
		var body struct {
			Items []taskBody `json:"items"`
			Next  *string    `json:"next_cursor"`
		}
		if err := jsonUnmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		if len(body.Items) > 7 {
			t.Fatalf("page %d has %d items", page, len(body.Items))
		}
		for i, it := range body.Items {
			seen[it.ID]++
			if i > 0 && it.ID >= body.Items[i-1].ID {
				t.Fatalf("page %d is not newest first", page)
			}
		}
		// Rows keep arriving while the client pages.
		e.create("new " + strconv.Itoa(page))
		e.create("newer " + strconv.Itoa(page))
		if body.Next == nil {
			break
		}
		after = *body.Next
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("task %d seen %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("task %d seen %d times", id, n)
		}
	}
}

func TestListFilterAndLimit(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		task := e.create(fmt.Sprintf("t%d", i))
		if i%2 == 0 {
			e.do("PATCH", fmt.Sprintf("/tasks/%d", task.ID), `{"done":true}`)
		}
	}
	var body struct {
		Items []taskBody `json:"items"`
		Next  *string    `json:"next_cursor"`
	}
	jsonUnmarshal(e.do("GET", "/tasks?done=true&limit=2", "").body, &body)
	if len(body.Items) != 2 || body.Next == nil || !body.Items[0].Done || body.Items[0].Title != "t4" {
		t.Fatalf("done=true&limit=2: %+v", body)
	}
	jsonUnmarshal(e.do("GET", "/tasks?done=true&after="+*body.Next, "").body, &body)
	if len(body.Items) != 1 || body.Items[0].Title != "t0" || body.Next != nil {
		t.Fatalf("second page: %+v", body)
	}
	jsonUnmarshal(e.do("GET", "/tasks?done=false", "").body, &body)
	if len(body.Items) != 2 {
		t.Fatalf("done=false: %+v", body)
	}
}

func TestIdempotentCreate(t *testing.T) {
	e := newEnv(t)
	first := e.do("POST", "/tasks", `{"title":"once"}`, "Idempotency-Key", "abc-123")
	again := e.do("POST", "/tasks", `{"title":"once"}`, "Idempotency-Key", "abc-123")
	if first.status != 201 || again.status != 201 || first.task() != again.task() {
		t.Fatalf("retry: %d %s / %d %s; want the same task twice", first.status, first.body, again.status, again.body)
	}
	if first.header.Get("Idempotent-Replayed") != "" || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("Idempotent-Replayed: first %q, retry %q", first.header.Get("Idempotent-Replayed"), again.header.Get("Idempotent-Replayed"))
	}

	// Racing retries of one create: one row, every answer the same task.
	const clients = 16
	ids := make([]int64, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := e.request("POST", "/tasks", `{"title":"raced"}`, "Idempotency-Key", "race-key")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var b taskBody
			if res.StatusCode != 201 || jsonDecode(res, &b) != nil {
				t.Errorf("status %d", res.StatusCode)
			}
			ids[i] = b.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == 0 {
			t.Fatalf("racing creates returned ids %v; want one task", ids)
		}
	}
	var rows int
	e.db.QueryRow("SELECT count(*) FROM tasks WHERE title = 'raced'").Scan(&rows)
	if rows != 1 {
		t.Fatalf("%d rows for one idempotent create", rows)
	}
	// Other keys, or none, still create.
	if r := e.do("POST", "/tasks", `{"title":"once"}`, "Idempotency-Key", "other"); r.task().ID == first.task().ID {
		t.Fatal("a different key returned the first task")
	}
}

// A client that hangs up mid-request is not a server error: nothing is
// logged at error level.
func TestClientGoneIsNotAnError(t *testing.T) {
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e := newEnv(t)
	h := api.NewServer(api.Config{Log: log, Tasks: store.New(e.db)})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest("GET", "/tasks/1", nil).WithContext(ctx)
	cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 499 || strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("a cancelled request was logged as an error:\n%s", logs.String())
	}
}
