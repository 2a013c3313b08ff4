package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"

	amigrate "ariga.io/atlas/sql/migrate"
)

// StatusReport describes how far a database is along a directory, with
// the fields of the Atlas CLI's `migrate status`, and what to do next.
type StatusReport struct {
	Status     string // "OK" or "PENDING"
	Current    string // last version recorded, "" when none
	Next       string // first pending version, "" when none, "UNKNOWN" with a Problem
	Executed   int    // revisions recorded
	Pending    []string
	Applied    int // statements applied of the current version, when partial
	Total      int // statements in the current version, when partial
	Partial    bool
	OutOfOrder bool
	Error      string // last attempt's error, when partial or failed
	ErrorStmt  string
	// Problem is set when apply refuses the revision table as it is.
	Problem *Problem
	// Hint says what to run next.
	Hint string
}

// Status reads the revision table (without creating or changing it) and
// compares it with dir, judging the table as apply would.
func Status(ctx context.Context, db *sql.DB, dir amigrate.Dir, opts Options) (*StatusReport, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := ValidateSum(dir); err != nil {
		return nil, err
	}
	rs, err := revisionsSchema(ctx, db, opts.RevisionsSchema, opts.Schema)
	if err != nil {
		return nil, err
	}
	store := &revisions{db: db, schema: rs}
	sv, err := surveyTable(ctx, db, dir, store)
	if err != nil {
		return nil, err
	}
	if sv.problem != nil {
		return problemStatus(sv, dir)
	}
	// A status must not write: the baseline revision Pending would write
	// and the clean check are left to apply.
	opts.Baseline, opts.AllowDirty = "", true
	view := &memRevisions{revisions: store, revs: sv.effective()}
	pending, revs, err := pendingFiles(ctx, db, dir, view, opts)
	var nonLinear *amigrate.HistoryNonLinearError
	rep := &StatusReport{Status: "OK", Executed: len(revs)}
	switch {
	case errors.As(err, &nonLinear):
		rep.OutOfOrder = true
		pending = append(nonLinear.OutOfOrder, nonLinear.Pending...)
	case errors.Is(err, amigrate.ErrNoPendingFiles):
	case err != nil:
		return nil, explain(err)
	}
	for _, f := range pending {
		rep.Pending = append(rep.Pending, f.Version())
	}
	if len(revs) > 0 {
		rep.Current = revs[len(revs)-1].Version
	}
	if n := len(sv.rows); n > 0 && sv.rows[n-1].kind == rowPartial {
		last := sv.rows[n-1]
		rep.Partial = true
		// Like Atlas, count what is left from the file as it is now.
		rep.Applied, rep.Total = last.Applied, last.stmts
		rep.Error, rep.ErrorStmt = last.Error, last.ErrorStmt
	}
	if f := sv.lastFailed(); f != nil {
		rep.Error, rep.ErrorStmt = f.Error, f.ErrorStmt
	}
	if len(pending) > 0 {
		rep.Status = "PENDING"
		rep.Next = pending[0].Version()
	}
	rep.Hint = nextStep(rep, sv, nonLinear)
	atlasView(rep, sv)
	return rep, nil
}

// atlasView makes the report say what the Atlas CLI's `migrate status`
// says of a last revision whose applied and total disagree although its
// file is done (marked resolved by `atlas migrate set`, or a stale total):
// Atlas's executor takes such a row as partially applied, so its status
// shows the version pending again, and its apply would rerun the file
// from statement applied+1 and fail. Both tools then print the same
// lines; the hint says why they differ from what is in the database, and
// that `make migrate` repairs the row without running anything.
func atlasView(rep *StatusReport, sv *survey) {
	n := len(sv.rows)
	if n == 0 || rep.OutOfOrder || sv.lastFailed() != nil {
		return
	}
	last := sv.rows[n-1]
	if (last.kind != rowResolvedPartial && last.kind != rowStaleTotal) || last.file == nil {
		return
	}
	rep.Status = "PENDING"
	rep.Next = last.Version
	rep.Pending = append([]string{last.Version}, rep.Pending...)
	if !last.Type.Has(amigrate.RevisionTypeResolved) {
		// Atlas shows the error lines only for rows not marked resolved,
		// counting what is left from the file as it is now.
		rep.Partial, rep.Applied, rep.Total = true, last.Applied, last.stmts
		rep.Error, rep.ErrorStmt = last.Error, last.ErrorStmt
	}
	rest := ""
	if len(rep.Pending) > 1 {
		rest = fmt.Sprintf(" and applies %d pending file%s", len(rep.Pending)-1, plural(len(rep.Pending)-1))
	}
	rep.Hint = fmt.Sprintf("run %s: it records version %s as fully applied without running any of it%s. "+
		"(%s is done, but its revision says %d of %d statements applied, so the Atlas CLI counts it pending, "+
		"and its migrate apply would run it again from statement %d and fail.)",
		quote(cmdMigrate), last.Version, rest, last.file.Name(), last.Applied, last.Total, last.Applied+1)
}

