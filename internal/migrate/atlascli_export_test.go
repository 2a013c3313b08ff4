package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
)

// AtlasCLISet edits the revision table as the community Atlas CLI's
// `migrate set VERSION` does (read in its source): rows above the version
// are deleted; the version's own row, when it records an error or
// applied != total, is re-typed executed|resolved (6) and otherwise left
// as it is, counts and error included; files after the last remaining
// row up to the version get resolved rows (type 4) with their atlas.sum
// hash.
func AtlasCLISet(ctx context.Context, db *sql.DB, dir amigrate.Dir, version string) error {
	store := &revisions{db: db, schema: DefaultRevisionsSchema}
	if err := store.create(ctx); err != nil {
		return err
	}
	revs, err := store.ReadRevisions(ctx)
	if err != nil {
		return err
	}
	for _, r := range revs {
		switch {
		case r.Version > version:
			if err := store.DeleteRevision(ctx, r.Version); err != nil {
				return err
			}
		case r.Version == version && (r.Error != "" || r.Total != r.Applied):
			r.Type = amigrate.RevisionTypeExecute | amigrate.RevisionTypeResolved
			if err := store.WriteRevision(ctx, r); err != nil {
				return err
			}
		}
	}
	if revs, err = store.ReadRevisions(ctx); err != nil {
		return err
	}
	files, err := dir.Files()
	if err != nil {
		return err
	}
	sum, err := dir.Checksum()
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.Version() > version || (len(revs) > 0 && f.Version() <= revs[len(revs)-1].Version) {
			continue
		}
		h, err := sum.SumByName(f.Name())
		if err != nil {
			return err
		}
		if err := store.WriteRevision(ctx, &amigrate.Revision{
			Version: f.Version(), Description: f.Desc(), Type: amigrate.RevisionTypeResolved,
			ExecutedAt: time.Now(), Hash: h, OperatorVersion: AtlasCLIOperator,
		}); err != nil {
			return err
		}
	}
	return nil
}

// AtlasCLIStatus returns the lines the community Atlas CLI's `migrate
// status` prints (plain text), computed as its status reporter does (read
// in its source): Atlas's own Pending over the revision table; the last
// revision's counts and error only when it is partial and not marked
// resolved, with the total counted from the file as it is now.
func AtlasCLIStatus(ctx context.Context, db *sql.DB, dir amigrate.Dir) (string, error) {
	store := &revisions{db: db, schema: DefaultRevisionsSchema}
	revs, err := store.ReadRevisions(ctx)
	if err != nil {
		return "", err
	}
	pending, err := AtlasCLIPending(ctx, db, dir, "")
	if err != nil && !errors.Is(err, amigrate.ErrNoPendingFiles) {
		return "", err
	}
	available, err := dir.Files()
	if err != nil {
		return "", err
	}
	status, current, next := "OK", "No migration applied yet", "Already at latest version"
	if len(pending) != len(available) && len(revs) > 0 {
		current = revs[len(revs)-1].Version
	}
	if len(pending) > 0 {
		status, next = "PENDING", pending[0].Version()
	}
	var count, total int
	var stmt, msg string
	if len(revs) > 0 {
		last := revs[len(revs)-1]
		if !last.Type.Has(amigrate.RevisionTypeResolved) && last.Applied < last.Total {
			drv, err := postgres.Open(db)
			if err != nil {
				return "", err
			}
			for _, f := range available {
				if f.Version() == last.Version {
					stmts, err := amigrate.FileStmts(drv, f)
					if err != nil {
						return "", err
					}
					total = len(stmts)
				}
			}
			count = last.Applied
			stmt, msg = strings.ReplaceAll(last.ErrorStmt, "\n", " "), strings.ReplaceAll(last.Error, "\n", " ")
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Migration Status: %s\n", status)
	fmt.Fprintf(&b, "  -- Current Version: %s", current)
	if total > 0 {
		fmt.Fprintf(&b, " (%d statements applied)", count)
	}
	fmt.Fprintf(&b, "\n  -- Next Version:    %s", next)
	if total > 0 {
		fmt.Fprintf(&b, " (%d statements left)", total-count)
	}
	fmt.Fprintf(&b, "\n  -- Executed Files:  %d", len(revs))
	if total > 0 {
		b.WriteString(" (last one partially)")
	}
	fmt.Fprintf(&b, "\n  -- Pending Files:   %d\n", len(pending))
	if total > 0 {
		fmt.Fprintf(&b, "\nLast migration attempt had errors:\n  -- SQL:   %s\n  -- ERROR: %s\n", stmt, msg)
	}
	return b.String(), nil
}
