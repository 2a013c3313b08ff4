package diff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	amigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"

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
		return fmt.Errorf("validate: %w", err)
	}
	defer done()
	return replayFresh(ctx, db, dir)
}

// replayFresh runs every file of dir on an empty database, as a new
// database would get them. A failure names the file, the statement and
// the way out: a file repaired on a database by hand and marked applied
// with `make set` is still broken for every new database, and the fix is
// in the file.
func replayFresh(ctx context.Context, db *sql.DB, dir amigrate.Dir) error {
	drv, err := postgres.Open(db)
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	ex, err := amigrate.NewExecutor(drv, dir, amigrate.NopRevisionReadWriter{})
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	err = ex.ExecuteN(ctx, 0)
	var se *amigrate.StmtExecError
	switch {
	case err == nil, errors.Is(err, amigrate.ErrNoPendingFiles):
		return nil
	case errors.As(err, &se):
		return fmt.Errorf("validate: migration %s fails on an empty database: %w\n  in statement: %s\n"+
			"Every new database runs this file (only databases that recorded it, by apply or by 'make set' after a fix by hand, skip it). "+
			"Make the file do what those databases hold, then run 'make hash' and 'make validate' again.",
			se.Version, se.Err, se.Stmt.Text)
	}
	return fmt.Errorf("validate: replay the migration directory: %w", err)
}

// Scratch starts or connects to the dev server devURL names, as diff does
// (its errors name the dev database; the caller adds its own name),
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
