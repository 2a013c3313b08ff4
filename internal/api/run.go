package api

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq" // database/sql driver

	"tasks/internal/store"
	"tasks/migrations"
)

// Defaults that work on a fresh machine with a local PostgreSQL.
const (
	DefaultAddr        = "localhost:8080"
	DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/tasks?sslmode=disable"
)

// Run is the api binary: it reads its configuration from flags and the
// environment, serves until ctx is cancelled or SIGINT/SIGTERM arrives,
// then shuts down gracefully. It starts even when the database is down:
// /readyz reports not ready until it answers.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env(getenv, "ADDR", DefaultAddr), "listen address ($ADDR)")
	dbURL := fs.String("database-url", env(getenv, "DATABASE_URL", DefaultDatabaseURL), "PostgreSQL URL ($DATABASE_URL)")
	maxConns := fs.Int("max-conns", envInt(getenv, "DB_MAX_CONNS", 32), "database connection pool size ($DB_MAX_CONNS)")
	logLevel := fs.String("log-level", env(getenv, "LOG_LEVEL", "info"), "debug, info, warn or error ($LOG_LEVEL)")
	shutdown := fs.Duration("shutdown-timeout", 15*time.Second, "how long in-flight requests may take to finish on shutdown")
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
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	dsn, err := dataSource(*dbURL)
	if err != nil {
		return err
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(*maxConns)
	db.SetMaxIdleConns(*maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)

	head, err := migrations.Head()
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	ready := &Readiness{DB: db, Head: head}
	if err := ready.Check(ctx); err != nil {
		log.Error("not ready yet; serving anyway and checking again on /readyz", "err", err, "database", redact(*dbURL))
	}

	srv := &http.Server{
		Handler:           NewServer(Config{Log: log, Tasks: store.New(db), Ready: ready.Check}),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	log.Info("listening", "addr", ln.Addr().String(), "schema_head", head)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
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

// dataSource adds the lib/pq settings the service relies on unless the URL
// sets them: binary_parameters, so a parameterized statement costs one
// round trip instead of two (prepare, then execute), and a connect
// timeout, so an unreachable server fails requests fast.
func dataSource(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("api: DATABASE_URL must look like postgres://user@host:port/db, got %q", redact(raw))
	}
	q := u.Query()
	for k, v := range map[string]string{"binary_parameters": "yes", "connect_timeout": "2"} {
		if q.Get(k) == "" {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func env(getenv func(string) string, key, def string) string {
	if v := strings.TrimSpace(getenv(key)); v != "" {
		return v
	}
	return def
}

func envInt(getenv func(string) string, key string, def int) int {
	if n, err := strconv.Atoi(getenv(key)); err == nil && n > 0 {
		return n
	}
	return def
}
