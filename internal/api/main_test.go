package api_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/lib/pq"

	"tasks/internal/api"
	"tasks/internal/dbtest"
	"tasks/internal/store"
	"tasks/migrations"
)

var cluster *dbtest.Cluster

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m, &cluster)) }

// env is one test's service: a migrated database, the real store and
// server, a record of every statement the driver was asked to run, and a
// record of the protocol messages that reached the database.
type env struct {
	t    *testing.T
	db   *sql.DB
	url  string
	srv  *httptest.Server
	log  *statementLog
	wire *wireProxy
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t)
}

// newEnvWith is newEnv with the store built with opts.
func newEnvWith(t *testing.T, opts ...store.Option) *env {
	t.Helper()
	u, err := neturl.Parse(cluster.Migrated(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("binary_parameters", "yes") // as api.Run sets it
	u.RawQuery = q.Encode()
	url := u.String()
	// The store talks to the database through a proxy that records each
	// protocol message; the tests' own queries go directly.
	wire := startWireProxy(t, u.Host)
	u.Host = wire.addr
	conn, err := pq.NewConnector(u.String())
	if err != nil {
		t.Fatal(err)
	}
	log := &statementLog{}
	db := sql.OpenDB(store.Connector(&countingConnector{Connector: conn, log: log}))
	t.Cleanup(func() { db.Close() })
	head, err := migrations.Head()
	if err != nil {
		t.Fatal(err)
	}
	ready := &api.Readiness{DB: db, Head: head}
	// Metrics on, as api.Run has them, so that every API test also runs
	// through the instrumentation.
	srv := httptest.NewServer(api.NewServer(api.Config{Tasks: store.New(db, opts...), Ready: ready.Check,
		Metrics: api.NewMetrics(db), PublicMetrics: true}))
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, url: url, srv: srv, log: log, wire: wire}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// problem decodes an error body.
func (r response) problem() problemBody {
	var p problemBody
	json.Unmarshal(r.body, &p)
	return p
}

func (r response) task() taskBody {
	var b taskBody
	json.Unmarshal(r.body, &b)
	return b
}

type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Name   string `json:"name"`
		In     string `json:"in"`
		Reason string `json:"reason"`
	} `json:"errors"`
}

type taskBody struct {
	ID        int64  `json:"id"`
	Title     string `json:"title"`
	Done      bool   `json:"done"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// do sends a request; header is alternating names and values. A body
// gets Content-Type application/json unless the header list sets one.
func (e *env) do(method, path, body string, header ...string) response {
	e.t.Helper()
	req := e.request(method, path, body, header...)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func (e *env) request(method, path, body string, header ...string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	// Listed headers replace the defaults; "" removes one.
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Del(header[i])
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] != "" {
			req.Header.Add(header[i], header[i+1])
		}
	}
	return req
}

// create makes a task through the API.
func (e *env) create(title string) taskBody {
	e.t.Helper()
	r := e.do("POST", "/tasks", `{"title":"`+title+`"}`)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create: %d %s", r.status, r.body)
	}
	return r.task()
}

// snapshot is the whole tasks table as text, to prove a request changed
// nothing.
func (e *env) snapshot() string {
	e.t.Helper()
	var s sql.NullString
	if err := e.db.QueryRow(`SELECT string_agg(t::text, E'\n' ORDER BY id) FROM tasks t`).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	return s.String
}

// statementLog records what the database is sent, through a driver
// wrapper around lib/pq.
type statementLog struct {
	mu    sync.Mutex
	stmts []string
	args  [][]driver.NamedValue
}

func (l *statementLog) add(q string, args []driver.NamedValue) {
	l.mu.Lock()
	l.stmts = append(l.stmts, q)
	l.args = append(l.args, args)
	l.mu.Unlock()
}

func (l *statementLog) reset() {
	l.mu.Lock()
	l.stmts, l.args = nil, nil
	l.mu.Unlock()
}

func (l *statementLog) take() ([]string, [][]driver.NamedValue) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, a := l.stmts, l.args
	l.stmts, l.args = nil, nil
	return s, a
}

type countingConnector struct {
	driver.Connector
	log *statementLog
}

func (c *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{conn: conn, log: c.log}, nil
}

// countingConn passes everything to lib/pq's connection and records each
// statement, prepared statement and transaction start it sends.
type countingConn struct {
	conn driver.Conn
	log  *statementLog
}

func (c *countingConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.log.add("PREPARE "+q, nil)
	st, err := c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, q: q, log: c.log}, nil
}

// countingStmt records each execution of a prepared statement under the
// statement's text.
type countingStmt struct {
	driver.Stmt
	q   string
	log *statementLog
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.log.add(s.q, args)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.log.add(s.q, args)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *countingConn) Close() error { return c.conn.Close() }

func (c *countingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.log.add("BEGIN", nil)
	return c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.log.add(q, args)
	return c.conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.log.add(q, args)
	return c.conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *countingConn) Ping(ctx context.Context) error {
	if p, ok := c.conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *countingConn) IsValid() bool {
	if v, ok := c.conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func jsonDecode(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }
