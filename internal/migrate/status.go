package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	amigrate "ariga.io/atlas/sql/migrate"
)

// StatusReport describes how far a database is along a directory, with
// the fields of the Atlas CLI's `migrate status`.
type StatusReport struct {
	Status     string // "OK" or "PENDING"
	Current    string // last version recorded, "" when none
	Next       string // first pending version, "" when none
	Executed   int    // revisions recorded
	Pending    []string
	Applied    int // statements applied of the current version, when partial
	Total      int // statements in the current version, when partial
	Partial    bool
	OutOfOrder bool
	Error      string // last attempt's error, when partial
	ErrorStmt  string
}

// Status reads the revision table (without creating it) and compares it
// with dir.
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
	// A status must not write: the baseline revision Pending would write
	// and the clean check are left to apply.
	opts.Baseline, opts.AllowDirty = "", true
	pending, revs, err := pendingFiles(ctx, db, dir, store, opts)
	var nonLinear *amigrate.HistoryNonLinearError
	rep := &StatusReport{Status: "OK", Executed: len(revs)}
	switch {
	case errors.As(err, &nonLinear):
		rep.OutOfOrder = true
		pending = append(nonLinear.OutOfOrder, nonLinear.Pending...)
	case errors.Is(err, amigrate.ErrNoPendingFiles):
	case err != nil:
		return nil, err
	}
	for _, f := range pending {
		rep.Pending = append(rep.Pending, f.Version())
	}
	if len(revs) > 0 {
		last := revs[len(revs)-1]
		rep.Current = last.Version
		if last.Applied < last.Total {
			rep.Partial = true
			rep.Applied, rep.Total = last.Applied, last.Total
			rep.Error, rep.ErrorStmt = last.Error, last.ErrorStmt
		}
	}
	if len(pending) > 0 {
		rep.Status = "PENDING"
		rep.Next = pending[0].Version()
	}
	return rep, nil
}

// Print writes the report in the Atlas CLI's plain-text layout.
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
	if r.Partial && r.Error != "" {
		fmt.Fprintf(w, "\nLast migration attempt had errors:\n  -- SQL:   %s\n  -- ERROR: %s\n", r.ErrorStmt, r.Error)
	}
}
