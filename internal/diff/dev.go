package diff

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	"github.com/lib/pq"

	"tasks/internal/dburl"
	"tasks/internal/pgtemp"
)

// devServer is the server of atlas.hcl's dev database for one command:
// scratch databases are made on it and dropped again (pgtemp tracks
// them), so a given server is left as found.
type devServer struct {
	srv    *pgtemp.Server
	schema string // the schema states are computed in
}

// openDev starts or connects to the dev server named by devURL:
// docker://postgres/<major>/<db> runs a container where a Docker engine
// answers and a throwaway local PostgreSQL otherwise; postgres:// is used
// as given. Its errors name the dev database, not a command: diff,
// validate, lint and down put their own name in front.
func openDev(ctx context.Context, devURL string) (*devServer, error) {
	u, err := url.Parse(devURL)
	if err != nil || devURL == "" {
		return nil, fmt.Errorf("dev database URL %q: use docker://postgres/15/dev or postgres://…", devURL)
	}
	schema := "public"
	if sp := u.Query().Get("search_path"); sp != "" {
		schema, _, _ = strings.Cut(sp, ",")
	}
	d := &devServer{schema: schema}
	switch u.Scheme {
	case "postgres", "postgresql":
		if d.srv, err = pgtemp.Connect(ctx, devURL); err != nil {
			return nil, fmt.Errorf("dev database %s: %w", dburl.Redact(devURL), err)
		}
	case "docker":
		if u.Host != "postgres" {
			return nil, fmt.Errorf("dev database %q: only docker://postgres/<major>/<db> is supported", devURL)
		}
		major := strings.Trim(strings.Split(strings.Trim(u.Path, "/"), "/")[0], " ")
		if major == "" {
			major = "15"
		}
		if pgtemp.DockerAvailable(ctx) {
			if d.srv, err = pgtemp.StartDocker(ctx, major); err != nil {
				return nil, err
			}
			break
		}
		if d.srv, err = pgtemp.Start(ctx); err != nil {
			return nil, fmt.Errorf("no Docker engine for %s, and no local PostgreSQL either: %w", devURL, err)
		}
	default:
		return nil, fmt.Errorf("dev database %q: unsupported scheme %q", devURL, u.Scheme)
	}
	return d, nil
}

// scratch creates an empty database and returns a connection to it whose
// search_path is the dev schema.
func (d *devServer) scratch(ctx context.Context) (*sql.DB, error) {
	raw, err := d.srv.CreateDatabase(ctx, d.srv.NewName())
	if err != nil {
		return nil, fmt.Errorf("dev database: %w", err)
	}
	u, _ := url.Parse(raw)
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
		if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+pq.QuoteIdentifier(d.schema)); err != nil {
			db.Close()
			return nil, fmt.Errorf("dev schema: %w", err)
		}
	}
	return db, nil
}

// close drops the scratch databases and stops a server it started.
func (d *devServer) close() { _ = d.srv.Stop() }
