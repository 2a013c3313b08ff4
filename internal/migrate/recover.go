package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
)

// What this tool leaves in the revision table when a file fails, and why.
//
// The Atlas CLI, on a failure inside a transaction (file or all mode),
// rolls back the row it wrote with the file, so the file leaves no row. Its
// executor takes `total` from an existing row and never recomputes it: had
// we recorded the failure outside the transaction (applied 0, the file's
// total), the Atlas CLI would rerun the fixed file from statement 1 and keep
// our total. When the fix changes the number of statements, that leaves a
// finished file that looks partially applied without partial_hashes, and
// the Atlas executor's next run indexes partial_hashes[0] of an empty list
// and panics. No value of total avoids that, since the fixed file's count
// is not known when it fails. So a failed transactional file leaves no row,
// exactly as with the Atlas CLI, and the error is reported by apply itself.
//
// Without a transaction (txmode none) the statements before the failing
// one are committed, and the row (applied, partial_hashes, error) is what
// lets either tool resume after them: it stays, as Atlas writes it. When the
// first statement fails, nothing is committed and the row is removed, so
// the table holds a row exactly when some statement of the file is in the
// database.
//
// Rows either tool left before (a failed attempt recorded by earlier
// versions of this tool, or by the Atlas CLI in none mode; a finished file
// with a stale total; a row `atlas migrate set` marked resolved without
// completing it) are judged by the survey and forgotten or rewritten by
// apply; what cannot be judged safely is refused with the fix.

// surveyTable reads the revision table and judges it against dir.
func surveyTable(ctx context.Context, db *sql.DB, dir amigrate.Dir, store *revisions) (*survey, error) {
	rows, err := store.readRows(ctx)
	if err != nil {
		return nil, err
	}
	files, err := dir.Files()
	if err != nil {
		return nil, fmt.Errorf("migrate: read dir: %w", err)
	}
	drv, err := postgres.Open(db)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return surveyRows(rows, files, func(f amigrate.File) ([]string, error) { return stmtTexts(drv, f) },
		shellTable(store.schema)), nil
}

// stmtTexts returns a file's statements as Atlas's executor scans them.
func stmtTexts(drv amigrate.Driver, f amigrate.File) ([]string, error) {
	stmts, err := amigrate.FileStmtDecls(drv, f)
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(stmts))
	for i, s := range stmts {
		texts[i] = s.Text
	}
	return texts, nil
}

// repair writes the survey's verdicts to the table: failed attempts are
// removed, finished files with disagreeing counts rewritten, so that the
// Atlas CLI too reads the table correctly afterwards.
func repair(ctx context.Context, store *revisions, dir amigrate.Dir, sv *survey, out io.Writer) error {
	sum, err := dir.Checksum()
	if err != nil {
		return fmt.Errorf("migrate: hash dir: %w", err)
	}
	for i := range sv.rows {
		v := &sv.rows[i]
		switch v.kind {
		case rowFailed:
			if err := store.DeleteRevision(ctx, v.Version); err != nil {
				return err
			}
			fmt.Fprintf(out, "Forgot the failed attempt of version %s (none of its statements was applied)\n", v.Version)
		case rowStaleTotal, rowResolvedPartial:
			r := v.repaired()
			if v.kind == rowStaleTotal && v.file != nil {
				if h, err := sum.SumByName(v.file.Name()); err == nil {
					r.Hash = h
				}
			}
			if err := store.WriteRevision(ctx, r); err != nil {
				return err
			}
			fmt.Fprintf(out, "Recorded version %s as fully applied (%d statements; its revision said %d of %d)\n",
				v.Version, r.Total, v.Applied, v.Total)
		}
	}
	return nil
}

// guard is the revision store a file's executor reads its row through. It
// refuses rows on which Atlas's Execute would index out of range (applied
// beyond partial_hashes or beyond the file's statements, or negative), and
// hands it the file's current statement count and hash, so that a resumed
// or rerun file is recorded as it is now, not as it was.
type guard struct {
	*revisions
	texts []string
	hash  string
}

func newGuard(store *revisions, drv amigrate.Driver, dir amigrate.Dir, f amigrate.File) (*guard, error) {
	g := &guard{revisions: store}
	// Errors here make Execute fail on its own before it reads the row.
	g.texts, _ = stmtTexts(drv, f)
	if sum, err := dir.Checksum(); err == nil {
		g.hash, _ = sum.SumByName(f.Name())
	}
	return g, nil
}

