package api_test

// Tests of issue 11: one request must never break the service, and
// every database failure is a 503. Each reproduces a failure found by
// probing the service as an attacker or a careless client would.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tasks/internal/api"
)

// TestIfMatchFloodLeavesPoolUsable: DELETE and PATCH with an If-Match of
// 65,535 entity tags once made lib/pq fail before sending and leave its
// connection busy; every later request on it answered 500. Now the list
// is refused with a 422 before any SQL, and the service keeps serving.
func TestIfMatchFloodLeavesPoolUsable(t *testing.T) {
	e := newEnv(t)
	e.db.SetMaxOpenConns(2) // a poisoned connection would serve every other request
	task := e.create("flooded")
	path := fmt.Sprintf("/tasks/%d", task.ID)
	flood := strings.TrimSuffix(strings.Repeat(`"1", `, 65535), ", ")
	for _, method := range []string{"DELETE", "PATCH", "DELETE", "PATCH"} {
		r := e.do(method, path, `{"done":true}`, "If-Match", flood)
		if r.status < 400 || r.status >= 500 {
			t.Errorf("%s with 65,535 entity tags: %d %s; want a 4xx", method, r.status, r.body)
		} else if p := r.problem(); len(p.Errors) != 1 || p.Errors[0].Name != "If-Match" {
			t.Errorf("%s with 65,535 entity tags: %s; want an error naming If-Match", method, r.body)
		}
	}
	statuses := map[int]int{}
	for i := range 1000 {
		var r response
		switch i % 4 {
		case 0:
			r = e.do("GET", path, "")
		case 1:
			r = e.do("GET", "/tasks?limit=2", "")
		case 2:
			r = e.do("PATCH", path, fmt.Sprintf(`{"title":"t%d"}`, i))
		case 3:
			r = e.do("GET", "/readyz", "")
		}
		statuses[r.status]++
	}
	t.Logf("1,000 requests after the floods: %v", statuses)
	if diff := cmp.Diff(map[int]int{200: 1000}, statuses); diff != "" {
		t.Fatalf("statuses after the floods (-want +got):\n%s", diff)
	}
	// The documented limit itself is accepted.
	etag := e.do("GET", path, "").header.Get("ETag")
	sixteen := strings.Repeat(`"1", `, 15) + etag
	if r := e.do("PATCH", path, `{"done":true}`, "If-Match", sixteen); r.status != 200 {
		t.Fatalf("16 entity tags, the last current: %d %s", r.status, r.body)
	}
}

// buildAPI builds cmd/api into a temporary directory.
func buildAPI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "api")
	if out, err := exec.Command("go", "build", "-o", bin, "tasks/cmd/api").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startBinary starts the api binary through sh (for ulimit) with args
// and env added, and returns its base URL once it serves. The test binds the port and hands the
// socket over by socket activation (LISTEN_FDS, LISTEN_PID set by sh to
// the pid the binary keeps through exec), so the address is known before
// the binary starts and requests wait in the socket's queue until it
// serves.
func startBinary(t *testing.T, bin, shellPrefix string, args []string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	// The binary's copy is the only one left: once it exits, nothing
	// accepts on the port.
	defer ln.Close()
	defer f.Close()
	cmd := exec.Command("sh", append([]string{"-c", shellPrefix + `export LISTEN_PID=$$ LISTEN_FDS=1 && exec "$0" "$@"`, bin}, args...)...)
	// ADDR only matters if the hand-over failed: then no fixed port.
	cmd.Env = append(append(os.Environ(), "ADDR=127.0.0.1:0"), env...)
	cmd.ExtraFiles = []*os.File{f} // descriptor 3
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// The first answer says it serves; had it exited, the port would
	// refuse.
	c := http.Client{Timeout: 20 * time.Second}
	res, err := c.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("api did not start: %v", err)
	}
	res.Body.Close()
	return cmd, base
}

