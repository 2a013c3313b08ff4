// Package pgbouncer runs a throwaway PgBouncer in transaction mode in
// front of a PostgreSQL server, for the tests and the bench that check
// the service behind a transaction pooler: a config file in a temporary
// directory, a free loopback port, every database of the server passed
// through under its own name, authentication to the server with the
// credentials of the URL it was given, everything removed again on Stop.
//
// When run as root, PgBouncer runs as an unprivileged user (postgres, or
// the one named by WithUser), because it refuses to run as root.
package pgbouncer

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq" // the driver the readiness probe uses

	"tasks/internal/pgtemp"
)

// ErrNoBinary is returned when no pgbouncer executable can be found.
var ErrNoBinary = errors.New("pgbouncer: the pgbouncer executable was not found; " +
	"install it (Debian/Ubuntu: apt-get install pgbouncer) or set PGBOUNCER to its path")

// Bouncer is a running PgBouncer.
type Bouncer struct {
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the process's exit status, valid after done
}

type config struct {
	user     string
	poolSize int
	port     int
}

// Option configures Start.
type Option func(*config)

// WithUser names the OS user PgBouncer runs as when the caller is root
// (default "postgres").
func WithUser(name string) Option { return func(c *config) { c.user = name } }

// WithPoolSize sets how many server connections PgBouncer opens per
// database and user (default_pool_size; 20 unless set).
func WithPoolSize(n int) Option { return func(c *config) { c.poolSize = n } }

// WithPort makes PgBouncer listen on the given loopback port instead of a
// free one chosen at start.
func WithPort(port int) Option { return func(c *config) { c.port = port } }

// Binary returns the path of the pgbouncer executable: $PGBOUNCER, then
// $PATH, then /usr/sbin, where Debian installs it (off a normal user's
// $PATH).
func Binary() (string, error) {
	if p := os.Getenv("PGBOUNCER"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("pgbouncer: $PGBOUNCER: %w", err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", ErrNoBinary
}

// Start runs PgBouncer in transaction mode in front of the server of
// serverURL, a postgres:// URL of any database on it. The caller must
// call Stop.
func Start(ctx context.Context, serverURL string, opts ...Option) (*Bouncer, error) {
	c := config{user: "postgres", poolSize: 20}
	for _, o := range opts {
		o(&c)
	}
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Hostname() == "" {
		return nil, errors.New("pgbouncer: the server must be given as a postgres://host:port/… URL")
	}
	cred, err := pgtemp.Credential("PgBouncer", c.user)
	if err != nil {
		return nil, fmt.Errorf("pgbouncer: %w", err)
	}
	dir, err := os.MkdirTemp("", "pgbouncer-")
	if err != nil {
		return nil, fmt.Errorf("pgbouncer: %w", err)
	}
	b := &Bouncer{dir: dir}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	if err := writeUsers(filepath.Join(dir, "users.txt"), u.User); err != nil {
		return nil, err
	}
	if cred != nil {
		for _, p := range []string{dir, filepath.Join(dir, "users.txt")} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, fmt.Errorf("pgbouncer: %w", err)
			}
		}
	}
	// A port can be taken between choosing and binding it; try a few.
	for attempt := 0; ; attempt++ {
		err = b.launch(ctx, bin, cred, u, c)
		if err == nil {
			break
		}
		if attempt == 4 || c.port != 0 || ctx.Err() != nil {
			return nil, err
		}
	}
	ok = true
	return b, nil
}

