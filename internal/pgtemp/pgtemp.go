// Package pgtemp is the one home of throwaway PostgreSQL: it starts a
// private server from the locally installed server binaries (initdb into a
// temporary directory, a free loopback port, trust authentication,
// everything removed again on Stop) or in a Docker container, or connects
// to a server that already runs; and it creates, clones and drops
// databases on that server. The tests (through dbtest), `make run` and
// `make bench` (through devdb) and migrate diff's dev database use it.
//
// When run as root, a local server runs as an unprivileged user (postgres,
// or the one named by WithUser), because PostgreSQL refuses to run as root.
package pgtemp

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
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/lib/pq" // the driver the readiness probe uses
)

// ErrNoBinaries is returned when initdb and postgres cannot be found.
var ErrNoBinaries = errors.New("pgtemp: PostgreSQL server binaries (initdb, postgres) not found; " +
	"install them (Debian/Ubuntu: apt-get install postgresql) or set PG_BINDIR, " +
	"or point DATABASE_URL/TEST_DATABASE_URL at a running server")

// Server is a PostgreSQL server on which throwaway databases are made:
// one this package started (Start, StartDocker) or one already running
// (Connect). Stop drops the databases made on it and stops what was
// started, so a server that was given is left as it was found.
type Server struct {
	admin string // URL of a maintenance database on the server

	// A local server (Start) only.
	dir  string // temporary directory holding data, socket and log
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the postmaster exits
	err  error         // the postmaster's exit status, valid after done

	halt func() error // stops a server that was started; nil for Connect

	dbs databases

	// One pool of maintenance connections for every CREATE and DROP
	// DATABASE: a connection per statement cost a backend start each,
	// about as much as the statement itself.
	poolMu    sync.Mutex
	pool      *sql.DB
	copyMode  string // " STRATEGY FILE_COPY" or ""
	copyKnown bool   // copyMode has been decided

	stopOnce sync.Once
	stopErr  error
}

type config struct {
	port     int
	binDir   string
	user     string
	settings map[string]string
	timeout  time.Duration
}

// Option configures Start.
type Option func(*config)

// WithBinDir names the directory holding initdb and postgres; only that
// one is then tried. By default it is $PG_BINDIR, then the directory of
// `pg_config --bindir`, then the newest /usr/lib/postgresql/<major>/bin,
// then $PATH.
func WithBinDir(dir string) Option { return func(c *config) { c.binDir = dir } }

// WithUser names the OS user the server runs as when the caller is root
// (default "postgres").
func WithUser(name string) Option { return func(c *config) { c.user = name } }

// WithSetting adds a server setting (postgres -c name=value).
func WithSetting(name, value string) Option {
	return func(c *config) { c.settings[name] = value }
}

// WithPort makes the server listen on the given port instead of a free
// one chosen at start.
func WithPort(port int) Option { return func(c *config) { c.port = port } }

// Start initializes and starts a new server. The caller must call Stop.
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	c := config{
		user:    "postgres",
		timeout: 60 * time.Second,
		// A throwaway server needs no durability; these make initdb's and
		// every test's writes cheap.
		settings: map[string]string{
			"fsync":              "off",
			"synchronous_commit": "off",
			"full_page_writes":   "off",
			"max_connections":    "200",
		},
	}
	for _, o := range opts {
		o(&c)
	}
	bin, err := findBinDir(c.binDir)
	if err != nil {
		return nil, err
	}
	cred, err := Credential("PostgreSQL", c.user)
	if err != nil {
		return nil, fmt.Errorf("pgtemp: %w", err)
	}

	removeStale()
	dir, err := os.MkdirTemp(baseDir(), dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("pgtemp: %w", err)
	}
	s := &Server{dir: dir, done: make(chan struct{}), dbs: newDatabases()}
	s.halt = s.stopLocal
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("pgtemp: %w", err)
		}
	}

	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"--pgdata", data, "--username", "postgres", "--auth", "trust",
		"--encoding", "UTF8", "--locale", "C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pgtemp: initdb: %w\n%s", err, out)
	}

	// A port can be taken between choosing and binding it; try a few.
	for attempt := 0; ; attempt++ {
		err = s.launch(ctx, bin, cred, c)
		if err == nil {
			break
		}
		if attempt == 4 || c.port != 0 || ctx.Err() != nil {
			return nil, err
		}
	}
	ok = true
	return s, nil
}

// launch starts the postmaster on a fresh port and waits until it accepts
// connections.
func (s *Server) launch(ctx context.Context, bin string, cred *syscall.Credential, c config) error {
	port := c.port
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return err
		}
	}
	args := []string{
		"-D", filepath.Join(s.dir, "data"),
		"-p", strconv.Itoa(port),
		"-k", s.dir,
		"-c", "listen_addresses=127.0.0.1",
	}
	names := make([]string, 0, len(c.settings))
	for k := range c.settings {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		args = append(args, "-c", k+"="+c.settings[k])
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// Own process group: a terminal's ^C reaches us, and we shut the
		// server down in order. If we die without Stop, the server goes too.
		Setpgid:   true,
		Pdeathsig: syscall.SIGQUIT,
	}
	s.port = port
	s.admin = localURL(port, "postgres")
	return s.run(ctx, cmd, c.timeout)
}

