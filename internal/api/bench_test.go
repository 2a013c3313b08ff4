package api_test

import (
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"tasks/internal/api"
	"tasks/internal/dbtest"
	"tasks/internal/store"
)

// BenchmarkHandlers runs each hot request through the real server and
// store on a real database, without the network, so that -benchmem shows
// what a request allocates in the handlers, the store and the driver:
//
//	go test -run '^$' -bench Handlers -benchmem ./internal/api
func BenchmarkHandlers(b *testing.B) {
	u, err := neturl.Parse(dbtest.Require(b, cluster).Migrated(b))
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("binary_parameters", "yes") // as api.Run sets it
	u.RawQuery = q.Encode()
	// Opened as api.Run opens it: statements bounded by their
	// connection's deadline, not a cancelable context.
	conn, err := pq.NewConnector(u.String())
	if err != nil {
		b.Fatal(err)
	}
	db := sql.OpenDB(store.Connector(conn))
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO tasks (title) SELECT 'seed ' || i FROM generate_series(1, 1000) i`); err != nil {
		b.Fatal(err)
	}
	tasks := store.New(db, store.WithLimits(8, 5*time.Second))
	// Bare: request ids only; observed: metrics and an access log line
	// formatted as api.Run writes it (to nowhere), to read their cost.
	bare := api.NewServer(api.Config{Tasks: tasks})
	observed := api.NewServer(api.Config{Tasks: tasks, Metrics: api.NewMetrics(db), AccessLog: slog.LevelInfo,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, bc := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"get", "GET", "/tasks/7", "", 200},
		{"list", "GET", "/tasks", "", 200},
		{"create", "POST", "/tasks", `{"title":"bench"}`, 201},
		{"patch", "PATCH", "/tasks/7", `{"done":true}`, 200},
	} {
		for _, sv := range []struct {
			name string
			srv  http.Handler
		}{{"bare", bare}, {"observed", observed}} {
			b.Run(bc.name+"/"+sv.name, func(b *testing.B) {
				benchRequest(b, sv.srv, bc.method, bc.path, bc.body, bc.status)
			})
		}
	}
}

func benchRequest(b *testing.B, srv http.Handler, method, path, body string, status int) {
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(method, path, nil)
		if body != "" {
			req = httptest.NewRequest(method, path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != status {
			b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
	}
}

// BenchmarkObserve is what the observability adds to a request, without
// the database and the network whose cost would hide it: GET /healthz
// with request ids only, with metrics, and with metrics and an access-log
// line written as api.Run writes it (text, buffered, to a file).
//
//	go test -run '^$' -bench Observe -benchmem ./internal/api
func BenchmarkObserve(b *testing.B) {
	f, err := os.CreateTemp(b.TempDir(), "access.log")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	out := api.NewLogWriter(f)
	defer out.Close()
	log := slog.New(slog.NewTextHandler(out, nil))
	for _, bc := range []struct {
		name string
		c    api.Config
	}{
		{"ids", api.Config{Log: log}},
		{"metrics", api.Config{Log: log, Metrics: api.NewMetrics(&sql.DB{})}},
		{"metrics+access", api.Config{Log: log, Metrics: api.NewMetrics(&sql.DB{}), AccessLog: slog.LevelInfo}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchRequest(b, api.NewServer(bc.c), "GET", "/healthz", "", 200)
		})
	}
}
