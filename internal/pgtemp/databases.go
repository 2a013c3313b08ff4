package pgtemp

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// databases are the names made on one server, so that Stop can drop
// them, and the source of fresh names.
type databases struct {
	prefix string // unique per process and server: parallel runs never collide
	seq    atomic.Int64

	mu   sync.Mutex
	made map[string]bool
}

func newDatabases() databases {
	return databases{
		prefix: fmt.Sprintf("tmp_%d_%d_", os.Getpid(), time.Now().UnixNano()%1e6),
		made:   map[string]bool{},
	}
}

// Connect returns the server of a running PostgreSQL, given by the URL of
// a database the user may create databases from (such as
// TEST_DATABASE_URL, or a postgres:// dev URL). The databases made on it
// keep the URL's parameters. Stop drops them and leaves the server running.
func Connect(ctx context.Context, rawURL string) (*Server, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// The URL may hold a password: never echo it.
		return nil, errors.New("pgtemp: connect: not a postgres:// URL")
	}
	s := &Server{admin: rawURL, dbs: newDatabases()}
	ctx, cancel := context.WithTimeout(ctx, time.Second) // as ping's
	defer cancel()
	// Through the pool: the session that answers is the one the first
	// CREATE DATABASE then uses.
	db, err := s.admins()
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		s.closePool()
		return nil, fmt.Errorf("pgtemp: connect: %w", err)
	}
	return s, nil
}

// Open connects to the server of rawURL when it is set, and starts a
// local one otherwise: what a test binary does with TEST_DATABASE_URL.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Server, error) {
	if rawURL != "" {
		return Connect(ctx, rawURL)
	}
	return Start(ctx, opts...)
}

// URL returns a connection URL for the named database on this server:
// the server's own URL with the database replaced.
func (s *Server) URL(database string) string {
	u, err := url.Parse(s.admin)
	if err != nil {
		panic(err) // checked by Connect, built by Start and StartDocker
	}
	u.Path = "/" + database
	return u.String()
}

// NewName returns a database name not used before on this server by this
// process.
func (s *Server) NewName() string {
	return s.dbs.prefix + fmt.Sprint(s.dbs.seq.Add(1))
}

// CreateDatabase creates a new, empty database and returns its URL.
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	return s.create(ctx, name, "")
}

// CreateFromTemplate creates database name as a copy of database
// template (CREATE DATABASE … TEMPLATE), which is how a migrated schema
// is cloned for each test, and returns its URL. Nobody may be connected to
// the template.
func (s *Server) CreateFromTemplate(ctx context.Context, name, template string) (string, error) {
	return s.create(ctx, name, template)
}

func (s *Server) create(ctx context.Context, name, template string) (string, error) {
	q := "CREATE DATABASE " + pq.QuoteIdentifier(name)
	if template != "" {
		q += " TEMPLATE " + pq.QuoteIdentifier(template)
	}
	db, err := s.admins()
	if err != nil {
		return "", fmt.Errorf("pgtemp: create database %s: %w", name, err)
	}
	if err := s.exec(ctx, db, q+s.strategy(ctx, db)); err != nil {
		return "", fmt.Errorf("pgtemp: create database %s: %w", name, err)
	}
	s.dbs.mu.Lock()
	s.dbs.made[name] = true
	s.dbs.mu.Unlock()
	return s.URL(name), nil
}

// DropDatabase drops the named database, ending its sessions; a database
// that is not there is no error.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	db, err := s.admins()
	if err == nil {
		err = s.exec(ctx, db, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)")
	}
	if err != nil {
		return fmt.Errorf("pgtemp: drop database %s: %w", name, err)
	}
	s.dbs.mu.Lock()
	delete(s.dbs.made, name)
	s.dbs.mu.Unlock()
	return nil
}

// dropAll drops every database still made on the server.
func (s *Server) dropAll() error {
	s.dbs.mu.Lock()
	names := make([]string, 0, len(s.dbs.made))
	for n := range s.dbs.made {
		names = append(names, n)
	}
	s.dbs.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for _, n := range names {
		errs = append(errs, s.DropDatabase(ctx, n))
	}
	return errors.Join(errs...)
}

// admins returns the pool of connections to the server's own database.
func (s *Server) admins() (*sql.DB, error) {
	s.poolMu.Lock()
	defer s.poolMu.Unlock()
	if s.pool == nil {
		db, err := sql.Open("postgres", s.admin)
		if err != nil {
			return nil, err
		}
		// Kept for the next statement; tests create databases a few
		// at a time.
		db.SetMaxIdleConns(4)
		s.pool = db
	}
	return s.pool, nil
}

// closePool closes the maintenance connections; the next statement opens
// new ones.
func (s *Server) closePool() {
	s.poolMu.Lock()
	defer s.poolMu.Unlock()
	if s.pool != nil {
		s.pool.Close()
		s.pool = nil
	}
}

// strategy returns how CREATE DATABASE copies its template on this
// server. PostgreSQL 15's default, WAL_LOG, writes every page of the
// template to the WAL, which is most of the statement's cost for a small
// template; FILE_COPY copies the files and checkpoints instead, which is
// cheap on a server that does not fsync (a throwaway one) and a burden
// on any other, which keeps the default.
func (s *Server) strategy(ctx context.Context, db *sql.DB) string {
	s.poolMu.Lock()
	defer s.poolMu.Unlock()
	if !s.copyKnown {
		var fileCopy bool
		err := db.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int >= 150000
			AND current_setting('fsync') = 'off'`).Scan(&fileCopy)
		if err != nil {
			return "" // asked again next time
		}
		s.copyKnown = true
		if fileCopy {
			s.copyMode = " STRATEGY FILE_COPY"
		}
	}
	return s.copyMode
}

// exec runs one maintenance statement from the server's own database.
func (s *Server) exec(ctx context.Context, db *sql.DB, q string) error {
	var err error
	// CREATE DATABASE … TEMPLATE fails while another session briefly
	// touches the template (its connections still closing, say); retry.
	for attempt := 0; ; attempt++ {
		_, err = db.ExecContext(ctx, q)
		if err == nil || attempt == 50 || !inUse(err) {
			return err
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return err
		}
	}
}

// inUse reports whether err says the template has other sessions
// (SQLSTATE 55006, object_in_use).
func inUse(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == pqerror.ObjectInUse
}
