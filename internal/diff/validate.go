package diff

import (
	"context"
	"database/sql"

	amigrate "ariga.io/atlas/sql/migrate"

	"tasks/internal/migrate"
)

// Validate checks that the directory matches its atlas.sum and that its
// files replay cleanly on a scratch database of the dev server.
func Validate(ctx context.Context, dir amigrate.Dir, devURL string) error {
	if err := migrate.ValidateSum(dir); err != nil {
		return err
	}
	db, _, done, err := Scratch(ctx, devURL)
	if err != nil {
		return err
	}
	defer done()
	return Replay(ctx, db, dir)
}

// Scratch starts or connects to the dev server devURL names, as diff does,
// and creates one empty scratch database on it: a single connection whose
// search_path is the dev schema, also returned. done closes it, drops the
// database and stops a server it started.
func Scratch(ctx context.Context, devURL string) (db *sql.DB, schema string, done func(), err error) {
	dev, err := openDev(ctx, devURL)
	if err != nil {
		return nil, "", nil, err
	}
	db, err = dev.scratch(ctx)
	if err != nil {
		dev.close()
		return nil, "", nil, err
	}
	return db, dev.schema, func() { db.Close(); dev.close() }, nil
}
