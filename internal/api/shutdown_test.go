package api_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tasks/internal/api"
	"tasks/internal/store"
)

// TestShutdownCutsNoRequest: 100 keep-alive clients send creates without
// pause and, unlike a load balancer, come straight back when told
// Connection: close. Run's context is cancelled (as SIGTERM does) while
// they do. Every request a client managed to send is answered; the only
// failures allowed are connections refused once the server stopped
// listening, which carried no request, and a request sent on a
// keep-alive connection the server had left idle for the whole
// lame-duck period and closes at shutdown: no server can tell such a
// client in time (RFC 9112 §9.6: it retries an idempotent or keyed
// request). On a machine loaded by the rest of the suite, requests on
// fresh connections were cut until Run waited for the connections it
// took in last (TestRequestOfConnectionAcceptedBeforeShutdownIsAnswered).
func TestShutdownCutsNoRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("100 clients")
	}
	// A plain TCP socket, as api.Run binds one (see PlainListen).
	ln, err := api.PlainListen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base, stop, done := startRunOn(t, ln, map[string]string{"DATABASE_URL": cluster.Migrated(t), "SHUTDOWN_DELAY": "1s", "DB_MAX_CONNS": "16"})
	if get(t, base+"/readyz") != 200 {
		t.Fatal("not ready")
	}
	const clients = 100
	var (
		answered, refused, cut atomic.Int64
		idleClosed             atomic.Int64
		stopAt                 atomic.Int64 // UnixNano
		mu                     sync.Mutex
		cutErrs                []string
		wg                     sync.WaitGroup
		running                = make(chan struct{})
		runningOnce            sync.Once
	)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
			for n := 0; ; n++ {
				// How the request got its connection, for the report of a
				// cut one: a fresh connection or a reused idle one.
				var (
					conn httptrace.GotConnInfo
					got  time.Time
				)
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(),
					&httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { conn, got = i, time.Now() }}),
					http.MethodPost, base+"/tasks", strings.NewReader(fmt.Sprintf(`{"title":"c%d-%d"}`, i, n)))
				req.Header.Set("Content-Type", "application/json")
				sent := time.Now()
				res, err := client.Do(req)
				if err != nil {
					var op *net.OpError
					if errors.As(err, &op) && op.Op == "dial" {
						refused.Add(1) // refused or reset while connecting: nothing was sent
						return
					}
					if conn.Reused && conn.WasIdle && conn.IdleTime > got.Sub(time.Unix(0, stopAt.Load())) {
						idleClosed.Add(1) // idle since before the stop: the protocol's race
						continue
					}
					cut.Add(1)
					mu.Lock()
					cutErrs = append(cutErrs, fmt.Sprintf("%v (on a connection reused %v, idle %v; sent %v after the stop)",
						err, conn.Reused, conn.IdleTime.Round(time.Millisecond), sent.Sub(time.Unix(0, stopAt.Load())).Round(time.Millisecond)))
					mu.Unlock()
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				answered.Add(1)
				if n == 3 {
					runningOnce.Do(func() { close(running) })
				}
			}
		}()
	}
	<-running
	time.Sleep(300 * time.Millisecond)
	stopAt.Store(time.Now().UnixNano())
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	wg.Wait()
	t.Logf("%d clients: %d answers, %d refused after the listener closed, %d on connections idle through the drain, %d cut",
		clients, answered.Load(), refused.Load(), idleClosed.Load(), cut.Load())
	if cut.Load() != 0 {
		if len(cutErrs) > 5 {
			cutErrs = cutErrs[:5]
		}
		t.Errorf("%d requests were cut: %s", cut.Load(), strings.Join(cutErrs, "; "))
	}
}

// TestAnswerStartedBeforeDrainSaysClose: a request that came in before
// the lame-duck period and is answered during it says Connection: close
// too; net/http closes the connection after it once shutdown begins, and
// a client told keep-alive would send its next request into that close.
func TestAnswerStartedBeforeDrainSaysClose(t *testing.T) {
	dbURL := cluster.Migrated(t)
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var draining atomic.Bool
	srv := httptest.NewServer(api.NewServer(api.Config{Tasks: store.New(db), Draining: draining.Load}))
	defer srv.Close()
	var id int64
	if err := db.QueryRow(`INSERT INTO tasks (title) VALUES ('locked') RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	lock, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.Exec(`SELECT FROM tasks WHERE id = $1 FOR UPDATE`, id); err != nil {
		t.Fatal(err)
	}
	answered := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest("PATCH", fmt.Sprintf("%s/tasks/%d", srv.URL, id), strings.NewReader(`{"done":true}`))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			answered <- nil
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		answered <- res
	}()
	time.Sleep(300 * time.Millisecond) // the PATCH waits for the lock
	draining.Store(true)
	lock.Rollback()
	if res := <-answered; res != nil && (res.StatusCode != 200 || !res.Close) {
		t.Errorf("answer begun before the drain: %d, Connection: close %v", res.StatusCode, res.Close)
	}
}

// TestRequestOfConnectionAcceptedBeforeShutdownIsAnswered: a client that
// connected before the shutdown and sends its request late in the drain
// is answered (with Connection: close). net/http drops a request whose
// headers it finishes reading once Shutdown has begun, closing the
// connection without a word; so Run waits for the connections it took
// in last to send theirs before it shuts the server down. Under load,
// the clients that reconnect last in the lame-duck period are exactly
// these: TestShutdownCutsNoRequest cut 1 to 14 of their requests.
func TestRequestOfConnectionAcceptedBeforeShutdownIsAnswered(t *testing.T) {
	ln, err := api.PlainListen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base, stop, done := startRunOn(t, ln, map[string]string{"DATABASE_URL": cluster.Migrated(t), "SHUTDOWN_DELAY": "200ms"})
	if get(t, base+"/readyz") != 200 {
		t.Fatal("not ready")
	}
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stop()
	// Past the lame-duck period and the drain of the accept queue: the
	// server shuts down now, but for this connection.
	time.Sleep(400 * time.Millisecond)
	body := `{"title":"late"}`
	fmt.Fprintf(conn, "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request sent on a connection accepted before the shutdown got no answer: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || !res.Close {
		t.Errorf("answer: %d, Connection: close %v; want 201 and close", res.StatusCode, res.Close)
	}
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
