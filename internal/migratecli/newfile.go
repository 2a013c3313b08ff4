package migratecli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"tasks/internal/migrate"
)

func newCommand() command {
	var edit bool
	return command{
		name:    "new",
		args:    "[name]",
		summary: "create an empty migration file (or --edit it in $EDITOR) and update atlas.sum",
		flags: func(fs *flag.FlagSet, _ *cli) {
			fs.BoolVar(&edit, "edit", false, "open the new file in $EDITOR; atlas.sum is written after the editor exits")
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 1 {
				return errors.New("migrate new: at most one argument (the migration name)")
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
				if !validName.MatchString(name) {
					return fmt.Errorf("migrate new: name %q: use letters, digits, '_', '-' and '.'", name)
				}
			}
			editor := strings.Fields(c.getenv("EDITOR"))
			if edit && len(editor) == 0 {
				return errors.New("migrate new --edit: $EDITOR is not set: EDITOR=vi make … (or create the file without --edit)")
			}
			// As the Atlas CLI's migrate new: the directory is made when
			// missing.
			if err := makeLocalDir(c.dirURL()); err != nil {
				return err
			}
			dir, err := c.openDir()
			if err != nil {
				return err
			}
			file, err := migrate.NewFile(dir, name, time.Now())
			if err != nil {
				return err
			}
			path := filepath.Join(dir.Path(), file)
			if edit {
				cmd := exec.CommandContext(ctx, editor[0], append(editor[1:], path)...)
				cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, c.stdout, c.stderr
				if err := cmd.Run(); err != nil {
					// Leave the directory as it was.
					os.Remove(path)
					if herr := migrate.Hash(dir); herr != nil {
						return errors.Join(err, herr)
					}
					return fmt.Errorf("migrate new --edit: %s: %w; no file was created", strings.Join(editor, " "), err)
				}
				if err := migrate.Hash(dir); err != nil {
					return err
				}
			}
			fmt.Fprintf(c.stdout, "Created %s\n", path)
			return nil
		},
	}
}
