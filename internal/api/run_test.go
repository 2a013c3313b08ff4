package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tasks/internal/api"
	"tasks/internal/migrate"
	"tasks/internal/pgtemp"
	"tasks/migrations"
)

// startRun runs the real server through api.Run and returns its base URL,
// a way to stop it, and a channel with Run's result.
func startRun(t *testing.T, env map[string]string) (base string, stop context.CancelFunc, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startRunOn(t, ln, env)
}

// startRunOn is startRun on a listener the test bound.
func startRunOn(t *testing.T, ln net.Listener, env map[string]string) (base string, stop context.CancelFunc, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	if _, ok := env["SHUTDOWN_DELAY"]; !ok {
		env["SHUTDOWN_DELAY"] = "100ms" // the lame-duck period has its own test
	}
	go func() {
		err := api.RunOn(ctx, ln, func(k string) string { return env[k] }, io.Discard, io.Discard)
		ln.Close() // when Run failed before serving
		result <- err
		close(result) // later receivers (the cleanup) see it has returned
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-result:
		case <-time.After(20 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	// The socket is bound: requests wait in its queue until Run serves.
	return "http://" + ln.Addr().String(), cancel, result
}

// startRunAdmin is startRun with the metrics and profiling servers on
// loopback addresses of their own. It returns the three base addresses
// ("api", "metrics", "profiling") once the admin servers listen.
func startRunAdmin(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	addrs := map[string]string{}
	for name, key := range map[string]string{"metrics": "METRICS_ADDR", "profiling": "PPROF_ADDR"} {
		if _, ok := env[key]; ok {
			addrs[name] = freeAddr(t)
			env[key] = addrs[name]
		}
	}
	base, _, _ := startRun(t, env)
	for name, a := range addrs {
		waitListening(t, name, a)
	}
	addrs["api"] = strings.TrimPrefix(base, "http://")
	return addrs
}

// waitListening waits until something accepts connections on addr.
func waitListening(t *testing.T, name, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %s address %s never listened: %v", name, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddr is a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url string) int {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestRunServesAndShutsDown(t *testing.T) {
	base, stop, done := startRun(t, map[string]string{"DATABASE_URL": cluster.Migrated(t)})
	if s := get(t, base+"/readyz"); s != 200 {
		t.Fatalf("readyz = %d", s)
	}
	res, err := http.Post(base+"/tasks", "application/json", strings.NewReader(`{"title":"via run"}`))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("create through Run: %v %v", res, err)
	}
	res.Body.Close()
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
}

// TestStartWithoutDatabase starts the API before its database exists: it
// must serve, report not ready, fail requests fast with 503, and become
// ready by itself once the database appears.
func TestStartWithoutDatabase(t *testing.T) {
	if cluster.Server() == nil {
		t.Skip("needs the throwaway server's binaries (TEST_DATABASE_URL is set)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dbURL := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/tasks?sslmode=disable", port)
	base, _, _ := startRun(t, map[string]string{"DATABASE_URL": dbURL})

	if s := get(t, base+"/healthz"); s != 200 {
		t.Fatalf("healthz without a database = %d; the process is alive", s)
	}
	if s := get(t, base+"/readyz"); s != 503 {
		t.Fatalf("readyz without a database = %d; want 503", s)
	}
	start := time.Now()
	if s := get(t, base+"/tasks"); s != 503 {
		t.Fatalf("GET /tasks without a database = %d; want 503", s)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Fatalf("a request without a database took %s; it must fail fast", d)
	}

	// The database appears: same port, schema migrated.
	srv, err := pgtemp.Start(context.Background(), pgtemp.WithPort(port))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	u, err := srv.CreateDatabase(context.Background(), "tasks")
	if err != nil {
		t.Fatal(err)
	}
	if s := get(t, base+"/readyz"); s != 503 {
		t.Fatalf("readyz with an unmigrated database = %d; want 503", s)
	}
	db, _ := sql.Open("postgres", u)
	defer db.Close()
	dir, _ := migrate.OpenDir(migrations.FS)
	if _, err := migrate.Apply(context.Background(), db, dir, 0, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for get(t, base+"/readyz") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("never became ready after the database appeared")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s := get(t, base+"/tasks"); s != 200 {
		t.Fatalf("GET /tasks once ready = %d", s)
	}
}
