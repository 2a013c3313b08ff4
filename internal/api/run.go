package api

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"tasks/internal/dburl"
	"tasks/internal/envconf"
	"tasks/internal/revtable"
	"tasks/internal/store"
	"tasks/migrations"
)

// Defaults that work on a fresh machine with a local PostgreSQL.
const (
	DefaultAddr        = "localhost:8080"
	DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/tasks?sslmode=disable"
	// DefaultMaxHeaderBytes bounds a request's header section; a task
	// request needs a few hundred bytes.
	DefaultMaxHeaderBytes = 32 << 10
	// DefaultBodyTimeout bounds the arrival of a request body, at most
	// 64 KiB: 2 s is 32 KiB/s even for the largest.
	DefaultBodyTimeout = 2 * time.Second
	// DefaultShutdownDelay is the lame-duck period after SIGTERM.
	DefaultShutdownDelay = 5 * time.Second
)

// Run is the api binary: it reads its configuration from flags and the
// environment, serves until ctx is cancelled or SIGINT/SIGTERM arrives,
// then shuts down gracefully. It starts even when the database is down:
// /readyz reports not ready until it answers.
//
// Shutting down is a drain: for the lame-duck period (SHUTDOWN_DELAY) the
// service keeps serving but reports not ready and closes every connection
// after its response, so load balancers and keep-alive clients move away
// while nothing is cut off; then it stops accepting, lets in-flight
// requests finish and exits.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return run(ctx, args, getenv, stdin, stdout, stderr, func(addr string) (net.Listener, error) { return listen(getenv, addr) })
}