// problemStatus reports a table apply refuses: the lines from the rows as
// they are, and the fix.
func problemStatus(sv *survey, dir amigrate.Dir) (*StatusReport, error) {
	files, err := dir.Files()
	if err != nil {
		return nil, fmt.Errorf("migrate: read dir: %w", err)
	}
	last := sv.rows[len(sv.rows)-1]
	rep := &StatusReport{Status: "PENDING", Current: last.Version, Next: "UNKNOWN", Executed: len(sv.rows), Problem: sv.problem}
	for _, f := range files {
		if f.Version() > last.Version {
			rep.Pending = append(rep.Pending, f.Version())
		}
	}
	if last.Applied != last.Total && !last.Type.Has(amigrate.RevisionTypeResolved) {
		rep.Partial, rep.Applied, rep.Total = true, last.Applied, last.Total
		rep.Error, rep.ErrorStmt = last.Error, last.ErrorStmt
	}
	rep.Hint = sv.problem.Fix
	return rep, nil
}

// nextStep says what to run next, in the order a user has to do it.
func nextStep(rep *StatusReport, sv *survey, nonLinear *amigrate.HistoryNonLinearError) string {
	pendingFiles := fmt.Sprintf("%d pending file%s", len(rep.Pending), plural(len(rep.Pending)))
	if f := sv.lastFailed(); f != nil {
		if f.file == nil {
			return fmt.Sprintf("run %s: it forgets the failed attempt of version %s (its file is gone and none of its "+
				"statements was applied) and applies %s.", quote(cmdMigrate), f.Version, pendingFiles)
		}
		if f.Error == "" {
			// No error recorded: the run stopped (killed, connection
			// lost) during the file's first statement, or is running.
			return fmt.Sprintf("an apply of %s stopped during its first statement and recorded no error (killed or disconnected), "+
				"or is still running: once no apply runs, %s runs it again (an INVALID index left by a concurrent build is dropped and built again).",
				f.file.Name(), quote(cmdMigrate))
		}
		return fmt.Sprintf("%s failed and none of its statements is applied: fix it (if not done yet), run %s, then %s.",
			f.file.Name(), quote(cmdHash), quote(cmdMigrate))
	}
	if rep.Partial {
		last := sv.rows[len(sv.rows)-1]
		left := fmt.Sprintf("%d statement%s left", rep.Total-rep.Applied, plural(rep.Total-rep.Applied))
		if rep.Error == "" {
			return fmt.Sprintf("run %s to finish %s (%s; its first %d stay applied).", quote(cmdMigrate), last.file.Name(), left, rep.Applied)
		}
		// lib/pq ends the message it stored with the SQLSTATE.
		if strings.HasSuffix(rep.Error, "(55P03)") {
			return fmt.Sprintf("statement %d of %s gave up waiting for a lock (lock_timeout): the file needs no fix. "+
				"Once the session holding the table is done (README: \"When a migration fails\"), %s resumes from it (%s; its first %d stay applied).",
				rep.Applied+1, last.file.Name(), quote(cmdMigrate), left, rep.Applied)
		}
		if dataError(rep.Error) {
			return fmt.Sprintf("statement %d of %s failed on rows of its table that break it: the file needs no fix. "+
				"Fix the rows (running %s again shows which, and what the failure left in place), then %s resumes from it (%s; its first %d stay applied).",
				rep.Applied+1, last.file.Name(), quote(cmdMigrate), quote(cmdMigrate), left, rep.Applied)
		}
		return fmt.Sprintf("statement %d of %s failed: fix it, run %s, then %s resumes from it (%s; its first %d stay applied).",
			rep.Applied+1, last.file.Name(), quote(cmdHash), quote(cmdMigrate), left, rep.Applied)
	}
	if nonLinear != nil {
		names := make([]string, len(nonLinear.OutOfOrder))
		for i, f := range nonLinear.OutOfOrder {
			names[i] = f.Name()
		}
		return fmt.Sprintf("%s %s added before the last applied version %s: give %s a later version (rename), run %s, then %s; "+
			"or apply out of order: make migrate flags=--exec-order=non-linear",
			strings.Join(names, ", "), map[bool]string{true: "was", false: "were"}[len(names) == 1], rep.Current,
			map[bool]string{true: "it", false: "them"}[len(names) == 1], quote(cmdHash), quote(cmdMigrate))
	}
	for i, v := range sv.rows {
		if v.kind == rowStaleTotal || v.kind == rowResolvedPartial || v.kind == rowFailed {
			// The Atlas executor resumes only the last revision; counts
			// that disagree further down it never reads.
			atlas := "which the Atlas CLI ignores below later versions"
			if i == len(sv.rows)-1 {
				atlas = "from which the Atlas CLI's apply would run the file again and fail"
			}
			what := fmt.Sprintf("records version %s as fully applied (its revision says %d of %d statements, %s)",
				v.Version, v.Applied, v.Total, atlas)
			if v.kind == rowFailed {
				what = fmt.Sprintf("forgets the failed attempt of version %s", v.Version)
			}
			if len(rep.Pending) > 0 {
				what += " and applies " + pendingFiles
			}
			return fmt.Sprintf("run %s: it %s.", quote(cmdMigrate), what)
		}
	}
	if len(rep.Pending) > 0 {
		return fmt.Sprintf("run %s to apply %s.", quote(cmdMigrate), pendingFiles)
	}
	return "nothing to do: the database is at the latest version."
}

