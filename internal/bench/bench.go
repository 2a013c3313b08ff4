// Package bench measures the API against the database it fronts: it
// starts a throwaway PostgreSQL and the real api binary, drives the API
// over loopback with a bounded load generator, runs pgbench with the very
// statements the API sends over as many connections, and prints one table.
// It also measures what the updated_at trigger costs an UPDATE.
package bench

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/lib/pq" // database/sql driver

	"tasks/internal/devdb"
	"tasks/internal/pgtemp"
	"tasks/internal/store"
)

// pgbenchScripts are the store's own statements with pgbench variables for
// their parameters (-M extended sends them as parameters, as lib/pq does
// with binary_parameters): random ids over the seeded rows, a random done.
func pgbenchScripts() map[string]string {
	st := store.Statements()
	params := func(q string, vals ...string) string {
		for i := len(vals); i >= 1; i-- {
			q = strings.ReplaceAll(q, "$"+strconv.Itoa(i), vals[i-1])
		}
		return q + ";"
	}
	return map[string]string{
		"create": params(st["create"], ":title", ":done"),
		"get":    "\\set id random(1, :rows)\n" + params(st["get"], ":id"),
		"patch":  "\\set id random(1, :rows)\n\\set d random(0, 1)\n" + params(st["patch"], "(:d = 1)", ":id"),
		// GET /tasks: no cursor, no filter, a page of 20 plus one.
		"list": params(st["list"], "0", "NULL", "21"),
	}
}

const seedRows = 10000

// Run is the bench command.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	apiBin := fs.String("api", "bin/api", "the api binary to measure")
	dur := fs.Duration("duration", 5*time.Second, "how long each measurement runs")
	clientList := fs.String("clients", "1,16,64", "concurrent clients to measure at")
	ops := fs.String("ops", "create,get,patch,list", "operations to measure")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var clients []int
	for _, s := range strings.Split(*clientList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 256 {
			return fmt.Errorf("bench: bad client count %q", s)
		}
		clients = append(clients, n)
	}
	bin, err := pgtemp.BinDir()
	if err != nil {
		return err
	}
	pgbench := filepath.Join(bin, "pgbench")
	if _, err := os.Stat(pgbench); err != nil {
		if pgbench, err = exec.LookPath("pgbench"); err != nil {
			return errors.New("bench: pgbench not found (Debian: apt-get install postgresql-contrib or postgresql)")
		}
	}

	fmt.Fprintln(stderr, "bench: starting a throwaway PostgreSQL and the API")
	srv, dbURL, err := devdb.Start(ctx, io.Discard, pgtemp.WithSetting("max_connections", "300"))
	if err != nil {
		return err
	}
	defer srv.Stop()
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `INSERT INTO tasks (title) SELECT 'seed ' || i FROM generate_series(1, $1) i; VACUUM ANALYZE tasks`, seedRows); err != nil {
		// VACUUM cannot run in the implicit transaction of a multi-statement call.
		if _, err := db.ExecContext(ctx, `INSERT INTO tasks (title) SELECT 'seed ' || i FROM generate_series(1, $1) i`, seedRows); err != nil {
			return err
		}
		db.ExecContext(ctx, `VACUUM ANALYZE tasks`)
	}

	maxClients := slices.Max(clients)
	api, err := startAPI(ctx, *apiBin, dbURL, maxClients)
	if err != nil {
		return err
	}
	defer api.stop()

	scriptDir, err := os.MkdirTemp("", "bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scriptDir)

	fmt.Fprintln(stdout, "| operation | clients | API req/s | pgbench tps | ratio | API p50 | API p99 | API peak RSS |")
	fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, op := range strings.Split(*ops, ",") {
		script, ok := pgbenchScripts()[op]
		if !ok {
			return fmt.Errorf("bench: unknown operation %q", op)
		}
		sf := filepath.Join(scriptDir, op+".sql")
		if err := os.WriteFile(sf, []byte(script+"\n"), 0o644); err != nil {
			return err
		}
		for _, n := range clients {
			fmt.Fprintf(stderr, "bench: %s at %d clients\n", op, n)
			lr := load(ctx, api.base, op, n, *dur)
			tps, err := runPgbench(ctx, pgbench, dbURL, sf, n, *dur)
			if err != nil {
				return err
			}
			rss := api.peakRSS()
			fmt.Fprintf(stdout, "| %s | %d | %.0f | %.0f | %.2f | %s | %s | %.1f MiB |\n",
				op, n, lr.rate, tps, lr.rate/tps, ms(lr.p50), ms(lr.p99), float64(rss)/(1<<20))
			if lr.errors > 0 {
				fmt.Fprintf(stdout, "|   (%d of %d API requests failed) | | | | | | | |\n", lr.errors, lr.requests)
			}
		}
	}

	// The trigger's own cost: UPDATEs that change the row, with and
	// without it, over 16 connections. Rounds alternate and each starts
	// from a vacuumed table, so neither side inherits the other's dead
	// rows; the median of three ratios is reported.
	tf := filepath.Join(scriptDir, "update.sql")
	os.WriteFile(tf, []byte("\\set id random(1, :rows)\nUPDATE \"tasks\" SET \"done\" = NOT \"done\" WHERE \"id\" = :id;\n"), 0o644)
	var ratios []float64
	var withs, withouts []float64
	for range 3 {
		var tps [2]float64
		for i, enable := range []string{"ENABLE", "DISABLE"} {
			if _, err := db.ExecContext(ctx, `ALTER TABLE tasks `+enable+` TRIGGER tasks_set_updated_at`); err != nil {
				return err
			}
			db.ExecContext(ctx, `VACUUM tasks`)
			if tps[i], err = runPgbench(ctx, pgbench, dbURL, tf, 16, *dur); err != nil {
				return err
			}
		}
		withs, withouts = append(withs, tps[0]), append(withouts, tps[1])
		ratios = append(ratios, tps[0]/tps[1])
	}
	db.ExecContext(ctx, `ALTER TABLE tasks ENABLE TRIGGER tasks_set_updated_at`)
	slices.Sort(ratios)
	fmt.Fprintf(stdout, "\ntrigger cost: pgbench UPDATE at 16 clients, 3 alternating rounds: with the trigger %s tps, without %s tps; median ratio %.3f\n",
		join(withs), join(withouts), ratios[1])
	return nil
}

