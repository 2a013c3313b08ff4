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

	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env(getenv, "ADDR", DefaultAddr), "listen address ($ADDR)")
	dbURL := fs.String("database-url", env(getenv, "DATABASE_URL", DefaultDatabaseURL), "PostgreSQL URL or key=value string ($DATABASE_URL)")
	maxConnsDef, err := envconf.Int(getenv, "DB_MAX_CONNS", 32, 1)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	maxConns := fs.Int("max-conns", maxConnsDef, "database connection pool size ($DB_MAX_CONNS)")
	statements := fs.String("db-statements", env(getenv, "DB_STATEMENTS", "prepared"),
		"prepared: statements prepared by name per connection; unnamed: for a transaction pooler, no session state ($DB_STATEMENTS)")
	logLevel := fs.String("log-level", env(getenv, "LOG_LEVEL", "info"), "debug, info, warn or error ($LOG_LEVEL)")
	shutdown := fs.Duration("shutdown-timeout", 15*time.Second, "how long in-flight requests may take to finish on shutdown")
	pprofAddr := fs.String("pprof-addr", env(getenv, "PPROF_ADDR", ""), "serve net/http/pprof on this separate address; off when empty ($PPROF_ADDR)")
	metricsOn := fs.String("metrics", env(getenv, "METRICS", "on"), "on: count and time requests, serve /metrics; off: neither ($METRICS)")
	metricsAddr := fs.String("metrics-addr", env(getenv, "METRICS_ADDR", ""), "serve /metrics on this separate address instead of the API's ($METRICS_ADDR)")
	// Debug by default, so that at LOG_LEVEL=info no line is built: it is
	// the costliest part of observing a request (a CPU profile of get
	// under make bench put slog at about 3% of the API's CPU, the
	// metrics' code under 1%).
	accessLevel := fs.String("access-log-level", env(getenv, "ACCESS_LOG_LEVEL", "debug"), "level of the one log line per request: debug, info, warn, error or off ($ACCESS_LOG_LEVEL)")
	var (
		httpConns   = fs.Int("http-max-conns", 0, "most open client connections; 0: 4096 or what the file descriptor limit allows ($HTTP_MAX_CONNS)")
		headerBytes = fs.Int("max-header-bytes", DefaultMaxHeaderBytes, "largest request header section, in bytes ($MAX_HEADER_BYTES)")
		reqTimeout  = fs.Duration("request-timeout", 5*time.Second, "time limit of a request's database work ($REQUEST_TIMEOUT)")
		bodyTimeout = fs.Duration("body-timeout", DefaultBodyTimeout, "time limit for a request's body to arrive after its headers ($BODY_TIMEOUT)")
		delay       = fs.Duration("shutdown-delay", DefaultShutdownDelay, "lame-duck period after SIGTERM: not ready, Connection: close ($SHUTDOWN_DELAY)")
		retention   = fs.Duration("idempotency-retention", store.DefaultKeyRetention, "how long an Idempotency-Key is remembered ($IDEMPOTENCY_RETENTION)")
	)
	// Environment first, so flags given on the command line win.
	for name, key := range map[string]string{
		"http-max-conns": "HTTP_MAX_CONNS", "max-header-bytes": "MAX_HEADER_BYTES", "request-timeout": "REQUEST_TIMEOUT",
		"shutdown-delay": "SHUTDOWN_DELAY", "idempotency-retention": "IDEMPOTENCY_RETENTION", "body-timeout": "BODY_TIMEOUT",
	} {
		if err := envconf.SetFlag(fs, getenv, key, name); err != nil {
			return fmt.Errorf("api: %w", err)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("api: bad log level %q", *logLevel)
	}
	var access slog.Leveler
	if *accessLevel != "off" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(*accessLevel)); err != nil {
			return fmt.Errorf("api: bad access log level %q (debug, info, warn, error or off)", *accessLevel)
		}
		access = l
	}
	var mode store.Statements
	switch *statements {
	case "prepared":
		mode = store.Prepared
	case "unnamed":
		mode = store.Unnamed
	default:
		return fmt.Errorf("api: DB_STATEMENTS must be prepared or unnamed (unnamed behind a transaction pooler such as PgBouncer), got %q", *statements)
	}
	switch *metricsOn {
	case "on", "off":
	default:
		return fmt.Errorf("api: METRICS must be on or off, got %q", *metricsOn)
	}
	if *metricsOn == "off" && *metricsAddr != "" {
		return errors.New("api: METRICS_ADDR is set but METRICS is off")
	}
	switch {
	case *httpConns < 0, *headerBytes <= 0, *reqTimeout <= 0, *delay < 0, *retention <= 0, *bodyTimeout <= 0:
		return errors.New("api: -http-max-conns, -shutdown-delay must be ≥ 0; -max-header-bytes, -request-timeout, -idempotency-retention, -body-timeout > 0")
	}
	out := newLogWriter(stderr, 64<<10, 100*time.Millisecond)
	defer out.Close()
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))
	if *httpConns == 0 {
		*httpConns = defaultHTTPConns(*maxConns)
	}

	dsn, err := dataSource(dburl.LocalSSLDefault(*dbURL, getenv), *reqTimeout, mode)
	if err != nil {
		return err
	}
	connector, err := pq.NewConnector(dsn)
	if err != nil {
		// lib/pq's message may quote the string, password included.
		return fmt.Errorf("api: DATABASE_URL %s is not a valid connection string", dburl.Redact(*dbURL))
	}
	db := sql.OpenDB(store.Connector(connector))
	defer db.Close()
	db.SetConnMaxIdleTime(5 * time.Minute)

	head, err := migrations.Head()
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	ready := &Readiness{DB: db, Head: head, Schema: revtable.BoundSchema(*dbURL), Log: log}
	if err := ready.Check(ctx); err != nil {
		log.Error("not ready yet; serving anyway and checking again on /readyz", "err", dburl.Explain(err), "database", dburl.Redact(*dbURL))
		if mode == store.Prepared && poolerRefusedSettings(err) {
			log.Error("a connection pooler refused the session settings sent at connect: behind a transaction pooler, set DB_STATEMENTS=unnamed and the timeouts on the role")
		}
	} else if mode == store.Unnamed {
		checkServerTimeouts(ctx, log, db, *reqTimeout)
	}

	var metrics *Metrics
	if *metricsOn == "on" {
		metrics = NewMetrics(db)
	}
	tasks := store.New(db, store.WithKeyRetention(*retention), store.WithLimits(*maxConns, *reqTimeout), store.WithStatements(mode))
	var draining atomic.Bool
	ln, err := listen(*addr)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	limited := newConnLimit(ln, *httpConns, *bodyTimeout)
	srv := &http.Server{
		Handler: NewServer(Config{
			Log: log, Tasks: tasks, Ready: ready.Check,
			Draining: draining.Load, Denied: ready.Denied,
			Metrics: metrics, PublicMetrics: *metricsAddr == "", AccessLog: access,
		}),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      max(15*time.Second, *reqTimeout+5*time.Second),
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    *headerBytes,
		ConnState:         limited.track,
		ConnContext:       limited.connContext,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if *pprofAddr != "" {
		stopProfiling, err := serveAdmin("profiling", *pprofAddr, profiling(), log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopProfiling()
	}
	if *metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler())
		stopMetrics, err := serveAdmin("metrics", *metricsAddr, mux, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopMetrics()
	}
	// Last, so that whoever waits for this line finds the admin addresses
	// logged before it.
	log.Info("listening", "addr", ln.Addr().String(), "schema_head", head, "max_conns", *httpConns, "db_statements", *statements)

	sweepCtx, stopSweep := context.WithCancel(context.WithoutCancel(ctx))
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		expireKeys(sweepCtx, log, tasks, min(*retention/2, time.Minute))
	}()
	defer func() { stopSweep(); <-swept }()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(limited) }()
	select {
	case err := <-served:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	draining.Store(true)
	log.Info("draining: not ready, closing connections after each response", "for", *delay)
	select {
	case err := <-served:
		return fmt.Errorf("api: serve: %w", err)
	case <-time.After(*delay):
	}
	if err := limited.quiesce(time.Second); err != nil {
		log.Warn("closing the listener may reset queued connections", "err", err)
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *shutdown)
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

func env(getenv func(string) string, key, def string) string {
	if v := strings.TrimSpace(getenv(key)); v != "" {
		return v
	}
	return def
}