// writeUsers writes the auth file: the URL's user, with its password when
// it has one, which PgBouncer then gives the server when asked.
func writeUsers(path string, ui *url.Userinfo) error {
	name, pass := "postgres", ""
	if ui != nil {
		name = ui.Username()
		pass, _ = ui.Password()
	}
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	if err := os.WriteFile(path, []byte(q(name)+" "+q(pass)+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgbouncer: %w", err)
	}
	return nil
}

// launch writes the config for a port and starts PgBouncer on it.
func (b *Bouncer) launch(ctx context.Context, bin string, cred *syscall.Credential, server *url.URL, c config) error {
	port := c.port
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("pgbouncer: find a free port: %w", err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	serverPort := server.Port()
	if serverPort == "" {
		serverPort = "5432"
	}
	// "*" passes every database name through to the server, so that the
	// tests' fresh databases need no entry of their own.
	// - transaction mode is what the service must survive;
	// - ignore_startup_parameters as commonly documented, nothing more:
	//   the service must not rely on PgBouncer dropping what it sends;
	// - server_login_retry and query_wait_timeout short, so a test of an
	//   outage does not wait PgBouncer's defaults (15 s, 120 s) out.
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 2000
ignore_startup_parameters = extra_float_digits
server_login_retry = 1
query_wait_timeout = 30
logfile = %s
`, server.Hostname(), serverPort, port, filepath.Join(b.dir, "users.txt"), c.poolSize, filepath.Join(b.dir, "pgbouncer.log"))
	path := filepath.Join(b.dir, "pgbouncer.ini")
	if err := os.WriteFile(path, []byte(ini), 0o644); err != nil {
		return fmt.Errorf("pgbouncer: %w", err)
	}
	cmd := exec.Command(bin, path)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		Setpgid:    true, // a terminal's ^C reaches us, and we stop it
		Pdeathsig:  syscall.SIGTERM,
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgbouncer: start: %w", err)
	}
	b.cmd, b.port, b.done = cmd, port, make(chan struct{})
	go func() { b.err = cmd.Wait(); close(b.done) }()

	probe := b.through(server, "/postgres")
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := ping(ctx, probe)
		if err == nil {
			return nil
		}
		select {
		case <-b.done:
			return fmt.Errorf("pgbouncer: exited: %v\n%s%s", b.err, out.String(), b.tailLog())
		case <-ctx.Done():
			b.Stop()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.kill()
			return fmt.Errorf("pgbouncer: not answering after 20s: %v\n%s", err, b.tailLog())
		}
	}
}

// Addr is the loopback address PgBouncer listens on.
func (b *Bouncer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }

// Port is the port PgBouncer listens on.
func (b *Bouncer) Port() int { return b.port }

// Pid is PgBouncer's process id, for measuring its CPU.
func (b *Bouncer) Pid() int { return b.cmd.Process.Pid }

// Through returns the postgres:// URL rawURL with PgBouncer's address in
// place of the server's: the same database, user and parameters, pooled.
func (b *Bouncer) Through(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("pgbouncer: through: not a postgres:// URL")
	}
	return b.through(u, u.Path), nil
}

func (b *Bouncer) through(u *url.URL, path string) string {
	v := *u
	v.Host, v.Path = b.Addr(), path
	return v.String()
}

// Stop shuts PgBouncer down at once (SIGTERM: connections are closed)
// and removes its directory. It is safe to call more than once.
func (b *Bouncer) Stop() error {
	if b.cmd != nil {
		select {
		case <-b.done:
		default:
			_ = b.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-b.done:
			case <-time.After(10 * time.Second):
				b.kill()
			}
		}
	}
	if err := os.RemoveAll(b.dir); err != nil {
		return fmt.Errorf("pgbouncer: %w", err)
	}
	return nil
}

func (b *Bouncer) kill() {
	_ = b.cmd.Process.Kill()
	<-b.done
}

// Log returns the end of PgBouncer's log, for a failing test to show.
func (b *Bouncer) Log() string { return b.tailLog() }

func (b *Bouncer) tailLog() string {
	bs, _ := os.ReadFile(filepath.Join(b.dir, "pgbouncer.log"))
	if len(bs) > 4000 {
		bs = bs[len(bs)-4000:]
	}
	return string(bytes.TrimSpace(bs))
}

func ping(ctx context.Context, dsn string) error {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	// A query, not a ping: PgBouncer accepts a login before it has a
	// server connection to hand out.
	var one int
	return db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}
