package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync/atomic"

	"github.com/lib/pq"
)

// Connector wraps a driver's connector so that database/sql discards a
// connection on which a call failed without the server saying why.
//
// A server error (an ErrorResponse with an SQLSTATE) leaves the protocol
// in step: the driver has read up to ReadyForQuery and the connection
// serves the next query. Any other failure may not: lib/pq, for one,
// refuses a statement of 65,536 parameters before sending it yet leaves
// the connection marked busy, and every later query on it fails with
// "there is already a query being processed". Such a connection is
// reported invalid, so the pool closes it instead of handing it to the
// next request; the cost is one reconnect after a rare error.
func Connector(c driver.Connector) driver.Connector { return guardedConnector{c} }

type guardedConnector struct{ driver.Connector }

func (g guardedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := g.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &guardedConn{conn: c}, nil
}

// guardedConn forwards everything to the driver's connection and notes
// whether an error may have left it unusable.
type guardedConn struct {
	conn   driver.Conn
	broken atomic.Bool
}

// check records err's verdict on the connection and returns err.
func (c *guardedConn) check(err error) error {
	if err == nil || errors.Is(err, driver.ErrSkip) {
		return err
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code != "" && !pqErr.Fatal() {
		return err
	}
	c.broken.Store(true)
	return err
}

func (c *guardedConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c *guardedConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	var (
		s   driver.Stmt
		err error
	)
	if p, ok := c.conn.(driver.ConnPrepareContext); ok {
		s, err = p.PrepareContext(ctx, q)
	} else {
		s, err = c.conn.Prepare(q)
	}
	if err != nil {
		return nil, c.check(err)
	}
	return &guardedStmt{Stmt: s, conn: c}, nil
}

func (c *guardedConn) Close() error { return c.conn.Close() }

func (c *guardedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *guardedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.conn.(driver.ConnBeginTx); ok {
		tx, err := b.BeginTx(ctx, opts)
		return tx, c.check(err)
	}
	tx, err := c.conn.Begin()
	return tx, c.check(err)
}

func (c *guardedConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	qc, ok := c.conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := qc.QueryContext(ctx, q, args)
	return rows, c.check(err)
}

func (c *guardedConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	ec, ok := c.conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := ec.ExecContext(ctx, q, args)
	return res, c.check(err)
}

func (c *guardedConn) Ping(ctx context.Context) error {
	if p, ok := c.conn.(driver.Pinger); ok {
		return c.check(p.Ping(ctx))
	}
	return nil
}

// ResetSession runs before a pooled connection is reused; ErrBadConn
// makes database/sql close it and take another.
func (c *guardedConn) ResetSession(ctx context.Context) error {
	if c.broken.Load() {
		return driver.ErrBadConn
	}
	if r, ok := c.conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// IsValid runs when a connection goes back to the pool.
func (c *guardedConn) IsValid() bool {
	if c.broken.Load() {
		return false
	}
	if v, ok := c.conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *guardedConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// guardedStmt is a prepared statement whose failures count against its
// connection like those of a direct query.
type guardedStmt struct {
	driver.Stmt
	conn *guardedConn
}

func (s *guardedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if ec, ok := s.Stmt.(driver.StmtExecContext); ok {
		res, err := ec.ExecContext(ctx, args)
		return res, s.conn.check(err)
	}
	vs, err := values(args)
	if err != nil {
		return nil, err
	}
	res, err := s.Stmt.Exec(vs)
	return res, s.conn.check(err)
}

func (s *guardedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if qc, ok := s.Stmt.(driver.StmtQueryContext); ok {
		rows, err := qc.QueryContext(ctx, args)
		return rows, s.conn.check(err)
	}
	vs, err := values(args)
	if err != nil {
		return nil, err
	}
	rows, err := s.Stmt.Query(vs)
	return rows, s.conn.check(err)
}

func values(args []driver.NamedValue) ([]driver.Value, error) {
	vs := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("store: named parameters are not supported")
		}
		vs[i] = a.Value
	}
	return vs, nil
}
