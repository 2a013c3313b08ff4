package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// listen returns the socket to serve on: the one handed over by socket
// activation when there is one (LISTEN_FDS=1 for this process's
// LISTEN_PID, file descriptor 3, as systemd passes it; tests bind a free
// port and hand it over the same way, so they know the address before the
// server starts), else a new one on addr.
func listen(getenv func(string) string, addr string) (net.Listener, error) {
	if getenv("LISTEN_FDS") != "1" || getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return plainTCP().Listen(context.Background(), "tcp", addr)
	}
	f := os.NewFile(3, "LISTEN_FDS")
	defer f.Close() // FileListener holds its own copy
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("api: socket activation (LISTEN_FDS): %w", err)
	}
	return ln, nil
}

// plainTCP listens on plain TCP sockets. Go listens with Multipath TCP
// where the kernel has it, and a Multipath TCP socket takes no socket
// filter, which quiesce needs to end the lame-duck period without
// resetting a connection; a client gains nothing from it here.
func plainTCP() *net.ListenConfig {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	return &lc
}

// connLimit is a listener that keeps at most max connections open, so
// that no number of clients can exhaust file descriptors or memory.
//
// At the cap, a new connection takes the place of the connection that has
// been idle longest (a keep-alive connection between requests, or one that
// has not sent a request yet): idle clients cannot crowd out new ones, and
// an idle client that comes back simply reconnects, as it would after the
// server's idle timeout. When every connection is busy with a request, the
// new one is answered 503 at once and closed, so a full server refuses
// quickly instead of queueing connections, and the clients it is serving
// keep being served.
//
// A connection whose client has sent a request's headers but is still
// sending its body is no better: it holds its place doing nothing, and a
// flood of clients dribbling their bodies a byte at a time would lock
// everyone else out. So at the cap, the connection that has waited
// longest for its body, once past bodyGrace, goes first, then the one
// idle longest; and no body may take longer than bodyTimeout (readBody).
type connLimit struct {
	net.Listener
	max int
	// bodyTimeout bounds the time a request's body may take to arrive;
	// zero: no bound of its own.
	bodyTimeout time.Duration

	mu     sync.Mutex
	open   int
	idle   map[*limitedConn]time.Time // idle connections, since when
	bodies map[*limitedConn]time.Time // connections waiting for a body, since when
	fresh  map[*limitedConn]time.Time // accepted, no request handled yet; since when

	quiet     bool          // quiesce has begun; guarded by mu
	drained   chan struct{} // closed when quiesce found the queue empty
	drainOnce sync.Once
	closed    chan struct{} // closed by Close
	closeOnce sync.Once
}

// Close closes the listener and lets a quiesced Accept return.
func (l *connLimit) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// bodyGrace is how long a body may take before, at the cap, its
// connection may be closed for a new one. Short: the connection chosen is
// the one waiting longest, so a client whose body follows its headers is
// all but never chosen while a flood of dribbling ones is older; a grace
// of 200 ms let a flood that reconnects fast keep most of its
// connections younger than that, and normal clients were refused.
const bodyGrace = 20 * time.Millisecond

// idleGrace is how long a connection must have been idle to go before a
// body that is not yet overdue.
const idleGrace = time.Second

func newConnLimit(l net.Listener, max int, bodyTimeout time.Duration) *connLimit {
	return &connLimit{Listener: l, max: max, bodyTimeout: bodyTimeout,
		idle: map[*limitedConn]time.Time{}, bodies: map[*limitedConn]time.Time{}, fresh: map[*limitedConn]time.Time{},
		drained: make(chan struct{}), closed: make(chan struct{})}
}

// connKey is the context key of a request's *limitedConn (connContext).
type connKey struct{}

// connContext is the http.Server's ConnContext hook: it lets a handler
// find its connection, to say when it waits for a body.
func (l *connLimit) connContext(ctx context.Context, c net.Conn) context.Context {
	if lc, ok := c.(*limitedConn); ok {
		return context.WithValue(ctx, connKey{}, lc)
	}
	return ctx
}

