// Package migrations embeds the versioned migration files (Atlas directory
// format) so that binaries carry the schema they expect.
package migrations

import "embed"

// FS holds every *.sql file of this directory and atlas.sum.
//
//go:embed *.sql atlas.sum
var FS embed.FS
