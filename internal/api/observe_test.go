package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"tasks/internal/api"
)

// scrape fetches url and parses it as the Prometheus text format, as a
// Prometheus server would.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, res.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("GET %s: not the Prometheus text format: %v", url, err)
	}
	return fams
}

func labels(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

// value is the one sample of a family with a single series.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil || len(f.GetMetric()) != 1 {
		t.Fatalf("%s: want one series, got %v", name, f)
	}
	m := f.GetMetric()[0]
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	}
	t.Fatalf("%s is neither a gauge nor a counter", name)
	return 0
}

// TestMetricsUnderLoad sends 200 requests of every kind from 8 clients,
// then scrapes the separate metrics address and checks each series the
// service exports against what was sent.
func TestMetricsUnderLoad(t *testing.T) {
	addrs := startRunAdmin(t, map[string]string{
		"DATABASE_URL": cluster.Migrated(t), "METRICS_ADDR": "127.0.0.1:0",
		"DB_MAX_CONNS": "3", "ACCESS_LOG_LEVEL": "info",
	})
	base, metrics := "http://"+addrs["api"], "http://"+addrs["metrics"]+"/metrics"
	if addrs["metrics"] == "" {
		t.Fatalf("addresses: %v; want metrics", addrs)
	}

	type req struct{ method, path, body, key string }
	var ids []int64
	send := func(r req) int {
		hr, _ := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
		if r.body != "" {
			hr.Header.Set("Content-Type", "application/json")
		}
		if r.key != "" {
			hr.Header.Set("Idempotency-Key", r.key)
		}
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Error(err)
			return 0
		}
		defer res.Body.Close()
		if r.method == "POST" && res.StatusCode == 201 && r.key == "" {
			var b struct{ ID int64 }
			json.NewDecoder(res.Body).Decode(&b)
			ids = append(ids, b.ID) // only the first phase, one client
		}
		io.Copy(io.Discard, res.Body)
		return res.StatusCode
	}

	// First the tasks the reads need and the key's first use, in order.
	for i := range 40 {
		send(req{"POST", "/tasks", fmt.Sprintf(`{"title":"load %d"}`, i), ""})
	}
	send(req{"POST", "/tasks", `{"title":"once"}`, "load-key"})
	// Then the rest, shuffled, from 8 clients.
	var load []req
	add := func(n int, r func(i int) req) {
		for i := range n {
			load = append(load, r(i))
		}
	}
	add(9, func(int) req { return req{"POST", "/tasks", `{"title":"once"}`, "load-key"} }) // replays
	add(60, func(i int) req { return req{"GET", fmt.Sprintf("/tasks/%d", ids[i%len(ids)]), "", ""} })
	add(30, func(i int) req { return req{"GET", fmt.Sprintf("/tasks/%d", 1<<40+i), "", ""} }) // 404
	add(20, func(i int) req { return req{"GET", fmt.Sprintf("/nowhere/%d", i), "", ""} })     // 404 by "/"
	add(20, func(int) req { return req{"GET", "/tasks", "", ""} })
	add(10, func(int) req { return req{"DELETE", "/tasks", "", ""} }) // 405
	add(5, func(int) req { return req{"BREW", "/tasks/1", "", ""} })  // 405, an invented method
	add(5, func(int) req { return req{"GET", "/healthz", "", ""} })
	rand.Shuffle(len(load), func(i, j int) { load[i], load[j] = load[j], load[i] })
	if n := 41 + len(load); n != 200 {
		t.Fatalf("the load is %d requests; the counts below assume 200", n)
	}
	work := make(chan req)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[string]int{}
	for range 8 {
		wg.Go(func() {
			for r := range work {
				s := send(r)
				mu.Lock()
				statuses[fmt.Sprintf("%s %s %d", r.method, r.path, s)]++
				mu.Unlock()
			}
		})
	}
	for _, r := range load {
		work <- r
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	fams := scrape(t, metrics)
	got := map[string]float64{}
	for _, m := range fams["http_requests_total"].GetMetric() {
		l := labels(m)
		got[l["route"]+" | "+l["method"]+" | "+l["code"]] = m.GetCounter().GetValue()
	}
	want := map[string]float64{
		"POST /tasks | POST | 201":    50,
		"GET /tasks/{id} | GET | 200": 60,
		"GET /tasks/{id} | GET | 404": 30,
		"/ | GET | 404":               20,
		"GET /tasks | GET | 200":      20,
		"/tasks | DELETE | 405":       10,
		"/tasks/{id} | other | 405":   5,
		"GET /healthz | GET | 200":    5,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("http_requests_total (-want +got):\n%s", diff)
	}

	// The histogram counts every request of a route and method once, in
	// cumulative buckets.
	perRoute := map[string]float64{}
	for k, n := range want {
		route, rest, _ := strings.Cut(k, " | ")
		method, _, _ := strings.Cut(rest, " | ")
		perRoute[route+" | "+method] += n
	}
	gotRoute := map[string]float64{}
	for _, m := range fams["http_request_duration_seconds"].GetMetric() {
		l, h := labels(m), m.GetHistogram()
		gotRoute[l["route"]+" | "+l["method"]] = float64(h.GetSampleCount())
		if h.GetSampleSum() <= 0 || h.GetSampleSum() > float64(h.GetSampleCount())*10 {
			t.Errorf("duration %v: sum %g s over %d requests", l, h.GetSampleSum(), h.GetSampleCount())
		}
		prev := uint64(0)
		for _, b := range h.GetBucket() {
			if b.GetCumulativeCount() < prev || b.GetCumulativeCount() > h.GetSampleCount() {
				t.Errorf("duration %v: bucket le=%g counts %d after %d, of %d", l, b.GetUpperBound(), b.GetCumulativeCount(), prev, h.GetSampleCount())
			}
			prev = b.GetCumulativeCount()
		}
		if prev == 0 {
			t.Errorf("duration %v: no request in any bucket up to 10 s", l)
		}
	}
	if diff := cmp.Diff(perRoute, gotRoute); diff != "" {
		t.Errorf("http_request_duration_seconds counts (-want +got):\n%s", diff)
	}

	if v := value(t, fams, "http_requests_in_flight"); v != 0 {
		t.Errorf("http_requests_in_flight = %g after the load; want 0", v)
	}
	if v := value(t, fams, "http_idempotent_replays_total"); v != 9 {
		t.Errorf("http_idempotent_replays_total = %g; want 9", v)
	}
	if v := value(t, fams, "go_sql_max_open_connections"); v != 3 {
		t.Errorf("go_sql_max_open_connections = %g; want DB_MAX_CONNS, 3", v)
	}
	if v := value(t, fams, "go_sql_open_connections"); v < 1 || v > 3 {
		t.Errorf("go_sql_open_connections = %g; want 1 to 3", v)
	}
	if v := value(t, fams, "go_sql_in_use_connections"); v != 0 {
		t.Errorf("go_sql_in_use_connections = %g with no request in flight", v)
	}
	if open, idle := value(t, fams, "go_sql_open_connections"), value(t, fams, "go_sql_idle_connections"); idle != open {
		t.Errorf("go_sql_idle_connections = %g; want all %g open ones", idle, open)
	}
	// 8 clients on 3 connections may or may not have waited.
	if v := value(t, fams, "go_sql_wait_count_total"); v < 0 {
		t.Errorf("go_sql_wait_count_total = %g", v)
	}
	if v := value(t, fams, "go_sql_wait_duration_seconds_total"); v < 0 {
		t.Errorf("go_sql_wait_duration_seconds_total = %g", v)
	}
	for _, m := range fams["go_sql_open_connections"].GetMetric() {
		if l := labels(m); l["db_name"] != "tasks" {
			t.Errorf("pool metrics labelled %v; want db_name tasks", l)
		}
	}
	if v := value(t, fams, "go_build_info"); v != 1 {
		t.Errorf("go_build_info = %g; want 1", v)
	}
	if l := labels(fams["go_build_info"].GetMetric()[0]); l["path"] == "" || l["version"] == "" {
		t.Errorf("go_build_info labels %v; want path and version", l)
	}

	if s := get(t, base+"/metrics"); s != 404 {
		t.Errorf("GET /metrics on the API's address with METRICS_ADDR set: %d; want 404", s)
	}
}

