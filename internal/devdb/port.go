package devdb

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"time"
)

// probeTimeout bounds each step of finding out what holds a port, so a
// listener that accepts and never answers costs seconds, not minutes.
const probeTimeout = 2 * time.Second

// portFree returns nil when the throwaway server can bind port on the
// loopback address, and otherwise an error that says what holds it and
// how to go on.
func portFree(ctx context.Context, port int) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		return nil
	}
	what := identify(ctx, addr)
	return fmt.Errorf("devdb: port %d is in use by %s; stop it, or run on another port: DEVDB_PORT=%d make run "+
		"(bin/devdb --port %[3]d; see what listens there with: ss -ltnp 'sport = :%[1]d')",
		port, what, suggestPort(port))
}

// identify says what listens at addr: PostgreSQL answers an SSLRequest
// with a single 'S' or 'N'; anything else is described by what it sent.
func identify(ctx context.Context, addr string) string {
	d := net.Dialer{Timeout: probeTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		// Bound but not accepting on loopback (another address, or a
		// socket that does not listen).
		return fmt.Sprintf("another program (a connection to it fails: %v)", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(probeTimeout))
	// SSLRequest: length 8, code 80877103.
	var req [8]byte
	binary.BigEndian.PutUint32(req[0:4], 8)
	binary.BigEndian.PutUint32(req[4:8], 80877103)
	if _, err := c.Write(req[:]); err != nil {
		return "another program, not PostgreSQL (it closed the connection)"
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	switch {
	case n == 1 && (buf[0] == 'S' || buf[0] == 'N'):
		return "another PostgreSQL server (is a `make run` still running in another terminal?)"
	case n > 0:
		return fmt.Sprintf("another program, not PostgreSQL (it answered %q)", buf[:n])
	case isTimeout(err):
		return fmt.Sprintf("another program, not PostgreSQL (it accepted a connection but did not answer within %s)", probeTimeout)
	}
	return "another program, not PostgreSQL (it closed the connection without an answer)"
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// suggestPort is the first port above port that is free now.
func suggestPort(port int) int {
	for p := port + 1; p < port+100 && p < 65536; p++ {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			ln.Close()
			return p
		}
	}
	return port + 1
}
