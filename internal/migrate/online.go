package migrate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// What apply does so that a migration can run while the database serves
// traffic.
//
// A statement that needs a strong lock (ALTER TABLE, a plain CREATE
// INDEX…) waits for every transaction holding a conflicting lock, and
// every query on the table queues behind it while it waits. The files
// `migrate diff` writes start with `SET lock_timeout = …`, so such a
// statement gives up quickly instead (SQLSTATE 55P03, lock_not_available).
// Apply then tries the file again, after a wait that doubles each time
// (with jitter, so that several runs do not retry in step), a bounded
// number of times: a transactional file was rolled back and runs again
// whole; a `-- atlas:txmode none` file resumes at the statement that
// failed, its revision row recording what is applied. Any other error
// ends the run as before.
//
// A resumed txmode-none file runs on a new session, so the session
// settings its applied statements made (SET lock_timeout, above all) are
// made again first; otherwise the resumed statements would wait for
// locks without a timeout.
//
// A CREATE INDEX CONCURRENTLY that fails or is interrupted leaves an
// INVALID index behind, and running the statement again fails on its
// name. Before such a statement apply looks for the index: an invalid
// one is dropped (concurrently) and built again; a valid one that is
// exactly what the statement builds (an earlier run finished the build
// but died before recording it) counts as done; any other index of that
// name is refused. Each session also sets client_connection_check_interval
// (PostgreSQL 14+), so that the server stops a build whose client died
// instead of finishing it unseen.

// Defaults of the lock-timeout retry.
const (
	DefaultLockRetries       = 5
	DefaultLockRetryDelay    = time.Second
	DefaultLockRetryMaxDelay = 30 * time.Second
)

// defaultWaitNotice is how long a CONCURRENTLY statement waits for
// older transactions before apply names them, and then again each time.
const defaultWaitNotice = 10 * time.Second

// connectionCheck is how often the server checks, while a statement
// runs, that apply's connection is still there (PostgreSQL 14+).
const connectionCheck = "1s"

// retryPolicy is the lock-timeout retry of a run.
type retryPolicy struct {
	retries         int // retries after the first try; 0 for none
	delay, maxDelay time.Duration
}