// readingBody marks c as waiting for a request body (on) or done with
// it.
func (l *connLimit) readingBody(c *limitedConn, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if on && !c.closed {
		l.bodies[c] = time.Now()
	} else {
		delete(l.bodies, c)
	}
}

// slowestBody removes from the set and returns the connection that has
// waited longest for its body, if that is longer than grace. The caller
// holds l.mu.
func (l *connLimit) slowestBody(grace time.Duration) *limitedConn {
	var (
		slowest *limitedConn
		since   time.Time
	)
	for c, t := range l.bodies {
		if slowest == nil || t.Before(since) {
			slowest, since = c, t
		}
	}
	if slowest == nil || time.Since(since) < grace {
		return nil
	}
	delete(l.bodies, slowest)
	return slowest
}

// readBody reads r's body, at most limit bytes, marking its connection as
// waiting for a body meanwhile and giving the body its connection's
// bodyTimeout to arrive. Once the body is in, the deadline is lifted:
// net/http's background read, which watches for the client hanging up
// while the handler runs, would take it for a failure. After a timeout it
// stays, so that net/http, which reads what is left of a body after the
// handler, does not wait for the rest of this one.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	lc, _ := r.Context().Value(connKey{}).(*limitedConn)
	if lc == nil {
		return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	}
	l := lc.limit
	l.readingBody(lc, true)
	defer l.readingBody(lc, false)
	rc := http.NewResponseController(w)
	bounded := l.bodyTimeout > 0 && rc.SetReadDeadline(time.Now().Add(l.bodyTimeout)) == nil
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if bounded && err == nil {
		rc.SetReadDeadline(time.Time{})
	}
	return body, err
}

// refusalBody is the problem a connection past the cap is answered with.
const refusalBody = `{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"too many connections; retry later"}`

// refuse answers a connection past the cap and closes it. A fresh
// socket's send buffer takes the few bytes at once; the deadline only
// guards against the impossible.
func refuse(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\n"+
		"Content-Type: application/problem+json\r\nRetry-After: 1\r\nConnection: close\r\n"+
		"Content-Length: "+strconv.Itoa(len(refusalBody))+"\r\n\r\n"+refusalBody)
	c.Close()
}

// quiesce ends the lame-duck period without cutting a request: closing
// a listening socket resets every connection still in its accept queue,
// whose clients may have sent a request already (with 100 keep-alive
// clients coming back after each Connection: close, 20 to 55 requests
// per shutdown). So the socket first stops taking new connections
// (stopAccepting: new clients are not answered, and are refused once it
// is closed, before they could send anything), then Accept takes what is
// queued, and quiesce returns once the queue is empty, or after at most
// wait. Accept then waits for Close.
func (l *connLimit) quiesce(wait time.Duration) error {
	tl, ok := l.Listener.(*net.TCPListener)
	if !ok {
		return nil
	}
	err := stopAccepting(tl)
	l.mu.Lock()
	l.quiet = true
	l.mu.Unlock()
	// Accept returns at once for each queued connection; once none has
	// come for queueQuiet, its deadline says the queue is empty. (A
	// deadline already past would fail Accept before it looked.)
	tl.SetDeadline(time.Now().Add(queueQuiet))
	select {
	case <-l.drained:
	case <-time.After(wait):
	}
	return err
}

// queueQuiet is how long the accept queue must stay empty, once no
// connection can join it, for quiesce to take it as drained.
const queueQuiet = 50 * time.Millisecond

