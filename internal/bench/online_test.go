package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRequestFailed(t *testing.T) {
	for status, want := range map[int]bool{0: true, 200: false, 201: false, 204: false, 304: false,
		400: true, 404: false, 409: true, 412: false, 422: true, 500: true, 503: true} {
		if got := (request{status: status}).failed(); got != want {
			t.Errorf("status %d: failed = %v, want %v", status, got, want)
		}
	}
}

// The figures count only the requests that started while the apply
// ran, and say how many failed outside it.
func TestWindowStats(t *testing.T) {
	ms := time.Millisecond
	w := &window{applyStart: 100 * ms, applyEnd: 300 * ms}
	w.reqs = []request{
		{at: 50 * ms, latency: 9 * time.Second, status: 503}, // before: not in the figures
		{at: 100 * ms, latency: 2 * ms, status: 200},
		{at: 150 * ms, latency: 2500 * ms, status: 503},
		{at: 200 * ms, latency: 40 * ms, status: 404},
		{at: 300 * ms, latency: 1 * ms, status: 0},
		{at: 301 * ms, latency: 1 * ms, status: 500}, // after
	}
	for i := range 96 {
		w.reqs = append(w.reqs, request{at: 200*ms + time.Duration(i)*ms, latency: 3 * ms, status: 200})
	}
	got := w.stats()
	want := applyStats{requests: 100, failed: 2, p99: 40 * ms, max: 2500 * ms, failedOutside: 2}
	if got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
}

func TestBinWindow(t *testing.T) {
	ms := time.Millisecond
	w := &window{end: 250 * ms, reqs: []request{
		{at: 0, latency: 5 * ms, status: 200},
		{at: 50 * ms, latency: 7 * ms, status: 200},
		{at: 99 * ms, latency: 1 * ms, status: 503},
		{at: 240 * ms, latency: 3 * ms, status: 200},
		{at: 260 * ms, latency: 3 * ms, status: 200}, // past the end: last bin
	}}
	got := binWindow(w)
	want := []timeBin{
		{n: 3, failed: 1, p50: 5 * ms, max: 7 * ms},
		{},
		{n: 2, p50: 3 * ms, max: 3 * ms},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(timeBin{})); diff != "" {
		t.Errorf("bins (-want +got):\n%s", diff)
	}
}

// The chart is well-formed SVG with a panel for every change and plan,
// a red bar for each bin with failures, and the panels of a change that
// a plan did not run marked so.
func TestWriteChart(t *testing.T) {
	ms := time.Millisecond
	idx, chk := schemaChanges()[0], schemaChanges()[4]
	mk := func(c change, plan string, failAt ...time.Duration) *window {
		w := &window{change: c, plan: plan, applyStart: 500 * ms, applyEnd: 1500 * ms,
			holdStart: 490 * ms, holdEnd: 3490 * ms, end: 4 * time.Second}
		for at := time.Duration(0); at < 4*time.Second; at += 10 * ms {
			w.reqs = append(w.reqs, request{at: at, latency: 2 * ms, status: 200})
		}
		for _, at := range failAt {
			w.reqs = append(w.reqs, request{at: at, latency: 2500 * ms, status: 503})
		}
		return w
	}
	windows := []*window{
		mk(idx, "plain", 600*ms, 610*ms, 2*time.Second),
		mk(idx, "online"),
		mk(chk, "plain"),
	}
	var b bytes.Buffer
	writeChart(&b, windows, []string{"plain", "online"}, "test <run>")
	svg := b.String()

	d := xml.NewDecoder(strings.NewReader(svg))
	elems := map[string]int{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok {
			elems[se.Name.Local]++
		}
	}
	if elems["svg"] != 1 {
		t.Errorf("%d svg elements, want 1", elems["svg"])
	}
	// Two lines (median, slowest) per panel that ran: three panels.
	if elems["path"] != 6 {
		t.Errorf("%d paths, want 6 (two per panel run)", elems["path"])
	}
	// Failures in two bins (600 and 610 ms share one).
	if n := strings.Count(svg, `fill="#d62728"><title>`); n != 2 {
		t.Errorf("%d failure bars, want 2", n)
	}
	if !strings.Contains(svg, "<title>2 failed</title>") || !strings.Contains(svg, "full strip: 2 per 100 ms") {
		t.Errorf("the failures strip is not scaled to the busiest bin (2):\n%s", svg)
	}
	if strings.Count(svg, "not run") != 1 {
		t.Errorf("the check's online panel is not marked as not run")
	}
	if !strings.Contains(svg, "test &lt;run&gt;") {
		t.Errorf("the subtitle is not escaped")
	}
	for _, s := range []string{"index", "check constraint", "plain plan", "online plan", "· 2 failed ·"} {
		if !strings.Contains(svg, s) {
			t.Errorf("chart lacks %q", s)
		}
	}
}

