package migrate

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
)

// Transaction modes, as the Atlas CLI names them.
const (
	TxModeFile = "file" // one transaction per file (default)
	TxModeAll  = "all"  // one transaction for the whole run
	TxModeNone = "none" // no transaction; the revision is written after each statement
)

// OperatorVersion is written to the revision table's operator_version.
const OperatorVersion = "tasks migrate v0.1.0"

// Options configures Apply and Status. The zero value works.
type Options struct {
	// Schema is the schema the connection is bound to (BoundSchema of its
	// URL); "" means the whole database, as with Atlas.
	Schema string
	// RevisionsSchema overrides where the revision table lives.
	RevisionsSchema string
	// LockTimeout bounds the wait for another run's lock (default 10s).
	// It is the advisory lock between migrate runs, not PostgreSQL's
	// lock_timeout, which the files set (see LockRetries).
	LockTimeout time.Duration
	// LockRetries is how many times a file is tried again after a
	// statement failed on lock_timeout (55P03): 0 means
	// DefaultLockRetries, a negative number none.
	LockRetries int
	// LockRetryDelay is the wait before the first retry (default
	// DefaultLockRetryDelay); it doubles on each retry, up to
	// LockRetryMaxDelay (default DefaultLockRetryMaxDelay), and a random
	// part of up to half of it is taken off.
	LockRetryDelay, LockRetryMaxDelay time.Duration
	// TxMode is TxModeFile (default), TxModeAll or TxModeNone.
	TxMode string
	// ExecOrder is "linear" (default), "linear-skip" or "non-linear".
	ExecOrder string
	// Baseline marks this version as already applied on a non-clean
	// database the first time.
	Baseline string
	// AllowDirty starts on a non-clean database without a baseline.
	AllowDirty bool
	// Out receives the Atlas-style progress log; nil discards it.
	Out io.Writer

	// noConnCheck leaves client_connection_check_interval alone (tests
	// show with it what happens without the check).
	noConnCheck bool
	// waitNotice is how long a CONCURRENTLY statement waits for older
	// transactions before apply names them (default defaultWaitNotice).
	waitNotice time.Duration
}

// ApplyReport says what Apply did.
type ApplyReport struct {
	From, To   string        // versions before and after ("" for none)
	Files      []FileResult  // the files attempted, in order
	Statements int           // statements executed
	Duration   time.Duration // the whole run
}

// FileResult is the outcome of one file.
type FileResult struct {
	Name       string
	Version    string
	Statements int // statements executed in this run
	Duration   time.Duration
	Err        error
	// Retries is how many times the file was tried again after a lock
	// timeout.
	Retries int
}

var execOrders = map[string]amigrate.ExecOrder{
	"":            amigrate.ExecOrderLinear,
	"linear":      amigrate.ExecOrderLinear,
	"linear-skip": amigrate.ExecOrderLinearSkip,
	"non-linear":  amigrate.ExecOrderNonLinear,
}

// ErrLocked is returned when another run holds the migration lock past
// the lock timeout.
var ErrLocked = errors.New("migrate: acquiring database lock: lock is held by other session")

// StmtError is returned when a statement of a migration file fails. The
// file's changes are rolled back (unless it runs without a transaction)
// and the failure is recorded in the revision table.
type StmtError struct {
	File string
	Stmt string
	// Index is the statement's 1-based position in File.
	Index int
	Err   error
	// Applied is how many statements of File stay applied (0 unless the
	// file runs without a transaction).
	Applied int
	// Next says how to recover.
	Next string
	// Undone is the constraint apply dropped again after its VALIDATE
	// failed on rows (see undoNotValid); "" if none.
	Undone string
	// UndoneStmt is the statement that had added Undone.
	UndoneStmt string
}

func (e *StmtError) Error() string {
	msg := fmt.Sprintf("migrate: %s: statement failed: %s\n%s", e.File, e.Err, e.Stmt)
	if e.Next != "" {
		msg += "\n" + e.Next
	}
	return msg
}

func (e *StmtError) Unwrap() error { return e.Err }

// lockName is Atlas's lock name for apply; its 32-bit FNV-1 hash is the
// advisory lock key, so this tool and the Atlas CLI exclude each other.
const lockName = "atlas_migrate_execute"

