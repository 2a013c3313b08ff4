package migratecli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"tasks/internal/diff"
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
		name:    "lint",
		summary: "flag destructive changes in the latest files and updated_at columns no trigger keeps",
		flags: func(fs *flag.FlagSet, _ *cli) {
			fs.IntVar(&latest, "latest", 1, "how many of the newest files to check for destructive changes (0: all)")
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
			findings, err := diff.Lint(ctx, dir, c.dev(), latest)
			if err != nil {
				return err
			}
			for _, f := range findings {
				fmt.Fprintln(c.stdout, f)
			}
			if len(findings) > 0 {
				return fmt.Errorf("migrate lint: %d finding(s); mark an intended statement with '-- atlas:nolint'", len(findings))
			}
			fmt.Fprintln(c.stdout, "No issues found")
			return nil
		},
	}
}
