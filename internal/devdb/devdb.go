// Package devdb runs a command against a throwaway PostgreSQL: it starts a
// private server, creates database "tasks", applies the embedded
// migrations, runs the command with DATABASE_URL pointing there, and
// removes the server when the command ends. `make run` uses it when no
// DATABASE_URL is set, so a fresh machine needs nothing but the server
// binaries.
package devdb

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"tasks/internal/dburl"
	"tasks/internal/migrate"
	"tasks/internal/pgtemp"
	"tasks/internal/revtable"
	"tasks/migrations"
)

// ExitError carries the command's exit status.
type ExitError struct{ Code int }

func (e *ExitError) Error() string {
	return fmt.Sprintf("devdb: command exited with status %d", e.Code)
}

// Run is the devdb command: devdb [--port N | --url URL] [--] command
// [args...]. With --url it starts no server: it migrates the database
// the URL names and runs the command against it, which is what `make run`
// does with DATABASE_URL set, without building cmd/migrate.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devdb", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 0, "port for the server (default: a free one)")
	given := fs.String("url", "", "migrate this database and run the command against it, starting no server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) == 0 {
		return errors.New("usage: devdb [--port N | --url URL] [--] command [args...]")
	}
	if *given != "" && *port != 0 {
		return errors.New("devdb: --url and --port exclude each other: --url uses a running server, --port starts one")
	}
	// Signals go to the child; we stop the server once it has exited.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	url := *given
	if url != "" {
		// Bounded, so that a server that does not answer (or a program
		// that is not PostgreSQL) fails in seconds instead of hanging.
		dsn, err := dburl.SetDefaults(dburl.LocalSSLDefault(url, getenv), [][2]string{{"connect_timeout", "10"}})
		if err != nil {
			return fmt.Errorf("devdb: DATABASE_URL %s: %w", dburl.Redact(url), err)
		}
		if err := Migrate(ctx, dsn, stderr); err != nil {
			return err
		}
	} else {
		var opts []pgtemp.Option
		if *port != 0 {
			// Checked first: pgtemp would take another PostgreSQL on the
			// port for its own, and wait long on a listener that is not
			// one.
			if err := portFree(ctx, *port); err != nil {
				return err
			}
			opts = append(opts, pgtemp.WithPort(*port))
		}
		srv, u, err := Start(ctx, stderr, opts...)
		if err != nil {
			return err
		}
		defer srv.Stop()
		url = u
	}
	// An interrupt while the server was starting means the command is no
	// longer wanted.
	select {
	case s := <-sigs:
		return fmt.Errorf("devdb: %v before the command started", s)
	default:
	}
	if *given == "" {
		fmt.Fprintf(stderr, "devdb: throwaway PostgreSQL ready: DATABASE_URL=%s\n", url)
	}

	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("devdb: %w", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			_ = cmd.Process.Signal(s)
		case err := <-waited:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				// A child killed by a signal exits like it would under a
				// shell, 128+signal, so callers still see a failure.
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return &ExitError{Code: 128 + int(ws.Signal())}
				}
				return &ExitError{Code: ee.ExitCode()}
			}
			if err != nil {
				return fmt.Errorf("devdb: %w", err)
			}
			return nil
		}
	}
}

// Start starts a throwaway server with database "tasks" migrated to the
// embedded migrations, and returns it with the database's URL. The apply
// log goes to out. The caller stops the server.
func Start(ctx context.Context, out io.Writer, opts ...pgtemp.Option) (*pgtemp.Server, string, error) {
	srv, err := pgtemp.Start(ctx, opts...)
	if err != nil {
		return nil, "", err
	}
	url, err := srv.CreateDatabase(ctx, "tasks")
	if err == nil {
		err = Migrate(ctx, url, out)
	}
	if err != nil {
		srv.Stop()
		return nil, "", err
	}
	return srv, url, nil
}

// Migrate applies the embedded migrations to the database at url, as
// migrate apply does, writing its log to out, and closes its connection.
func Migrate(ctx context.Context, url string, out io.Writer) error {
	db, err := sql.Open("postgres", url)
	if err != nil {
		return fmt.Errorf("devdb: database URL %s: %w", dburl.Redact(url), err)
	}
	defer db.Close()
	dir, err := migrate.OpenDir(migrations.FS)
	if err != nil {
		return err
	}
	o := migrate.Options{Out: out, Schema: revtable.BoundSchema(url)}
	if _, err := migrate.Apply(ctx, db, dir, 0, o); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("devdb: migrate %s: no answer in time (%w): is PostgreSQL listening there? "+
				"Check DATABASE_URL's host and port, or unset it to run a throwaway server", dburl.Redact(url), err)
		}
		return fmt.Errorf("devdb: migrate %s: %w", dburl.Redact(url), dburl.Explain(err))
	}
	return nil
}
