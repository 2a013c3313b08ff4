package migratecli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"tasks/internal/diff"
	"tasks/internal/lint"
)

func validateCommand() command {
	return command{
		name:    "validate",
		summary: "check atlas.sum and that the migration files replay cleanly on the dev database",
		run: func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return errors.New("migrate validate: takes no arguments")
			}
			if c.dev() == "" {
				return errors.New("migrate validate: needs a dev database: --dev-url or --env")
			}
			dir, err := c.openDir()
			if err != nil {
				return err
			}
			if err := diff.Validate(ctx, dir, c.dev()); err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, "The migration directory is valid")
			return nil
		},
	}
}

func lintCommand() command {
	var latest int
	return command{
		name: "lint",
		summary: "run Atlas's analyzers (destructive, data-dependent, backward-incompatible, constraint drops), " +
			"the updated_at check and the lock-hazard checks (PG1xx, PG3xx, LK1xx) on the newest files, " +
			"as atlas.hcl's lint block configures them",
		flags: func(fs *flag.FlagSet, _ *cli) {
			fs.IntVar(&latest, "latest", -1, "how many of the newest files to lint, 0 for all (default: the env's lint.latest, else 1)")
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return errors.New("migrate lint: takes no arguments")
			}
			if c.dev() == "" {
				return errors.New("migrate lint: needs a dev database: --dev-url or --env")
			}
			dir, err := c.openDir()
			if err != nil {
				return err
			}
			cfg := lint.Config{Dir: dir, Latest: latest, Out: c.stdout}
			if c.conf != nil {
				cfg.Rules = c.conf.Lint.Rules
				if latest < 0 {
					cfg.Latest = c.conf.Lint.Latest
				}
			}
			if cfg.Latest < 0 || (latest < 0 && cfg.Latest == 0) {
				cfg.Latest = 1
			}
			var done func()
			if cfg.DB, cfg.Schema, done, err = diff.Scratch(ctx, c.dev()); err != nil {
				return err
			}
			defer done()
			if _, err := lint.Run(ctx, cfg); err != nil {
				return err
			}
			return nil
		},
	}
}
