package migratecli

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"

	"tasks/internal/dburl"
	"tasks/internal/diff"
	"tasks/internal/migrate"
)

func downCommand() command {
	var (
		toVersion   string
		dryRun      bool
		lockTimeout time.Duration
	)
	return command{
		name: "down",
		args: "[N]",
		summary: "revert the last N applied files (default 1) or --to-version V, planned from the database's current state " +
			"on the dev database; refuses to drop a table or column that holds data",
		flags: func(fs *flag.FlagSet, _ *cli) {
			fs.StringVar(&toVersion, "to-version", "", "revert down to this version (it stays applied)")
			fs.BoolVar(&dryRun, "dry-run", false, "print the plan and run its data checks; change nothing")
			fs.DurationVar(&lockTimeout, "lock-timeout", 0, "how long to wait for another run's lock (default 10s)")
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			n := 1
			switch {
			case len(args) > 1:
				return errors.New("migrate down: at most one argument (N, how many applied files to revert)")
			case len(args) == 1 && toVersion != "":
				return errors.New("migrate down: give N or --to-version, not both")
			case len(args) == 1:
				var err error
				if n, err = strconv.Atoi(args[0]); err != nil || n < 1 {
					return fmt.Errorf("migrate down: N must be a positive number, got %q", args[0])
				}
			}
			if c.dev() == "" {
				return errors.New("migrate down: needs a dev database to plan on: --dev-url or --env")
			}
			dir, db, o, err := c.target(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			if lockTimeout > 0 {
				o.LockTimeout = lockTimeout
			}
			applied, err := migrate.AppliedVersions(ctx, db, o)
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintln(c.stdout, "Nothing to revert: the database has no migration applied")
				return nil
			}
			from := applied[len(applied)-1]
			to := ""
			if toVersion != "" {
				if toVersion >= from {
					return fmt.Errorf("migrate down: the database is at version %s: --to-version must be an earlier applied version", from)
				}
				found := false
				for _, v := range applied {
					found = found || v == toVersion
				}
				if !found {
					return fmt.Errorf("migrate down: version %s is not applied to the database (applied: %s); run 'make status'",
						toVersion, strings.Join(applied, ", "))
				}
				to = toVersion
			} else if n < len(applied) {
				to = applied[len(applied)-1-n]
			} else if n > len(applied) {
				return fmt.Errorf("migrate down: only %d migration%s applied, cannot revert %d", len(applied), map[bool]string{true: "s"}[len(applied) != 1], n)
			}
			files, err := dir.Files()
			if err != nil {
				return fmt.Errorf("migrate down: %w", err)
			}
			if to != "" && !hasVersion(files, to) {
				return fmt.Errorf("migrate down: version %s has no file in the migration directory, so its state cannot be built", to)
			}

			// The catalog is read on one session, under one search_path.
			raw, _ := c.targetURL()
			dsn, err := withConnectTimeout(dburl.LocalSSLDefault(raw, c.getenv), c.connectTimeout)
			if err != nil {
				return err
			}
			one, err := sql.Open("postgres", dsn)
			if err != nil {
				return fmt.Errorf("migrate down: %w", err)
			}
			one.SetMaxOpenConns(1)
			r, err := diff.PlanRevert(ctx, diff.RevertConfig{Dir: dir, To: to, From: from, Target: one, DevURL: c.dev()})
			one.Close()
			if err != nil {
				return err
			}
			plan := &migrate.DownPlan{To: to, Checks: r.Checks}
			for _, ch := range r.Changes {
				plan.Stmts = append(plan.Stmts, ch.Cmd)
				plan.Comments = append(plan.Comments, ch.Comment)
			}
			reverted := 0
			for _, v := range applied {
				if v > to {
					reverted++
				}
			}
			target := to
			if target == "" {
				target = "no migration applied"
			}
			fmt.Fprintf(c.stdout, "Reverting from version %s to %s (%d migration%s):\n\n", from, target, reverted,
				map[bool]string{true: "s"}[reverted != 1])
			plan.Print(c.stdout)
			if r.Note != "" {
				fmt.Fprintf(c.stdout, "\nNote: %s\n", r.Note)
			}
			if dryRun {
				if err := migrate.CheckData(ctx, db, plan.Checks); err != nil {
					return fmt.Errorf("migrate down --dry-run: %w", err)
				}
				fmt.Fprintln(c.stdout, "\nDry run: the checks pass; nothing was changed")
				return nil
			}
			rep, err := migrate.Down(ctx, db, plan, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "\nReverted to %s: %d statement%s run, revision%s removed: %s\n", target, len(plan.Stmts),
				map[bool]string{true: "s"}[len(plan.Stmts) != 1], map[bool]string{true: "s"}[len(rep.Removed) != 1],
				strings.Join(rep.Removed, ", "))
			return nil
		},
	}
}

func hasVersion(files []amigrate.File, v string) bool {
	for _, f := range files {
		if f.Version() == v {
			return true
		}
	}
	return false
}
