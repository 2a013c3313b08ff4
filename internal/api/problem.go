package api

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"tasks/internal/store"
)

// statusClientClosed marks a request whose client hung up (nginx's 499);
// nobody reads the answer.
const statusClientClosed = 499

// problem is an RFC 9457 problem detail, the body of every error response.
type problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []fieldError `json:"errors,omitempty"`
	// MoreErrors counts the problems found beyond the first maxErrors,
	// which are not listed: a body of thousands of unknown fields must
	// not get an answer several times its size.
	MoreErrors int `json:"more_errors,omitempty"`
	// RequestID is the request's X-Request-Id, so that a client's report
	// of an error leads to the server's log lines of that request.
	RequestID string `json:"request_id,omitempty"`

	header http.Header // extra response headers (Allow, ETag, Retry-After)
}

// fieldError names one invalid input: a body field, a query parameter or
// a header.
type fieldError struct {
	Name   string `json:"name"`
	In     string `json:"in"` // body, query or header
	Reason string `json:"reason"`

	omitted int // a placeholder for this many errors past maxErrors (appendError)
}

func (p *problem) Error() string { return p.Title + ": " + p.Detail }

// Problem types beyond the status code's own meaning (RFC 9457 §3.1.1),
// as URI references relative to the service. openapi.yaml and the README
// document each.
const (
	// typeOutcomeUnknown: a write was sent to the database and the
	// connection then failed or timed out, so it may or may not have
	// been applied. A create with an Idempotency-Key is the safe retry.
	typeOutcomeUnknown = "/problems/outcome-unknown"
	// typeInsufficientPrivilege: the service's database role lacks a
	// grant it needs; an operator's fix, not the client's.
	typeInsufficientPrivilege = "/problems/insufficient-privilege"
	// typeIDsExhausted: the task id sequence has reached its maximum.
	typeIDsExhausted = "/problems/ids-exhausted"
	// typeTimestampLimit: a task's updated_at cannot move past the last
	// instant tasks_timestamps_check allows.
	typeTimestampLimit = "/problems/timestamp-limit"
)

func newProblem(status int, detail string) *problem {
	return &problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail}
}

// maxErrors is the most field errors a problem lists.
const maxErrors = 20

// appendError adds e to errs while fewer than maxErrors are listed, and
// otherwise counts it in a placeholder, so that collecting errors costs
// no more memory than listing them.
func appendError(errs []fieldError, e fieldError) []fieldError {
	if len(errs) < maxErrors {
		return append(errs, e)
	}
	if len(errs) == maxErrors {
		errs = append(errs, fieldError{})
	}
	errs[maxErrors].omitted++
	return errs
}

func invalid(errs ...fieldError) *problem {
	p := newProblem(http.StatusUnprocessableEntity, "the request has invalid values")
	for _, e := range errs {
		if e.omitted > 0 {
			p.MoreErrors += e.omitted
			continue
		}
		if len(p.Errors) == maxErrors {
			p.MoreErrors++
			continue
		}
		p.Errors = append(p.Errors, e)
	}
	return p
}

func (p *problem) with(key, value string) *problem {
	if p.header == nil {
		p.header = http.Header{}
	}
	p.header.Set(key, value)
	return p
}

// errorResponse maps any error from a handler to a problem: problems as
// they are, store errors to their status, database errors by whose fault
// they are (the client's: 4xx; the database being unavailable, busy or
// misconfigured: 503 with Retry-After), anything else to a bare 500 whose
// cause is only logged. A 500 means a bug.
func errorResponse(log *slog.Logger, r *http.Request, err error) *problem {
	var (
		p  *problem
		ce *store.ConflictError
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, store.ErrNotFound):
		return newProblem(http.StatusNotFound, "no task with this id")
	case errors.As(err, &ce):
		return newProblem(http.StatusPreconditionFailed, "the task has changed since the version given in If-Match").
			with("ETag", etag(ce.Current.UpdatedAt))
	case errors.Is(err, store.ErrKeyReused):
		return invalid(fieldError{Name: "Idempotency-Key", In: "header",
			Reason: "already used for a different request; use a new key for a new request"})
	case errors.Is(err, store.ErrTooManyVersions):
		return invalid(fieldError{Name: "If-Match", In: "header",
			Reason: fmt.Sprintf("must list at most %d entity tags", store.MaxVersions)})
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads this answer, and it is no
		// server error.
		log.DebugContext(r.Context(), "client gone", "method", r.Method, "path", r.URL.Path)
		return newProblem(statusClientClosed, "client closed the request")
	}
	class := classify(err)
	if class == dbUnavailable && writes(r.Method) && outcomeUnknown(err) {
		log.WarnContext(r.Context(), "outcome unknown: the write was sent and the connection failed", "method", r.Method, "path", r.URL.Path, "err", err)
		p := newProblem(http.StatusServiceUnavailable, "the database connection failed after the write was sent: it may or may not have been applied. "+
			"Retry a create with the same Idempotency-Key, or read the task before writing again").with("Retry-After", "1")
		p.Type, p.Title = typeOutcomeUnknown, "Outcome unknown"
		return p
	}
	switch class {
	case dbPrivilege:
		// Config.Denied logs the missing privileges once; a line per
		// request would bury it.
		log.DebugContext(r.Context(), "insufficient privilege", "method", r.Method, "path", r.URL.Path, "err", err)
		p := newProblem(http.StatusServiceUnavailable, "insufficient_privilege: the service's database role lacks a privilege it needs; an operator must grant it").
			with("Retry-After", "5")
		p.Type, p.Title = typeInsufficientPrivilege, "Insufficient privilege"
		return p
	case dbExhausted:
		log.ErrorContext(r.Context(), "the task id sequence is exhausted; no task can be created until an operator acts", "method", r.Method, "path", r.URL.Path, "err", err)
		p := newProblem(http.StatusServiceUnavailable, "the service has run out of task ids; no task can be created until an operator acts")
		p.Type, p.Title = typeIDsExhausted, "Task ids exhausted"
		return p
	case dbTimestampLimit:
		log.WarnContext(r.Context(), "updated_at at its limit", "method", r.Method, "path", r.URL.Path, "err", err)
		p := newProblem(http.StatusConflict, "the task's updated_at is at the last instant a task may hold (year 9999) and cannot move on: the task can no longer change")
		p.Type, p.Title = typeTimestampLimit, "Timestamp limit"
		return p
	case dbUnavailable:
		log.WarnContext(r.Context(), "database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		return newProblem(http.StatusServiceUnavailable, "the database is unavailable or busy; retry later").with("Retry-After", "1")
	case dbRejectedInput:
		log.InfoContext(r.Context(), "database rejected the input", "method", r.Method, "path", r.URL.Path, "err", err)
		return newProblem(http.StatusUnprocessableEntity, "the database rejected a value of the request")
	case dbConflict:
		log.InfoContext(r.Context(), "conflict", "method", r.Method, "path", r.URL.Path, "err", err)
		return newProblem(http.StatusConflict, "the request conflicts with the current state; retry it")
	}
	log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	return newProblem(http.StatusInternalServerError, "internal error")
}

