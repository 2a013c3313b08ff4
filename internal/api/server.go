// Package api is the HTTP side of the task service: routes, handlers, the
// mapping of errors to RFC 9457 problems, readiness, and Run, which the
// api binary calls.
package api

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"tasks/internal/revtable"
)

// openAPI is the API's description, served at /openapi.yaml.
//
//go:embed openapi.yaml
var openAPI []byte

// handler is an HTTP handler that returns its error instead of writing it,
// so that one place (serve) turns every error into a response.
type handler func(w http.ResponseWriter, r *http.Request) error

// Config holds the server's dependencies and settings.
type Config struct {
	Log   *slog.Logger
	Tasks taskStore
	// Ready reports whether the service can serve (database reachable,
	// schema at the expected version); nil means always ready.
	Ready func(ctx context.Context) error
	// Draining reports whether the service is shutting down: /readyz then
	// says not ready, and every response carries Connection: close, so
	// that load balancers and keep-alive clients move away before the
	// listener closes. Nil means never.
	Draining func() bool
	// Denied, when set, is told of every request that failed for lack
	// of a database privilege (42501), so that readiness checks the
	// role's grants again (see Readiness.Denied).
	Denied func(ctx context.Context, err error)
	// Metrics, when set, count and time every request.
	Metrics *Metrics
	// PublicMetrics serves GET /metrics on this handler; leave it false
	// when the metrics are served on an address of their own.
	PublicMetrics bool
	// AccessLog is the level of the one log line written per request;
	// nil writes none. Below the logger's level the line is not even
	// built.
	AccessLog slog.Leveler
}

// NewServer returns the service's HTTP handler.
func NewServer(c Config) http.Handler {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	// Every line logged with a request's context names the request.
	c.Log = slog.New(requestIDHandler{c.Log.Handler()})
	if c.Ready == nil {
		c.Ready = func(context.Context) error { return nil }
	}
	if c.Draining == nil {
		c.Draining = func() bool { return false }
	}
	mux := &patternMux{ServeMux: http.NewServeMux(), patterns: map[string]bool{}, log: c.Log}
	addRoutes(mux, c)
	h := recoverPanics(c.Log, mux)
	return &observer{
		next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.Draining() {
				// net/http closes the connection after this response.
				w.Header().Set("Connection", "close")
			}
			h.ServeHTTP(w, r)
		}),
		log: c.Log, metrics: c.Metrics, access: c.AccessLog,
		ids: newRequestIDs(), routes: mux.patterns, draining: c.Draining,
	}
}

// serve adapts a handler: it writes any error the handler returns as a
// problem.
func serve(c Config, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			if c.Denied != nil && IsInsufficientPrivilege(err) {
				c.Denied(r.Context(), err)
			}
			writeProblem(c.Log, w, r, errorResponse(c.Log, r, err))
		}
	})
}

// fixed answers every request with the same problem (404 for unknown
// paths, 405 for known paths with the wrong method).
func fixed(c Config, p func() *problem) http.Handler {
	return serve(c, func(http.ResponseWriter, *http.Request) error { return p() })
}

func methodNotAllowed(allow string) func() *problem {
	return func() *problem {
		return newProblem(http.StatusMethodNotAllowed, "allowed methods: "+allow).with("Allow", allow)
	}
}

func handleHealth() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		return encode(w, http.StatusOK, "application/json", map[string]string{"status": "ok"})
	}
}

// handleReady answers "ready" or "not ready: <reason code>"; the cause,
// which may name hosts, ports or roles, goes only to the log.
func handleReady(c Config) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := error(&NotReady{Reason: ReasonShuttingDown, Err: errors.New("draining before shutdown")})
		if !c.Draining() {
			err = c.Ready(r.Context())
		}
		if err != nil {
			reason := "unknown"
			var nr *NotReady
			if errors.As(err, &nr) {
				reason = nr.Reason
			}
			c.Log.WarnContext(r.Context(), "not ready", "reason", reason, "err", err)
			return newProblem(http.StatusServiceUnavailable, "not ready: "+reason).with("Retry-After", "1")
		}
		return encode(w, http.StatusOK, "application/json", map[string]string{"status": "ready"})
	}
}

func handleOpenAPI() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/yaml")
		_, err := w.Write(openAPI)
		return err
	}
}

