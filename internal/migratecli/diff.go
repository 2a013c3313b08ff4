package migratecli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
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
			if !check {
				// As the Atlas CLI's migrate diff does: the first diff of
				// a project makes its directory.
				if err := makeLocalDir(c.dirURL()); err != nil {
					return err
				}
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
				Online:  c.conf.Diff,
				Schemas: c.conf.Schemas,
			})
			return err
		},
	}
}

// makeLocalDir creates a file:// migration directory (and its parents)
// that does not exist yet.
func makeLocalDir(dirURL string) error {
	u, err := url.Parse(dirURL)
	if err != nil || (u.Scheme != "" && u.Scheme != "file") {
		return fmt.Errorf("migrate diff: unsupported migration directory %q (only file:// directories)", dirURL)
	}
	p := filepath.Join(u.Host, u.Path)
	if u.Scheme == "" {
		p = u.Path
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return fmt.Errorf("migrate diff: create migration directory: %w", err)
	}
	return nil
}
