package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"

	"tasks/internal/api"
	"tasks/internal/devdb"
	"tasks/internal/store"
	"tasks/migrations"
)

// loadResult is what a bounded create/update load saw.
type loadResult struct {
	mu        sync.Mutex
	statuses  map[int]int
	created   map[string]int64 // title → id, for every 201
	failed    []string         // titles whose create was answered with an error
	slowest   time.Duration
	transport int // requests with no HTTP answer at all

	done chan struct{} // closed when every worker has stopped
}

func (l *loadResult) record(status int, took time.Duration) {
	l.mu.Lock()
	l.statuses[status]++
	l.slowest = max(l.slowest, took)
	l.mu.Unlock()
}

// runLoad drives creates (each followed by a PATCH when it succeeded)
// from workers until stop is closed.
// checkCreates checks the load's creates against db: every 201 is in
// the database; no failed create left a row. It returns the database's
// tasks, id by title.
func (l *loadResult) checkCreates(t *testing.T, db *sql.DB) map[string]int64 {
	t.Helper()
	rows, err := db.Query("SELECT id, title FROM tasks")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	inDB := map[string]int64{}
	for rows.Next() {
		var id int64
		var title string
		rows.Scan(&id, &title)
		inDB[title] = id
	}
	for title, id := range l.created {
		if inDB[title] != id {
			t.Errorf("create %q answered 201 (id %d) is not in the database", title, id)
		}
	}
	for _, title := range l.failed {
		if _, ok := inDB[title]; ok {
			t.Errorf("create %q was answered with an error but left a row", title)
		}
	}
	return inDB
}

func runLoad(t *testing.T, base string, workers int, stop <-chan struct{}) *loadResult {
	res := &loadResult{statuses: map[int]int{}, created: map[string]int64{}, done: make(chan struct{})}
	client := &http.Client{Timeout: 20 * time.Second}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				title := fmt.Sprintf("w%d-%d", w, i)
				start := time.Now()
				r, err := client.Post(base+"/tasks", "application/json", strings.NewReader(`{"title":"`+title+`"}`))
				if err != nil {
					res.mu.Lock()
					res.transport++
					res.failed = append(res.failed, title)
					res.mu.Unlock()
					time.Sleep(10 * time.Millisecond)
					continue
				}
				var b taskBody
				decErr := jsonDecode(r, &b)
				r.Body.Close()
				res.record(r.StatusCode, time.Since(start))
				res.mu.Lock()
				if r.StatusCode == 201 && decErr == nil {
					res.created[title] = b.ID
				} else {
					res.failed = append(res.failed, title)
				}
				res.mu.Unlock()
				if r.StatusCode == 201 {
					start = time.Now()
					req, _ := http.NewRequest("PATCH", fmt.Sprintf("%s/tasks/%d", base, b.ID), strings.NewReader(`{"done":true}`))
					req.Header.Set("Content-Type", "application/json")
					if pr, err := client.Do(req); err == nil {
						io.Copy(io.Discard, pr.Body)
						pr.Body.Close()
						res.record(pr.StatusCode, time.Since(start))
					}
				} else {
					time.Sleep(10 * time.Millisecond) // back off while unavailable
				}
			}
		}()
	}
	t.Cleanup(wg.Wait)
	go func() { <-stop; wg.Wait(); close(res.done) }()
	return res
}

