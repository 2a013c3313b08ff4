package bench

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"tasks/internal/devdb"
	"tasks/internal/pgbouncer"
	"tasks/internal/pgtemp"
)

// `bench pool` measures the service behind a transaction pooler:
//
//   - statement modes at the driver, without HTTP: the store's statements
//     prepared by name (today's default), unnamed (DB_STATEMENTS=unnamed),
//     and unnamed inside a transaction that first sets the timeouts with
//     SET LOCAL (the other way to carry them past a pooler), each direct
//     and through PgBouncer;
//   - the scale curve: 1, 2 and 4 API processes sharing a fixed number of
//     clients, direct with prepared statements and through PgBouncer with
//     unnamed ones (and direct with unnamed ones, to tell the statement
//     mode's cost from the pooler's), with PostgreSQL's and PgBouncer's
//     CPU per request.

// poolOptions are `bench pool`'s flags.
type poolOptions struct {
	apiBin      string
	dur, warmup time.Duration
	rounds      int
	clients     int
	procs       []int
	ops         []string
	poolSize    int
	driverConns int
}

func parsePoolFlags(args []string, stderr io.Writer) (poolOptions, error) {
	fs := flag.NewFlagSet("bench pool", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o poolOptions
	fs.StringVar(&o.apiBin, "api", "bin/api", "the api binary to measure")
	fs.DurationVar(&o.dur, "duration", 2*time.Second, "how long each measurement runs")
	fs.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "load before each measurement, unmeasured")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds of each measurement; medians are reported")
	fs.IntVar(&o.clients, "clients", 32, "concurrent HTTP clients, spread evenly over the API processes")
	procs := fs.String("procs", "1,2,4", "numbers of API processes to measure")
	ops := fs.String("ops", "get,patch", "operations to measure (get, list, create, patch)")
	fs.IntVar(&o.poolSize, "pool-size", 8, "PgBouncer's server connections (default_pool_size)")
	fs.IntVar(&o.driverConns, "driver-conns", 16, "concurrent sessions of the driver-level statement comparison")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.procs, err = counts(*procs, 16, "process count"); err != nil {
		return o, fmt.Errorf("bench: pool: %w", err)
	}
	for _, op := range strings.Split(*ops, ",") {
		if _, ok := statements()[op]; !ok {
			return o, fmt.Errorf("bench: pool: unknown operation %q", op)
		}
		o.ops = append(o.ops, op)
	}
	switch {
	case o.rounds < 1:
		return o, errors.New("bench: pool: -rounds must be at least 1")
	case o.clients < slices.Max(o.procs):
		return o, errors.New("bench: pool: -clients must be at least the largest process count")
	case o.poolSize < 1, o.driverConns < 1:
		return o, errors.New("bench: pool: -pool-size and -driver-conns must be at least 1")
	case o.dur < 500*time.Millisecond:
		return o, errors.New("bench: pool: -duration must be at least 500ms")
	}
	return o, nil
}

// runPool is `bench pool`.
func runPool(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parsePoolFlags(args, stderr)
	if err != nil {
		return err
	}
	if _, err := pgbouncer.Binary(); err != nil {
		// make bench runs this after the main bench, whose figures stand.
		return fmt.Errorf("bench: pool: %w (or run bin/bench without pool for the rest of make bench)", err)
	}
	fmt.Fprintln(stderr, "bench pool: starting a throwaway PostgreSQL and PgBouncer")
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
	db.SetMaxOpenConns(1)
	// The deploy step behind a pooler: the timeouts the API would send at
	// connect, set on the database instead (what the API reads at start).
	for _, q := range []string{
		`INSERT INTO tasks (title) SELECT 'seed ' || i FROM generate_series(1, ` + strconv.Itoa(seedRows) + `) i`,
		`VACUUM ANALYZE tasks`,
		`ALTER TABLE tasks SET (autovacuum_enabled = off)`,
		`ALTER DATABASE tasks SET statement_timeout = '4s'`,
		`ALTER DATABASE tasks SET lock_timeout = '2500ms'`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("bench: pool: %s: %w", q, err)
		}
	}
	var postmaster int
	if err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&postmaster); err != nil {
		return fmt.Errorf("bench: pool: %w", err)
	}
	if t, err := readProc(postmaster); err == nil {
		postmaster = t.ppid
	}
	bouncer, err := pgbouncer.Start(ctx, dbURL, pgbouncer.WithPoolSize(o.poolSize))
	if err != nil {
		return err
	}
	defer bouncer.Stop()
	pooledURL, err := bouncer.Through(dbURL)
	if err != nil {
		return err
	}
	m := &meter{db: db, postmaster: postmaster}
	fmt.Fprintf(stdout, "\nbench pool: %s UTC, %s\n", time.Now().UTC().Format("2006-01-02 15:04"), loadAverage())

	if err := statementModes(ctx, stdout, stderr, m, bouncer, dbURL, pooledURL, o); err != nil {
		return err
	}
	return scaleCurve(ctx, stdout, stderr, m, bouncer, dbURL, pooledURL, o)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "load average unknown"
	}
	return "load average at start " + strings.Join(f[:3], " ")
}