// run starts the postmaster command and waits until it accepts connections.
func (s *Server) run(ctx context.Context, cmd *exec.Cmd, timeout time.Duration) error {
	logf, err := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtemp: %w", err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtemp: start postgres: %w", err)
	}
	done := make(chan struct{})
	s.cmd, s.done = cmd, done
	go func() { s.err = cmd.Wait(); close(done) }()

	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if ping(ctx, s.admin) == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("pgtemp: postgres exited: %v\n%s", s.err, s.tailLog())
		case <-deadline.C:
			s.kill()
			return fmt.Errorf("pgtemp: postgres not ready after %s\n%s", timeout, s.tailLog())
		case <-ctx.Done():
			s.kill()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// localURL is the URL of a database on a local server.
func localURL(port int, database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Local reports whether the server is a process this package started
// from the local binaries, which Restart needs.
func (s *Server) Local() bool { return s.cmd != nil }

// Restart stops a local server (fast shutdown), waits for pause, and
// starts it again on the same port and data directory. Tests use it to
// simulate an outage.
func (s *Server) Restart(ctx context.Context, pause time.Duration) error {
	if !s.Local() {
		return errors.New("pgtemp: restart: the server was not started here")
	}
	if err := s.shutdown(); err != nil {
		return err
	}
	s.closePool() // its sessions died with the server
	select {
	case <-time.After(pause):
	case <-ctx.Done():
		return ctx.Err()
	}
	cmd := exec.Command(s.cmd.Path, s.cmd.Args[1:]...)
	cmd.SysProcAttr = s.cmd.SysProcAttr
	return s.run(ctx, cmd, 60*time.Second)
}

// Stop drops the databases made on the server and stops it if it was
// started here (a local server's directory goes with it). It is safe to
// call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.halt == nil {
			s.stopErr = s.dropAll()
			s.closePool()
			return
		}
		// Stopping a started server removes its databases with it.
		s.closePool()
		s.stopErr = s.halt()
	})
	return s.stopErr
}

// stopLocal shuts a local server down and removes its directory.
func (s *Server) stopLocal() error {
	err := s.shutdown()
	if rmErr := os.RemoveAll(s.dir); rmErr != nil && err == nil {
		err = fmt.Errorf("pgtemp: %w", rmErr)
	}
	return err
}

// shutdown asks for a fast shutdown (SIGINT: roll back sessions, then exit)
// and escalates to an immediate one if that takes too long.
func (s *Server) shutdown() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
		return nil
	case <-time.After(10 * time.Second):
	}
	s.kill()
	return errors.New("pgtemp: postgres did not stop in 10s; killed")
}

func (s *Server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *Server) tailLog() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

const dirPrefix = "pgtemp-"

// shmDir is the usual mount point of a memory filesystem.
const shmDir = "/dev/shm"

// baseDir is where a server's directory is made: in memory when shmDir is
// a tmpfs with room to spare, else the temporary directory. A throwaway
// server needs no durability, and every CREATE DATABASE creates a few
// hundred files: on ext4, a test run that makes and drops thousands of
// databases spent most of its system time finding free inodes for them.
func baseDir() string {
	const tmpfsMagic = 0x01021994 // statfs f_type of tmpfs (linux/magic.h)
	var fs syscall.Statfs_t
	if err := syscall.Statfs(shmDir, &fs); err == nil && fs.Type == tmpfsMagic &&
		fs.Bavail*uint64(fs.Bsize) >= 2<<30 && syscall.Access(shmDir, 2 /* W_OK */) == nil {
		return shmDir
	}
	return os.TempDir()
}

// removeStale deletes the directories of servers whose owner was killed
// before it could call Stop (Pdeathsig stops the server itself, but the
// files stay). A directory counts as stale once its postmaster is gone and
// it is older than a minute, so one being set up right now is left alone.
func removeStale() {
	var dirs []string
	for _, base := range []string{shmDir, os.TempDir()} {
		d, _ := filepath.Glob(filepath.Join(base, dirPrefix+"*"))
		dirs = append(dirs, d...)
	}
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || time.Since(fi.ModTime()) < time.Minute {
			continue
		}
		pidFile, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid"))
		if err == nil {
			first, _, _ := strings.Cut(string(pidFile), "\n")
			if pid, err := strconv.Atoi(first); err == nil && syscall.Kill(pid, 0) == nil {
				continue // still running
			}
		}
		os.RemoveAll(d)
	}
}

func ping(ctx context.Context, dsn string) error {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtemp: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Credential returns the identity to run program (a server that refuses
// root, such as PostgreSQL or PgBouncer) as: nil, the caller's own,
// unless the caller is root, and then the user name.
func Credential(program, name string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("running as root, %s needs an unprivileged user %q: %w "+
			"(create it, e.g. `useradd --system %s`, or pick another with WithUser)", program, name, err, name)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// BinDir returns the directory of the server binaries Start would use
// (client tools such as pgbench and psql live there too).
func BinDir() (string, error) { return findBinDir("") }

func findBinDir(dir string) (string, error) {
	has := func(d string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(d, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if dir != "" {
		if has(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("%w (looked in %s)", ErrNoBinaries, dir)
	}
	candidates := []string{os.Getenv("PG_BINDIR")}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	// Debian keeps server binaries off $PATH, one directory per major.
	majors, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(majors, func(i, j int) bool { return majorOf(majors[i]) > majorOf(majors[j]) })
	candidates = append(candidates, majors...)
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, d := range candidates {
		if d != "" && has(d) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}