func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
				writeProblem(log, w, r, newProblem(http.StatusInternalServerError, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// Reasons /readyz gives for not being ready.
const (
	ReasonDatabaseUnreachable = "database_unreachable" // no connection, or no answer in time
	ReasonDatabaseRefused     = "database_refused"     // the server answered with an error: login, missing database, too many connections…
	ReasonSchemaNotMigrated   = "schema_not_migrated"  // no revision table
	ReasonSchemaBehind        = "schema_behind"        // the latest embedded migration is not applied
	ReasonShuttingDown        = "shutting_down"        // draining before shutdown
	// The role lacks a privilege the API needs (see Privileges).
	ReasonInsufficientPrivilege = "insufficient_privilege"
)

// NotReady is why the service cannot serve: a reason code for clients and
// the cause for the log.
type NotReady struct {
	Reason string
	Err    error
}

func (e *NotReady) Error() string { return "not ready: " + e.Reason + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *NotReady) Unwrap() error { return e.Err }

// dbNotReady is a NotReady for a failed database call.
func dbNotReady(err error) *NotReady {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == pqerror.InsufficientPrivilege {
		return &NotReady{Reason: ReasonInsufficientPrivilege, Err: err}
	}
	if errors.As(err, &pqErr) && pqErr.Code != "" {
		return &NotReady{Reason: ReasonDatabaseRefused, Err: err}
	}
	return &NotReady{Reason: ReasonDatabaseUnreachable, Err: err}
}

// Readiness checks that the database answers, that its Atlas revision
// table records head, the last embedded migration, as fully applied, and
// that the role holds every privilege the API uses (Privileges). Once
// seen at head the schema check is not repeated; once the grants are
// seen complete, they are checked again only after a request failed for
// lack of one (Denied).
type Readiness struct {
	DB   *sql.DB
	Head string
	// Schema is the schema DATABASE_URL binds to (revtable.BoundSchema),
	// so the revision table is looked for where migrate apply puts it.
	Schema string

	// Log, when set, gets the one line Denied writes per loss of a grant.
	Log *slog.Logger

	atHead atomic.Bool
	// granted: the last privilege check found nothing missing and no
	// request has been denied since.
	granted atomic.Bool
}

// Privileges is what the API does in the database, as privileges:
// every statement of the store on tasks and idempotency_keys, and nextval
// on the tasks id sequence for creates with an Idempotency-Key (USAGE or
// UPDATE). The query lists the missing ones, in GRANT's words; it reads
// only the catalog.
const Privileges = `SELECT coalesce(array_agg(p.need ORDER BY p.n) FILTER (WHERE NOT p.held), '{}')
FROM (VALUES
	(1, 'SELECT on table tasks', has_table_privilege('tasks', 'SELECT')),
	(2, 'INSERT on table tasks', has_table_privilege('tasks', 'INSERT')),
	(3, 'UPDATE on table tasks', has_table_privilege('tasks', 'UPDATE')),
	(4, 'DELETE on table tasks', has_table_privilege('tasks', 'DELETE')),
	(5, 'SELECT on table idempotency_keys', has_table_privilege('idempotency_keys', 'SELECT')),
	(6, 'INSERT on table idempotency_keys', has_table_privilege('idempotency_keys', 'INSERT')),
	(7, 'UPDATE on table idempotency_keys', has_table_privilege('idempotency_keys', 'UPDATE')),
	(8, 'DELETE on table idempotency_keys', has_table_privilege('idempotency_keys', 'DELETE')),
	(9, 'USAGE on sequence ' || pg_get_serial_sequence('tasks', 'id'),
		has_sequence_privilege(pg_get_serial_sequence('tasks', 'id'), 'USAGE, UPDATE'))
) AS p (n, need, held)`

// missing returns the privileges the role lacks, from Privileges.
func (rd *Readiness) missing(ctx context.Context) ([]string, error) {
	var need pq.StringArray
	if err := rd.DB.QueryRowContext(ctx, Privileges).Scan(&need); err != nil {
		return nil, fmt.Errorf("check privileges: %w", err)
	}
	return need, nil
}

// Denied is Config.Denied: a request failed for lack of a privilege, so
// the role's grants changed since they were checked. Readiness reports
// not ready until they are complete again, and the first denial logs one
// line naming what is missing; later ones, until the grants are back,
// log nothing more.
func (rd *Readiness) Denied(ctx context.Context, err error) {
	if !rd.granted.CompareAndSwap(true, false) || rd.Log == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	need, cerr := rd.missing(ctx)
	switch {
	case cerr != nil:
		rd.Log.Error("the database role lacks a privilege; not ready until it is granted", "err", err, "check", cerr)
	case len(need) == 0:
		rd.Log.Error("the database role lacks a privilege the check does not cover; not ready until a check passes", "err", err)
	default:
		rd.Log.Error("the database role lacks privileges the API needs; not ready until they are granted",
			"missing", strings.Join(need, ", "), "err", err)
	}
}

// Check implements Config.Ready. Its errors are *NotReady.
func (rd *Readiness) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := rd.DB.PingContext(ctx); err != nil {
		return dbNotReady(err)
	}
	if rd.atHead.Load() || rd.Head == "" {
		return rd.checkGrants(ctx)
	}
	// The table is where `migrate apply` with the same URL put it, found
	// the way the migration engine finds it.
	schema, err := revtable.Schema(ctx, rd.DB, "", rd.Schema)
	if errors.Is(err, revtable.ErrAmbiguous) {
		return &NotReady{Reason: ReasonSchemaNotMigrated, Err: err}
	}
	if err != nil {
		return dbNotReady(err)
	}
	found, err := revtable.Exists(ctx, rd.DB, schema)
	if err != nil {
		return dbNotReady(err)
	}
	if !found {
		return &NotReady{Reason: ReasonSchemaNotMigrated, Err: errors.New("no revision table (run migrate apply)")}
	}
	var ok bool
	err = rd.DB.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+revtable.Name(schema)+
		` WHERE version = $1 AND applied = total AND coalesce(error, '') = '')`, rd.Head).Scan(&ok)
	if err != nil {
		return dbNotReady(fmt.Errorf("read revisions: %w", err))
	}
	if !ok {
		return &NotReady{Reason: ReasonSchemaBehind, Err: fmt.Errorf("schema not at version %s (run migrate apply)", rd.Head)}
	}
	rd.atHead.Store(true)
	return rd.checkGrants(ctx)
}

// checkGrants runs Privileges unless the grants were seen complete and
// no request was denied since.
func (rd *Readiness) checkGrants(ctx context.Context) error {
	if rd.granted.Load() {
		return nil
	}
	need, err := rd.missing(ctx)
	if err != nil {
		return dbNotReady(err)
	}
	if len(need) > 0 {
		return &NotReady{Reason: ReasonInsufficientPrivilege,
			Err: fmt.Errorf("the role lacks %s (GRANT them, see the README)", strings.Join(need, ", "))}
	}
	rd.granted.Store(true)
	return nil
}