// driverVariant is one way of sending the store's statements.
type driverVariant struct {
	name       string
	pooled     bool
	mode       string // prepared, unnamed, setlocal
	roundTrips int
}

// statementModes runs each op's statement from o.driverConns sessions
// in each variant, straight through database/sql and lib/pq, and prints
// throughput and CPU per statement of PostgreSQL, PgBouncer and the
// client.
func statementModes(ctx context.Context, stdout, stderr io.Writer, m *meter, bouncer *pgbouncer.Bouncer, directURL, pooledURL string, o poolOptions) error {
	variants := []driverVariant{
		{"direct, prepared by name (today)", false, "prepared", 1},
		{"direct, unnamed", false, "unnamed", 1},
		{"direct, unnamed + SET LOCAL timeouts", false, "setlocal", 3},
		{"PgBouncer, unnamed", true, "unnamed", 1},
		{"PgBouncer, unnamed + SET LOCAL timeouts", true, "setlocal", 3},
	}
	fmt.Fprintf(stdout, "\nStatement modes at the driver (no HTTP): %d sessions, %s per measurement, median of %d rounds (the variants alternate within each round). "+
		"SET LOCAL = BEGIN and both SET LOCALs in one simple query, the statement, COMMIT.\n\n", o.driverConns, o.dur, o.rounds)
	fmt.Fprintln(stdout, "| operation | statements | round trips | ops/s | PostgreSQL CPU µs/op | PgBouncer CPU µs/op | client CPU µs/op | ops/s / today's |")
	fmt.Fprintln(stdout, "|---|---|---:|---:|---:|---:|---:|---:|")
	dbs := map[bool]*sql.DB{}
	for pooled, raw := range map[bool]string{false: directURL, true: pooledURL} {
		db, err := sql.Open("postgres", withParam(raw, "binary_parameters", "yes"))
		if err != nil {
			return err
		}
		defer db.Close()
		db.SetMaxOpenConns(o.driverConns)
		db.SetMaxIdleConns(o.driverConns)
		dbs[pooled] = db
	}
	for _, op := range o.ops {
		fmt.Fprintf(stderr, "bench pool: statement modes, %s\n", op)
		type agg struct{ rate, pg, pgb, cli []float64 }
		res := make([]agg, len(variants))
		for round := range o.rounds {
			for k := range variants {
				i := (round + k) % len(variants)
				v := variants[i]
				if err := m.settle(ctx); err != nil {
					return err
				}
				if _, err := driverLoad(ctx, dbs[v.pooled], v.mode, op, o.driverConns, o.warmup); err != nil {
					return fmt.Errorf("bench: pool: %s, %s: %w", v.name, op, err)
				}
				pg0, pgb0, cli0 := serverCPU(m.postmaster), processCPU(bouncer.Pid()), selfCPU()
				n, err := driverLoad(ctx, dbs[v.pooled], v.mode, op, o.driverConns, o.dur)
				pg1, pgb1, cli1 := serverCPU(m.postmaster), processCPU(bouncer.Pid()), selfCPU()
				if err != nil {
					return fmt.Errorf("bench: pool: %s, %s: %w", v.name, op, err)
				}
				per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(max(n, 1)) }
				res[i].rate = append(res[i].rate, float64(n)/o.dur.Seconds())
				res[i].pg = append(res[i].pg, per(pg1-pg0))
				res[i].pgb = append(res[i].pgb, per(pgb1-pgb0))
				res[i].cli = append(res[i].cli, per(cli1-cli0))
			}
		}
		today := median(res[0].rate)
		for i, v := range variants {
			pgb := "—"
			if v.pooled {
				pgb = fmt.Sprintf("%.0f", median(res[i].pgb))
			}
			fmt.Fprintf(stdout, "| %s | %s | %d | %.0f | %.0f | %s | %.0f | %s |\n", op, v.name, v.roundTrips,
				median(res[i].rate), median(res[i].pg), pgb, median(res[i].cli), ratio(median(res[i].rate), today))
		}
	}
	return nil
}

