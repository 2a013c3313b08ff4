// Package bench measures the API against the least it could cost: it
// starts a throwaway PostgreSQL, the real api binary and a bare reference
// server on the same driver and the same prepared statements, drives both
// over loopback with one load generator, runs pgbench -M prepared on the
// same statements, and prints throughput, latency and CPU per request of
// each process, side by side and as ratios. It also measures what the
// updated_at trigger costs an UPDATE. `bench migrate` measures the API
// under load while migrate diff's plans, online and plain, change its
// table (online.go).
package bench

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq" // database/sql driver

	"tasks/internal/devdb"
	"tasks/internal/pgtemp"
	"tasks/internal/store"
)

const seedRows = 10000

// options are the bench command's flags.
type options struct {
	apiBin        string
	dur, warmup   time.Duration
	clients       []int
	ops           []string
	triggerDur    time.Duration
	triggerRounds int
	profileDir    string
	rounds        int
	obsRounds     int
	obsClients    int
	dbConns       int
	filteredRows  int
}

// Run is the bench command. `bench reference …` is the reference server,
// which the bench starts as a child of itself; `bench migrate …` is the
// migrations benchmark; `bench pool …` measures the service behind
// PgBouncer (pool.go).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "reference" {
		return serveReference(ctx, args[1:], stderr)
	}
	if len(args) > 0 && args[0] == "migrate" {
		return runMigrations(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "pool" {
		return runPool(ctx, args[1:], stdout, stderr)
	}
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	pgbench, err := findPgbench()
	if err != nil {
		return err
	}
	var load1, load5, load15 float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscan(string(b), &load1, &load5, &load15)
	}
	cpus := 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		cpus = strings.Count(string(b), "\nprocessor")
		if strings.HasPrefix(string(b), "processor") {
			cpus++
		}
	}
	fmt.Fprintf(stdout, "bench: %s UTC, %d CPUs, load average at start %.2f %.2f %.2f; %s per measurement\n\n",
		time.Now().UTC().Format("2006-01-02 15:04"), cpus, load1, load5, load15, o.dur)

	fmt.Fprintln(stderr, "bench: starting a throwaway PostgreSQL, the API and the reference server")
	pgOpts := []pgtemp.Option{pgtemp.WithSetting("max_connections", "300")}
	statements := hasPgStatStatements()
	if statements {
		pgOpts = append(pgOpts, pgtemp.WithSetting("shared_preload_libraries", "pg_stat_statements"))
	}
	srv, dbURL, err := devdb.Start(ctx, io.Discard, pgOpts...)
	if err != nil {
		return err
	}
	defer srv.Stop()
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // the bench's own queries; one session
	if _, err := db.ExecContext(ctx, `INSERT INTO tasks (title) SELECT 'seed ' || i FROM generate_series(1, $1) i`, seedRows); err != nil {
		return fmt.Errorf("bench: seed: %w", err)
	}
	if _, err := db.ExecContext(ctx, `VACUUM ANALYZE tasks`); err != nil {
		return fmt.Errorf("bench: vacuum: %w", err)
	}
	if _, err := db.ExecContext(ctx, `ALTER TABLE tasks SET (autovacuum_enabled = off)`); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if statements {
		if _, err := db.ExecContext(ctx, `CREATE EXTENSION pg_stat_statements`); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	var postmaster int
	if err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&postmaster); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if t, err := readProc(postmaster); err == nil {
		postmaster = t.ppid // the backend's parent
	}

	scriptDir, err := os.MkdirTemp("", "bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scriptDir)

	api, err := startAPI(ctx, "API", o.apiBin, dbURL, o.dbConns, o.profileDir != "", filepath.Join(scriptDir, "api.log"))
	if err != nil {
		return err
	}
	defer api.stop()
	ref, err := startReference(ctx, dbURL, o.dbConns)
	if err != nil {
		return err
	}
	defer ref.stop()

	m := &meter{db: db, postmaster: postmaster, statements: statements}
	fmt.Fprintf(stdout, "Each HTTP figure is the median of %d rounds, the API and the reference server alternating which goes first; pgbench runs once unthrottled and once at the API's median rate (-R), where PostgreSQL sees the same arrivals as under the API.\n\n", o.rounds)
	fmt.Fprintln(stdout, "| operation | clients | server | req/s | p50 | p99 | server CPU µs/req | PostgreSQL CPU µs/req | load generator CPU µs/req | statements/req |")
	fmt.Fprintln(stdout, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
	var ratios []string
	for _, op := range o.ops {
		sf := filepath.Join(scriptDir, op+".sql")
		if err := os.WriteFile(sf, []byte(pgbenchScripts()[op]+"\n"), 0o644); err != nil {
			return err
		}
		for _, n := range o.clients {
			fmt.Fprintf(stderr, "bench: %s at %d clients\n", op, n)
			var as, rs []sample
			// Each round's API/reference ratios: a round's two
			// measurements run back to back, so their ratio is spared
			// the machine's drift between rounds.
			var rates, cpus []float64
			for round := range o.rounds {
				var prof func() error
				if round == 0 && o.profileDir != "" && n == 16 && (op == "get" || op == "patch") {
					prof = api.profile(filepath.Join(o.profileDir, op+".pprof"), o.dur)
				}
				measureAPI := func() error {
					a, err := m.http(ctx, api.proc, op, n, o, prof)
					as = append(as, a)
					return err
				}
				measureRef := func() error {
					r, err := m.http(ctx, ref, op, n, o, nil)
					rs = append(rs, r)
					return err
				}
				order := []func() error{measureAPI, measureRef}
				if round%2 == 1 {
					order[0], order[1] = order[1], order[0]
				}
				for _, f := range order {
					if err := f(); err != nil {
						return err
					}
				}
				a, r := as[round], rs[round]
				rates = append(rates, a.rate/max(r.rate, 1))
				cpus = append(cpus, a.perReq(a.server)/max(r.perReq(r.server), 1))
			}
			a, r := summarize(as), summarize(rs)
			p, err := m.pgbench(ctx, pgbench, dbURL, sf, n, o.dur, 0)
			if err != nil {
				return err
			}
			pr, err := m.pgbench(ctx, pgbench, dbURL, sf, n, o.dur, a.rate)
			if err != nil {
				return err
			}
			pu, pa := summarize([]sample{p}), summarize([]sample{pr})
			for _, s := range []summary{a, r, pu, pa} {
				fmt.Fprintf(stdout, "| %s | %d | %s |\n", op, n, s.row())
			}
			ratios = append(ratios, fmt.Sprintf("| %s | %d | %s | %s | %s | %s | %s |", op, n,
				spread(rates), spread(cpus), ratio(a.pgUs, pa.pgUs), ratio(a.pgUs, pu.pgUs), ratio(a.rate, pu.rate)))
		}
	}
	fmt.Fprintf(stdout, "\npeak RSS: API %.1f MiB, reference %.1f MiB\n\n", mib(peakRSS(api.proc.pid())), mib(peakRSS(ref.pid())))
	fmt.Fprintln(stdout, "API/reference figures are the median of the rounds' ratios, with their range.")
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "| operation | clients | API/reference req/s | API/reference CPU per request | PostgreSQL CPU per request, API/pgbench at the API's rate | the same, API/pgbench unthrottled | API req/s / pgbench tps |")
	fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range ratios {
		fmt.Fprintln(stdout, r)
	}
	if o.obsRounds > 0 {
		fmt.Fprintln(stderr, "bench: observability cost")
		if err := observabilityCost(ctx, stdout, m, api.proc, o, dbURL, scriptDir); err != nil {
			return err
		}
	}
	if o.triggerRounds > 0 {
		fmt.Fprintln(stderr, "bench: trigger cost")
		if err := triggerCost(ctx, stdout, m, pgbench, dbURL, scriptDir, o); err != nil {
			return err
		}
	}
	if o.filteredRows > 0 {
		fmt.Fprintln(stderr, "bench: filtered lists")
		if err := filteredListCost(ctx, stdout, m, api.proc, o); err != nil {
			return err
		}
	}
	return nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.apiBin, "api", "bin/api", "the api binary to measure")
	fs.DurationVar(&o.dur, "duration", 3*time.Second, "how long each measurement runs")
	fs.IntVar(&o.rounds, "rounds", 5, "rounds of each HTTP measurement, the API and the reference alternating; medians are reported")
	fs.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "load before each HTTP measurement, unmeasured (opens connections, prepares statements)")
	fs.IntVar(&o.dbConns, "db-conns", 0, "database pool size of the API and the reference server; 0: the largest client count")
	clientList := fs.String("clients", "1,16,64", "concurrent clients to measure at")
	ops := fs.String("ops", "get,list,create,patch", "operations to measure")
	fs.DurationVar(&o.triggerDur, "trigger-duration", 3*time.Second, "how long each trigger round runs")
	fs.IntVar(&o.triggerRounds, "trigger-rounds", 7, "rounds of the trigger comparison (0 skips it)")
	fs.IntVar(&o.obsRounds, "observability-rounds", 3, "rounds of get with and without metrics and access log (0 skips them)")
	fs.IntVar(&o.obsClients, "observability-clients", 16, "clients of the observability rounds")
	fs.IntVar(&o.filteredRows, "filtered-rows", 1_000_000, "tasks in the table for the filtered-list comparison (0 skips it)")
	fs.StringVar(&o.profileDir, "cpuprofile", "", "write the API's CPU profiles of get and patch at 16 clients into this directory")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.clients, err = counts(*clientList, 256, "client count"); err != nil {
		return o, fmt.Errorf("bench: %w", err)
	}
	for _, op := range strings.Split(*ops, ",") {
		if _, ok := pgbenchScripts()[op]; !ok {
			return o, fmt.Errorf("bench: unknown operation %q", op)
		}
		o.ops = append(o.ops, op)
	}
	if o.dbConns == 0 {
		o.dbConns = slices.Max(o.clients)
	}
	if o.rounds < 1 {
		return o, errors.New("bench: -rounds must be at least 1")
	}
	if o.obsClients < 1 || o.obsClients > 256 {
		return o, fmt.Errorf("bench: bad -observability-clients %d", o.obsClients)
	}
	if o.dur < time.Second || o.triggerDur < time.Second {
		return o, errors.New("bench: durations must be at least 1s (pgbench counts whole seconds)")
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return o, err
		}
	}
	return o, nil
}