// wait is the pause before retry n (1-based): the delay doubled n-1
// times, capped, of which a random half is taken off ("equal jitter"),
// so that two runs blocked by the same session do not retry in step.
func (p retryPolicy) wait(n int) time.Duration {
	d := p.delay
	for i := 1; i < n && d < p.maxDelay; i++ {
		d *= 2
	}
	d = min(d, p.maxDelay)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// isLockTimeout reports whether err is PostgreSQL's lock_not_available:
// lock_timeout expired (or a NOWAIT lock was refused).
func isLockTimeout(err error) bool {
	return pq.As(err, pqerror.LockNotAvailable) != nil
}

// retryable reports whether a failed file may be tried again: a
// statement of it gave up on lock_timeout. Only the statement's own
// failure counts: a revision write that timed out after a statement of a
// txmode-none file committed would make the retry run that statement
// twice.
func retryable(err error) bool {
	var se *StmtError
	return errors.As(err, &se) && isLockTimeout(se.Err)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// session takes a connection of its own for one attempt at a file, so
// that the file's SET statements reach all of its statements and none
// other: release closes it afterwards.
func (r *runner) session(ctx context.Context) (*sql.Conn, error) {
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	if r.connCheck {
		if _, err := conn.ExecContext(ctx, "SET client_connection_check_interval = '"+connectionCheck+"'"); err != nil {
			conn.Close()
			return nil, fmt.Errorf("migrate: set client_connection_check_interval: %w", err)
		}
	}
	return conn, nil
}

// release closes a file's session rather than return it to the pool:
// RESET ALL would leave a SET ROLE or SET SESSION AUTHORIZATION of the
// file in place, and a new connection per file costs milliseconds.
func release(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close()
}

// supportsConnCheck reports whether the server knows
// client_connection_check_interval (PostgreSQL 14 and later).
func supportsConnCheck(ctx context.Context, db *sql.DB) bool {
	var v int
	if err := db.QueryRowContext(ctx, "SELECT current_setting('server_version_num')::int").Scan(&v); err != nil {
		return false
	}
	return v >= 140000
}

// stmtDriver is the driver a file's executor runs statements through: it
// re-runs the session settings of a resumed file before its first
// statement, checks for an earlier build before each CREATE INDEX
// CONCURRENTLY, and for an unfinished detach before each DETACH PARTITION
// … CONCURRENTLY.
type stmtDriver struct {
	amigrate.Driver
	q      queryExecer
	out    io.Writer
	replay []string // session settings to make again before the first statement
	ran    bool
	// db and waitNotice: a CONCURRENTLY statement still waiting for
	// older transactions after waitNotice gets the sessions it waits
	// for named, read through db (its own session is busy).
	db         *sql.DB
	waitNotice time.Duration
}

// ScanStmts splits files as the wrapped driver does, so that statements
// and their hashes are the same as without the wrapper.
func (d *stmtDriver) ScanStmts(input string) ([]*amigrate.Stmt, error) {
	if s, ok := d.Driver.(amigrate.StmtScanner); ok {
		return s.ScanStmts(input)
	}
	return amigrate.Stmts(input)
}

// ExecContext implements schema.ExecQuerier for the executor's statements.
func (d *stmtDriver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if !d.ran {
		d.ran = true
		for _, s := range d.replay {
			fmt.Fprintf(d.out, "    -> %s   (again: a session setting of the applied statements)\n", s)
			if _, err := d.q.ExecContext(ctx, s); err != nil {
				return nil, fmt.Errorf("re-run session setting %q: %w", s, err)
			}
		}
	}
	// In a transaction the statement fails on its own, and a failed
	// look-up there would abort the transaction first.
	if ci, ok := parseConcurrentIndex(query); ok && !d.inTx() {
		done, err := d.earlierBuild(ctx, query, ci)
		if err != nil || done {
			printStmt(d.out, query)
			return driver.RowsAffected(0), err
		}
	}
	if parent, child, ok := parseDetachConcurrently(query); ok && !d.inTx() {
		finalize, err := d.detachPending(ctx, parent, child)
		if err != nil || finalize != "" {
			printStmt(d.out, query)
			if err == nil {
				fmt.Fprintf(d.out, "    -- partition %s is still being detached (an earlier DETACH … CONCURRENTLY failed or was interrupted after its first step): finishing it\n", child)
				fmt.Fprintf(d.out, "    -> %s;\n", finalize)
				_, err = d.q.ExecContext(ctx, finalize)
			}
			return driver.RowsAffected(0), err
		}
	}
	printStmt(d.out, query)
	if d.db != nil && d.waitNotice > 0 && !d.inTx() && isConcurrent(query) {
		defer d.watchWait(ctx)()
	}
	return d.Driver.ExecContext(ctx, query, args...)
}

// isConcurrent reports whether stmt is CREATE [UNIQUE] INDEX
// CONCURRENTLY, DROP INDEX CONCURRENTLY or DETACH PARTITION …
// CONCURRENTLY: each waits for every older transaction.
func isConcurrent(stmt string) bool {
	if _, _, ok := parseDetachConcurrently(stmt); ok {
		return true
	}
	ws := words(stmt)
	i := 1
	switch {
	case len(ws) > 3 && ws[0].is("create"):
		i = skipWords(ws, 1, "unique")
	case len(ws) > 3 && ws[0].is("drop"):
	default:
		return false
	}
	return i+1 < len(ws) && ws[i].is("index") && ws[i+1].is("concurrently")
}

// watchWait starts watching the session's CONCURRENTLY statement: each
// time it has waited waitNotice more for older transactions to end (it
// must, and nothing says so otherwise: reads and writes go on, the apply
// seems stuck), the sessions it waits for are printed with how to end
// them. The returned function stops the watch.
func (d *stmtDriver) watchWait(ctx context.Context) (stop func()) {
	var pid int64
	if err := d.q.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		return func() {}
	}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		start := time.Now()
		t := time.NewTicker(d.waitNotice)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if who := waitingFor(ctx, d.db, pid); who != "" {
				fmt.Fprintf(d.out, "    -- waiting %s for older transactions to end (CONCURRENTLY must; reads and writes go on): %s. "+
					"Let them finish, or end them (SELECT pg_terminate_backend(pid)) to go on sooner\n",
					time.Since(start).Round(100*time.Millisecond), who)
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// waitingFor describes the sessions that backend pid waits for, oldest
// transaction first; "" when it waits for none.
func waitingFor(ctx context.Context, db *sql.DB, pid int64) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, `
SELECT a.pid, coalesce(a.state, ''), coalesce(extract(epoch FROM now() - a.xact_start)::int, 0),
  left(regexp_replace(coalesce(a.query, ''), '\s+', ' ', 'g'), 60)
FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids($1))
ORDER BY a.xact_start NULLS LAST LIMIT 3`, pid)
	if err != nil {
		return ""
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var (
			p, age       int64
			state, query string
		)
		if rows.Scan(&p, &state, &age, &query) != nil {
			return ""
		}
		parts = append(parts, fmt.Sprintf("pid %d (%s, transaction open %ds: %s)", p, state, age, query))
	}
	return strings.Join(parts, "; ")
}

func (d *stmtDriver) inTx() bool {
	_, ok := d.q.(*sql.Tx)
	return ok
}

// detachPending returns the statement that finishes an earlier DETACH
// PARTITION … CONCURRENTLY of child from parent which stopped between its
// two transactions, leaving the partition pending detach (running the
// statement again then fails); "" when there is none.
func (d *stmtDriver) detachPending(ctx context.Context, parent, child string) (string, error) {
	var pending bool
	err := d.q.QueryRowContext(ctx, `
SELECT coalesce((SELECT inhdetachpending FROM pg_inherits
  WHERE inhrelid = to_regclass($1) AND inhparent = to_regclass($2)), false)`, child, parent).Scan(&pending)
	switch {
	case err != nil:
		return "", fmt.Errorf("look for an earlier detach of partition %s: %w", child, err)
	case pending:
		return "ALTER TABLE " + parent + " DETACH PARTITION " + child + " FINALIZE", nil
	}
	return "", nil
}

// earlierBuild handles an index left by an earlier attempt at stmt: an
// invalid one is dropped; a valid one is done if it is what stmt builds,
// refused otherwise.
func (d *stmtDriver) earlierBuild(ctx context.Context, stmt string, ci concurrentIndex) (done bool, err error) {
	var (
		oid   int64
		valid bool
		ref   string // the index as a regclass literal, quoted as needed
		def   string
	)
	err = d.q.QueryRowContext(ctx, `
SELECT i.indexrelid::bigint, i.indisvalid, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE c.relname = $1 AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass($2))`,
		ci.name, ci.table).Scan(&oid, &valid, &ref, &def)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look for an earlier build of index %q: %w", ci.name, err)
	}
	if !valid {
		fmt.Fprintf(d.out, "    -- index %s exists but is INVALID (an earlier concurrent build failed or was interrupted): dropping it to build it again\n", ref)
		var pid sql.NullInt64
		_ = d.q.QueryRowContext(ctx, "SELECT pid FROM pg_stat_progress_create_index WHERE index_relid = $1", oid).Scan(&pid)
		if pid.Valid {
			fmt.Fprintf(d.out, "    -- backend %d is still building it; the drop waits for it\n", pid.Int64)
		}
		drop := "DROP INDEX CONCURRENTLY " + ref
		fmt.Fprintf(d.out, "    -> %s;\n", drop)
		if _, err := d.q.ExecContext(ctx, drop); err != nil {
			return false, fmt.Errorf("drop invalid index %s: %w", ref, err)
		}
		return false, nil
	}
	want := d.definition(ctx, stmt, ci)
	if want == "" {
		return false, fmt.Errorf("index %s already exists and is valid (it is: %s), and apply could not build this statement's "+
			"index on an empty copy of the table to compare; drop it (DROP INDEX CONCURRENTLY %s) to build it again or, "+
			"if it is the one you want, remove the statement from the file and run %s", ref, def, ref, quote(cmdHash))
	}
	if sameIndex(def, want) {
		fmt.Fprintf(d.out, "    -- index %s already exists, valid and as this statement defines it (an earlier run built it and stopped before recording it): not built again\n", ref)
		return true, nil
	}
	return false, fmt.Errorf("index %s already exists and is valid, but it is not the index this statement builds "+
		"(it is: %s); drop it (DROP INDEX CONCURRENTLY %s) or, if it is the one you want, "+
		"remove the statement from the file and run %s", ref, def, ref, quote(cmdHash))
}

