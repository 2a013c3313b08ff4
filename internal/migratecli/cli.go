// Package migratecli is the `migrate` command: the Atlas CLI's versioned
// workflow (apply, status, set, hash, validate, diff, lint, new, import,
// down) on the project's own engine, reading the same atlas.hcl.
package migratecli

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	_ "github.com/lib/pq" // database/sql driver

	"tasks/internal/atlasconf"
	"tasks/internal/dburl"
	"tasks/internal/migrate"
	"tasks/internal/revtable"
)

// command is one subcommand of migrate.
type command struct {
	name    string
	args    string // usage of the positional arguments
	summary string
	// flags adds the command's own flags to fs; it may be nil.
	flags func(fs *flag.FlagSet, c *cli)
	run   func(ctx context.Context, c *cli, args []string) error
}

// commands lists the subcommands in the order help shows them.
func commands() []command {
	return []command{
		applyCommand(),
		statusCommand(),
		setCommand(),
		hashCommand(),
		diffCommand(),
		validateCommand(),
		lintCommand(),
		newCommand(),
		importCommand(),
		downCommand(),
	}
}

// cli holds what every command shares: the streams, the environment, and
// the flags common to all of them.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string

	config          string // path of atlas.hcl
	env             string // env block to use, "" for none
	url             string
	dir             string
	revisionsSchema string
	devURL          string
	connectTimeout  time.Duration
	vars            varsFlag // atlas.hcl input variables (--var key=value)

	conf *atlasconf.Env // the selected env, nil without --env
}

// Run executes the migrate command line args (without the program name).
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout, cmds)
		if len(args) == 0 {
			return errors.New("migrate: no command given")
		}
		return nil
	}
	var cmd *command
	for i := range cmds {
		if cmds[i].name == args[0] {
			cmd = &cmds[i]
		}
	}
	if cmd == nil {
		usage(stderr, cmds)
		return fmt.Errorf("migrate: unknown command %q", args[0])
	}

	c := &cli{stdout: stdout, stderr: stderr, getenv: getenv}
	fs := flag.NewFlagSet("migrate "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.config, "config", "atlas.hcl", "project file to read envs from")
	fs.StringVar(&c.env, "env", "", "env block of the project file to use (e.g. local)")
	fs.StringVar(&c.url, "url", "", "target database URL (default: the env's url, then $DATABASE_URL)")
	fs.StringVar(&c.dir, "dir", "", "migration directory (default: the env's migration.dir, then file://migrations)")
	fs.StringVar(&c.revisionsSchema, "revisions-schema", "", "schema of the revision table")
	fs.StringVar(&c.devURL, "dev-url", "", "dev database for diff, validate and lint (default: the env's dev)")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 10*time.Second, "how long to wait for the database to answer")
	c.vars = varsFlag{}
	fs.Var(c.vars, "var", "input variable of the project file, key=value (repeatable)")
	if cmd.flags != nil {
		cmd.flags(fs, c)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: migrate %s [flags] %s\n\n%s\n\nflags:\n", cmd.name, cmd.args, cmd.summary)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("migrate %s: %w", cmd.name, err)
	}
	if c.env != "" {
		f, err := atlasconf.Load(c.config, getenv, atlasconf.WithVars(c.vars))
		if err != nil {
			return err
		}
		if c.conf, err = f.Env(c.env); err != nil {
			return err
		}
		if c.revisionsSchema == "" {
			c.revisionsSchema = c.conf.Migration.RevisionsSchema
		}
	}
	return cmd.run(ctx, c, fs.Args())
}

// varsFlag collects --var key=value, as the Atlas CLI takes them.
type varsFlag map[string]string

func (v varsFlag) String() string { return "" }

func (v varsFlag) Set(s string) error {
	k, val, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	v[k] = val
	return nil
}

func usage(w io.Writer, cmds []command) {
	fmt.Fprintln(w, "usage: migrate <command> [flags] [args]")
	fmt.Fprintln(w, "\nVersioned migrations for PostgreSQL, compatible with the Atlas CLI's atlas.hcl,")
	fmt.Fprintln(w, "migration directory, atlas.sum and revision table.\n\ncommands:")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'migrate <command> -h' for a command's flags.")
}