// driverLoad runs op's statement in the given mode from n goroutines
// for d and returns how many completed.
func driverLoad(ctx context.Context, db *sql.DB, mode, op string, n int, d time.Duration) (int, error) {
	q := statements()[op]
	var prepared *sql.Stmt
	if mode == "prepared" {
		var err error
		if prepared, err = db.PrepareContext(ctx, q); err != nil {
			return 0, err
		}
		defer prepared.Close()
	}
	var (
		mu    sync.Mutex
		total int
		first error
		wg    sync.WaitGroup
		end   = time.Now().Add(d)
	)
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			done := 0
			var err error
			for time.Now().Before(end) && ctx.Err() == nil {
				if err = runOnce(ctx, db, prepared, mode, op, q, rng); err != nil {
					break
				}
				done++
			}
			mu.Lock()
			total += done
			if err != nil && first == nil {
				first = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total, first
}

// setLocal opens the transaction and sets its timeouts in one simple
// query, one round trip: the cheapest way to carry them per statement.
const setLocal = `BEGIN; SET LOCAL statement_timeout = 4000; SET LOCAL lock_timeout = 2500`

func runOnce(ctx context.Context, db *sql.DB, prepared *sql.Stmt, mode, op, q string, rng *rand.Rand) error {
	args := opArgs(op, rng)
	scan := func(rows *sql.Rows, err error) error {
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		rows.Close()
		return rows.Err()
	}
	switch mode {
	case "prepared":
		return scan(prepared.QueryContext(ctx, args...))
	case "unnamed":
		return scan(db.QueryContext(ctx, q, args...))
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, setLocal); err != nil {
		return err
	}
	if err := scan(conn.QueryContext(ctx, q, args...)); err != nil {
		conn.ExecContext(ctx, `ROLLBACK`)
		return err
	}
	_, err = conn.ExecContext(ctx, `COMMIT`)
	return err
}

// opArgs are the parameters of op's statement, as the HTTP load sends
// them: random seeded ids, a random done.
func opArgs(op string, rng *rand.Rand) []any {
	id := int64(1 + rng.IntN(seedRows))
	switch op {
	case "create":
		return []any{"bench", false}
	case "get":
		return []any{id}
	case "patch":
		return []any{rng.IntN(2) == 1, id}
	default: // list
		return []any{0, nil, 21}
	}
}

// fleetConfig is one way of deploying n API processes.
type fleetConfig struct {
	name   string
	pooled bool
	env    []string
}

// scaleCurve measures 1, 2 and 4 API processes (o.procs) sharing
// o.clients clients, in each deployment. At each process count every
// deployment's processes run at once and the deployments take turns
// within each round, so each round's ratio to today's deployment is
// spared the machine's drift between rounds.
func scaleCurve(ctx context.Context, stdout, stderr io.Writer, m *meter, bouncer *pgbouncer.Bouncer, directURL, pooledURL string, o poolOptions) error {
	configs := []fleetConfig{
		{name: "direct, prepared (today)"},
		{name: "direct, unnamed", env: []string{"DB_STATEMENTS=unnamed"}},
		{name: fmt.Sprintf("PgBouncer (%d server connections), unnamed", o.poolSize), pooled: true, env: []string{"DB_STATEMENTS=unnamed"}},
	}
	dir, err := os.MkdirTemp("", "bench-pool-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(stdout, "\nScale: %d HTTP clients spread over the API processes, each with DB_MAX_CONNS = its share of them, so %d PostgreSQL backends direct and %d through PgBouncer; "+
		"%s per measurement, median of %d rounds, the deployments taking turns within each round. CPU per request: all API processes together, PostgreSQL (every backend), PgBouncer. "+
		"The load generator shares the machine.\n\n",
		o.clients, o.clients, o.poolSize, o.dur, o.rounds)
	fmt.Fprintln(stdout, "| operation | API processes | deployment | req/s | worst p99 | API CPU µs/req | PostgreSQL CPU µs/req | PgBouncer CPU µs/req | req/s / today's, per round | PostgreSQL CPU per request / today's, per round |")
	fmt.Fprintln(stdout, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
	type point struct {
		rate, p99, api, pg, pgb []float64
	}
	for _, n := range o.procs {
		share := (o.clients + n - 1) / n
		fleets := make([][]*apiServer, len(configs))
		stopAll := func() {
			for _, f := range fleets {
				for _, p := range f {
					p.stop()
				}
			}
		}
		for ci, c := range configs {
			url := directURL
			if c.pooled {
				url = pooledURL
			}
			for i := range n {
				p, err := startAPI(ctx, fmt.Sprintf("API %d (%s)", i, c.name), o.apiBin, url, share, false,
					filepath.Join(dir, fmt.Sprintf("api-%d-%d-%d.log", ci, n, i)), c.env...)
				if err != nil {
					stopAll()
					return err
				}
				fleets[ci] = append(fleets[ci], p)
			}
		}
		for _, op := range o.ops {
			fmt.Fprintf(stderr, "bench pool: %d API processes, %s\n", n, op)
			pts := make([]point, len(configs))
			for round := range o.rounds {
				for k := range configs {
					ci := (round + k) % len(configs)
					s, err := measureFleet(ctx, m, bouncer, fleets[ci], op, o)
					if err != nil {
						stopAll()
						return err
					}
					if s.errors > 0 {
						stopAll()
						return fmt.Errorf("bench: pool: %s, %d processes, %s: %d requests failed", configs[ci].name, n, op, s.errors)
					}
					pt := &pts[ci]
					pt.rate = append(pt.rate, s.rate)
					pt.p99 = append(pt.p99, float64(s.p99))
					pt.api = append(pt.api, s.perReq(s.server))
					pt.pg = append(pt.pg, s.perReq(s.pg))
					pt.pgb = append(pt.pgb, s.perReq(s.gen))
				}
			}
			for ci, c := range configs {
				pt := pts[ci]
				pgb := "—"
				if c.pooled {
					pgb = fmt.Sprintf("%.0f", median(pt.pgb))
				}
				rates, cpus := make([]float64, o.rounds), make([]float64, o.rounds)
				for r := range o.rounds {
					rates[r] = pt.rate[r] / max(pts[0].rate[r], 1)
					cpus[r] = pt.pg[r] / max(pts[0].pg[r], 1)
				}
				fmt.Fprintf(stdout, "| %s | %d | %s | %.0f | %s | %.0f | %.0f | %s | %s | %s |\n", op, n, c.name, median(pt.rate),
					ms(time.Duration(median(pt.p99))), median(pt.api), median(pt.pg), pgb, spread(rates), spread(cpus))
			}
		}
		stopAll()
	}
	return nil
}

// measureFleet loads every process at once, each with its share of the
// clients, and reads the CPU of all of them, of PostgreSQL and of
// PgBouncer around the load. In the sample, server is the API processes'
// CPU and gen PgBouncer's; p99 is the worst process's.
func measureFleet(ctx context.Context, m *meter, bouncer *pgbouncer.Bouncer, procs []*apiServer, op string, o poolOptions) (sample, error) {
	if err := m.settle(ctx); err != nil {
		return sample{}, err
	}
	share := o.clients / len(procs)
	extra := o.clients % len(procs)
	run := func(d time.Duration) []loadResult {
		out := make([]loadResult, len(procs))
		var wg sync.WaitGroup
		for i, p := range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := share
				if i < extra {
					n++
				}
				out[i] = load(ctx, p.proc.base, op, n, d)
			}()
		}
		wg.Wait()
		return out
	}
	run(o.warmup)
	apiCPU := func() time.Duration {
		var t time.Duration
		for _, p := range procs {
			t += processCPU(p.proc.pid())
		}
		return t
	}
	api0, pg0, pgb0 := apiCPU(), serverCPU(m.postmaster), processCPU(bouncer.Pid())
	rs := run(o.dur)
	api1, pg1, pgb1 := apiCPU(), serverCPU(m.postmaster), processCPU(bouncer.Pid())
	if ctx.Err() != nil {
		return sample{}, ctx.Err()
	}
	s := sample{server: api1 - api0, pg: pg1 - pg0, gen: pgb1 - pgb0}
	for _, r := range rs {
		s.requests += r.requests
		s.errors += r.errors
		s.rate += r.rate
		s.p99 = max(s.p99, r.p99)
	}
	return s, nil
}
