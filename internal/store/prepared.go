package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// maxPrepared bounds how many distinct statements are kept prepared. The
// store sends a handful of shapes; anything past the bound (a client
// listing an unusual number of entity tags, say) runs unprepared.
const maxPrepared = 64

// prepared runs statements as prepared statements: PostgreSQL parses and
// plans each one once per connection, and every later execution is Bind,
// Execute and Sync in one round trip (lib/pq's stmt.exec), where an
// unnamed statement is parsed and planned again on every request.
//
// It keeps one *sql.Stmt per query text. database/sql prepares a Stmt
// lazily on each pooled connection it runs on, so a connection opened
// after a reconnect prepares again on first use, and closed connections'
// statements are forgotten. Statements are prepared on first use, not at
// start, because the service starts without a database.
type prepared struct {
	db    *sql.DB
	stmts sync.Map // query text → *sql.Stmt
	n     atomic.Int32

	// slots, when set, holds one token per pooled connection, taken by
	// each statement while it runs; timeout bounds its database work.
	slots   chan struct{}
	timeout time.Duration
	// deadlines: the connections can bound a statement (see bounded).
	deadlines bool
	// unnamed: never prepare by name (see Unnamed).
	unnamed bool
}

func newPrepared(db *sql.DB) *prepared { return &prepared{db: db, deadlines: deadlines(db)} }

// admit takes a pool slot for one statement and returns the context to
// run it in, and a cancel function (possibly nil) for release.
//
// A statement that finds a connection free runs bounded by its
// connection's deadline (see bounded), when the connections allow it.
// One that has to wait for a connection waits at most the timeout, and
// then runs in the caller's context with the rest of that time, as
// every statement does on connections that cannot bound it. Without
// slots, the caller's context is used as it is.
func (p *prepared) admit(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if p.slots == nil {
		return ctx, nil, nil
	}
	if p.deadlines {
		select {
		case p.slots <- struct{}{}:
			return &bounded{Context: ctx, end: time.Now().Add(p.timeout)}, nil, nil
		default:
		}
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	select {
	case p.slots <- struct{}{}:
		return ctx, cancel, nil
	case <-ctx.Done():
		cancel()
		return nil, nil, fmt.Errorf("%w: %w", ErrNoConnection, ctx.Err())
	}
}

// release gives back the slot admit took.
func (p *prepared) release(cancel context.CancelFunc) {
	if cancel != nil {
		cancel()
	}
	if p.slots != nil {
		<-p.slots
	}
}

// stmt returns the prepared statement for q, preparing it on first use;
// nil when the cache is full or statements are unnamed, and the caller
// then runs q unprepared.
func (p *prepared) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if p.unnamed {
		return nil, nil
	}
	if st, ok := p.stmts.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	if p.n.Load() >= maxPrepared {
		return nil, nil
	}
	// Failing to prepare fails the statement: running it unprepared
	// instead would be a second wait on a database that did not answer.
	st, err := p.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if old, loaded := p.stmts.LoadOrStore(q, st); loaded {
		// A concurrent request prepared it first. Closing ours waits for
		// the connection it was prepared on, which another request may be
		// using for as long as its statement runs (waiting on a lock, say):
		// close it aside rather than hold this request.
		go st.Close()
		return old.(*sql.Stmt), nil
	}
	p.n.Add(1)
	return st, nil
}

// forget drops st after PostgreSQL refused to run it as prepared, so the
// next use prepares it afresh on every connection.
func (p *prepared) forget(q string, st *sql.Stmt) {
	if p.stmts.CompareAndDelete(q, st) {
		p.n.Add(-1)
		go st.Close() // without waiting for busy connections, as in stmt
	}
}

// stale reports whether err says that a prepared statement no longer
// fits the database: its result type changed under it (a migration
// altered a column) or the server lost it (DISCARD ALL, a pooler). The
// statement failed before it ran, so running it again is safe.
func stale(err error) bool {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return false
	}
	// 26000 invalid_sql_statement_name; 0A000 is feature_not_supported,
	// of which only this message is about a prepared statement.
	return pqErr.Code == pqerror.InvalidSQLStatementName ||
		(pqErr.Code == pqerror.FeatureNotSupported && pqErr.Message == "cached plan must not change result type")
}

// query runs q, prepared, and returns its rows; the caller holds a slot.
func (p *prepared) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return p.db.QueryContext(ctx, q, args...)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil && stale(err) {
		p.forget(q, st)
		return p.db.QueryContext(ctx, q, args...)
	}
	return rows, err
}

// Each runs q, prepared, and calls scan for each row it returns.
func (p *prepared) Each(ctx context.Context, scan func(*sql.Rows) error, q string, args ...any) error {
	ctx, cancel, err := p.admit(ctx)
	if err != nil {
		return err
	}
	defer p.release(cancel)
	rows, err := p.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ExecContext runs q, prepared.
func (p *prepared) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx, cancel, err := p.admit(ctx)
	if err != nil {
		return nil, err
	}
	defer p.release(cancel)
	st, err := p.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return p.db.ExecContext(ctx, q, args...)
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil && stale(err) {
		p.forget(q, st)
		return p.db.ExecContext(ctx, q, args...)
	}
	return res, err
}

// QueryRowContext runs q, prepared, for at most one row. Errors surface
// from Scan, as with database/sql's QueryRowContext.
// The slot is held until Scan.
func (p *prepared) QueryRowContext(ctx context.Context, q string, args ...any) *row {
	ctx, cancel, err := p.admit(ctx)
	if err != nil {
		return &row{err: err}
	}
	rows, err := p.query(ctx, q, args...)
	return &row{rows: rows, err: err, p: p, cancel: cancel}
}

// row is what QueryRowContext returns: *sql.Row cannot be built outside
// database/sql.
type row struct {
	rows   *sql.Rows
	err    error
	p      *prepared // nil: no slot held
	cancel context.CancelFunc
}

// Scan copies the first row's columns into dest, closes the rows and
// gives back the slot; sql.ErrNoRows when there is none.
func (r *row) Scan(dest ...any) error {
	if r.p != nil {
		defer r.p.release(r.cancel)
	}
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	return r.rows.Close()
}
