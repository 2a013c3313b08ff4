package api_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"io"
	"net"
	neturl "net/url"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"tasks/internal/store"
)

// wireProxy sits between the store and PostgreSQL and records the type
// of every protocol message the client sends after start-up (P Parse,
// D Describe, B Bind, E Execute, S Sync, Q simple query, C Close). It
// sees what the driver really puts on the wire, which a driver wrapper
// cannot: each Sync (or simple query) is one round trip.
type wireProxy struct {
	addr string

	mu   sync.Mutex
	msgs []byte
}

func startWireProxy(t *testing.T, target string) *wireProxy {
	t.Helper()
	p := &wireProxy{}
	p.addr = startProxy(t, target, p.relay, func(dst io.Writer, src io.Reader) { io.Copy(dst, src) })
	return p
}

// startProxy forwards each connection to a loopback address it returns
// to a new connection to target: up copies what the client sends, down
// what the server answers. Connections still open when the test ends are
// closed.
func startProxy(t *testing.T, target string, up, down func(dst io.Writer, src io.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); down(c, s); c.Close() }()
			go func() { defer wg.Done(); up(s, c); s.Close() }()
		}
	}()
	return ln.Addr().String()
}

// relay copies the client's messages to the server, noting each type.
func (p *wireProxy) relay(dst io.Writer, src io.Reader) {
	// The start-up message has a length but no type byte (lib/pq sends
	// no SSLRequest under sslmode=disable).
	var n [4]byte
	if _, err := io.ReadFull(src, n[:]); err != nil {
		return
	}
	rest := make([]byte, binary.BigEndian.Uint32(n[:])-4)
	if _, err := io.ReadFull(src, rest); err != nil {
		return
	}
	if _, err := dst.Write(append(n[:], rest...)); err != nil {
		return
	}
	for {
		var h [5]byte
		if _, err := io.ReadFull(src, h[:]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(h[1:])-4)
		if _, err := io.ReadFull(src, body); err != nil {
			return
		}
		p.mu.Lock()
		p.msgs = append(p.msgs, h[0])
		p.mu.Unlock()
		if _, err := dst.Write(append(h[:], body...)); err != nil {
			return
		}
	}
}

// take returns the message types sent since the last take, in order.
func (p *wireProxy) take() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := string(p.msgs)
	p.msgs = nil
	return s
}

// TestClosedConnectionSaysGoodbye: a connection whose last statement's
// deadline (store.WithLimits) is long past still ends with a Terminate
// message when the pool closes it, not with a write refused by the
// deadline.
func TestClosedConnectionSaysGoodbye(t *testing.T) {
	u, err := neturl.Parse(cluster.Migrated(t))
	if err != nil {
		t.Fatal(err)
	}
	wire := startWireProxy(t, u.Host)
	u.Host = wire.addr
	conn, err := pq.NewConnector(u.String())
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(store.Connector(conn))
	defer db.Close()
	// Connected first, outside the statement's deadline: under -race and
	// a loaded machine, connecting through the proxy took more than the
	// deadline and failed the Get that this test only needs to succeed.
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	const timeout = 500 * time.Millisecond
	s := store.New(db, store.WithLimits(1, timeout))
	if _, err := s.Get(context.Background(), 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get: %v", err)
	}
	time.Sleep(2 * timeout)
	wire.take()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if got := wire.take(); got == "X" {
			return
		} else if got != "" {
			t.Fatalf("sent %q on closing; want X (Terminate)", got)
		}
		if time.Now().After(deadline) {
			t.Fatal("the closed connection sent no Terminate")
		}
	}
}
