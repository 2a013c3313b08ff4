// Package migrations embeds the versioned migration files (Atlas directory
// format) so that binaries carry the schema they expect.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

// FS holds every *.sql file of this directory and atlas.sum.
//
//go:embed *.sql atlas.sum
var FS embed.FS

// Head returns the version of the last migration file: the text of its
// name before the first "_" (Atlas's rule), "" when there is none.
func Head() (string, error) {
	names, err := fs.Glob(FS, "*.sql")
	if err != nil {
		return "", fmt.Errorf("migrations: %w", err)
	}
	if len(names) == 0 {
		return "", nil
	}
	last := strings.TrimSuffix(names[len(names)-1], ".sql") // Glob sorts
	version, _, _ := strings.Cut(last, "_")
	return version, nil
}