// dev is the dev database URL: --dev-url, else the env's dev.
func (c *cli) dev() string {
	if c.devURL != "" || c.conf == nil {
		return c.devURL
	}
	return c.conf.Dev
}

// dirURL is the migration directory to use.
func (c *cli) dirURL() string {
	switch {
	case c.dir != "":
		return c.dir
	case c.conf != nil && c.conf.Migration.Dir != "":
		return c.conf.Migration.Dir
	}
	return "file://migrations"
}

// openDir opens the migration directory.
func (c *cli) openDir() (*amigrate.LocalDir, error) {
	return migrate.OpenLocalDir(c.dirURL())
}

// targetURL is the database to migrate.
func (c *cli) targetURL() (string, error) {
	switch {
	case c.url != "":
		return c.url, nil
	case c.conf != nil && c.conf.URL != "":
		return c.conf.URL, nil
	case c.getenv("DATABASE_URL") != "":
		return c.getenv("DATABASE_URL"), nil
	}
	return "", errors.New("migrate: no database URL: use --url, --env with a url, or DATABASE_URL")
}

// connect opens the target database and checks that it answers within
// the connect timeout, so an unreachable server fails fast and clearly.
func (c *cli) connect(ctx context.Context) (*sql.DB, string, error) {
	raw, err := c.targetURL()
	if err != nil {
		return nil, "", err
	}
	dsn, err := withConnectTimeout(dburl.LocalSSLDefault(raw, c.getenv), c.connectTimeout)
	if err != nil {
		return nil, "", err
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, "", fmt.Errorf("migrate: open %s: %w", dburl.Redact(raw), err)
	}
	pctx, cancel := context.WithTimeout(ctx, c.connectTimeout)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		if pctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s", c.connectTimeout)
		}
		return nil, "", fmt.Errorf("migrate: cannot connect to %s: %w", dburl.Redact(raw), dburl.Explain(err))
	}
	return db, raw, nil
}

// target opens the migration directory and the target database, and
// returns the engine options for them. The caller closes the database.
func (c *cli) target(ctx context.Context) (*amigrate.LocalDir, *sql.DB, migrate.Options, error) {
	dir, err := c.openDir()
	if err != nil {
		return nil, nil, migrate.Options{}, err
	}
	db, dbURL, err := c.connect(ctx)
	if err != nil {
		return nil, nil, migrate.Options{}, err
	}
	return dir, db, c.options(dbURL), nil
}

// options are the engine options from the flags and the env.
func (c *cli) options(dbURL string) migrate.Options {
	o := migrate.Options{
		Schema:          revtable.BoundSchema(dbURL),
		RevisionsSchema: c.revisionsSchema,
		Out:             c.stdout,
	}
	if c.conf != nil {
		o.Baseline = c.conf.Migration.Baseline
		o.ExecOrder = c.conf.Migration.ExecOrder
		o.LockTimeout = c.conf.Migration.LockTimeout
	}
	return o
}

