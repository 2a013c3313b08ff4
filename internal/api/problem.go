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
	switch classify(err) {
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
	dbBug           dbClass = iota // our statement is wrong: 500
	dbUnavailable                  // the database cannot serve now: 503, retry
	dbRejectedInput                // a value of the request: 422
	dbConflict                     // a constraint between rows: 409
)

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
		code := string(pqErr.Code)
		switch pqErr.Code.Class() {
		case "08", // connection exception
			"28", // invalid authorization: the role cannot log in
			"53", // insufficient resources: too many connections, disk full, out of memory
			"57", // operator intervention: query canceled (statement or lock timeout), admin shutdown, cannot connect now
			"58", // system error: I/O error
			"40": // transaction rollback: serialization failure, deadlock
			return dbUnavailable
		case "22":
			return dbRejectedInput
		case "23":
			return dbConflict
		}
		switch code {
		case "3D000", // the database does not exist (yet)
			"3F000", // the schema does not exist (yet): a migration is missing
			"42P01", // a table does not exist: the same, before migrate apply
			"55P03", // lock not available: lock_timeout
			"55006", // object in use
			"55000", // object not in prerequisite state (e.g. a sequence mid-rewrite)
			"25006", // read-only transaction: a standby or a read-only database
			"25P03": // idle-in-transaction timeout
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