// definition is pg_get_indexdef of the index stmt builds, learnt from
// PostgreSQL by building it (without CONCURRENTLY) on an empty
// temporary copy of its table; "" when that cannot be done.
func (d *stmtDriver) definition(ctx context.Context, stmt string, ci concurrentIndex) string {
	const tmp = "pg_temp.migrate_index_probe"
	if _, err := d.q.ExecContext(ctx, "CREATE TEMP TABLE migrate_index_probe (LIKE "+ci.table+")"); err != nil {
		return ""
	}
	defer d.q.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+tmp)
	probe := stmt[:ci.concAt] + stmt[ci.concEnd:ci.tableAt] + tmp + stmt[ci.tableEnd:]
	if _, err := d.q.ExecContext(ctx, probe); err != nil {
		return ""
	}
	var def string
	if err := d.q.QueryRowContext(ctx, `SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
		WHERE i.indrelid = $1::regclass`, tmp).Scan(&def); err != nil {
		return ""
	}
	return def
}

// sameIndex compares two pg_get_indexdef results, ignoring the table
// each is on: "CREATE … INDEX name ON [ONLY] table USING rest".
func sameIndex(a, b string) bool {
	split := func(def string) (string, string, bool) {
		on := strings.Index(def, " ON ")
		using := strings.Index(def, " USING ")
		if on < 0 || using < on {
			return "", "", false
		}
		head := def[:on]
		if strings.HasPrefix(def[on:], " ON ONLY ") {
			head += " ONLY"
		}
		return head, def[using:], true
	}
	ha, ra, ok1 := split(a)
	hb, rb, ok2 := split(b)
	return ok1 && ok2 && ha == hb && ra == rb
}

