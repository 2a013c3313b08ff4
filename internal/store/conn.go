package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

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
//
// On lib/pq's connector it also installs a dialer of its own (replacing
// any other), whose sockets let the store bound statements by their
// connection's deadline instead of a cancelable context (see bounded).
func Connector(c driver.Connector) driver.Connector {
	pc, ok := c.(*pq.Connector)
	if ok {
		pc.Dialer(deadlineDialer{})
	}
	return guardedConnector{Connector: c, deadlines: ok}
}

type guardedConnector struct {
	driver.Connector
	deadlines bool // connections have deadlineConn sockets
}

func (g guardedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	var socket *deadlineConn
	if g.deadlines {
		ctx = context.WithValue(ctx, dialedKey{}, &socket)
	}
	c, err := g.Connector.Connect(ctx)
	if err != nil {
		// No statement was sent on a connection that never opened.
		return nil, fmt.Errorf("%w: %w", ErrNoConnection, err)
	}
	return &guardedConn{conn: c, socket: socket}, nil
}

// Driver tells New whether connections can be bounded by deadlines.
func (g guardedConnector) Driver() driver.Driver {
	return guardedDriver{Driver: g.Connector.Driver(), deadlines: g.deadlines}
}

type guardedDriver struct {
	driver.Driver
	deadlines bool
}

// deadlines reports whether db's connections come from Connector with
// sockets whose deadlines bound statements.
func deadlines(db *sql.DB) bool {
	d, ok := db.Driver().(guardedDriver)
	return ok && d.deadlines
}

// guardedConn forwards everything to the driver's connection and notes
// whether an error may have left it unusable.
type guardedConn struct {
	conn   driver.Conn
	socket *deadlineConn // nil unless dialed by deadlineDialer
	broken atomic.Bool
}

// bound sets the socket's deadline for a statement running in ctx.
func (c *guardedConn) bound(ctx context.Context) error {
	if c.socket == nil {
		return nil
	}
	return c.check(c.socket.until(statementEnd(ctx)))
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
	if err := c.bound(ctx); err != nil {
		return nil, err
	}
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

func (c *guardedConn) Close() error {
	if c.socket != nil {
		// lib/pq says goodbye (Terminate) before closing; the last
		// statement's deadline, long past on an idle connection, would
		// refuse that write.
		c.socket.until(time.Now().Add(time.Second))
	}
	return c.conn.Close()
}

func (c *guardedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *guardedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := c.bound(ctx); err != nil {
		return nil, err
	}
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
	if err := c.bound(ctx); err != nil {
		return nil, err
	}
	rows, err := qc.QueryContext(ctx, q, args)
	return rows, c.check(err)
}

func (c *guardedConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	ec, ok := c.conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	if err := c.bound(ctx); err != nil {
		return nil, err
	}
	res, err := ec.ExecContext(ctx, q, args)
	return res, c.check(err)
}

func (c *guardedConn) Ping(ctx context.Context) error {
	if err := c.bound(ctx); err != nil {
		return err
	}
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
	if err := s.conn.bound(ctx); err != nil {
		return nil, err
	}
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
	if err := s.conn.bound(ctx); err != nil {
		return nil, err
	}
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

// A statement the store runs with a connection free (see WithLimits)
// runs in a context that cannot be canceled, bounded: database/sql and
// lib/pq start a goroutine per statement to watch a cancelable context,
// which cost the API a tenth of its CPU per request. Its time limit is
// enforced by its connection instead: the connection's socket deadline is
// set to the statement's end before it runs (and before a connection
// opened for it is dialed and started), so a server that stops answering
// fails the statement with a timeout error at its end, and the pool then
// discards the connection (guardedConn.check). This needs the socket,
// which Connector's dialer keeps for each connection of lib/pq's
// connector.

// bounded is the context of a statement that ends by end through its
// connection's deadline; it carries the caller's values.
type bounded struct {
	context.Context
	end time.Time
}

type boundedKey struct{}

func (c *bounded) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *bounded) Done() <-chan struct{}       { return nil }
func (c *bounded) Err() error                  { return nil }

func (c *bounded) Value(key any) any {
	if key == (boundedKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// statementEnd is the end of the statement running in ctx, or zero when
// ctx itself bounds the statement.
func statementEnd(ctx context.Context) time.Time {
	if b, ok := ctx.Value(boundedKey{}).(*bounded); ok {
		return b.end
	}
	return time.Time{}
}

// dialedKey carries, into a connector's Connect, where the dialer leaves
// the socket it dials.
type dialedKey struct{}

// deadlineDialer dials the connections of Connector's lib/pq connector.
type deadlineDialer struct{ d net.Dialer }

func (d deadlineDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d deadlineDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

func (d deadlineDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	end := statementEnd(ctx)
	if !end.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, end)
		defer cancel()
	}
	c, err := d.d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	dc := &deadlineConn{Conn: c}
	if err := dc.until(end); err != nil {
		c.Close()
		return nil, err
	}
	if slot, ok := ctx.Value(dialedKey{}).(**deadlineConn); ok {
		*slot = dc // lib/pq keeps the last socket it dials for a connection
	}
	return dc, nil
}

// deadlineConn is a connection's socket, whose deadline is the earlier of
// its statement's end and the driver's own deadline (lib/pq bounds
// start-up by connect_timeout). Used by one goroutine at a time, as the
// driver uses a connection.
type deadlineConn struct {
	net.Conn
	end, driver time.Time // zero: none
	set         time.Time // the socket's deadline
}

// until sets the deadline for a statement that ends by end; zero clears
// it, for a statement that its context bounds.
func (c *deadlineConn) until(end time.Time) error {
	c.end = end
	return c.apply()
}

// SetDeadline is the driver's.
func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.driver = t
	return c.apply()
}

func (c *deadlineConn) apply() error {
	t := c.end
	if t.IsZero() || (!c.driver.IsZero() && c.driver.Before(t)) {
		t = c.driver
	}
	if t.Equal(c.set) {
		return nil // setting a deadline costs a timer update
	}
	if t.Equal(c.end) && !c.set.IsZero() && !c.set.After(t) && t.Sub(c.set) <= time.Until(t)/deadlineSlack {
		// The deadline an earlier statement left ends this one a little
		// early: by at most 1/deadlineSlack of its time. Keeping it
		// spares a timer update per statement on a busy connection.
		return nil
	}
	c.set = t
	return c.Conn.SetDeadline(t)
}

// deadlineSlack bounds how much earlier than its end a statement's
// deadline may be: by 1/deadlineSlack of the time it has.
const deadlineSlack = 64