func findPgbench() (string, error) {
	bin, err := pgtemp.BinDir()
	if err != nil {
		return "", err
	}
	pgbench := filepath.Join(bin, "pgbench")
	if _, err := os.Stat(pgbench); err != nil {
		if pgbench, err = exec.LookPath("pgbench"); err != nil {
			return "", errors.New("bench: pgbench not found (Debian: apt-get install postgresql-contrib or postgresql)")
		}
	}
	return pgbench, nil
}

// hasPgStatStatements reports whether the server binaries come with
// pg_stat_statements, which counts the statements each request sends.
func hasPgStatStatements() bool {
	bin, err := pgtemp.BinDir()
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(bin, "..", "lib", "pg_stat_statements.so"))
	return err == nil
}

// statements are the store's statements for the operations the bench
// measures: what the API sends for create, get, list and a patch of done.
func statements() map[string]string {
	return map[string]string{
		"create": store.InsertTask,
		"get":    store.SelectTask,
		"list":   store.ListTasks,
		"patch":  store.UpdateTask(false, true, 0),
	}
}

// pgbenchScripts are the store's own statements with pgbench variables for
// their parameters (-M prepared prepares them, as the store does): random
// ids over the seeded rows, a random done.
func pgbenchScripts() map[string]string {
	st := statements()
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
		// GET /tasks: the first page, no filter, 20 plus one.
		"list": params(st["list"], strconv.FormatInt(store.FirstPage, 10), "21"),
	}
}