// TestDatabaseOutage restarts PostgreSQL under a steady load: requests
// fail fast with 503 while it is down, /readyz says not ready, the service
// recovers by itself, every 201 is in the database and no failed create
// left a row.
func TestDatabaseOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a database server")
	}
	ctx := context.Background()
	if cluster.Server() == nil {
		t.Skip("needs the throwaway server's binaries (TEST_DATABASE_URL is set)")
	}
	srv, url, err := devdb.Start(ctx, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	// Opened as api.Run opens it, with the request timeout on the
	// connections and the store.
	const requestTimeout = 2 * time.Second
	conn, err := pq.NewConnector(url + "&binary_parameters=yes&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(store.Connector(conn))
	defer db.Close()
	head, _ := migrations.Head()
	ready := &api.Readiness{DB: db, Head: head}
	tasks := store.New(db, store.WithLimits(16, requestTimeout))
	hs := httptest.NewServer(api.NewServer(api.Config{Tasks: tasks, Ready: ready.Check}))
	defer hs.Close()

	stop := make(chan struct{})
	load := runLoad(t, hs.URL, 8, stop)
	var notReady atomic.Int32
	probeStop := make(chan struct{})
	go func() {
		for {
			select {
			case <-probeStop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if r, err := http.Get(hs.URL + "/readyz"); err == nil {
				if r.StatusCode == 503 {
					notReady.Add(1)
				}
				r.Body.Close()
			}
		}
	}()

	time.Sleep(700 * time.Millisecond)
	down := time.Now()
	if err := srv.Restart(ctx, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	outage := time.Since(down)
	// Let the service find the database again under load.
	before := len(load.createdSnapshot())
	deadline := time.Now().Add(15 * time.Second)
	for len(load.createdSnapshot()) < before+20 {
		if time.Now().After(deadline) {
			t.Fatal("the service did not recover after the database came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	close(probeStop)
	// A create still in flight would be in the database but in neither
	// list: wait for every worker's last answer.
	<-load.done
	load.mu.Lock()
	defer load.mu.Unlock()

	t.Logf("outage %s; statuses %v; creates answered 201: %d, failed: %d; slowest %s",
		outage.Round(time.Millisecond), load.statuses, len(load.created), len(load.failed), load.slowest.Round(time.Millisecond))
	for status := range load.statuses {
		if status != 200 && status != 201 && status != 503 {
			t.Errorf("status %d under outage: only 200, 201 and 503 are acceptable", status)
		}
	}
	if load.statuses[503] == 0 || notReady.Load() == 0 {
		t.Errorf("the outage was not visible: %d answers 503, %d readyz 503", load.statuses[503], notReady.Load())
	}
	if load.slowest > requestTimeout+time.Second {
		t.Errorf("a request took %s: requests must fail fast, not hang past the %s request timeout", load.slowest, requestTimeout)
	}
	if load.transport > 0 {
		t.Errorf("%d requests got no HTTP answer", load.transport)
	}
	inDB := load.checkCreates(t, db)
	if len(inDB) != len(load.created) {
		t.Errorf("%d rows in the database, %d creates answered 201", len(inDB), len(load.created))
	}
}

func (l *loadResult) createdSnapshot() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int64, len(l.created))
	for k, v := range l.created {
		out[k] = v
	}
	return out
}

// TestShutdownUnderLoad sends SIGTERM to a real api process under load:
// in-flight requests complete, no 5xx, new connections are refused, and
// it exits 0 within its shutdown timeout.
func TestShutdownUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "api")
	if out, err := exec.Command("go", "build", "-o", bin, "tasks/cmd/api").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd, base := startBinary(t, bin, "", []string{"-shutdown-timeout", "5s"},
		"DATABASE_URL="+cluster.Migrated(t), "SHUTDOWN_DELAY=500ms")

	stop := make(chan struct{})
	load := runLoad(t, base, 8, stop)
	time.Sleep(500 * time.Millisecond)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var exitErr error
	select {
	case exitErr = <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("api did not exit within 10s of SIGTERM")
	}
	took := time.Since(sent)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	if exitErr != nil {
		t.Fatalf("api exited with %v after SIGTERM; want 0", exitErr)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("a new connection was accepted after shutdown")
	}
	load.mu.Lock()
	defer load.mu.Unlock()
	t.Logf("exit after %s; statuses %v; refused or closed: %d", took.Round(time.Millisecond), load.statuses, load.transport)
	for status, n := range load.statuses {
		if status >= 500 {
			t.Errorf("%d answers with status %d during shutdown", n, status)
		}
	}
	if load.statuses[201] == 0 {
		t.Error("no request succeeded before the shutdown")
	}
}

// TestDatabaseStopsAnswering: with the database's connections stalled
// (packets neither delivered nor refused, as in a network partition or a
// stopped server), requests through api.Run are answered 503 within the
// request timeout, and the service recovers by itself when the database
// answers again.
func TestDatabaseStopsAnswering(t *testing.T) {
	u, err := url.Parse(cluster.Migrated(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := startStallProxy(t, u.Host)
	u.Host = proxy.addr
	const requestTimeout = time.Second
	base, _, _ := startRun(t, map[string]string{"DATABASE_URL": u.String(), "REQUEST_TIMEOUT": requestTimeout.String()})
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path, body string) (int, time.Duration) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, time.Since(start)
	}
	if status, _ := do("POST", "/tasks", `{"title":"before"}`); status != 201 {
		t.Fatalf("create before the stall: %d", status)
	}

	proxy.stall(true)
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/tasks/1", ""}, {"POST", "/tasks", `{"title":"during"}`}, {"GET", "/tasks", ""},
	} {
		status, took := do(r.method, r.path, r.body)
		t.Logf("stalled: %s %s: %d in %s", r.method, r.path, status, took.Round(time.Millisecond))
		if status != 503 {
			t.Errorf("%s %s with the database stalled: %d; want 503", r.method, r.path, status)
		}
		if took > requestTimeout+time.Second {
			t.Errorf("%s %s took %s; the request timeout is %s", r.method, r.path, took, requestTimeout)
		}
	}

	proxy.stall(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _ := do("GET", "/tasks/1", "")
		if status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /tasks/1 still %d 10s after the database answers again", status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stallProxy forwards TCP connections to target and can stall them all:
// while stalled, it accepts connections and reads what is sent but
// delivers nothing, in either direction, until it is unstalled.
type stallProxy struct {
	addr string

	mu      sync.Mutex
	stalled bool
	resume  *sync.Cond
}

func startStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	p := &stallProxy{}
	p.resume = sync.NewCond(&p.mu)
	p.addr = startProxy(t, target, p.relay, p.relay)
	// Registered after startProxy's, so run before it: relays held by the
	// stall let go before the proxy waits for them.
	t.Cleanup(func() { p.stall(false) })
	return p
}

func (p *stallProxy) stall(on bool) {
	p.mu.Lock()
	p.stalled = on
	p.mu.Unlock()
	p.resume.Broadcast()
}

// relay copies src to dst, holding each chunk while the proxy is stalled.
func (p *stallProxy) relay(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.stalled {
				p.resume.Wait()
			}
			p.mu.Unlock()
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