// Apply applies up to n pending files of dir (all when n <= 0) under an
// advisory lock, recording each in the Atlas revision table. A directory
// that does not match its atlas.sum is refused before anything runs.
func Apply(ctx context.Context, db *sql.DB, dir amigrate.Dir, n int, opts Options) (*ApplyReport, error) {
	start := time.Now()
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := ValidateSum(dir); err != nil {
		return nil, err
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	store, unlock, err := lockRevisions(ctx, db, opts, opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := store.create(ctx); err != nil {
		return nil, err
	}
	sv, err := surveyTable(ctx, db, dir, store)
	if err != nil {
		return nil, err
	}
	if sv.problem != nil {
		return nil, sv.problem
	}
	if err := repair(ctx, store, dir, sv, out); err != nil {
		return nil, err
	}
	pending, revs, err := pendingFiles(ctx, db, dir, store, opts)
	if errors.Is(err, amigrate.ErrNoPendingFiles) {
		fmt.Fprintln(out, "No migration files to execute")
		rep := &ApplyReport{Duration: time.Since(start)}
		if len(revs) > 0 {
			rep.From = revs[len(revs)-1].Version
			rep.To = rep.From
		}
		return rep, nil
	}
	if err != nil {
		return nil, explain(err)
	}
	if n > 0 && n < len(pending) {
		pending = pending[:n]
	}

	rep := &ApplyReport{To: pending[len(pending)-1].Version()}
	fmt.Fprintf(out, "Migrating to version %s", rep.To)
	if len(revs) > 0 {
		rep.From = revs[len(revs)-1].Version
		fmt.Fprintf(out, " from %s", rep.From)
	}
	fmt.Fprintf(out, " (%d migrations in total):\n\n", len(pending))

	r := &runner{db: db, dir: dir, schema: store.schema, out: out, connCheck: !opts.noConnCheck && supportsConnCheck(ctx, db),
		waitNotice: cmp.Or(opts.waitNotice, defaultWaitNotice),
		retry:      retryPolicy{retries: max(opts.LockRetries, 0), delay: opts.LockRetryDelay, maxDelay: opts.LockRetryMaxDelay}}
	if opts.TxMode == TxModeAll {
		err = r.all(ctx, pending, rep)
	} else {
		err = r.each(ctx, pending, opts.TxMode, rep)
	}
	rep.Duration = time.Since(start)
	if err != nil {
		rep.To = rep.From
		for _, f := range rep.Files {
			if f.Err == nil {
				rep.To = f.Version
			}
		}
	}
	summary(out, rep)
	return rep, err
}

func (o *Options) check() error {
	switch o.TxMode {
	case "":
		o.TxMode = TxModeFile
	case TxModeFile, TxModeAll, TxModeNone:
	default:
		return fmt.Errorf("migrate: unknown transaction mode %q (file, all or none)", o.TxMode)
	}
	if _, ok := execOrders[o.ExecOrder]; !ok {
		return fmt.Errorf("migrate: unknown execution order %q (linear, linear-skip or non-linear)", o.ExecOrder)
	}
	if o.Baseline != "" && o.AllowDirty {
		return errors.New("migrate: baseline and allow-dirty are mutually exclusive")
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 10 * time.Second
	}
	if o.LockRetries == 0 {
		o.LockRetries = DefaultLockRetries
	}
	if o.LockRetryDelay <= 0 {
		o.LockRetryDelay = DefaultLockRetryDelay
	}
	if o.LockRetryMaxDelay <= 0 {
		o.LockRetryMaxDelay = DefaultLockRetryMaxDelay
	}
	o.LockRetryMaxDelay = max(o.LockRetryMaxDelay, o.LockRetryDelay)
	return nil
}

// pendingFiles returns the files to run and the revisions so far, with
// Atlas's rules: a non-clean first run needs a baseline or allow-dirty,
// files added out of order are refused under the linear order, and a
// partially applied last file is resumed.
func pendingFiles(ctx context.Context, db *sql.DB, dir amigrate.Dir, store amigrate.RevisionReadWriter, opts Options) ([]amigrate.File, []*amigrate.Revision, error) {
	drv, err := postgres.Open(db)
	if err != nil {
		return nil, nil, fmt.Errorf("migrate: %w", err)
	}
	exopts := []amigrate.ExecutorOption{amigrate.WithAllowDirty(opts.AllowDirty), amigrate.WithOperatorVersion(OperatorVersion)}
	if opts.Baseline != "" {
		exopts = append(exopts, amigrate.WithBaselineVersion(opts.Baseline))
	}
	exopts = append(exopts, amigrate.WithExecOrder(execOrders[opts.ExecOrder]))
	ex, err := amigrate.NewExecutor(&boundDriver{Driver: drv, schema: opts.Schema}, dir, store, exopts...)
	if err != nil {
		return nil, nil, fmt.Errorf("migrate: %w", err)
	}
	pending, err := ex.Pending(ctx)
	// Read after Pending: a baseline run writes its revision there. Status
	// needs them with an out-of-order error too.
	revs, rerr := store.ReadRevisions(ctx)
	if rerr != nil {
		return nil, nil, rerr
	}
	if err != nil && !errors.Is(err, amigrate.ErrNoPendingFiles) {
		return nil, revs, fmt.Errorf("migrate: %w", err)
	}
	return pending, revs, err
}

// runner executes files and reports them in Atlas's log format.
type runner struct {
	db        *sql.DB
	dir       amigrate.Dir
	schema    string
	out       io.Writer
	connCheck bool // the server has client_connection_check_interval
	// waitNotice: see Options.waitNotice.
	waitNotice time.Duration
	retry      retryPolicy
}

// each runs the files one by one, each in its own transaction unless the
// file or the run opts out, trying a file again when a statement of it
// failed on lock_timeout.
func (r *runner) each(ctx context.Context, files []amigrate.File, mode string, rep *ApplyReport) error {
	for _, f := range files {
		fmode, err := fileTxMode(f, mode)
		if err != nil {
			return err
		}
		res := FileResult{Name: f.Name(), Version: f.Version()}
		start := time.Now()
		applied := 0
		for try := 1; ; try++ {
			var n int
			n, applied, res.Err = r.attempt(ctx, f, fmode)
			res.Statements += n
			if res.Err == nil || !retryable(res.Err) || try > r.retry.retries {
				break
			}
			wait := r.retry.wait(try)
			r.sayRetry(ctx, f, fmode, res.Err, try, applied, wait)
			res.Retries++
			if err := sleep(ctx, wait); err != nil {
				break
			}
		}
		if res.Err != nil {
			hint(ctx, r.db, res.Err, f, applied, res.Retries+1)
		}
		res.Duration = time.Since(start)
		rep.Files = append(rep.Files, res)
		rep.Statements += res.Statements
		if res.Err != nil {
			return res.Err
		}
		fmt.Fprintf(r.out, "  -- ok (%s)\n", roundDuration(res.Duration))
	}
	return nil
}

// attempt runs a file once on a session of its own: in a transaction
// (nothing stays applied when it fails), or without one (applied says how
// many of its statements are in the database after a failure).
func (r *runner) attempt(ctx context.Context, f amigrate.File, mode string) (n, applied int, err error) {
	conn, err := r.session(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer release(conn)
	if mode == TxModeNone {
		n, err = r.exec(ctx, conn, f)
		if err != nil {
			applied, err = r.afterAutocommitFailure(ctx, f, err)
			var con string
			if applied, con = r.undoNotValid(ctx, f, err, applied); con != "" {
				var se *StmtError
				errors.As(err, &se)
				se.Undone = con
			}
		}
		return n, applied, err
	}
	n, err = r.inTx(ctx, conn, func(tx *sql.Tx) (int, error) { return r.exec(ctx, tx, f) })
	if err != nil {
		n = 0 // rolled back
	}
	return n, 0, err
}

// sayRetry prints that a file is tried again, and why.
func (r *runner) sayRetry(ctx context.Context, f amigrate.File, mode string, err error, try, applied int, wait time.Duration) {
	var se *StmtError
	if !errors.As(err, &se) {
		return
	}
	what := "the file was rolled back and runs again whole"
	switch {
	case mode == TxModeAll:
		what = "all files were rolled back and run again"
	case mode == TxModeNone && applied > 0:
		what = fmt.Sprintf("its first %d statements stay applied; it resumes at statement %d", applied, applied+1)
	case mode == TxModeNone:
		what = "nothing of it was applied; it runs again from statement 1"
	}
	fmt.Fprintf(r.out, "  -- lock timeout: statement %d of %s could not get its lock (try %d of %d); %s in %s\n",
		se.Index, f.Name(), try, r.retry.retries+1, what, wait.Round(time.Millisecond))
	table := lockTarget(ctx, r.db, se.Stmt)
	if who := blockers(ctx, r.db, table); who != "" {
		fmt.Fprintf(r.out, "  -- holding a lock on %s: %s\n", table, who)
	}
}

// all runs every file in one transaction, and all of them again when a
// statement failed on lock_timeout.
func (r *runner) all(ctx context.Context, files []amigrate.File, rep *ApplyReport) error {
	for _, f := range files {
		if _, err := fileTxMode(f, TxModeAll); err != nil {
			return err
		}
	}
	var (
		failed amigrate.File
		err    error
		tries  int
	)
	for try := 1; ; try++ {
		tries = try
		rep.Files, rep.Statements = nil, 0
		failed, err = r.allOnce(ctx, files, rep)
		if err == nil || !retryable(err) || try > r.retry.retries || failed == nil {
			break
		}
		wait := r.retry.wait(try)
		r.sayRetry(ctx, failed, TxModeAll, err, try, 0, wait)
		if serr := sleep(ctx, wait); serr != nil {
			break
		}
	}
	if err != nil && failed != nil {
		hint(ctx, r.db, err, failed, 0, tries)
	}
	return err
}

// allOnce is one try of all; failed is the file whose statement failed.
func (r *runner) allOnce(ctx context.Context, files []amigrate.File, rep *ApplyReport) (failed amigrate.File, err error) {
	conn, err := r.session(ctx)
	if err != nil {
		return nil, err
	}
	defer release(conn)
	_, err = r.inTx(ctx, conn, func(tx *sql.Tx) (int, error) {
		for _, f := range files {
			start := time.Now()
			n, err := r.exec(ctx, tx, f)
			rep.Files = append(rep.Files, FileResult{Name: f.Name(), Version: f.Version(), Statements: n, Duration: time.Since(start), Err: err})
			rep.Statements += n
			if err != nil {
				failed = f
				return 0, err
			}
			fmt.Fprintf(r.out, "  -- ok (%s)\n", roundDuration(time.Since(start)))
		}
		return 0, nil
	})
	if err != nil {
		// The whole batch was rolled back.
		rep.Statements = 0
		for i := range rep.Files {
			rep.Files[i].Statements = 0
			if rep.Files[i].Err == nil {
				rep.Files[i].Err = errors.New("rolled back")
			}
		}
	}
	return failed, err
}

// inTx runs fn in a transaction on conn, committing on success.
func (r *runner) inTx(ctx context.Context, conn *sql.Conn, fn func(*sql.Tx) (int, error)) (int, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("migrate: begin: %w", err)
	}
	n, err := fn(tx)
	if err != nil {
		_ = tx.Rollback()
		return n, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("migrate: commit: %w", err)
	}
	return n, nil
}

// exec runs one file on q (the database or a transaction) with Atlas's
// executor, whose revision writes go through q too.
func (r *runner) exec(ctx context.Context, q queryExecer, f amigrate.File) (int, error) {
	drv, err := postgres.Open(q.(schema.ExecQuerier))
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	log := &logger{out: r.out}
	g, err := newGuard(&revisions{db: q, schema: r.schema}, drv, r.dir, f)
	if err != nil {
		return 0, err
	}
	sd := &stmtDriver{Driver: drv, q: q, out: r.out, db: r.db, waitNotice: r.waitNotice}
	// A file resumed on a new session makes its session settings again
	// (SET lock_timeout above all) before the statements it resumes at.
	if rev, err := g.ReadRevision(ctx, f.Version()); err == nil && rev.Applied > 0 {
		sd.replay = sessionSettings(g.texts[:rev.Applied])
	}
	ex, err := amigrate.NewExecutor(sd, r.dir, g, amigrate.WithLogger(log), amigrate.WithOperatorVersion(OperatorVersion))
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	err = ex.Execute(ctx, f)
	var se *amigrate.StmtExecError
	if errors.As(err, &se) {
		return log.stmts - 1, &StmtError{File: f.Name(), Stmt: se.Stmt.Text, Index: log.skip + log.stmts, Err: se.Err}
	}
	if err != nil {
		return log.stmts, explain(fmt.Errorf("migrate: %s: %w", f.Name(), err))
	}
	return log.stmts, nil
}

// fileTxMode returns the transaction mode a file runs in: its own
// `-- atlas:txmode` directive, else the run's.
func fileTxMode(f amigrate.File, mode string) (string, error) {
	lf, ok := f.(*amigrate.LocalFile)
	if !ok {
		return mode, nil
	}
	ds := lf.Directive("txmode")
	switch {
	case len(ds) == 0:
		return mode, nil
	case len(ds) > 1:
		return "", fmt.Errorf("migrate: %s: more than one atlas:txmode directive", f.Name())
	case mode == TxModeAll:
		return "", fmt.Errorf("migrate: %s: atlas:txmode directive cannot override transaction mode %q", f.Name(), TxModeAll)
	}
	switch ds[0] {
	case TxModeFile, TxModeNone:
		return ds[0], nil
	default:
		return "", fmt.Errorf("migrate: %s: unknown atlas:txmode %q (file or none)", f.Name(), ds[0])
	}
}

// logger prints the executor's events in the Atlas CLI's apply format.
type logger struct {
	out   io.Writer
	stmts int
	skip  int // statements applied before this run of the file
}

func (l *logger) Log(e amigrate.LogEntry) {
	switch e := e.(type) {
	case amigrate.LogFile:
		l.skip = e.Skip
		fmt.Fprintf(l.out, "  -- migrating version %s\n", e.File.Version())
	case amigrate.LogStmt:
		// The statement is printed by stmtDriver as it runs, after what
		// apply does before it (settings made again, an index dropped).
		l.stmts++
	case amigrate.LogError:
		fmt.Fprintf(l.out, "    %s\n", e.Error)
	}
}

func summary(out io.Writer, rep *ApplyReport) {
	var okFiles, badFiles int
	for _, f := range rep.Files {
		if f.Err != nil {
			badFiles++
		} else {
			okFiles++
		}
	}
	fmt.Fprintf(out, "\n  -------------------------\n  -- %s\n", roundDuration(rep.Duration))
	if badFiles == 0 {
		fmt.Fprintf(out, "  -- %d migration%s\n  -- %d sql statement%s\n",
			okFiles, plural(okFiles), rep.Statements, plural(rep.Statements))
		return
	}
	fmt.Fprintf(out, "  -- %d migration%s ok, %d with errors\n  -- %d sql statement%s ok, 1 with errors\n",
		okFiles, plural(okFiles), badFiles, rep.Statements, plural(rep.Statements))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(time.Microsecond)
	}
	return d
}

// lock takes the session advisory lock Atlas uses for name on a dedicated
// connection, retrying with backoff until timeout. The returned function
// releases it.
func lock(ctx context.Context, db *sql.DB, name string, timeout time.Duration) (func(), error) {
	h := fnv.New32() // FNV-1, not FNV-1a: the key must equal Atlas's
	h.Write([]byte(name))
	key := int64(h.Sum32())
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	deadline := time.Now().Add(timeout)
	wait := 25 * time.Millisecond
	for {
		var ok bool
		if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
			conn.Close()
			return nil, fmt.Errorf("migrate: acquiring database lock: %w", err)
		}
		if ok {
			break
		}
		if time.Now().Add(wait).After(deadline) {
			conn.Close()
			return nil, ErrLocked
		}
		select {
		case <-ctx.Done():
			conn.Close()
			return nil, ctx.Err()
		case <-time.After(wait + rand.N(wait/4)):
		}
		wait = min(2*wait, time.Second)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", key); err != nil {
			// Drop the connection rather than return a locked session to
			// the pool: closing the session releases the lock.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, nil
}

// boundDriver makes the clean check of a first run look only at the schema
// the connection is bound to, as the Atlas CLI does for a URL with a
// search_path (the driver alone only knows realm mode).
type boundDriver struct {
	amigrate.Driver
	schema string
}

func (d *boundDriver) CheckClean(ctx context.Context, rev *amigrate.TableIdent) error {
	if d.schema == "" {
		return d.Driver.CheckClean(ctx, rev)
	}
	s, err := d.InspectSchema(ctx, d.schema, nil)
	if err != nil {
		if schema.IsNotExistError(err) {
			return nil
		}
		return err
	}
	for _, t := range s.Tables {
		if rev != nil && t.Name == rev.Name && (rev.Schema == "" || rev.Schema == s.Name) {
			continue
		}
		return &amigrate.NotCleanError{State: schema.NewRealm(s), Reason: fmt.Sprintf("found table %q in schema %q", t.Name, s.Name)}
	}
	return nil
}
