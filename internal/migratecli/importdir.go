package migratecli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"tasks/internal/migrate"
)

func importCommand() command {
	var from, to string
	return command{
		name: "import",
		summary: "convert another tool's migration directory (--from file://DIR?format=" + strings.Join(migrate.ImportFormats, "|") +
			") into Atlas's format (--to, default the env's dir): up statements only, atlas.sum written",
		flags: func(fs *flag.FlagSet, _ *cli) {
			fs.StringVar(&from, "from", "", "directory to import, with its format: file://DIR?format=golang-migrate")
			fs.StringVar(&to, "to", "", "empty migration directory to write (default: --dir, the env's migration.dir, then file://migrations)")
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return errors.New("migrate import: takes no arguments, only --from and --to")
			}
			if from == "" {
				return fmt.Errorf("migrate import: --from is required: --from 'file://DIR?format=%s'", strings.Join(migrate.ImportFormats, "|"))
			}
			if to != "" {
				c.dir = to
			}
			if err := makeLocalDir(c.dirURL()); err != nil {
				return err
			}
			dst, err := c.openDir()
			if err != nil {
				return err
			}
			n, err := migrate.Import(from, dst)
			if err != nil {
				return err
			}
			if n == 0 {
				fmt.Fprintln(c.stdout, "Nothing to import")
				return nil
			}
			fmt.Fprintf(c.stdout, "Imported %d file%s into %s\n", n, map[bool]string{true: "s"}[n != 1], dst.Path())
			return nil
		},
	}
}
