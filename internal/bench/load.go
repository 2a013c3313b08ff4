package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// process is a server the bench started and measures.
type process struct {
	name string
	cmd  *exec.Cmd
	base string // http://host:port
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// freeAddr picks a free loopback address for a child to listen on.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startProcess starts cmd and waits until GET base+probe answers 200.
// The child's stderr is passed on to the bench's unless cmd has one.
func startProcess(name string, cmd *exec.Cmd, addr, probe string) (*process, error) {
	if cmd.Stderr == nil {
		stderr, _ := cmd.StderrPipe()
		go io.Copy(os.Stderr, bufio.NewReader(stderr))
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, base: "http://" + addr}
	for range 400 {
		if r, err := http.Get(p.base + probe); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return p, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("bench: %s did not become ready", name)
}

// apiServer is the api binary under test, with its profiling address
// when asked for profiles.
type apiServer struct {
	proc  *process
	pprof string
}

// startAPI starts the api binary with LOG_LEVEL=info, as in service,
// plus env. Its log goes to logFile, not the terminal, which an
// access-log line per request (ACCESS_LOG_LEVEL=info) would flood.
func startAPI(ctx context.Context, name, bin, dbURL string, conns int, profile bool, logFile string, env ...string) (*apiServer, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(logFile)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer log.Close() // the child has its own descriptor
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "ADDR="+addr, "LOG_LEVEL=info", "DB_MAX_CONNS="+strconv.Itoa(conns))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = log
	a := &apiServer{}
	if profile {
		if a.pprof, err = freeAddr(); err != nil {
			return nil, err
		}
		cmd.Env = append(cmd.Env, "PPROF_ADDR="+a.pprof)
	}
	if a.proc, err = startProcess(name, cmd, addr, "/readyz"); err != nil {
		b, _ := os.ReadFile(logFile)
		return nil, fmt.Errorf("%w (run 'make build' first); its log:\n%s", err, b)
	}
	return a, nil
}

func (a *apiServer) stop() { a.proc.stop() }

// profile returns a function that records a CPU profile of d into path.
func (a *apiServer) profile(path string, d time.Duration) func() error {
	return func() error {
		secs := max(1, int(d.Seconds())-1)
		res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", a.pprof, secs))
		if err != nil {
			return fmt.Errorf("bench: profile: %w", err)
		}
		defer res.Body.Close()
		if res.StatusCode != 200 {
			return fmt.Errorf("bench: profile: %s", res.Status)
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, res.Body); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
}

// startReference starts this binary's reference server.
func startReference(ctx context.Context, dbURL string, conns int) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// The API adds binary_parameters to its URL; the reference gets the same.
	cmd := exec.CommandContext(ctx, self, "reference", "-addr", addr, "-max-conns", strconv.Itoa(conns),
		"-database-url", withParam(dbURL, "binary_parameters", "yes"))
	return startProcess("reference", cmd, addr, "/tasks/1")
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
		req, _ = http.NewRequest("GET", base+"/tasks/"+strconv.Itoa(1+rng.IntN(seedRows)), nil)
	case "patch":
		body := `{"done":false}`
		if rng.IntN(2) == 1 {
			body = `{"done":true}`
		}
		req, _ = http.NewRequest("PATCH", base+"/tasks/"+strconv.Itoa(1+rng.IntN(seedRows)), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	case "list":
		req, _ = http.NewRequest("GET", base+"/tasks", nil)
	}
	return req
}

// backendsGone waits (up to 2 s) until pgbench's backends have exited,
// so their CPU is counted: a backend reaped between the reads of the
// postmaster and of its children would be missed.
func (m *meter) backendsGone(ctx context.Context) {
	for range 40 {
		var n int
		err := m.db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbench'`).Scan(&n)
		if err != nil || n == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // and the postmaster has reaped them
}

var (
	tpsLine     = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)
	txnsLine    = regexp.MustCompile(`number of transactions actually processed: (\d+)`)
	latencyLine = regexp.MustCompile(`latency average = ([0-9.]+) ms`)
)

// pgbench runs a pgbench script with prepared statements and measures it
// as it does a server: PostgreSQL's CPU per transaction, and pgbench's
// own as the load generator's.
// A rate > 0 throttles pgbench to that many transactions per second (-R).
func (m *meter) pgbench(ctx context.Context, pgbench, dbURL, script string, clients int, d time.Duration, rate float64) (sample, error) {
	if err := m.settle(ctx); err != nil {
		return sample{}, err
	}
	threads := min(clients, 2)
	args := []string{"-n", "-M", "prepared", "-c", strconv.Itoa(clients), "-j", strconv.Itoa(threads),
		"-T", strconv.Itoa(int(d.Seconds())), "-D", "title=bench", "-D", "done=false", "-D", "rows=" + strconv.Itoa(seedRows)}
	name := "pgbench -M prepared"
	if rate > 0 {
		args = append(args, "-R", strconv.Itoa(int(rate)))
		name += fmt.Sprintf(" -R %d", int(rate))
	}
	cmd := exec.CommandContext(ctx, pgbench, append(args, "-f", script, dbURL)...)
	pg0 := serverCPU(m.postmaster)
	out, err := cmd.CombinedOutput()
	m.backendsGone(ctx)
	pg1 := serverCPU(m.postmaster)
	if err != nil {
		return sample{}, fmt.Errorf("bench: pgbench %s: %w\n%s", script, err, out)
	}
	txns := txnsLine.FindSubmatch(out)
	if txns == nil {
		return sample{}, errors.New("bench: unexpected pgbench output:\n" + string(out))
	}
	s := sample{name: name, avgOnly: true, pg: pg1 - pg0, statements: -1}
	s.requests, _ = strconv.Atoi(string(txns[1]))
	// With no transaction done (connecting took the whole run on a
	// crowded machine) pgbench prints no rate or latency.
	if tps := tpsLine.FindSubmatch(out); tps != nil {
		s.rate, _ = strconv.ParseFloat(string(tps[1]), 64)
	}
	if lat := latencyLine.FindSubmatch(out); lat != nil {
		avg, _ := strconv.ParseFloat(string(lat[1]), 64)
		s.p50 = time.Duration(avg * float64(time.Millisecond))
	}
	if ps := cmd.ProcessState; ps != nil {
		s.gen = ps.UserTime() + ps.SystemTime()
	}
	return s, nil
}