// TestManyIdleConnections holds more idle keep-alive connections than
// the process may open files: the service once stopped accepting
// (accept4: too many open files) and new clients timed out. With its
// connection cap, a new client is served at once.
func TestManyIdleConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildAPI(t)
	const nofile, idle = 256, 400
	_, base := startBinary(t, bin, fmt.Sprintf("ulimit -n %d && ", nofile), nil,
		"DATABASE_URL="+cluster.Migrated(t), "DB_MAX_CONNS=4", "SHUTDOWN_DELAY=0s")
	addr := strings.TrimPrefix(base, "http://")

	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range idle {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatalf("dial after %d connections: %v", len(conns), err)
		}
		conns = append(conns, c)
		// One request each, so the connection is an idle keep-alive one.
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	answered := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if b, _ := bufio.NewReader(c).Peek(12); string(b) == "HTTP/1.1 200" {
			answered++
		}
	}
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	statuses := map[string]int{}
	for _, path := range []string{"/healthz", "/tasks", "/readyz"} {
		for range 5 {
			res, err := client.Get(base + path)
			if err != nil {
				statuses["error: "+err.Error()]++
				continue
			}
			res.Body.Close()
			statuses[fmt.Sprint(res.StatusCode)]++
		}
	}
	t.Logf("%d idle connections (%d answered before new clients came), open files limited to %d; new clients: %v", idle, answered, nofile, statuses)
	if diff := cmp.Diff(map[string]int{"200": 15}, statuses); diff != "" {
		t.Fatalf("new clients while %d connections idle (-want +got):\n%s", idle, diff)
	}
}

// TestConnectionCap: past HTTP_MAX_CONNS a new connection takes the
// place of an idle one; when every connection is busy it is refused with
// a quick 503, and the busy ones still get their answers.
func TestConnectionCap(t *testing.T) {
	const limit = 4
	dbURL := cluster.Migrated(t)
	base, _, _ := startRun(t, map[string]string{"DATABASE_URL": dbURL, "HTTP_MAX_CONNS": fmt.Sprint(limit)})
	addr := strings.TrimPrefix(base, "http://")
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	status := func(c net.Conn, wait time.Duration) string {
		c.SetReadDeadline(time.Now().Add(wait))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return "no answer: " + err.Error()
		}
		res.Body.Close()
		return res.Status
	}

	// Busy: each connection's request waits for a row lock held here.
	// (A connection still sending its body is not busy: it may be closed
	// for a new one, see TestSlowBodiesCannotLockOthersOut.)
	admin, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var id int64
	if err := admin.QueryRow(`INSERT INTO tasks (title) VALUES ('locked') RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	lock, err := admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.Exec(`SELECT FROM tasks WHERE id = $1 FOR UPDATE`, id); err != nil {
		t.Fatal(err)
	}
	busy := make([]net.Conn, limit)
	for i := range busy {
		busy[i] = dial()
		body := fmt.Sprintf(`{"title":"%04d"}`, i)
		fmt.Fprintf(busy[i], "PATCH /tasks/%d HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", id, len(body), body)
	}
	time.Sleep(200 * time.Millisecond)
	extra := dial()
	start := time.Now()
	fmt.Fprintf(extra, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if got := status(extra, 2*time.Second); got != "503 Service Unavailable" {
		t.Errorf("a connection past the cap while all are busy: %q; want a quick 503", got)
	}
	t.Logf("refused past the cap in %s", time.Since(start).Round(time.Millisecond))
	lock.Rollback()
	for i, c := range busy {
		if got := status(c, 5*time.Second); got != "200 OK" {
			t.Errorf("busy connection %d after the refusal: %q", i, got)
		}
	}

	// Now the four are idle keep-alive connections: a new client takes
	// the place of the one idle longest.
	fresh := dial()
	fmt.Fprintf(fresh, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if got := status(fresh, 2*time.Second); got != "200 OK" {
		t.Errorf("a new connection while the others idle: %q; want 200", got)
	}
	closed := 0
	for _, c := range busy {
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err == io.EOF {
			closed++
		}
	}
	if closed != 1 {
		t.Errorf("%d idle connections were closed for the new one; want exactly 1", closed)
	}

	// Headers past MAX_HEADER_BYTES (32 KiB by default) are refused.
	big := dial()
	fmt.Fprintf(big, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 64<<10))
	if got := status(big, 2*time.Second); got != "431 Request Header Fields Too Large" {
		t.Errorf("64 KiB of headers: %q; want 431", got)
	}
}

// TestDatabaseTroubleIs503: whatever keeps the database from serving a
// request (locks, timeouts, login refused, no database, no connection
// slots, read-only) is a 503 with Retry-After, within the request
// timeout; it used to be a 500 for most of them.
func TestDatabaseTroubleIs503(t *testing.T) {
	dbURL := cluster.Migrated(t)
	admin, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := context.Background()
	var id int64
	if err := admin.QueryRow(`INSERT INTO tasks (title) VALUES ('locked') RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	for _, q := range []string{
		"CREATE ROLE nologin_" + suffix + " NOLOGIN",
		"CREATE ROLE nosession_" + suffix + " LOGIN CONNECTION LIMIT 0",
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	withUser := func(user string) string {
		u, _ := neturl.Parse(dbURL)
		u.User = neturl.User(user)
		return u.String()
	}
	withPath := func(path string) string {
		u, _ := neturl.Parse(dbURL)
		u.Path = path
		return u.String()
	}
	// hold runs q in a transaction kept open until the case ends.
	hold := func(t *testing.T, q string) {
		tx, err := admin.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(q); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback() })
	}
	patch := fmt.Sprintf("/tasks/%d", id)
	const requestTimeout = 2 * time.Second
	for _, tc := range []struct {
		name, url, method, path, setup string
	}{
		{"row locked FOR UPDATE", dbURL, "PATCH", patch, fmt.Sprintf("SELECT * FROM tasks WHERE id = %d FOR UPDATE", id)},
		{"table locked ACCESS EXCLUSIVE", dbURL, "GET", "/tasks", "LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE"},
		{"statement_timeout", dbURL + "&lock_timeout=0", "GET", "/tasks", "LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE"},
		{"role cannot log in", withUser("nologin_" + suffix), "GET", "/tasks", ""},
		{"too many connections", withUser("nosession_" + suffix), "GET", "/tasks", ""},
		{"database does not exist", withPath("/no_such_database_" + suffix), "GET", "/tasks", ""},
		{"read-only", dbURL + "&default_transaction_read_only=on", "POST", "/tasks", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, _, _ := startRun(t, map[string]string{"DATABASE_URL": tc.url, "REQUEST_TIMEOUT": requestTimeout.String()})
			if tc.setup != "" {
				hold(t, tc.setup)
			}
			var body io.Reader
			if tc.method != "GET" {
				body = strings.NewReader(`{"title":"x"}`)
			}
			req, _ := http.NewRequest(tc.method, base+tc.path, body)
			req.Header.Set("Content-Type", "application/json")
			start := time.Now()
			res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			took := time.Since(start)
			t.Logf("%s %s: %d in %s, Retry-After %q", tc.method, tc.path, res.StatusCode, took.Round(time.Millisecond), res.Header.Get("Retry-After"))
			if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
				t.Errorf("%d %s (Retry-After %q); want 503 with Retry-After", res.StatusCode, b, res.Header.Get("Retry-After"))
			}
			if took > requestTimeout+time.Second {
				t.Errorf("took %s; the request timeout is %s", took, requestTimeout)
			}
		})
	}
}

