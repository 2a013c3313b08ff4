package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
)

// SetReport says what Set changed.
type SetReport struct {
	Current string  // the version the table now ends at
	Changes []SetOp // in version order
	// Failed lists the files whose failed attempt set marked applied: the
	// database was repaired by hand, the file was not necessarily.
	Failed []string
}

// SetOp is one revision Set wrote ('+') or removed ('-').
type SetOp struct {
	Op          byte
	Version     string
	Description string
}

// Set edits the revision table, as the Atlas CLI's `migrate set` does, so
// that the directory counts as applied up to and including version: rows
// above it are deleted, files after the last remaining revision up to it
// get a "resolved" row (type 4) with their atlas.sum hash, and unfinished rows up to it (failed,
// partial) are marked resolved and complete. It runs no SQL of the files:
// it is for a database whose state the user has brought there by hand.
//
// Unlike the Atlas CLI, a row marked resolved gets applied = total, so
// that the Atlas executor does not resume it; a failed attempt of a file no
// longer in the directory is removed; and the version may be one only the
// revision table knows (its file deleted).
func Set(ctx context.Context, db *sql.DB, dir amigrate.Dir, version string, opts Options) (*SetReport, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := ValidateSum(dir); err != nil {
		return nil, err
	}
	files, err := dir.Files()
	if err != nil {
		return nil, fmt.Errorf("migrate: read dir: %w", err)
	}
	sum, err := dir.Checksum()
	if err != nil {
		return nil, fmt.Errorf("migrate: hash dir: %w", err)
	}
	// Like the Atlas CLI, set does not wait for a running apply.
	store, unlock, err := lockRevisions(ctx, db, opts, 0)
	if err != nil {
		return nil, err
	}
	defer unlock()
	existing, err := store.readRows(ctx)
	if err != nil {
		return nil, err
	}
	// Atlas accepts only a version of the directory; a version only the
	// revision table knows (its file deleted) is accepted too, so that
	// every row can be kept or removed by set.
	known := amigrate.FilesLastIndex(files, func(f amigrate.File) bool { return f.Version() == version }) != -1
	for _, r := range existing {
		known = known || r.Version == version
	}
	if !known {
		return nil, fmt.Errorf("migrate: set: no migration file or revision with version %q", version)
	}
	if err := store.create(ctx); err != nil {
		return nil, err
	}
	drv, err := postgres.Open(db)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback()
	txStore := &revisions{db: tx, schema: store.schema}
	rows, err := txStore.readRows(ctx)
	if err != nil {
		return nil, err
	}
	rep := &SetReport{Current: version}
	byVersion := make(map[string]amigrate.File, len(files))
	for _, f := range files {
		byVersion[f.Version()] = f
	}
	st := &setter{store: txStore, drv: drv, sum: sum, version: version, rep: rep}
	lastKept, seen, err := st.keepRows(ctx, rows, byVersion)
	if err != nil {
		return nil, err
	}
	if err := st.markFiles(ctx, files, lastKept, seen); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("migrate: commit: %w", err)
	}
	return rep, nil
}

// setter changes the revision table inside set's transaction.
type setter struct {
	store   *revisions
	drv     amigrate.Driver
	sum     amigrate.HashFile
	version string
	rep     *SetReport
}

