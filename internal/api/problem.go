package api

import (
	"context"
	"database/sql/driver"
	"errors"
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

	header http.Header // extra response headers (Allow, ETag, Retry-After)
}

// fieldError names one invalid input: a body field, a query parameter or
// a header.
type fieldError struct {
	Name   string `json:"name"`
	In     string `json:"in"` // body, query or header
	Reason string `json:"reason"`
}

func (p *problem) Error() string { return p.Title + ": " + p.Detail }

func newProblem(status int, detail string) *problem {
	return &problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail}
}

func invalid(errs ...fieldError) *problem {
	p := newProblem(http.StatusUnprocessableEntity, "the request has invalid values")
	p.Errors = errs
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
// they are, store errors to their status, an unreachable database to 503,
// anything else to a bare 500 whose cause is only logged.
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
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads this answer, and it is no
		// server error.
		log.Debug("client gone", "method", r.Method, "path", r.URL.Path)
		return newProblem(statusClientClosed, "client closed the request")
	case unavailable(err):
		log.Warn("database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		return newProblem(http.StatusServiceUnavailable, "the database is unavailable; retry later").with("Retry-After", "1")
	}
	log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	return newProblem(http.StatusInternalServerError, "internal error")
}

// unavailable reports whether err means the database could not be reached
// or did not answer in time, rather than that the request was wrong.
func unavailable(err error) bool {
	var (
		pqErr  *pq.Error
		netErr net.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), // the per-request database timeout
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.As(err, &netErr):
		return true
	case errors.As(err, &pqErr):
		// Class 08: connection exception; 57P01-03: the server is shutting
		// down, crashed, or is not accepting connections yet; 53300: too
		// many connections.
		code := string(pqErr.Code)
		return pqErr.Code.Class() == "08" || code == "57P01" || code == "57P02" || code == "57P03" || code == "53300"
	}
	return false
}
