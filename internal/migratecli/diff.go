package migratecli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"regexp"

	"tasks/internal/diff"
)

// validName is what Atlas accepts as a migration name: it becomes part of
// a file name.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func diffCommand() command {
	var check bool
	return command{
		name:    "diff",
		args:    "[name]",
		summary: "write the migration that brings the directory to the desired state (Ent schema + SQL files)",
		flags: func(fs *flag.FlagSet, c *cli) {
			fs.BoolVar(&check, "check", false, "write nothing; exit non-zero and print the SQL if a migration is needed")
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 1 {
				return errors.New("migrate diff: at most one argument (the migration name)")
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
				if !validName.MatchString(name) {
					return fmt.Errorf("migrate diff: name %q: use letters, digits, '_', '-' and '.'", name)
				}
			}
			if c.conf == nil {
				return errors.New("migrate diff: needs --env (the env's src and dev in atlas.hcl)")
			}
			dir, err := c.openDir()
			if err != nil {
				return err
			}
			_, err = diff.Run(ctx, diff.Config{
				Dir:     dir,
				Sources: c.conf.Src,
				DevURL:  c.dev(),
				Name:    name,
				BaseDir: filepath.Dir(c.config),
				Check:   check,
				Out:     c.stdout,
			})
			return err
		},
	}
}