// run is Run serving on the listener listen returns for the configured
// address; tests hand it one they bound themselves.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer,
	listen func(addr string) (net.Listener, error)) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	out := newLogWriter(stderr, 64<<10, 100*time.Millisecond)
	defer out.Close()
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: cfg.level}))

	db, err := openDB(cfg, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	head, err := migrations.Head()
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	ready := &Readiness{DB: db, Head: head, Schema: revtable.BoundSchema(cfg.dbURL), Log: log}
	if err := ready.Check(ctx); err != nil {
		log.Error("not ready yet; serving anyway and checking again on /readyz", "err", dburl.Explain(err), "database", dburl.Redact(cfg.dbURL))
		if cfg.mode == store.Prepared && poolerRefusedSettings(err) {
			log.Error("a connection pooler refused the session settings sent at connect: behind a transaction pooler, set DB_STATEMENTS=unnamed and the timeouts on the role")
		}
	} else if cfg.mode == store.Unnamed {
		checkServerTimeouts(ctx, log, db, cfg.reqTimeout)
	}

	var metrics *Metrics
	if cfg.metrics {
		metrics = NewMetrics(db)
	}
	tasks := store.New(db, store.WithKeyRetention(cfg.retention), store.WithLimits(cfg.maxConns, cfg.reqTimeout), store.WithStatements(cfg.mode))
	var draining atomic.Bool
	ln, err := listen(cfg.addr)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	limited := newConnLimit(ln, cfg.httpConns, cfg.bodyTimeout)
	srv := &http.Server{
		Handler: limited.served(NewServer(Config{
			Log: log, Tasks: tasks, Ready: ready.Check,
			Draining: draining.Load, Denied: ready.Denied,
			Metrics: metrics, PublicMetrics: cfg.metricsAddr == "", AccessLog: cfg.access,
		})),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      max(15*time.Second, cfg.reqTimeout+5*time.Second),
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    cfg.headerBytes,
		ConnState:         limited.track,
		ConnContext:       limited.connContext,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	stopAdmin, err := serveAdmins(cfg, metrics, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopAdmin()
	// Last, so that whoever waits for this line finds the admin addresses
	// logged before it.
	log.Info("listening", "addr", ln.Addr().String(), "schema_head", head, "max_conns", cfg.httpConns, "db_statements", cfg.statements)

	sweepCtx, stopSweep := context.WithCancel(context.WithoutCancel(ctx))
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		expireKeys(sweepCtx, log, tasks, min(cfg.retention/2, time.Minute))
	}()
	defer func() { stopSweep(); <-swept }()
	return serveUntilDone(ctx, cfg, log, srv, limited, &draining)
}

// config is the api binary's configuration, read and checked.
type config struct {
	addr, dbURL, pprofAddr, metricsAddr string
	statements                          string // as given, for the log
	mode                                store.Statements
	maxConns, httpConns, headerBytes    int
	reqTimeout, bodyTimeout             time.Duration
	delay, shutdown, retention          time.Duration
	level                               slog.Level
	access                              slog.Leveler // nil: no access log
	metrics                             bool
}

// envVars are the variables that set the api's flags: every one is read
// through envconf, and a flag on the command line wins.
var envVars = []envconf.Var{
	{Flag: "addr", Env: "ADDR"}, {Flag: "database-url", Env: "DATABASE_URL"},
	{Flag: "max-conns", Env: "DB_MAX_CONNS"}, {Flag: "db-statements", Env: "DB_STATEMENTS"},
	{Flag: "log-level", Env: "LOG_LEVEL"}, {Flag: "access-log-level", Env: "ACCESS_LOG_LEVEL"},
	{Flag: "pprof-addr", Env: "PPROF_ADDR"}, {Flag: "metrics", Env: "METRICS"}, {Flag: "metrics-addr", Env: "METRICS_ADDR"},
	{Flag: "http-max-conns", Env: "HTTP_MAX_CONNS"}, {Flag: "max-header-bytes", Env: "MAX_HEADER_BYTES"},
	{Flag: "request-timeout", Env: "REQUEST_TIMEOUT"}, {Flag: "body-timeout", Env: "BODY_TIMEOUT"},
	{Flag: "shutdown-delay", Env: "SHUTDOWN_DELAY"}, {Flag: "idempotency-retention", Env: "IDEMPOTENCY_RETENTION"},
}

// parseConfig reads the flags, each set first from its variable, and
// checks what their types do not.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", DefaultAddr, "listen address ($ADDR)")
	dbURL := fs.String("database-url", DefaultDatabaseURL, "PostgreSQL URL or key=value string ($DATABASE_URL)")
	maxConns := envconf.Int(fs, "max-conns", 32, 1, "database connection pool size ($DB_MAX_CONNS)")
	statements := fs.String("db-statements", "prepared",
		"prepared: statements prepared by name per connection; unnamed: for a transaction pooler, no session state ($DB_STATEMENTS)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error ($LOG_LEVEL)")
	shutdown := envconf.Duration(fs, "shutdown-timeout", 15*time.Second, true, "how long in-flight requests may take to finish on shutdown")
	pprofAddr := fs.String("pprof-addr", "", "serve net/http/pprof on this separate address; off when empty ($PPROF_ADDR)")
	metricsOn := fs.String("metrics", "on", "on: count and time requests, serve /metrics; off: neither ($METRICS)")
	metricsAddr := fs.String("metrics-addr", "", "serve /metrics on this separate address instead of the API's ($METRICS_ADDR)")
	// Debug by default, so that at LOG_LEVEL=info no line is built: it is
	// the costliest part of observing a request (a CPU profile of get
	// under make bench put slog at about 3% of the API's CPU, the
	// metrics' code under 1%).
	accessLevel := fs.String("access-log-level", "debug", "level of the one log line per request: debug, info, warn, error or off ($ACCESS_LOG_LEVEL)")
	var (
		httpConns   = envconf.Int(fs, "http-max-conns", 0, 0, "most open client connections; 0: 4096 or what the file descriptor limit allows ($HTTP_MAX_CONNS)")
		headerBytes = envconf.Int(fs, "max-header-bytes", DefaultMaxHeaderBytes, 1, "largest request header section, in bytes ($MAX_HEADER_BYTES)")
		reqTimeout  = envconf.Duration(fs, "request-timeout", 5*time.Second, false, "time limit of a request's database work ($REQUEST_TIMEOUT)")
		bodyTimeout = envconf.Duration(fs, "body-timeout", DefaultBodyTimeout, false, "time limit for a request's body to arrive after its headers ($BODY_TIMEOUT)")
		delay       = envconf.Duration(fs, "shutdown-delay", DefaultShutdownDelay, true, "lame-duck period after SIGTERM: not ready, Connection: close ($SHUTDOWN_DELAY)")
		retention   = envconf.Duration(fs, "idempotency-retention", store.DefaultKeyRetention, false, "how long an Idempotency-Key is remembered ($IDEMPOTENCY_RETENTION)")
	)
	if err := envconf.Bind(fs, getenv, envVars); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	cfg := &config{
		addr: *addr, dbURL: *dbURL, pprofAddr: *pprofAddr, metricsAddr: *metricsAddr, statements: *statements,
		maxConns: *maxConns, httpConns: *httpConns, headerBytes: *headerBytes,
		reqTimeout: *reqTimeout, bodyTimeout: *bodyTimeout, delay: *delay, shutdown: *shutdown, retention: *retention,
		metrics: *metricsOn == "on",
	}
	if err := cfg.level.UnmarshalText([]byte(*logLevel)); err != nil {
		return nil, fmt.Errorf("api: LOG_LEVEL must be debug, info, warn or error, got %q", *logLevel)
	}
	if *accessLevel != "off" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(*accessLevel)); err != nil {
			return nil, fmt.Errorf("api: ACCESS_LOG_LEVEL must be debug, info, warn, error or off, got %q", *accessLevel)
		}
		cfg.access = l
	}
	switch *statements {
	case "prepared":
		cfg.mode = store.Prepared
	case "unnamed":
		cfg.mode = store.Unnamed
	default:
		return nil, fmt.Errorf("api: DB_STATEMENTS must be prepared or unnamed (unnamed behind a transaction pooler such as PgBouncer), got %q", *statements)
	}
	switch *metricsOn {
	case "on", "off":
	default:
		return nil, fmt.Errorf("api: METRICS must be on or off, got %q", *metricsOn)
	}
	if !cfg.metrics && cfg.metricsAddr != "" {
		return nil, errors.New("api: METRICS_ADDR is set but METRICS is off: unset one of them")
	}
	if cfg.httpConns == 0 {
		cfg.httpConns = defaultHTTPConns(cfg.maxConns)
	}
	return cfg, nil
}