// withConnectTimeout adds lib/pq's connect_timeout (whole seconds) unless
// the URL sets one.
func withConnectTimeout(raw string, d time.Duration) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("migrate: database URL must look like postgres://user@host:port/db: %q", dburl.Redact(raw))
	}
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", fmt.Sprint(max(1, int(d.Round(time.Second)/time.Second))))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func applyCommand() command {
	var (
		txMode, execOrder, baseline string
		allowDirty                  bool
		lockTimeout                 time.Duration
		lockRetries                 int
		retryDelay, retryMaxDelay   time.Duration
	)
	return command{
		name:    "apply",
		args:    "[N]",
		summary: "apply pending migration files (at most N) to the target database",
		flags: func(fs *flag.FlagSet, _ *cli) {
			fs.StringVar(&txMode, "tx-mode", migrate.TxModeFile, "transaction mode: file, all or none")
			fs.StringVar(&execOrder, "exec-order", "", "linear (default), linear-skip or non-linear")
			fs.StringVar(&baseline, "baseline", "", "version to mark as applied on a non-clean database")
			fs.BoolVar(&allowDirty, "allow-dirty", false, "allow a first run on a non-clean database")
			fs.DurationVar(&lockTimeout, "lock-timeout", 0, "how long to wait for another migrate run's advisory lock (default 10s; "+
				"not PostgreSQL's lock_timeout, which the files set: see --lock-retries)")
			fs.IntVar(&lockRetries, "lock-retries", migrate.DefaultLockRetries, "how many times to try a file again when a statement "+
				"gave up on PostgreSQL's lock_timeout (SQLSTATE 55P03): a transactional file runs again whole, "+
				"a txmode-none file resumes at that statement; 0 for none")
			fs.DurationVar(&retryDelay, "lock-retry-delay", migrate.DefaultLockRetryDelay, "wait before the first lock-timeout retry; "+
				"it doubles on each retry, minus a random part of up to half")
			fs.DurationVar(&retryMaxDelay, "lock-retry-max-delay", migrate.DefaultLockRetryMaxDelay, "longest wait between lock-timeout retries")
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			n := 0
			if len(args) > 1 {
				return errors.New("migrate apply: at most one argument (N)")
			}
			if len(args) == 1 {
				if _, err := fmt.Sscanf(args[0], "%d", &n); err != nil || n < 1 || fmt.Sprint(n) != args[0] {
					return fmt.Errorf("migrate apply: N must be a positive number, got %q", args[0])
				}
			}
			switch txMode {
			case migrate.TxModeFile, migrate.TxModeAll, migrate.TxModeNone:
			default:
				return fmt.Errorf("migrate apply: unknown transaction mode %q (file, all or none)", txMode)
			}
			switch {
			case lockRetries < 0:
				return fmt.Errorf("migrate apply: --lock-retries must be 0 or more, got %d", lockRetries)
			case retryDelay <= 0 || retryMaxDelay <= 0:
				return errors.New("migrate apply: --lock-retry-delay and --lock-retry-max-delay must be positive durations (e.g. 1s)")
			case retryMaxDelay < retryDelay:
				return fmt.Errorf("migrate apply: --lock-retry-max-delay (%s) is shorter than --lock-retry-delay (%s)", retryMaxDelay, retryDelay)
			}
			dir, db, o, err := c.target(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			o.TxMode, o.AllowDirty = txMode, allowDirty
			if execOrder != "" {
				o.ExecOrder = execOrder
			}
			if baseline != "" {
				o.Baseline = baseline
			}
			if lockTimeout > 0 {
				o.LockTimeout = lockTimeout
			}
			o.LockRetries, o.LockRetryDelay, o.LockRetryMaxDelay = lockRetries, retryDelay, retryMaxDelay
			if lockRetries == 0 {
				o.LockRetries = -1 // the engine's zero value means its default
			}
			_, err = migrate.Apply(ctx, db, dir, n, o)
			return err
		},
	}
}

func statusCommand() command {
	return command{
		name:    "status",
		summary: "show which migration files the target database has applied",
		run: func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return errors.New("migrate status: takes no arguments")
			}
			dir, db, o, err := c.target(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			st, err := migrate.Status(ctx, db, dir, o)
			if err != nil {
				return err
			}
			st.Print(c.stdout)
			return nil
		},
	}
}

func setCommand() command {
	return command{
		name:    "set",
		args:    "VERSION",
		summary: "mark the directory applied up to VERSION in the revision table, removing revisions above it (runs no SQL)",
		run: func(ctx context.Context, c *cli, args []string) error {
			if len(args) != 1 || args[0] == "" {
				return errors.New("migrate set: exactly one argument: the version to set the database to")
			}
			dir, db, o, err := c.target(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			rep, err := migrate.Set(ctx, db, dir, args[0], o)
			if err != nil {
				return err
			}
			rep.Print(c.stdout)
			return nil
		},
	}
}

func hashCommand() command {
	return command{
		name:    "hash",
		summary: "rewrite atlas.sum from the migration files",
		run: func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return errors.New("migrate hash: takes no arguments")
			}
			dir, err := c.openDir()
			if err != nil {
				return err
			}
			return migrate.Hash(dir)
		},
	}
}