// sample is one measurement of one server.
type sample struct {
	name             string
	requests, errors int
	rate             float64
	p50, p99         time.Duration
	avgOnly          bool // pgbench reports an average latency, not percentiles
	// CPU used over the measurement by the server process, PostgreSQL
	// and the load generator.
	server, pg, gen time.Duration
	statements      float64 // per request, from pg_stat_statements; <0 unknown
}

func (s sample) perReq(d time.Duration) float64 {
	if s.requests == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(s.requests)
}

// summary is a server's figures over its rounds: the median of each.
type summary struct {
	name                  string
	rate                  float64
	p50, p99              time.Duration
	avgOnly               bool
	errors                int     // in all rounds
	serverUs, pgUs, genUs float64 // CPU µs per request
	statements            float64 // per request; <0 unknown
}

func summarize(ss []sample) summary {
	med := func(f func(sample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		return median(v)
	}
	u := summary{
		name:       ss[0].name,
		avgOnly:    ss[0].avgOnly,
		rate:       med(func(s sample) float64 { return s.rate }),
		p50:        time.Duration(med(func(s sample) float64 { return float64(s.p50) })),
		p99:        time.Duration(med(func(s sample) float64 { return float64(s.p99) })),
		serverUs:   med(func(s sample) float64 { return s.perReq(s.server) }),
		pgUs:       med(func(s sample) float64 { return s.perReq(s.pg) }),
		genUs:      med(func(s sample) float64 { return s.perReq(s.gen) }),
		statements: med(func(s sample) float64 { return s.statements }),
	}
	for _, s := range ss {
		u.errors += s.errors
	}
	return u
}

func (s summary) row() string {
	lat := fmt.Sprintf("%s | %s", ms(s.p50), ms(s.p99))
	if s.avgOnly {
		lat = fmt.Sprintf("%s (avg) | —", ms(s.p50))
	}
	srv := "—"
	if s.serverUs > 0 || !s.avgOnly {
		srv = fmt.Sprintf("%.0f", s.serverUs)
	}
	st := "—"
	if s.statements >= 0 {
		st = fmt.Sprintf("%.2f", s.statements)
	}
	errs := ""
	if s.errors > 0 {
		errs = fmt.Sprintf(" (%d failed)", s.errors)
	}
	return fmt.Sprintf("%s%s | %.0f | %s | %s | %.0f | %.0f | %s", s.name, errs, s.rate, lat, srv, s.pgUs, s.genUs, st)
}

// spread is the median of ratios and their range, "0.97 (0.91–1.02)".
func spread(v []float64) string {
	return fmt.Sprintf("%.2f (%.2f–%.2f)", median(v), slices.Min(v), slices.Max(v))
}

// ratio is a/b, or — when b is nothing to compare with.
func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// meter takes measurements against one PostgreSQL server.
type meter struct {
	db         *sql.DB
	postmaster int
	statements bool
}

// settle brings the table to the same state before every measurement:
// no dead rows left by the last one's writes (autovacuum is off for the
// table, so that it cannot start during some measurements only) and no
// dirty buffers for a checkpoint to write during the next.
func (m *meter) settle(ctx context.Context) error {
	for _, q := range []string{`VACUUM tasks`, `CHECKPOINT`} {
		if _, err := m.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("bench: %s: %w", q, err)
		}
	}
	return nil
}

