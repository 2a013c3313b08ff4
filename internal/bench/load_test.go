package bench

import (
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The load generator's client must read every framing net/http's server
// writes, or it would count requests it never saw answered.
func TestHTTPClientReadsEveryFraming(t *testing.T) {
	var (
		mu  sync.Mutex
		got []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+string(body))
		mu.Unlock()
		switch r.URL.Path {
		case "/tasks": // chunked: written in two flushed parts
			w.Write([]byte(strings.Repeat("x", 3000)))
			w.(http.Flusher).Flush()
			w.Write([]byte("end"))
		case "/tasks/2":
			w.WriteHeader(http.StatusNoContent)
		case "/tasks/1":
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusNotFound)
		default:
			w.Header().Set("Content-Length", "5")
			w.Write([]byte("hello"))
		}
	}))
	defer srv.Close()

	host := strings.TrimPrefix(srv.URL, "http://")
	c := &httpClient{host: host, deadline: time.Now().Add(10 * time.Second)}
	defer c.close()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		op     string
		status int
	}{{"list", 200}, {"create", 200}, {"patch", 200}, {"list", 200}, {"get", 200}} {
		status, err := c.do(appendRequest(nil, host, tc.op, rng))
		if err != nil || status != tc.status {
			t.Fatalf("%s: status %d, err %v; want %d", tc.op, status, err, tc.status)
		}
	}
	first := c.conn
	if first == nil {
		t.Fatal("the connection was not kept alive")
	}
	// A response without a body keeps the connection.
	req := []byte("DELETE /tasks/2 HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
	if status, err := c.do(req); err != nil || status != 204 || c.conn != first {
		t.Fatalf("status %d, err %v, same connection %v; want 204 on the same one", status, err, c.conn == first)
	}
	// A response that closes the connection: the next request dials anew.
	req = []byte("GET /tasks/1 HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
	if status, err := c.do(req); err != nil || status != 404 {
		t.Fatalf("status %d, err %v; want 404", status, err)
	}
	if c.conn != nil {
		t.Fatal("connection kept after Connection: close")
	}
	if status, err := c.do(appendRequest(nil, host, "list", rng)); err != nil || status != 200 {
		t.Fatalf("after close: status %d, err %v", status, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 8 || got[1] != `POST /tasks {"title":"bench"}` || !strings.HasPrefix(got[2], "PATCH /tasks/") {
		t.Fatalf("server saw %q", got)
	}
	if _, err := strconv.Atoi(strings.Fields(got[4])[1][len("/tasks/"):]); err != nil {
		t.Fatalf("get's path %q: %v", got[4], err)
	}
}