// openDB opens the pool on the configured database, with the settings
// dataSource adds; nothing is dialled yet.
func openDB(cfg *config, getenv func(string) string) (*sql.DB, error) {
	dsn, err := dataSource(dburl.LocalSSLDefault(cfg.dbURL, getenv), cfg.reqTimeout, cfg.mode)
	if err != nil {
		return nil, err
	}
	connector, err := pq.NewConnector(dsn)
	if err != nil {
		// lib/pq's message may quote the string, password included.
		return nil, fmt.Errorf("api: DATABASE_URL %s is not a valid connection string", dburl.Redact(cfg.dbURL))
	}
	db := sql.OpenDB(store.Connector(connector))
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// serveAdmins starts the profiling and metrics addresses that are
// configured; stop closes them.
func serveAdmins(cfg *config, metrics *Metrics, log *slog.Logger) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for _, s := range stops {
			s()
		}
	}
	if cfg.pprofAddr != "" {
		s, err := serveAdmin("profiling", cfg.pprofAddr, profiling(), log)
		if err != nil {
			return nil, err
		}
		stops = append(stops, s)
	}
	if cfg.metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler())
		s, err := serveAdmin("metrics", cfg.metricsAddr, mux, log)
		if err != nil {
			stop()
			return nil, err
		}
		stops = append(stops, s)
	}
	return stop, nil
}

// serveUntilDone serves until ctx is cancelled, then drains: for the
// lame-duck period the server keeps serving while reporting not ready,
// then it stops accepting and lets in-flight requests finish.
func serveUntilDone(ctx context.Context, cfg *config, log *slog.Logger, srv *http.Server, limited *connLimit, draining *atomic.Bool) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(limited) }()
	select {
	case err := <-served:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	draining.Store(true)
	log.Info("draining: not ready, closing connections after each response", "for", cfg.delay)
	select {
	case err := <-served:
		return fmt.Errorf("api: serve: %w", err)
	case <-time.After(cfg.delay):
	}
	if err := limited.quiesce(time.Second); err != nil {
		log.Warn("closing the listener may reset queued connections", "err", err)
	}
	limited.awaitFresh(time.Second)
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// expireKeys deletes expired idempotency keys every interval, a batch at
// a time, until ctx is cancelled. Requests never wait for it: CreateOnce
// ignores expired keys whether deleted or not, and the deletes skip keys
// a request holds.
func expireKeys(ctx context.Context, log *slog.Logger, tasks *store.Tasks, interval time.Duration) {
	const batch = 1000
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			n, err := tasks.ExpireKeys(ctx, batch)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("expire idempotency keys", "err", err)
				}
				break
			}
			if n > 0 {
				log.Debug("expired idempotency keys", "count", n)
			}
			if n < batch {
				break
			}
		}
	}
}

// defaultHTTPConns is the connection cap when none is configured: 4096,
// or less when the process may not open that many files besides the
// database pool's and a margin for everything else.
func defaultHTTPConns(dbConns int) int {
	const (
		most   = 4096
		least  = 16
		margin = 64
	)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > math.MaxInt32 {
		return most
	}
	return max(least, min(most, int(lim.Cur)-dbConns-margin))
}