// Print writes the report in the Atlas CLI's plain-text layout, followed
// by what to do next.
func (r *StatusReport) Print(w io.Writer) {
	fmt.Fprintf(w, "Migration Status: %s\n", r.Status)
	switch {
	case r.Current == "":
		fmt.Fprintln(w, "  -- Current Version: No migration applied yet")
	case r.Partial:
		fmt.Fprintf(w, "  -- Current Version: %s (%d statements applied)\n", r.Current, r.Applied)
	default:
		fmt.Fprintf(w, "  -- Current Version: %s\n", r.Current)
	}
	switch {
	case r.Next == "":
		fmt.Fprintln(w, "  -- Next Version:    Already at latest version")
	case r.Partial && r.Next == r.Current:
		fmt.Fprintf(w, "  -- Next Version:    %s (%d statements left)\n", r.Next, r.Total-r.Applied)
	default:
		fmt.Fprintf(w, "  -- Next Version:    %s\n", r.Next)
	}
	partially := ""
	if r.Partial {
		partially = " (last one partially)"
	}
	fmt.Fprintf(w, "  -- Executed Files:  %d%s\n", r.Executed, partially)
	order := ""
	if r.OutOfOrder {
		order = " (out of order)"
	}
	fmt.Fprintf(w, "  -- Pending Files:   %d%s\n", len(r.Pending), order)
	if r.Error != "" {
		fmt.Fprintf(w, "\nLast migration attempt had errors:\n  -- SQL:   %s\n  -- ERROR: %s\n",
			strings.ReplaceAll(r.ErrorStmt, "\n", " "), strings.ReplaceAll(r.Error, "\n", " "))
	}
	if r.Problem != nil {
		fmt.Fprintf(w, "\nProblem: revision %s %s\n", r.Problem.Version, r.Problem.What)
	}
	if r.Hint != "" {
		fmt.Fprintf(w, "\nNext: %s\n", strings.ReplaceAll(r.Hint, "\n", "\n      "))
	}
}