func join(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, "/")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

type apiProc struct {
	cmd  *exec.Cmd
	base string
}

func startAPI(ctx context.Context, bin, dbURL string, conns int) (*apiProc, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "ADDR="+addr, "LOG_LEVEL=warn", "DB_MAX_CONNS="+strconv.Itoa(conns))
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %s: %w (run 'make build' first)", bin, err)
	}
	go io.Copy(os.Stderr, bufio.NewReader(stderr))
	p := &apiProc{cmd: cmd, base: "http://" + addr}
	for i := 0; i < 200; i++ {
		if r, err := http.Get(p.base + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return p, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	return nil, errors.New("bench: the API did not become ready")
}

func (p *apiProc) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
	}
}

// peakRSS is the API process's high-water resident set (VmHWM), bytes.
func (p *apiProc) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}

type loadResult struct {
	requests, errors int
	rate             float64
	p50, p99         time.Duration
}

// load runs op from n clients for d over keep-alive connections.
func load(ctx context.Context, base, op string, n int, d time.Duration) loadResult {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var (
		mu    sync.Mutex
		lats  []time.Duration
		errs  int
		wg    sync.WaitGroup
		start = time.Now()
		end   = start.Add(d)
	)
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			local := make([]time.Duration, 0, 4096)
			bad := 0
			for time.Now().Before(end) && ctx.Err() == nil {
				req := request(base, op, rng)
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					bad++
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				local = append(local, time.Since(t0))
				if res.StatusCode >= 300 {
					bad++
				}
			}
			mu.Lock()
			lats = append(lats, local...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lats)
	r := loadResult{requests: len(lats), errors: errs, rate: float64(len(lats)) / elapsed.Seconds()}
	if len(lats) > 0 {
		r.p50 = lats[len(lats)/2]
		r.p99 = lats[len(lats)*99/100]
	}
	return r
}

func request(base, op string, rng *rand.Rand) *http.Request {
	var req *http.Request
	switch op {
	case "create":
		req, _ = http.NewRequest("POST", base+"/tasks", strings.NewReader(`{"title":"bench"}`))
		req.Header.Set("Content-Type", "application/json")
	case "get":
		req, _ = http.NewRequest("GET", fmt.Sprintf("%s/tasks/%d", base, 1+rng.IntN(seedRows)), nil)
	case "patch":
		body := `{"done":false}`
		if rng.IntN(2) == 1 {
			body = `{"done":true}`
		}
		req, _ = http.NewRequest("PATCH", fmt.Sprintf("%s/tasks/%d", base, 1+rng.IntN(seedRows)), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	case "list":
		req, _ = http.NewRequest("GET", base+"/tasks", nil)
	}
	return req
}

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

func runPgbench(ctx context.Context, pgbench, dbURL, script string, clients int, d time.Duration) (float64, error) {
	threads := min(clients, 2)
	cmd := exec.CommandContext(ctx, pgbench, "-n", "-M", "extended", "-c", strconv.Itoa(clients), "-j", strconv.Itoa(threads),
		"-T", strconv.Itoa(int(d.Seconds())), "-D", "title=bench", "-D", "done=false", "-D", "rows="+strconv.Itoa(seedRows),
		"-f", script, dbURL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("bench: pgbench %s: %w\n%s", filepath.Base(script), err, out)
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("bench: no tps in pgbench output:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