// TestProfilingOnlyOnItsAddress: PPROF_ADDR serves net/http/pprof, and
// the API's own address never does.
func TestProfilingOnlyOnItsAddress(t *testing.T) {
	addrs := startRunAdmin(t, map[string]string{"DATABASE_URL": cluster.Migrated(t), "PPROF_ADDR": "127.0.0.1:0"})
	if addrs["profiling"] == "" {
		t.Fatalf("addresses: %v; want profiling", addrs)
	}
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/symbol"} {
		if s := get(t, "http://"+addrs["api"]+p); s != 404 {
			t.Errorf("GET %s on the API's address: %d; want 404", p, s)
		}
	}
	if s := get(t, "http://"+addrs["profiling"]+"/debug/pprof/"); s != 200 {
		t.Errorf("GET /debug/pprof/ on the profiling address: %d; want 200", s)
	}
}

// TestMetricsOnAPIAddress serves /metrics on the API's own handler: the
// scrape is itself a request in flight, and only registered patterns
// become route labels, whatever path a client sends.
func TestMetricsOnAPIAddress(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(api.NewServer(api.Config{Metrics: api.NewMetrics(e.db), PublicMetrics: true}))
	defer srv.Close()
	// The mux redirects unclean paths; the client must not follow.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/healthz", "/a//b/../c", "/tasks/%2e%2e/x", "/" + strings.Repeat("x", 300)} {
		res, err := client.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	res, err := http.Post(srv.URL+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 405 {
		t.Errorf("POST /metrics: %d; want 405", res.StatusCode)
	}
	fams := scrape(t, srv.URL+"/metrics")
	if v := value(t, fams, "http_requests_in_flight"); v != 1 {
		t.Errorf("http_requests_in_flight = %g during a scrape on the API's address; want 1, the scrape", v)
	}
	known := map[string]bool{"GET /healthz": true, "/": true, "/metrics": true, "other": true}
	var total float64
	for _, m := range fams["http_requests_total"].GetMetric() {
		total += m.GetCounter().GetValue()
		if r := labels(m)["route"]; !known[r] {
			t.Errorf("route label %q; want a registered pattern", r)
		}
	}
	if total != 5 {
		t.Errorf("http_requests_total sums to %g; want the 5 requests before the scrape", total)
	}
}

// logLines are the JSON records logged to b so far, decoded.
func logLines(t *testing.T, b *syncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %s: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestRequestID(t *testing.T) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	srv := httptest.NewServer(api.NewServer(api.Config{
		Log: log, AccessLog: slog.LevelInfo,
		Ready: func(ctx context.Context) error {
			return &api.NotReady{Reason: api.ReasonSchemaBehind, Err: errors.New("behind")}
		},
	}))
	defer srv.Close()

	send := func(path string, ids ...string) (echoed string, body map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for _, id := range ids {
			req.Header.Add("X-Request-Id", id)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		json.NewDecoder(res.Body).Decode(&body)
		return res.Header.Get("X-Request-Id"), body
	}
	generated := regexp.MustCompile(`^[0-9A-V]{8}-[0-9a-z]+$`)
	for _, tc := range []struct {
		name string
		sent []string
		keep bool
	}{
		{"honoured", []string{"req-1"}, true},
		{"uuid", []string{"3f2b8c1e-9d4a-4b7e-8f6a-2c1d0e9b7a5f"}, true},
		{"trace header", []string{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8"}, false},
		{"longest", []string{strings.Repeat("a", 128)}, true},
		{"too long", []string{strings.Repeat("a", 129)}, false},
		{"space", []string{"a b"}, false},
		{"quote", []string{`a"b`}, false},
		{"non-ASCII", []string{"réq"}, false},
		{"empty", []string{""}, false},
		{"two", []string{"a", "b"}, false},
		{"none", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, body := send("/nowhere", tc.sent...)
			switch {
			case tc.keep && id != tc.sent[0]:
				t.Errorf("X-Request-Id %q answered with %q; want it kept", tc.sent[0], id)
			case !tc.keep && !generated.MatchString(id):
				t.Errorf("X-Request-Id %q answered with %q; want a generated id", tc.sent, id)
			}
			if body["request_id"] != id {
				t.Errorf("problem body %v; want request_id %q", body, id)
			}
		})
	}

	a, _ := send("/nowhere")
	b, _ := send("/nowhere")
	if a == b {
		t.Errorf("two requests got the same generated id %q", a)
	}

	// A request that logs on its own: every line it writes names it, the
	// access-log line last.
	id, body := send("/readyz", "ready-check")
	if id != "ready-check" || body["request_id"] != "ready-check" || body["status"] != 503.0 {
		t.Fatalf("GET /readyz: id %q, body %v", id, body)
	}
	var mine []string
	for _, l := range logLines(t, logs) {
		if l["request_id"] == "ready-check" {
			mine = append(mine, l["msg"].(string))
		} else if l["path"] == "/readyz" || l["msg"] == "not ready" {
			t.Errorf("log line of GET /readyz without its request id: %v", l)
		}
	}
	if diff := cmp.Diff([]string{"not ready", "request"}, mine); diff != "" {
		t.Errorf("log lines of GET /readyz (-want +got):\n%s", diff)
	}
	lines := logLines(t, logs)
	access := lines[len(lines)-1]
	for k, v := range map[string]any{"level": "INFO", "method": "GET", "path": "/readyz", "status": 503.0} {
		if access[k] != v {
			t.Errorf("access log line %v: %s = %v; want %v", access, k, access[k], v)
		}
	}
	if d, ok := access["duration"].(float64); !ok || d <= 0 || d > float64(10*time.Second) {
		t.Errorf("access log line %v: duration %v", access, access["duration"])
	}
}

// TestAccessLogLevel writes the access line only at a level the logger
// keeps, and never when it is off.
func TestAccessLogLevel(t *testing.T) {
	for _, tc := range []struct {
		name   string
		access slog.Leveler
		lines  int
	}{
		{"info", slog.LevelInfo, 1},
		{"below the logger's level", slog.LevelDebug, 0},
		{"off", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuffer{}
			srv := httptest.NewServer(api.NewServer(api.Config{Log: slog.New(slog.NewJSONHandler(logs, nil)), AccessLog: tc.access}))
			defer srv.Close()
			if s := get(t, srv.URL+"/healthz"); s != 200 {
				t.Fatalf("healthz: %d", s)
			}
			if n := len(logLines(t, logs)); n != tc.lines {
				t.Errorf("%d log lines for one request; want %d", n, tc.lines)
			}
		})
	}
}