// Accept returns the next connection that fits under the cap.
func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		var ne net.Error
		if err != nil && errors.As(err, &ne) && ne.Timeout() {
			l.mu.Lock()
			quiet := l.quiet
			l.mu.Unlock()
			// A deadline that passed before Accept looked (its goroutine
			// ran late on a loaded machine) says nothing of the queue:
			// ask the socket before taking it as drained.
			if tl, ok := l.Listener.(*net.TCPListener); quiet && ok {
				if n, err := acceptQueue(tl); err == nil && n > 0 {
					tl.SetDeadline(time.Now().Add(queueQuiet))
					continue
				}
			}
			if quiet {
				l.drainOnce.Do(func() { close(l.drained) })
				<-l.closed
				return nil, net.ErrClosed
			}
		}
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.quiet {
			l.Listener.(*net.TCPListener).SetDeadline(time.Now().Add(queueQuiet))
		}
		l.mu.Unlock()
		lc := &limitedConn{Conn: c, limit: l}
		l.mu.Lock()
		l.fresh[lc] = time.Now()
		if l.open < l.max {
			l.open++
			l.mu.Unlock()
			return lc, nil
		}
		// Whoever holds a place longest doing least: a body overdue, a
		// connection long idle, then any body, then any idle one. A
		// keep-alive client between two requests is idle for a moment
		// only; closing it under it can fail its next request.
		victim := l.slowestBody(bodyGrace)
		if victim == nil {
			victim = l.oldestIdle(idleGrace)
		}
		if victim == nil {
			victim = l.slowestBody(0)
		}
		if victim == nil {
			victim = l.oldestIdle(0)
		}
		if victim != nil {
			l.open++ // the victim's Close gives its place back
		}
		l.mu.Unlock()
		if victim != nil {
			victim.Close()
			return lc, nil
		}
		l.mu.Lock()
		delete(l.fresh, lc)
		l.mu.Unlock()
		refuse(c)
	}
}

// oldestIdle removes from the idle set and returns the connection idle
// longest, if that is longer than grace, or nil. The caller holds l.mu.
func (l *connLimit) oldestIdle(grace time.Duration) *limitedConn {
	var (
		oldest *limitedConn
		since  time.Time
	)
	for c, t := range l.idle {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	if oldest != nil && time.Since(since) < grace {
		return nil
	}
	if oldest != nil {
		delete(l.idle, oldest)
	}
	return oldest
}

// track is the http.Server's ConnState hook: it keeps the set of idle
// connections that a new one may take the place of.
func (l *connLimit) track(c net.Conn, state http.ConnState) {
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch state {
	case http.StateNew, http.StateIdle:
		if !lc.closed {
			l.idle[lc] = time.Now()
		}
	default:
		delete(l.idle, lc)
	}
}

// limitedConn gives its place back when closed, once.
type limitedConn struct {
	net.Conn
	limit  *connLimit
	closed bool // guarded by limit.mu
	served atomic.Bool
}

func (c *limitedConn) Close() error {
	l := c.limit
	l.mu.Lock()
	if !c.closed {
		c.closed = true
		l.open--
		delete(l.idle, c)
		delete(l.bodies, c)
		delete(l.fresh, c)
	}
	l.mu.Unlock()
	return c.Conn.Close()
}

// served wraps the server's handler: a connection's first request to
// reach it takes the connection off the fresh set (awaitFresh).
func (l *connLimit) served(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if lc, ok := r.Context().Value(connKey{}).(*limitedConn); ok && !lc.served.Load() {
			lc.served.Store(true)
			l.mu.Lock()
			delete(l.fresh, lc)
			l.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

// awaitFresh waits, at most wait, until no connection accepted within
// the last wait is still before its first request. http.Server drops a
// request whose headers it finishes reading once Shutdown has begun: it
// closes the connection without an answer, and the client, which sent
// the request, sees EOF. The last connections the drain accepts are
// often still reading theirs when the accept queue is empty (on a loaded
// machine, 3 to 14 of 1,000 requests at each shutdown). One connected
// for longer without a word is not about to send one.
func (l *connLimit) awaitFresh(wait time.Duration) {
	deadline := time.Now().Add(wait)
	for {
		now := time.Now()
		pending := false
		l.mu.Lock()
		for _, since := range l.fresh {
			if now.Sub(since) < wait {
				pending = true
				break
			}
		}
		l.mu.Unlock()
		if !pending || now.After(deadline) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