// Every request the mixed load sends is valid HTTP/1.1 that the API's
// handlers accept, and no two creates share a title.
func TestAppendMixedRequest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	titles := map[string]bool{}
	ops := map[byte]int{}
	var b []byte
	for client := range 3 {
		for seq := range 400 {
			var op byte
			b, op = appendMixedRequest(b[:0], "127.0.0.1:1", rng, 50, "w1", client, seq)
			ops[op]++
			r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
			if err != nil {
				t.Fatalf("%q: %v", b, err)
			}
			body, _ := io.ReadAll(r.Body)
			switch op {
			case opGet, opPatch:
				id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/tasks/"))
				if err != nil || id < 1 || id > 50 {
					t.Fatalf("%s %s: id out of [1, 50]", r.Method, r.URL.Path)
				}
			case opCreate:
				var v struct{ Title string }
				if err := json.Unmarshal(body, &v); err != nil || v.Title == "" {
					t.Fatalf("create body %q: %v", body, err)
				}
				if titles[v.Title] {
					t.Fatalf("title %q sent twice", v.Title)
				}
				titles[v.Title] = true
			}
			if op == opPatch || op == opCreate {
				if r.Header.Get("Content-Type") != "application/json" || int(r.ContentLength) != len(body) {
					t.Fatalf("%q: bad framing", b)
				}
			}
		}
	}
	for _, op := range []byte{opGet, opList, opPatch, opCreate} {
		if ops[op] == 0 {
			t.Errorf("op %c never sent", op)
		}
	}
}

func TestParseMigrateFlagsErrors(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "x")
	os.WriteFile(bin, nil, 0o755)
	base := []string{"-api", bin, "-migrate", bin}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-changes", "index,drop"}, `unknown change "drop"`},
		{[]string{"-plans", "fast"}, `unknown plan "fast"`},
		{[]string{"-rows", "10"}, "-rows must be at least 1000"},
		{[]string{"-port", "-1"}, "-port must be"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-api", filepath.Join(dir, "none")}, "run 'make build' first"},
	} {
		_, err := parseMigrateFlags(append(append([]string{}, base...), tc.args...), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one saying %q", tc.args, err, tc.want)
		}
	}
	o, err := parseMigrateFlags(append(base, "-changes", "check,index"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.changes[0].name != "check" || o.changes[1].name != "index" || o.rows != 1_000_000 || o.clients != 16 {
		t.Errorf("options %+v", o)
	}
}

// TestMigrateBenchSmall runs the whole benchmark on a small table, two
// changes, both plans: opt-in (BENCH_MIGRATE_TEST=1), since it builds the
// binaries and takes about a minute.
func TestMigrateBenchSmall(t *testing.T) {
	if os.Getenv("BENCH_MIGRATE_TEST") == "" {
		t.Skip("set BENCH_MIGRATE_TEST=1 to run the migrations benchmark on a small table")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "tasks/cmd/api", "tasks/cmd/migrate")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	chart := filepath.Join(dir, "chart.svg")
	var out, errs bytes.Buffer
	// The transaction stays open 1.5 s: past the online plan's 500 ms
	// lock_timeout, short of the API's 2.5 s.
	err := runMigrations(context.Background(), []string{
		"-api", filepath.Join(dir, "api"), "-migrate", filepath.Join(dir, "migrate"),
		"-rows", "5000", "-changes", "not_null,check", "-hold", "1500ms",
		"-before", "300ms", "-after", "300ms", "-chart", chart,
	}, &out, &errs)
	if err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	table := out.String()
	// Each row's fields: "", change, plan, files, apply, lock retries,
	// requests, failed, …
	rows := map[string][]string{}
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Split(line, "|"); len(f) > 8 {
			for i := range f {
				f[i] = strings.TrimSpace(f[i])
			}
			rows[f[1]+"/"+f[2]] = f
		}
	}
	num := func(row []string, i int) float64 {
		v, err := strconv.ParseFloat(strings.TrimSuffix(row[i], " s"), 64)
		if err != nil {
			t.Fatalf("field %d of %q: %v", i, row, err)
		}
		return v
	}
	plain, online := rows["NOT NULL column with a default/plain"], rows["NOT NULL column with a default/online"]
	if plain == nil || online == nil || rows["check constraint/online"] == nil {
		t.Fatalf("table lacks rows:\n%s", table)
	}
	// The plain plan's ALTER waits for the open transaction, which
	// started before it: the apply cannot end sooner.
	if secs := num(plain, 4); secs < 1.3 {
		t.Errorf("plain apply took %.2f s, less than the open transaction's 1.5 s:\n%s", secs, table)
	}
	// The online plan's ALTER gives up after 500 ms behind it, apply
	// tries again, and no request fails.
	if num(online, 5) < 1 || num(online, 7) != 0 {
		t.Errorf("online plan: want at least one lock retry and no failed request:\n%s", table)
	}
	if !strings.Contains(table, `ADD COLUMN "priority" integer NOT NULL DEFAULT 0`) {
		t.Errorf("the plans printed lack the change:\n%s", table)
	}
	svg, err := os.ReadFile(chart)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(svg, new(struct{})); err != nil {
		t.Errorf("chart: %v", err)
	}
}

// The table puts each change's plans on adjacent rows, in the order the
// plans ran.
func TestPrintMigrateTableOrder(t *testing.T) {
	idx, chk := schemaChanges()[0], schemaChanges()[4]
	var ws []*window
	for _, plan := range []string{"plain", "online"} {
		for _, c := range []change{idx, chk} {
			ws = append(ws, &window{change: c, plan: plan})
		}
	}
	var b bytes.Buffer
	printMigrateTable(&b, ws)
	var rows []string
	for _, l := range strings.Split(b.String(), "\n") {
		if f := strings.Split(l, " | "); len(f) > 2 && !strings.HasPrefix(l, "| change") {
			rows = append(rows, strings.TrimPrefix(f[0], "| ")+"/"+f[1])
		}
	}
	want := []string{"index/plain", "index/online", "check constraint/plain", "check constraint/online"}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}