// calls is how many statements pg_stat_statements has counted, the
// bench's own reads of it aside.
func (m *meter) calls(ctx context.Context) float64 {
	if !m.statements {
		return 0
	}
	var n float64
	m.db.QueryRowContext(ctx, `SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'`).Scan(&n)
	return n
}

// http measures one operation on one HTTP server: a warm-up, then the
// load, with every process's CPU read before and after.
func (m *meter) http(ctx context.Context, p *process, op string, clients int, o options, during func() error) (sample, error) {
	if err := m.settle(ctx); err != nil {
		return sample{}, err
	}
	base := p.base
	load(ctx, base, op, clients, o.warmup)
	calls0 := m.calls(ctx)
	srv0, pg0, gen0 := processCPU(p.pid()), serverCPU(m.postmaster), selfCPU()
	done := make(chan error, 1)
	if during != nil {
		go func() { done <- during() }()
	}
	lr := load(ctx, base, op, clients, o.dur)
	srv1, pg1, gen1 := processCPU(p.pid()), serverCPU(m.postmaster), selfCPU()
	calls1 := m.calls(ctx)
	if during != nil {
		if err := <-done; err != nil {
			return sample{}, err
		}
	}
	if ctx.Err() != nil {
		return sample{}, ctx.Err()
	}
	s := sample{
		name: p.name, requests: lr.requests, errors: lr.errors, rate: lr.rate, p50: lr.p50, p99: lr.p99,
		server: srv1 - srv0, pg: pg1 - pg0, gen: gen1 - gen0, statements: -1,
	}
	if m.statements && lr.requests > 0 {
		s.statements = (calls1 - calls0) / float64(lr.requests)
	}
	return s, nil
}

// selfCPU is the CPU time this process (the load generator) has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// withParam returns u with a query parameter set.
func withParam(u, k, v string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := p.Query()
	q.Set(k, v)
	p.RawQuery = q.Encode()
	return p.String()
}

// counts reads a comma-separated list of whole numbers from 1 to max,
// such as -clients 1,16,64.
func counts(list string, max int, what string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > max {
			return nil, fmt.Errorf("bad %s %q (1 to %d)", what, s, max)
		}
		out = append(out, n)
	}
	return out, nil
}
