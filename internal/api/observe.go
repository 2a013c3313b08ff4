package api

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"sync/atomic"
	"time"
)

// requestIDHeader carries a request's id in both directions.
const requestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds a client's request id: enough for a UUID, a W3C
// trace id or a load balancer's trace header, not for a log line's worth
// of the client's text.
const maxRequestIDLen = 128

// validRequestID reports whether a client's X-Request-Id may be used as
// is: 1 to maxRequestIDLen letters, digits and "-._~:/+=@". Anything else
// (spaces, quotes, control characters) is replaced by a generated id, so
// an id never needs escaping in a log line or a JSON body.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == ':', c == '/', c == '+', c == '=', c == '@':
		default:
			return false
		}
	}
	return true
}

// requestIDs issues request ids: a random prefix drawn once per process
// (so that ids of two instances or two runs do not collide) and a
// counter, so that an id costs no randomness per request.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [5]byte
	rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return &requestIDs{prefix: base32.HexEncoding.EncodeToString(b[:])}
}

func (g *requestIDs) next() string {
	var buf [32]byte
	b := append(buf[:0], g.prefix...)
	b = append(b, '-')
	return string(strconv.AppendUint(b, g.n.Add(1), 36))
}

// exchange is what the service records of one request. Its context and
// response recorder live in it, so that observing a request costs one
// allocation.
type exchange struct {
	ctx requestContext
	rec recorder
	id  string
	// idHeader backs the response's X-Request-Id, so that echoing a
	// generated id allocates no slice of its own.
	idHeader [1]string
}

// requestContext is the request's context with its exchange as a value.
type requestContext struct {
	context.Context
	x *exchange
}

type exchangeKey struct{}

func (c *requestContext) Value(key any) any {
	if key == (exchangeKey{}) {
		return c.x
	}
	return c.Context.Value(key)
}

// requestID is the id of the request ctx belongs to, or "".
func requestID(ctx context.Context) string {
	if x, ok := ctx.Value(exchangeKey{}).(*exchange); ok {
		return x.id
	}
	return ""
}

// recorder notes the status of a response as it passes, and adds
// Connection: close to a response that starts while the service drains,
// also when its request came before: net/http closes the connection after
// any answer once shutdown has begun, and a client told nothing would
// send its next request into that close.
type recorder struct {
	http.ResponseWriter
	status   int
	draining func() bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
		if r.draining() {
			r.Header().Set("Connection", "close")
		}
		if code == http.StatusRequestEntityTooLarge {
			// http.MaxBytesReader tells the server to close the
			// connection after this answer through an unexported method
			// of its own writer, which a wrapper cannot pass on; the
			// header has the same effect, so the rest of the body is not
			// read to keep the connection.
			r.Header().Set("Connection", "close")
		}
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observer gives every request an id and, when configured, counts and
// times it and writes its access-log line.
type observer struct {
	next    http.Handler
	log     *slog.Logger
	metrics *Metrics     // nil: not counted
	access  slog.Leveler // nil: no access log
	ids     *requestIDs
	routes  map[string]bool // the patterns the mux was given
	// draining reports the lame-duck period (Config.Draining).
	draining func() bool
}

func (o *observer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{}
	x.ctx = requestContext{Context: r.Context(), x: x}
	if in := r.Header[requestIDHeader]; len(in) == 1 && validRequestID(in[0]) {
		// The request's own slice, shared with the response: nothing
		// changes either in place.
		x.id = in[0]
		w.Header()[requestIDHeader] = in
	} else {
		x.id = o.ids.next()
		x.idHeader[0] = x.id
		w.Header()[requestIDHeader] = x.idHeader[:]
	}
	r = r.WithContext(&x.ctx)
	x.rec.ResponseWriter, x.rec.draining = w, o.draining
	logged := o.access != nil && o.log.Enabled(r.Context(), o.access.Level())
	if o.metrics == nil && !logged {
		o.next.ServeHTTP(&x.rec, r)
		return
	}
	start := time.Now()
	if o.metrics != nil {
		o.metrics.inFlight.Add(1)
		defer o.metrics.inFlight.Add(-1)
	}
	o.next.ServeHTTP(&x.rec, r)

	end := time.Now()
	d := end.Sub(start)
	status := x.rec.status
	if status == 0 {
		status = http.StatusOK // net/http's answer to a handler that writes nothing
	}
	route := r.Pattern
	if !o.routes[route] {
		// The mux sets Pattern to the client's own path when it redirects
		// a CONNECT request: no label may come from the client.
		route = "other"
	}
	if o.metrics != nil {
		replayed := status == http.StatusCreated && w.Header().Get("Idempotent-Replayed") == "true"
		o.metrics.observe(route, methodLabel(r.Method), status, d, replayed)
	}
	if logged {
		// The record is made here rather than by Logger.LogAttrs, which
		// would read the time again and the caller's stack for a source
		// the handler does not print. Four attributes and the request id
		// fit in it without an allocation; route and size are in the
		// metrics.
		rec := slog.NewRecord(end, o.access.Level(), "request", 0)
		rec.AddAttrs(slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", status), slog.Duration("duration", d))
		o.log.Handler().Handle(r.Context(), rec)
	}
}

// methodLabel is the method as a metric label: the standard methods by
// name, any other a client may invent as "other".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// patternMux is a ServeMux that remembers its patterns, the only values
// the metrics' route label takes.
type patternMux struct {
	*http.ServeMux
	patterns map[string]bool
	log      *slog.Logger
}

func (m *patternMux) Handle(pattern string, h http.Handler) {
	m.patterns[pattern] = true
	m.ServeMux.Handle(pattern, h)
}

// ServeHTTP routes r. What the standard mux answers itself, outside every
// pattern, gets a problem+json body like every other answer: the 307 to
// a path's clean form (//tasks, /tasks/./1), which keeps its Location,
// and the plain-text 404 to a CONNECT, which this server, being no
// proxy, refuses with 405.
func (m *patternMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		writeProblem(m.log, w, r, newProblem(http.StatusMethodNotAllowed, "CONNECT: this server is not a proxy"))
		return
	}
	if clean := cleanPath(r.URL.Path); clean != r.URL.Path {
		// What the mux would redirect with a text/html body.
		u := *r.URL
		u.Path, u.RawPath = clean, ""
		loc := u.RequestURI()
		p := newProblem(http.StatusTemporaryRedirect, "the path is not in its clean form; use "+loc)
		writeProblem(m.log, w, r, p.with("Location", loc))
		return
	}
	m.ServeMux.ServeHTTP(w, r)
}

// cleanPath is p as the standard mux wants it: rooted, without empty,
// "." or ".." segments, keeping a trailing slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	c := path.Clean(p)
	if p[len(p)-1] == '/' && c != "/" {
		c += "/"
	}
	return c
}

// requestIDHandler adds the request's id to every log record written
// with the request's context.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := requestID(ctx); id != "" {
		rec.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, rec)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
