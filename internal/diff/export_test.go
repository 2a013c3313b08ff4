package diff

import (
	"context"
	"database/sql"

	amigrate "ariga.io/atlas/sql/migrate"
	entschema "entgo.io/ent/dialect/sql/schema"
)

// Build materializes a desired state on db directly: Ent's tables (those
// without a schema annotation in schema def), then SQL text as if read
// from schema.sql.
func Build(ctx context.Context, db *sql.DB, def string, tables []*entschema.Table, sqlText string) error {
	if err := createTables(ctx, db, tables, def); err != nil {
		return err
	}
	return execSQL(ctx, db, "schema.sql", sqlText)
}

// ExecSQL runs SQL text as a source file would be.
func ExecSQL(ctx context.Context, db *sql.DB, path, text string) error {
	return execSQL(ctx, db, path, text)
}

// WithMutation makes c alter its plan before the self-check, as a faulty
// planner would.
func WithMutation(c Config, f func([]*amigrate.Change) []*amigrate.Change) Config {
	c.mutate = f
	return c
}

// LoadEntCache is LoadEnt with its cache in dir ("" for none).
func LoadEntCache(ctx context.Context, schemaDir, cacheDir string) ([]*entschema.Table, error) {
	return loadEnt(ctx, schemaDir, cacheDir)
}

// CreatedSchemas lists the schemas of the databases that the diff
// manages because their SQL created them.
func CreatedSchemas(ctx context.Context, declared []string, dbs ...*sql.DB) ([]string, error) {
	return createdSchemas(ctx, declared, dbs...)
}