// dbClass is whose fault a database error is.
type dbClass int

const (
	dbBug            dbClass = iota // our statement is wrong: 500
	dbUnavailable                   // the database cannot serve now: 503, retry
	dbRejectedInput                 // a value of the request: 422
	dbConflict                      // a constraint between rows: 409
	dbPrivilege                     // the role lacks a grant (42501): 503, an operator's fix
	dbExhausted                     // the id sequence is at its maximum (2200H): 503, an operator's fix
	dbTimestampLimit                // updated_at cannot pass tasks_timestamps_check's bound: 409
)

// writes reports whether a request of this method changes tasks.
func writes(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// outcomeUnknown reports whether err, from a statement that failed
// without an answer from the server, may have come after the statement
// reached it. Known not sent: no connection was free in time, the pool
// said the connection was bad before using it (driver.ErrBadConn), or a
// new connection could not be dialled. An error the server sent means
// the statement failed and its transaction rolled back.
func outcomeUnknown(err error) bool {
	var (
		pqErr *pq.Error
		opErr *net.OpError
	)
	switch {
	case errors.As(err, &pqErr),
		errors.Is(err, store.ErrNoConnection),
		errors.Is(err, driver.ErrBadConn),
		errors.As(err, &opErr) && opErr.Op == "dial":
		return false
	}
	return true
}

// IsInsufficientPrivilege reports whether err is PostgreSQL's
// insufficient_privilege: the role lacks a grant.
func IsInsufficientPrivilege(err error) bool {
	return pq.As(err, pqerror.InsufficientPrivilege) != nil
}

// classify sorts an error from the database or its driver. The one list
// of SQLSTATEs (PostgreSQL appendix A) that mean "not now" rather than
// "never": whatever the database's state, the same request may succeed
// later, so the client is told to retry.
func classify(err error) dbClass {
	var (
		pqErr  *pq.Error
		netErr net.Error
	)
	if errors.As(err, &pqErr) && pqErr.Code != "" {
		switch code := pqErr.Code; {
		case code == pqerror.InsufficientPrivilege:
			return dbPrivilege
		case code == pqerror.SequenceGeneratorLimitExceeded: // not a value the client sent
			return dbExhausted
		case code == pqerror.CheckViolation && pqErr.Constraint == "tasks_timestamps_check":
			return dbTimestampLimit
		}
		switch pqErr.Code.Class() {
		case pqerror.ClassConnectionException,
			pqerror.ClassInvalidAuthorizationSpecification, // the role cannot log in
			pqerror.ClassInsufficientResources,             // too many connections, disk full, out of memory
			pqerror.ClassOperatorIntervention,              // query canceled (statement or lock timeout), admin shutdown, cannot connect now
			pqerror.ClassSystemError,                       // I/O error
			pqerror.ClassTransactionRollback:               // serialization failure, deadlock
			return dbUnavailable
		case pqerror.ClassDataException:
			return dbRejectedInput
		case pqerror.ClassIntegrityConstraintViolation:
			return dbConflict
		}
		switch pqErr.Code {
		case pqerror.InvalidCatalogName, // the database does not exist (yet)
			pqerror.InvalidSchemaName, // the schema does not exist (yet): a migration is missing
			pqerror.UndefinedTable,    // a table does not exist: the same, before migrate apply
			pqerror.LockNotAvailable,  // lock_timeout
			pqerror.ObjectInUse,
			pqerror.ObjectNotInPrerequisiteState, // e.g. a sequence mid-rewrite
			pqerror.ReadOnlySQLTransaction,       // a standby or a read-only database
			pqerror.IdleInTransactionSessionTimeout:
			return dbUnavailable
		}
		return dbBug
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), // the per-request database timeout
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.As(err, &netErr):
		return dbUnavailable
	}
	return dbBug
}