// TestIdempotencyKeyIsBoundToItsRequest: a key reused with another body
// is a 422 naming the header, not a replay of the first task; a replay
// after the task was deleted returns the original answer instead of
// creating a task; after the retention the key is free again.
func TestIdempotencyKeyIsBoundToItsRequest(t *testing.T) {
	e := newEnv(t)
	first := e.do("POST", "/tasks", `{"title":"pay rent"}`, "Idempotency-Key", "k-1")
	if first.status != 201 {
		t.Fatalf("first create: %d %s", first.status, first.body)
	}
	other := e.do("POST", "/tasks", `{"title":"buy a boat"}`, "Idempotency-Key", "k-1")
	if p := other.problem(); other.status != 422 || len(p.Errors) != 1 || p.Errors[0].Name != "Idempotency-Key" || p.Errors[0].In != "header" {
		t.Errorf("same key, other body: %d %s; want 422 naming the Idempotency-Key header", other.status, other.body)
	}
	e.do("PATCH", first.header.Get("Location"), `{"done":true}`)
	if r := e.do("DELETE", first.header.Get("Location"), ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	again := e.do("POST", "/tasks", `{"title":"pay rent"}`, "Idempotency-Key", "k-1")
	if again.status != 201 || !bytes.Equal(again.body, first.body) || again.header.Get("Idempotent-Replayed") != "true" ||
		again.header.Get("ETag") != first.header.Get("ETag") || again.header.Get("Location") != first.header.Get("Location") {
		t.Errorf("replay after delete: %d %s %v; want the original 201 %s", again.status, again.body, again.header, first.body)
	}
	var n int
	e.db.QueryRow(`SELECT count(*) FROM tasks WHERE title IN ('pay rent', 'buy a boat')`).Scan(&n)
	if n != 0 {
		t.Errorf("%d tasks after create, refused reuse, delete and replay; want 0", n)
	}
}

// TestIdempotencyKeyRetention: once the retention has passed, a key
// creates anew, and expired keys are deleted in the background.
func TestIdempotencyKeyRetention(t *testing.T) {
	dbURL := cluster.Migrated(t)
	base, _, _ := startRun(t, map[string]string{"DATABASE_URL": dbURL, "IDEMPOTENCY_RETENTION": "1s"})
	post := func() (int, taskBody) {
		req, _ := http.NewRequest("POST", base+"/tasks", strings.NewReader(`{"title":"kept a second"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "short-lived")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b taskBody
		jsonDecode(res, &b)
		return res.StatusCode, b
	}
	s1, t1 := post()
	s2, t2 := post()
	time.Sleep(1200 * time.Millisecond)
	s3, t3 := post()
	if s1 != 201 || s2 != 201 || s3 != 201 || t1.ID != t2.ID || t3.ID == t1.ID {
		t.Fatalf("within the retention: %d id %d, %d id %d; after it: %d id %d; want the same task, then a new one", s1, t1.ID, s2, t2.ID, s3, t3.ID)
	}
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var keys int
		if err := db.QueryRow(`SELECT count(*) FROM idempotency_keys`).Scan(&keys); err != nil {
			t.Fatal(err)
		}
		if keys == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d expired keys still stored 5s after their retention", keys)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestStrictInput: what the service cannot read exactly is refused, not
// read as something else.
func TestStrictInput(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		e.create("page")
	}
	unknown := "{" + strings.Repeat(`"abcdefg":1,`, 5000) + `"title":"x"}`
	before := e.snapshot()
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"mangled percent-encoding", "GET", "/tasks?after=%%%&limit=2", "", 400},
		{"bad escape in limit", "GET", "/tasks?limit=%zz", "", 400},
		{"truncated cursor", "GET", "/tasks?after=djE6Mj", "", 422},
		{"cursor with a leading zero", "GET", "/tasks?after=djE6MDI", "", 422},
		{"lone high surrogate", "POST", "/tasks", `{"title":"a\ud800"}`, 422},
		{"lone low surrogate", "POST", "/tasks", `{"title":"\udc00b"}`, 422},
		{"reversed pair", "POST", "/tasks", `{"title":"\udc00\ud800"}`, 422},
		{"only zero-width characters", "POST", "/tasks", `{"title":"\u200b\u200c\u200d\u2060\ufeff"}`, 422},
		{"only a combining mark", "POST", "/tasks", `{"title":"\u0301"}`, 422},
		{"Hangul filler", "POST", "/tasks", `{"title":"\u3164"}`, 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.body)
			if r.status != tc.status {
				t.Errorf("%d %s; want %d", r.status, r.body, tc.status)
			}
		})
	}
	if after := e.snapshot(); after != before {
		t.Errorf("refused requests changed the table:\n%s\nthen\n%s", before, after)
	}
	// Valid input is still accepted: a surrogate pair, an emoji with a
	// zero-width joiner, a title with an accent.
	for _, title := range []string{`\ud83d\ude00`, "👩\u200d💻", "cafe\u0301"} {
		if r := e.do("POST", "/tasks", `{"title":"`+title+`"}`); r.status != 201 {
			t.Errorf("title %q: %d %s", title, r.status, r.body)
		}
	}
	r := e.do("POST", "/tasks", unknown)
	var p struct {
		Errors     []any `json:"errors"`
		MoreErrors int   `json:"more_errors"`
	}
	jsonUnmarshal(r.body, &p)
	t.Logf("%d KB of unknown fields: %d, %d bytes, %d errors listed, more_errors %d", len(unknown)>>10, r.status, len(r.body), len(p.Errors), p.MoreErrors)
	if r.status != 422 || len(p.Errors) != 20 || p.MoreErrors != 4980 || len(r.body) > 4<<10 {
		t.Errorf("5,000 unknown fields: %d, %d bytes, %d errors listed, %d more; want 422 listing 20 and counting 4,980 more in a few KB",
			r.status, len(r.body), len(p.Errors), p.MoreErrors)
	}
}

// TestNothingLeaks: /readyz gives clients a reason code, never the
// driver's text; a keyword/value DATABASE_URL with a password is never
// printed whole.
func TestNothingLeaks(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	for _, dbURL := range []string{
		fmt.Sprintf("postgres://app:hunter2@127.0.0.1:%d/tasks?sslmode=disable", port),
		fmt.Sprintf("host=127.0.0.1 port=%d user=app password=hunter2 dbname=tasks sslmode=disable", port),
		fmt.Sprintf("host=127.0.0.1 port=%d password='hunter2", port), // unparsable
	} {
		t.Run(dbURL, func(t *testing.T) {
			var out syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			env := map[string]string{"DATABASE_URL": dbURL, "SHUTDOWN_DELAY": "0s"}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				err := api.RunOn(ctx, ln, func(k string) string { return env[k] }, &out, &out)
				ln.Close() // refuses the waiting request when Run failed before serving
				done <- err
			}()
			var ready string
			// Answered only if Run got as far as serving.
			c := http.Client{Timeout: 15 * time.Second}
			res, err := c.Get("http://" + ln.Addr().String() + "/readyz")
			served := err == nil
			if served {
				var p problemBody
				jsonDecode(res, &p)
				res.Body.Close()
				ready = p.Detail
				if res.StatusCode != 503 || p.Detail != "not ready: database_unreachable" {
					t.Errorf("/readyz without a database: %d %q; want 503 \"not ready: database_unreachable\"", res.StatusCode, p.Detail)
				}
			}
			cancel()
			runErr := <-done
			if !served && runErr == nil {
				t.Fatalf("/readyz got no answer (%v), yet Run did not fail", err)
			}
			printed := out.String()
			if runErr != nil {
				printed += "\n" + runErr.Error()
			}
			t.Logf("readyz %q; Run returned %v", ready, runErr)
			for _, secret := range []string{"hunter2", "connection refused", fmt.Sprint(port)} {
				if secret != "hunter2" && served {
					if strings.Contains(ready, secret) {
						t.Errorf("/readyz shows %q: %q", secret, ready)
					}
					continue
				}
				if strings.Contains(printed, secret) {
					t.Errorf("the password was printed:\n%s", printed)
				}
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestDrainAnswersEveryRequest sends SIGTERM to the binary while 100
// keep-alive clients send creates. During the lame-duck period /readyz
// says shutting_down and every answer says Connection: close, so each
// client leaves after an answer; none is left without one, as 8 were
// when the server closed idle connections at once.
func TestDrainAnswersEveryRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildAPI(t)
	cmd, base := startBinary(t, bin, "", nil, "DATABASE_URL="+cluster.Migrated(t), "SHUTDOWN_DELAY=2s", "DB_MAX_CONNS=16")
	const clients = 100
	var (
		answered, closed, noAnswer atomic.Int64
		errMu                      sync.Mutex
		firstErr                   error
		wg                         sync.WaitGroup
		started                    = make(chan struct{})
		startOnce                  sync.Once
	)
	stop := make(chan struct{})
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 15 * time.Second}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				res, err := client.Post(base+"/tasks", "application/json", strings.NewReader(fmt.Sprintf(`{"title":"c%d-%d"}`, i, n)))
				if err != nil {
					noAnswer.Add(1)
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				answered.Add(1)
				if n == 2 {
					startOnce.Do(func() { close(started) })
				}
				if res.Close {
					closed.Add(1) // told to go away: a load balancer would pick another instance
					return
				}
			}
		}()
	}
	<-started
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if res, err := http.Get(base + "/readyz"); err != nil {
		t.Errorf("/readyz during the lame-duck period: %v", err)
	} else {
		var p problemBody
		jsonDecode(res, &p)
		res.Body.Close()
		if res.StatusCode != 503 || p.Detail != "not ready: shutting_down" || !res.Close {
			t.Errorf("/readyz while draining: %d %q, Connection: close %v", res.StatusCode, p.Detail, res.Close)
		}
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("api exited with %v after SIGTERM; want 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("api did not exit within 15s of SIGTERM")
	}
	close(stop)
	wg.Wait()
	t.Logf("%d clients: %d answers, %d told Connection: close, %d requests without an answer (first: %v)",
		clients, answered.Load(), closed.Load(), noAnswer.Load(), firstErr)
	if noAnswer.Load() != 0 || closed.Load() != clients {
		t.Errorf("%d requests got no HTTP answer and %d of %d clients were told to close; want 0 and all", noAnswer.Load(), closed.Load(), clients)
	}
}