// keepRows deletes the rows after the version and marks the unfinished
// or failed ones up to it applied. It returns the last row kept and the
// versions that had a row.
func (st *setter) keepRows(ctx context.Context, rows []row, byVersion map[string]amigrate.File) (lastKept string, seen map[string]bool, err error) {
	seen = make(map[string]bool, len(rows))
	for _, r := range rows {
		seen[r.Version] = true
		if r.Version <= st.version && !(byVersion[r.Version] == nil && r.Applied == 0 && r.Total > 0 &&
			!r.Type.Has(amigrate.RevisionTypeResolved)) {
			lastKept = max(lastKept, r.Version)
		}
		if r.Version > st.version {
			if err := st.store.DeleteRevision(ctx, r.Version); err != nil {
				return "", nil, err
			}
			st.rep.Changes = append(st.rep.Changes, SetOp{'-', r.Version, r.Description})
			continue
		}
		f := byVersion[r.Version]
		if f == nil && r.Applied == 0 && r.Total > 0 && !r.Type.Has(amigrate.RevisionTypeResolved) {
			// A failed attempt of a file no longer in the directory: there
			// is nothing to mark applied, and nothing of it in the database.
			if err := st.store.DeleteRevision(ctx, r.Version); err != nil {
				return "", nil, err
			}
			st.rep.Changes = append(st.rep.Changes, SetOp{'-', r.Version, r.Description})
			continue
		}
		if r.Applied == r.Total && r.Applied >= 0 && !r.badPartial &&
			(r.Error == "" || r.Type.Has(amigrate.RevisionTypeResolved)) {
			continue // applied or resolved before: nothing to do
		}
		// Unfinished, failed or unreadable: the user says it is applied.
		res := *r.Revision
		res.Type |= amigrate.RevisionTypeResolved
		res.Total = max(res.Applied, res.Total, 0)
		if f != nil {
			if texts, err := stmtTexts(st.drv, f); err == nil {
				res.Total = len(texts)
			}
			if h, err := st.sum.SumByName(f.Name()); err == nil {
				res.Hash = h
			}
		}
		res.Applied, res.PartialHashes = res.Total, nil
		if err := st.store.WriteRevision(ctx, &res); err != nil {
			return "", nil, err
		}
		if f != nil && r.Error != "" {
			st.rep.Failed = append(st.rep.Failed, f.Name())
		}
		st.rep.Changes = append(st.rep.Changes, SetOp{'+', r.Version, r.Description})
	}
	return lastKept, seen, nil
}

// markFiles records the files after lastKept, up to the version, that
// have no row as applied.
func (st *setter) markFiles(ctx context.Context, files []amigrate.File, lastKept string, seen map[string]bool) error {
	// As the Atlas CLI: mark the files after the last remaining revision.
	// A file below it without a row (added out of order) stays pending;
	// marking it would be a guess.
	for _, f := range files {
		if f.Version() > st.version || f.Version() <= lastKept || seen[f.Version()] {
			continue
		}
		seen[f.Version()] = true
		h, err := st.sum.SumByName(f.Name())
		if err != nil {
			return fmt.Errorf("migrate: set: %s: %w", f.Name(), err)
		}
		if err := st.store.WriteRevision(ctx, &amigrate.Revision{
			Version:         f.Version(),
			Description:     f.Desc(),
			Type:            amigrate.RevisionTypeResolved,
			ExecutedAt:      time.Now(),
			Hash:            h,
			OperatorVersion: OperatorVersion,
		}); err != nil {
			return err
		}
		st.rep.Changes = append(st.rep.Changes, SetOp{'+', f.Version(), f.Desc()})
	}
	return nil
}

// Print writes the report in the Atlas CLI's layout for `migrate set`.
func (r *SetReport) Print(w io.Writer) {
	if len(r.Changes) == 0 {
		fmt.Fprintf(w, "Current version is %s (nothing to change)\n", r.Current)
		return
	}
	var set, removed int
	for _, c := range r.Changes {
		if c.Op == '+' {
			set++
		} else {
			removed++
		}
	}
	var parts []string
	if set > 0 {
		parts = append(parts, fmt.Sprintf("%d set", set))
	}
	if removed > 0 {
		parts = append(parts, fmt.Sprintf("%d removed", removed))
	}
	fmt.Fprintf(w, "Current version is %s (%s):\n\n", r.Current, strings.Join(parts, ", "))
	changes := slices.Clone(r.Changes)
	slices.SortStableFunc(changes, func(a, b SetOp) int { return strings.Compare(a.Version, b.Version) })
	for _, c := range changes {
		text := c.Version
		if c.Description != "" {
			text += " (" + c.Description + ")"
		}
		fmt.Fprintf(w, "  %c %s\n", c.Op, text)
	}
	for _, name := range r.Failed {
		// A fix made by hand lives in this database only: every new
		// database (and lint, validate) still runs the file as it is.
		fmt.Fprintf(w, "\n%s failed here and is now marked applied. Every new database still runs the file as it is: "+
			"make it do what you ran by hand, then %s and 'make validate' (databases that recorded it do not run it again).\n",
			name, quote(cmdHash))
	}
}

// lockRevisions takes the migration lock, waiting up to wait (0: not at
// all), and returns the revision table's store and the unlock.
func lockRevisions(ctx context.Context, db *sql.DB, opts Options, wait time.Duration) (*revisions, func(), error) {
	unlock, err := lock(ctx, db, lockName, wait)
	if err != nil {
		return nil, nil, err
	}
	rs, err := revisionsSchema(ctx, db, opts.RevisionsSchema, opts.Schema)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return &revisions{db: db, schema: rs}, unlock, nil
}
