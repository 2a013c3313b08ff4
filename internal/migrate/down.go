package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
)

// DownPlan reverts a database to an earlier version of its directory:
// statements computed from the database's current state (not from
// hand-written down files), the checks that must pass before they run,
// and the version the revision table is cut back to.
type DownPlan struct {
	// To is the version the database is reverted to: revisions above it
	// are removed. "" reverts every file.
	To string
	// Checks must all find no data before anything runs.
	Checks []DataCheck
	// Stmts turn the database's schema into that of the directory up to
	// To, in order; Comments[i] describes Stmts[i] ("" for none).
	Stmts, Comments []string
}

// DataCheck guards one statement that would destroy data: a table or a
// column the revert drops. Table is locked before the query runs, so no
// row can arrive between the check and the drop.
type DataCheck struct {
	Table string // the table, quoted and qualified, as LOCK TABLE takes it
	Query string // SELECT returning true when the data exists
	What  string // what would be lost, for the message
}

// ErrDataLoss is returned (wrapped) when a revert would destroy data; the
// database is left as it was.
var ErrDataLoss = errors.New("migrate: down: the revert would destroy data")

// DownReport says what Down did.
type DownReport struct {
	Removed []string // revision versions removed, in version order
}

// Down runs a revert plan on db under the apply lock, in one transaction:
// it locks the tables the checks guard, refuses with ErrDataLoss (naming
// each) when any holds data, runs the statements, and removes the
// revisions above plan.To. On any error nothing is changed.
func Down(ctx context.Context, db *sql.DB, plan *DownPlan, opts Options) (*DownReport, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	store, unlock, err := lockRevisions(ctx, db, opts, opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	defer unlock()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("migrate: down: begin: %w", err)
	}
	defer tx.Rollback()
	if err := runChecks(ctx, tx, plan.Checks); err != nil {
		return nil, err
	}
	for _, s := range plan.Stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return nil, fmt.Errorf("migrate: down: %w\n  in statement: %s\nNothing was changed.", err, s)
		}
	}
	rep := &DownReport{}
	ok, err := store.exists(ctx)
	if err != nil {
		return nil, err
	}
	if ok {
		rows, err := tx.QueryContext(ctx, `DELETE FROM `+store.table()+` WHERE version > $1 COLLATE "C" RETURNING version`, plan.To)
		if err != nil {
			return nil, fmt.Errorf("migrate: down: revision table: %w", err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("migrate: down: revision table: %w", err)
			}
			rep.Removed = append(rep.Removed, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("migrate: down: revision table: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("migrate: down: commit: %w", err)
	}
	return rep, nil
}

// CheckData runs the plan's checks without changing anything (for a dry
// run): the error wraps ErrDataLoss and names what holds data.
func CheckData(ctx context.Context, db *sql.DB, checks []DataCheck) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("migrate: down: begin: %w", err)
	}
	defer tx.Rollback()
	return runChecks(ctx, tx, checks)
}

func runChecks(ctx context.Context, tx *sql.Tx, checks []DataCheck) error {
	var lost []string
	locked := map[string]bool{}
	for _, c := range checks {
		if !locked[c.Table] && !isReadOnly(ctx, tx) {
			// Writers wait from here until the revert commits.
			if _, err := tx.ExecContext(ctx, "LOCK TABLE "+c.Table+" IN SHARE ROW EXCLUSIVE MODE"); err != nil {
				return fmt.Errorf("migrate: down: lock %s: %w", c.Table, err)
			}
			locked[c.Table] = true
		}
		var has bool
		if err := tx.QueryRowContext(ctx, c.Query).Scan(&has); err != nil {
			return fmt.Errorf("migrate: down: check %s: %w", c.What, err)
		}
		if has {
			lost = append(lost, c.What)
		}
	}
	if len(lost) > 0 {
		return fmt.Errorf("%w: %s. Nothing was changed. Move or delete that data first if it may go, "+
			"or write the revert as a new migration ('make diff') that keeps it", ErrDataLoss, strings.Join(lost, "; "))
	}
	return nil
}

// isReadOnly reports whether tx is a read-only transaction (a dry run),
// in which LOCK TABLE in a writer's mode is refused.
func isReadOnly(ctx context.Context, tx *sql.Tx) bool {
	var ro string
	if err := tx.QueryRowContext(ctx, "SHOW transaction_read_only").Scan(&ro); err != nil {
		return false
	}
	return ro == "on"
}

// Print writes the plan as SQL, checks first, in the layout of a
// migration file.
func (p *DownPlan) Print(w io.Writer) {
	if len(p.Checks) > 0 {
		fmt.Fprintln(w, "-- Checks: each must find no data, or nothing runs")
		for _, c := range p.Checks {
			fmt.Fprintf(w, "-- %s\n%s;\n", c.What, c.Query)
		}
	}
	if len(p.Stmts) == 0 {
		fmt.Fprintln(w, "-- The schema is already that of the target version: only the revision table changes.")
	}
	for i, s := range p.Stmts {
		if i < len(p.Comments) && p.Comments[i] != "" {
			c := p.Comments[i]
			fmt.Fprintf(w, "-- %s%s\n", strings.ToUpper(c[:1]), c[1:])
		}
		fmt.Fprintf(w, "%s;\n", s)
	}
}

// AppliedVersions returns the versions the revision table records, in
// order, reading without creating or changing anything.
func AppliedVersions(ctx context.Context, db *sql.DB, opts Options) ([]string, error) {
	rs, err := revisionsSchema(ctx, db, opts.RevisionsSchema, opts.Schema)
	if err != nil {
		return nil, err
	}
	store := &revisions{db: db, schema: rs}
	ok, err := store.exists(ctx)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := store.readRows(ctx)
	if err != nil {
		return nil, err
	}
	var vs []string
	for _, r := range rows {
		vs = append(vs, r.Version)
	}
	return vs, nil
}

// EnsureRevisionTable creates the revision table in schema, as apply
// does, unless it exists. A revert plan computed on a dev database uses it
// when the target keeps its revision table among its own tables
// (search_path=public), so that the plan does not drop it.
func EnsureRevisionTable(ctx context.Context, db *sql.DB, schema string) error {
	return (&revisions{db: db, schema: schema}).create(ctx)
}