// printStmt prints a statement as the Atlas CLI's apply log does.
func printStmt(out io.Writer, stmt string) {
	fmt.Fprintf(out, "    -> %s\n", strings.ReplaceAll(stmt, "\n", "\n       "))
}

// sessionSettings returns the session settings among stmts, in order.
func sessionSettings(stmts []string) []string {
	var out []string
	for _, s := range stmts {
		if isSessionSet(s) {
			out = append(out, s)
		}
	}
	return out
}

// lockTarget is the table a failed statement waited for, as written in
// it, or for a DROP INDEX the index's table as PostgreSQL names it; ""
// when it cannot be told.
func lockTarget(ctx context.Context, db *sql.DB, stmt string) string {
	if t := lockedTable(stmt); t != "" {
		return t
	}
	idx := droppedIndex(stmt)
	if idx == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	var t string
	if err := db.QueryRowContext(ctx, "SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = to_regclass($1)", idx).Scan(&t); err != nil {
		return ""
	}
	return t
}

// blockers describes the sessions holding a lock on table (as written in
// the statement), oldest transaction first; "" when there are none or
// they cannot be read.
func blockers(ctx context.Context, db *sql.DB, table string) string {
	if table == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, `
SELECT DISTINCT a.pid, coalesce(a.state, ''), coalesce(extract(epoch FROM now() - a.xact_start)::int, 0),
  left(regexp_replace(coalesce(a.query, ''), '\s+', ' ', 'g'), 60), a.xact_start
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.relation = to_regclass($1) AND l.granted AND a.pid <> pg_backend_pid()
ORDER BY a.xact_start NULLS LAST LIMIT 3`, table)
	if err != nil {
		return ""
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var (
			pid, age     int64
			state, query string
			start        sql.NullTime
		)
		if rows.Scan(&pid, &state, &age, &query, &start) != nil {
			return ""
		}
		parts = append(parts, fmt.Sprintf("pid %d (%s, transaction open %ds: %s)", pid, state, age, query))
	}
	return strings.Join(parts, "; ")
}

// lockHint is the way out after the last try of a statement that kept
// hitting lock_timeout.
func lockHint(f amigrate.File, se *StmtError, tries int, table, who string) string {
	var find string
	if table != "" {
		find = fmt.Sprintf("SELECT a.pid, a.state, now() - a.xact_start AS xact_age, left(a.query, 80) AS query "+
			"FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "+
			"WHERE l.relation = '%s'::regclass AND l.granted AND a.pid <> pg_backend_pid() ORDER BY a.xact_start;",
			strings.ReplaceAll(table, "'", "''"))
	} else {
		find = "SELECT pid, state, now() - xact_start AS xact_age, left(query, 80) AS query " +
			"FROM pg_stat_activity WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() ORDER BY xact_start;"
	}
	msg := fmt.Sprintf("Statement %d of %s could not get its lock within lock_timeout (tries: %d): "+
		"another session holds a conflicting lock, most often a long-running or idle-in-transaction one.",
		se.Index, f.Name(), tries)
	if who != "" {
		msg += " Holding a lock on " + table + " now: " + who + "."
	}
	return msg + "\nFind the sessions holding it (oldest first) with psql:\n  " + find +
		"\nLet them finish or end them (SELECT pg_terminate_backend(pid)), then run " + quote(cmdMigrate) +
		" again; or run it at a quieter time, or with more tries: make migrate flags=--lock-retries=N."
}
