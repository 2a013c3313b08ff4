package api_test

import (
	"database/sql"
	"net/http/httptest"
	neturl "net/url"
	"strings"
	"testing"

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
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO tasks (title) SELECT 'seed ' || i FROM generate_series(1, 1000) i`); err != nil {
		b.Fatal(err)
	}
	srv := api.NewServer(api.Config{Tasks: store.New(db)})
	for _, bc := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"get", "GET", "/tasks/7", "", 200},
		{"list", "GET", "/tasks", "", 200},
		{"create", "POST", "/tasks", `{"title":"bench"}`, 201},
		{"patch", "PATCH", "/tasks/7", `{"done":true}`, 200},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(bc.method, bc.path, nil)
				if bc.body != "" {
					req = httptest.NewRequest(bc.method, bc.path, strings.NewReader(bc.body))
					req.Header.Set("Content-Type", "application/json")
				}
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != bc.status {
					b.Fatalf("%s: %d %s", bc.name, rec.Code, rec.Body)
				}
			}
		})
	}
}
