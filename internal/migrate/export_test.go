package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
)

// AtlasCLIOperator is the operator_version the emulated Atlas CLI writes.
const AtlasCLIOperator = "Atlas CLI v0.32.1"

// AtlasCLIApply applies dir the way the community Atlas CLI's `migrate
// apply` does with its defaults (tx-mode file): Atlas's own Pending and
// Execute, without this package's survey or guard, each file in a
// transaction that also holds its revision writes, `-- atlas:txmode none`
// files in autocommit, and nothing recorded outside a rolled-back
// transaction. Tests use it to leave the revision table exactly as the CLI
// leaves it, and to check that the CLI continues from what apply leaves.
// A panic of Atlas's executor is returned as an error.
func AtlasCLIApply(ctx context.Context, db *sql.DB, dir amigrate.Dir, revSchema string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("atlas executor panicked: %v", p)
		}
	}()
	if revSchema == "" {
		revSchema = DefaultRevisionsSchema
	}
	store := &revisions{db: db, schema: revSchema}
	if err := store.create(ctx); err != nil {
		return err
	}
	drv, err := postgres.Open(db)
	if err != nil {
		return err
	}
	ex, err := amigrate.NewExecutor(drv, dir, store, amigrate.WithOperatorVersion(AtlasCLIOperator))
	if err != nil {
		return err
	}
	pending, err := ex.Pending(ctx)
	if err != nil {
		return err
	}
	for _, f := range pending {
		mode, err := fileTxMode(f, TxModeFile)
		if err != nil {
			return err
		}
		if mode == TxModeNone {
			ex, err := amigrate.NewExecutor(drv, dir, store, amigrate.WithOperatorVersion(AtlasCLIOperator))
			if err != nil {
				return err
			}
			if err := ex.Execute(ctx, f); err != nil {
				return err
			}
			continue
		}
		if err := atlasCLIFileInTx(ctx, db, dir, f, revSchema); err != nil {
			return err
		}
	}
	return nil
}

// atlasCLIFileInTx runs one file in its own transaction, rolled back on
// an error or a panic of the executor.
func atlasCLIFileInTx(ctx context.Context, db *sql.DB, dir amigrate.Dir, f amigrate.File, revSchema string) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("atlas executor panicked: %v", p)
		}
		if err != nil {
			err = errors.Join(err, tx.Rollback())
		}
	}()
	tdrv, err := postgres.Open(tx)
	if err != nil {
		return err
	}
	ex, err := amigrate.NewExecutor(tdrv, dir, &revisions{db: tx, schema: revSchema}, amigrate.WithOperatorVersion(AtlasCLIOperator))
	if err != nil {
		return err
	}
	if err := ex.Execute(ctx, f); err != nil {
		return err
	}
	return tx.Commit()
}

// AtlasCLIPending returns what the Atlas CLI would apply next, from its own
// reading of the revision table (a panic is returned as an error).
func AtlasCLIPending(ctx context.Context, db *sql.DB, dir amigrate.Dir, revSchema string) (files []amigrate.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("atlas executor panicked: %v", p)
		}
	}()
	if revSchema == "" {
		revSchema = DefaultRevisionsSchema
	}
	drv, err := postgres.Open(db)
	if err != nil {
		return nil, err
	}
	ex, err := amigrate.NewExecutor(drv, dir, &revisions{db: db, schema: revSchema})
	if err != nil {
		return nil, err
	}
	return ex.Pending(ctx)
}

// CreateRevisionTable creates the revision table as both tools do.
func CreateRevisionTable(ctx context.Context, db *sql.DB, revSchema string) error {
	return (&revisions{db: db, schema: revSchema}).create(ctx)
}

// ShellTable names the revision table in a psql command line of a hint.
var ShellTable = shellTable

// WithoutConnectionCheck returns o with apply's
// client_connection_check_interval turned off.
func WithoutConnectionCheck(o Options) Options {
	o.noConnCheck = true
	return o
}

// WithWaitNotice returns o with apply naming the transactions a
// CONCURRENTLY statement waits for after d (instead of 10s).
func WithWaitNotice(o Options, d time.Duration) Options {
	o.waitNotice = d
	return o
}
