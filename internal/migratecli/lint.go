package migratecli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

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
				return fmt.Errorf("lint: %w", err)
			}
			defer done()
			diags, err := lint.Run(ctx, cfg)
			if errors.Is(err, lint.ErrFindings) {
				return fmt.Errorf("%w\n%s", err, nolintHint(diags))
			}
			return err
		},
	}
}

// checkOf maps a finding's code to the name of its check in the lint
// block, by the code's letters (Atlas's analyzers and the project's).
func checkOf(code string) string {
	for prefix, name := range map[string]string{
		"DS": "destructive", "MF": "data_depend", "BC": "incompatible", "CD": "condrop",
		"UA": "updated_at", "VW": "view_dependents", "RS": "row_security", "PV": "privileges",
	} {
		if strings.HasPrefix(code, prefix) {
			return name
		}
	}
	return ""
}

// nolintHint says the two ways to accept an intended change that a check
// fails on, with the codes and checks that were found.
func nolintHint(diags []lint.Diagnostic) string {
	var codes, checks []string
	seen := map[string]bool{}
	for _, d := range diags {
		if !seen[d.Code] {
			seen[d.Code] = true
			codes = append(codes, d.Code)
			if c := checkOf(d.Code); c != "" && !seen["check "+c] {
				seen["check "+c] = true
				checks = append(checks, c)
			}
		}
	}
	check := "destructive"
	if len(checks) > 0 {
		check = checks[0]
	}
	return fmt.Sprintf("If the change is intended (e.g. the data was moved first): put `-- atlas:nolint %s` on the line above "+
		"the statement (at the top of the file, followed by a blank line, for the whole file), then run 'make hash'; "+
		"or make the check report without failing in atlas.hcl's lint block: lint { %s { error = false } }. "+
		"Checks found: %s.", strings.Join(codes, " "), check, strings.Join(checks, ", "))
}
