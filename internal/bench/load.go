package bench

import (
	"bufio"
	"bytes"
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

// load runs op from n clients for d, each on a keep-alive connection to
// the server at base (http://host:port).
//
// Each client speaks just enough HTTP/1.1 for the bench: it writes a
// request rendered into a buffer of its own and reads the status line,
// the framing headers and the body, which it discards. The load generator
// shares the machine's two cores with the servers it measures, so every
// microsecond it spends is taken from them; net/http's client spent about
// as much CPU per request as the API itself, and pgbench, the other load
// generator here, is lean as well.
func load(ctx context.Context, base, op string, n int, d time.Duration) loadResult {
	host := strings.TrimPrefix(base, "http://")
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
			c := &httpClient{host: host, deadline: end.Add(10 * time.Second)}
			defer c.close()
			local := make([]time.Duration, 0, 4096)
			bad := 0
			var req []byte
			for time.Now().Before(end) && ctx.Err() == nil {
				req = appendRequest(req[:0], host, op, rng)
				t0 := time.Now()
				status, err := c.do(req)
				if err != nil {
					bad++
					continue
				}
				local = append(local, time.Since(t0))
				if status >= 300 {
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

// appendRequest renders one request of op to host.
func appendRequest(b []byte, host, op string, rng *rand.Rand) []byte {
	var body string
	switch op {
	case "create":
		b = append(b, "POST /tasks"...)
		body = `{"title":"bench"}`
	case "get":
		b = append(b, "GET /tasks/"...)
		b = strconv.AppendInt(b, int64(1+rng.IntN(seedRows)), 10)
	case "patch":
		b = append(b, "PATCH /tasks/"...)
		b = strconv.AppendInt(b, int64(1+rng.IntN(seedRows)), 10)
		body = `{"done":false}`
		if rng.IntN(2) == 1 {
			body = `{"done":true}`
		}
	case "list":
		b = append(b, "GET /tasks"...)
	case "list-done":
		b = append(b, "GET /tasks?done=true"...)
	case "list-not-done":
		b = append(b, "GET /tasks?done=false"...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUser-Agent: bench\r\n"...)
	if body != "" {
		b = append(b, "Content-Type: application/json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, body...)
}

// httpClient is one keep-alive HTTP/1.1 connection, dialled when first
// needed and again after any error.
type httpClient struct {
	host     string
	deadline time.Time // for every read and write: the load's end and a grace
	conn     net.Conn
	r        *bufio.Reader
}

// do sends req and reads the whole response, returning its status.
func (c *httpClient) do(req []byte) (int, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.host, 10*time.Second)
		if err != nil {
			time.Sleep(10 * time.Millisecond) // not a busy loop while the server is away
			return 0, err
		}
		conn.SetDeadline(c.deadline)
		c.conn, c.r = conn, bufio.NewReaderSize(conn, 16<<10)
	}
	if _, err := c.conn.Write(req); err != nil {
		c.close()
		return 0, err
	}
	status, keep, err := readResponse(c.r)
	if err != nil || !keep {
		c.close()
	}
	return status, err
}

func (c *httpClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// readResponse reads one response from r and discards its body. keep is
// false when the server closes the connection after it.
func readResponse(r *bufio.Reader) (status int, keep bool, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, false, fmt.Errorf("bench: bad status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, false, fmt.Errorf("bench: bad status line %q", line)
	}
	length, chunked, keep := -1, false, true
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			break // the blank line ending the header
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, false, fmt.Errorf("bench: bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case status == http.StatusNoContent || status == http.StatusNotModified:
		return status, keep, nil // no body, whatever the header says
	case chunked:
		return status, keep, discardChunks(r)
	case length >= 0:
		_, err = r.Discard(length)
		return status, keep, err
	}
	return status, false, errors.New("bench: a response without a length")
}

// discardChunks reads a chunked body and its trailer.
func discardChunks(r *bufio.Reader) error {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("bench: bad chunk size %q", line)
		}
		if n == 0 {
			for { // trailer fields, up to a blank line
				line, err := r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimSpace(line)) == 0 {
					return nil
				}
			}
		}
		if _, err := r.Discard(int(n) + 2); err != nil { // the data and its CRLF
			return err
		}
	}
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