// profiling is net/http/pprof, for profiling under load (make bench
// -cpuprofile). It is only ever served on an admin address: importing
// the package registers it on http.DefaultServeMux, which nothing serves.
func profiling() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// serveAdmin serves h on a listener of its own, apart from the API's
// address, which may be public when this one is not.
func serveAdmin(name, addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("api: %s: %w", name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 60 * time.Second}
	log.Info(name, "addr", ln.Addr().String())
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}

// dataSource adds the lib/pq settings the service relies on unless the
// connection string sets them:
//   - binary_parameters, so a parameterized statement costs one round trip
//     instead of two (prepare, then execute), prepared or unnamed;
//   - connect_timeout, so an unreachable server fails requests fast;
//   - with prepared statements, statement_timeout and lock_timeout, below
//     the request timeout, so PostgreSQL itself cancels a statement that
//     waits on a lock or runs too long, and the request gets a clean 503
//     instead of losing the race with its own deadline. They are startup
//     parameters of the session, so they cost no statement. A transaction
//     pooler refuses startup parameters it does not know (PgBouncer:
//     "unsupported startup parameter"), or drops them when told to ignore
//     them, so with unnamed statements, the pooler's mode, they are left
//     out: the role or database carries them (see serverTimeouts).
func dataSource(raw string, requestTimeout time.Duration, mode store.Statements) (string, error) {
	defaults := [][2]string{
		{"binary_parameters", "yes"},
		{"connect_timeout", "2"},
	}
	if mode == store.Prepared {
		st, lt := serverTimeouts(requestTimeout)
		defaults = append(defaults, [2]string{"statement_timeout", ms(st)}, [2]string{"lock_timeout", ms(lt)})
	}
	dsn, err := dburl.SetDefaults(raw, defaults)
	if err != nil {
		return "", fmt.Errorf("api: DATABASE_URL must be a postgres:// URL or key=value pairs, got %s", dburl.Redact(raw))
	}
	return dsn, nil
}

// serverTimeouts are the statement_timeout and lock_timeout PostgreSQL
// should enforce for a request timeout: below it, so the server cancels
// first and says why.
func serverTimeouts(requestTimeout time.Duration) (statement, lock time.Duration) {
	return requestTimeout * 4 / 5, requestTimeout / 2
}

func ms(d time.Duration) string { return strconv.FormatInt(max(1, d.Milliseconds()), 10) }

// poolerRefusedSettings reports whether err is PgBouncer refusing a
// startup parameter, what a transaction pooler answers the settings
// DB_STATEMENTS=prepared sends at connect. PgBouncer says so only in its
// message: its code, 08P01, is any protocol violation. Only a hint in
// the log depends on it.
func poolerRefusedSettings(err error) bool {
	pqErr := pq.As(err, pqerror.ProtocolViolation)
	return pqErr != nil && strings.HasPrefix(pqErr.Message, "unsupported startup parameter")
}

// checkServerTimeouts reads the statement_timeout and lock_timeout a
// session gets from its role and database, where they must be set when
// no startup parameter carries them, and warns, with the statements that
// set them, when either is missing or not below the request timeout.
// Without them a statement is still bounded, by the store's deadline on
// the client side, but a write that waits on a lock past it may yet run
// on the server after the client was answered 503.
func checkServerTimeouts(ctx context.Context, log *slog.Logger, db *sql.DB, requestTimeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var user string
	var st, lt int64
	err := db.QueryRowContext(ctx, `SELECT current_user, `+
		`(SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout'), `+
		`(SELECT setting::bigint FROM pg_settings WHERE name = 'lock_timeout')`).Scan(&user, &st, &lt)
	if err != nil {
		log.Warn("could not read the server's statement_timeout and lock_timeout", "err", err)
		return
	}
	limit := requestTimeout.Milliseconds()
	if st > 0 && st < limit && lt > 0 && lt < limit {
		return
	}
	wantST, wantLT := serverTimeouts(requestTimeout)
	log.Warn("DB_STATEMENTS=unnamed sends no session settings, and the role's statement_timeout or lock_timeout "+
		"is unset or not below REQUEST_TIMEOUT: statements are bounded only on the client side; set them per role",
		"statement_timeout_ms", st, "lock_timeout_ms", lt, "request_timeout", requestTimeout,
		"fix", fmt.Sprintf("ALTER ROLE %s SET statement_timeout = '%sms'; ALTER ROLE %s SET lock_timeout = '%sms'",
			pq.QuoteIdentifier(user), ms(wantST), pq.QuoteIdentifier(user), ms(wantLT)))
}
