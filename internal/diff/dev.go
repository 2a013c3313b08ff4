package diff

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"

	"tasks/internal/dburl"
	"tasks/internal/pgtemp"
)

// devServer is the dev database server of one command: scratch databases
// are created on it and dropped again, so a given server is left as found.
type devServer struct {
	admin  string // URL of a database to run CREATE/DROP DATABASE from
	schema string // the schema states are computed in
	stop   func()
	made   []string
	seq    atomic.Int64
}

// openDev starts or connects to the dev server named by devURL:
// docker://postgres/<major>/<db> runs a container where a Docker engine
// answers and a throwaway local PostgreSQL otherwise; postgres:// is used
// as given.
func openDev(ctx context.Context, devURL string) (*devServer, error) {
	u, err := url.Parse(devURL)
	if err != nil || devURL == "" {
		return nil, fmt.Errorf("diff: dev database URL %q: use docker://postgres/15/dev or postgres://…", devURL)
	}
	schema := "public"
	if sp := u.Query().Get("search_path"); sp != "" {
		schema, _, _ = strings.Cut(sp, ",")
	}
	d := &devServer{schema: schema, stop: func() {}}
	switch u.Scheme {
	case "postgres", "postgresql":
		d.admin = devURL
		db, err := sql.Open("postgres", devURL)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := db.PingContext(pctx); err != nil {
			return nil, fmt.Errorf("diff: dev database %s: %w", dburl.Redact(u.String()), err)
		}
	case "docker":
		if u.Host != "postgres" {
			return nil, fmt.Errorf("diff: dev database %q: only docker://postgres/<major>/<db> is supported", devURL)
		}
		major := strings.Trim(strings.Split(strings.Trim(u.Path, "/"), "/")[0], " ")
		if major == "" {
			major = "15"
		}
		if dockerRunning(ctx) {
			if d.admin, d.stop, err = startDocker(ctx, major); err != nil {
				return nil, err
			}
			break
		}
		srv, err := pgtemp.Start(ctx)
		if err != nil {
			return nil, fmt.Errorf("diff: no Docker engine for %s, and no local PostgreSQL either: %w", devURL, err)
		}
		d.admin, d.stop = srv.URL("postgres"), func() { srv.Stop() }
	default:
		return nil, fmt.Errorf("diff: dev database %q: unsupported scheme %q", devURL, u.Scheme)
	}
	return d, nil
}

// scratch creates an empty database and returns a connection to it whose
// search_path is the dev schema.
func (d *devServer) scratch(ctx context.Context) (*sql.DB, error) {
	name := fmt.Sprintf("migrate_dev_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, d.seq.Add(1))
	if err := d.exec(ctx, "CREATE DATABASE "+quote(name)); err != nil {
		return nil, err
	}
	d.made = append(d.made, name)
	u, _ := url.Parse(d.admin)
	u.Path = "/" + name
	q := u.Query()
	q.Set("search_path", d.schema)
	u.RawQuery = q.Encode()
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		return nil, err
	}
	// One connection: the Atlas driver and the catalog queries then share
	// the session, and the database can be dropped once it is closed.
	db.SetMaxOpenConns(1)
	if d.schema != "public" {
		if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+quote(d.schema)); err != nil {
			db.Close()
			return nil, fmt.Errorf("diff: dev schema: %w", err)
		}
	}
	return db, nil
}

// close drops the scratch databases and stops a server it started.
func (d *devServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range d.made {
		_ = d.exec(ctx, "DROP DATABASE IF EXISTS "+quote(name)+" WITH (FORCE)")
	}
	d.stop()
}

func (d *devServer) exec(ctx context.Context, q string) error {
	db, err := sql.Open("postgres", d.admin)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("diff: dev database: %s: %w", q, err)
	}
	return nil
}

func dockerRunning(ctx context.Context) bool {
	if _, err := exec.LookPath("docker"); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").Run() == nil
}

// startDocker runs postgres:<major> the way the Atlas CLI's docker://
// driver does (POSTGRES_PASSWORD=pass, database dev, a free local port)
// and removes the container when stopped.
func startDocker(ctx context.Context, major string) (string, func(), error) {
	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", "--detach",
		"-e", "POSTGRES_PASSWORD=pass", "-e", "POSTGRES_DB=dev",
		"-p", "127.0.0.1::5432", "postgres:"+major).Output()
	if err != nil {
		return "", nil, fmt.Errorf("diff: docker run postgres:%s: %w", major, err)
	}
	id := strings.TrimSpace(string(out))
	stop := func() { _ = exec.Command("docker", "kill", id).Run() }
	port, err := exec.CommandContext(ctx, "docker", "port", id, "5432/tcp").Output()
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("diff: docker port: %w", err)
	}
	hostPort := strings.TrimSpace(strings.Split(string(port), "\n")[0])
	admin := "postgres://postgres:pass@" + hostPort + "/dev?sslmode=disable"
	db, err := sql.Open("postgres", admin)
	if err != nil {
		stop()
		return "", nil, err
	}
	defer db.Close()
	deadline := time.Now().Add(60 * time.Second)
	for db.PingContext(ctx) != nil {
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return "", nil, fmt.Errorf("diff: dev container postgres:%s did not become ready", major)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return admin, stop, nil
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