// ReadRevision implements amigrate.RevisionReadWriter.
func (g *guard) ReadRevision(ctx context.Context, version string) (*amigrate.Revision, error) {
	r, err := g.revisions.ReadRevision(ctx, version)
	if err != nil {
		return nil, err
	}
	switch {
	case r.Applied == 0:
		// Nothing of it ran: start afresh, recording the file as it is now.
		return nil, amigrate.ErrRevisionNotExist
	case r.Applied < 0 || r.Applied > len(r.PartialHashes) || r.Applied > len(g.texts):
		return nil, &Problem{
			Version: version,
			What: fmt.Sprintf("records %d statements applied with %d statement hashes, and the file has %d statements: "+
				"which statements ran cannot be checked", r.Applied, len(r.PartialHashes), len(g.texts)),
			Fix: "If the whole file is in the database, mark it applied: " + cmdSet(version),
		}
	}
	r.Total, r.Hash = len(g.texts), g.hash
	return r, nil
}

// afterAutocommitFailure keeps the row of a file that failed without a
// transaction only if some of its statements are committed, and returns
// how many are.
func (r *runner) afterAutocommitFailure(ctx context.Context, f amigrate.File, err error) (int, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	store := &revisions{db: r.db, schema: r.schema}
	applied := 0
	rev, rerr := store.ReadRevision(ctx, f.Version())
	switch {
	case rerr == nil && rev.Applied == 0:
		if derr := store.DeleteRevision(ctx, f.Version()); derr != nil {
			return 0, errors.Join(err, derr)
		}
	case rerr == nil:
		applied = rev.Applied
	}
	return applied, err
}

// hint adds to a statement failure how to recover from it. A statement
// that failed on lock_timeout on its last try (tries in all) needs no fix
// but a free table: the hint says how to find what holds it.
func hint(ctx context.Context, db *sql.DB, err error, f amigrate.File, applied, tries int) {
	var se *StmtError
	if !errors.As(err, &se) {
		return
	}
	se.Applied = applied
	if isLockTimeout(se.Err) {
		table := lockTarget(ctx, db, se.Stmt)
		se.Next = lockHint(f, se, tries, table, blockers(ctx, db, table))
		if applied > 0 {
			se.Next = fmt.Sprintf("Its first %d statements stay applied (the file runs without a transaction); "+
				"the next run resumes at statement %d.\n", applied, applied+1) + se.Next
		} else {
			se.Next = fmt.Sprintf("Nothing of %s was applied.\n", f.Name()) + se.Next
		}
		return
	}
	if h := dataHint(ctx, db, se); h != "" {
		se.Next = h
		return
	}
	if applied == 0 {
		se.Next = fmt.Sprintf("Nothing of %s was applied. Fix the statement, run %s, then %s "+
			"(README: \"When a migration fails\" has the other ways out).", f.Name(), quote(cmdHash), quote(cmdMigrate))
		return
	}
	se.Next = fmt.Sprintf("Its first %d statements stay applied (the file runs without a transaction). "+
		"Fix statement %d, run %s, then %s to resume from it.", applied, applied+1, quote(cmdHash), quote(cmdMigrate))
}

// explain adds the fix to errors of Atlas's executor that a user can meet.
// Its callers have already put this package's name in front of err.
func explain(err error) error {
	var (
		p         *Problem
		nonLinear *amigrate.HistoryNonLinearError
		changed   amigrate.HistoryChangedError
		missing   *amigrate.MissingMigrationError
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &nonLinear):
		return fmt.Errorf("migrate: %w\nGive it a version after the last applied one (rename the file), run %s, then %s; "+
			"or apply it out of order: make migrate flags=--exec-order=non-linear", nonLinear, quote(cmdHash), quote(cmdMigrate))
	case errors.As(err, &changed):
		return fmt.Errorf("migrate: %w\nRestore the applied statements as they were, run %s, then %s",
			changed, quote(cmdHash), quote(cmdMigrate))
	case errors.As(err, &missing):
		return fmt.Errorf("migrate: %w\nRestore the file, run %s, then %s", missing, quote(cmdHash), quote(cmdMigrate))
	}
	return err
}

// memRevisions shows Atlas's Pending the revisions as the survey judged
// them, without writing (status must not write).
type memRevisions struct {
	*revisions
	revs []*amigrate.Revision
}

// ReadRevisions implements amigrate.RevisionReadWriter.
func (m *memRevisions) ReadRevisions(context.Context) ([]*amigrate.Revision, error) {
	return m.revs, nil
}

// ReadRevision implements amigrate.RevisionReadWriter.
func (m *memRevisions) ReadRevision(_ context.Context, version string) (*amigrate.Revision, error) {
	for _, r := range m.revs {
		if r.Version == version {
			return r, nil
		}
	}
	return nil, amigrate.ErrRevisionNotExist
}
