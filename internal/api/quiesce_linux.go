package api

import (
	"fmt"
	"net"
	"syscall"
)

// stopAccepting attaches a socket filter that drops every packet to the
// listening socket: a client's SYN goes unanswered (its retry, a second
// later, finds the socket closed and is refused), and no connection
// joins the accept queue any more. What is queued stays and can be
// accepted.
func stopAccepting(l *net.TCPListener) error {
	rc, err := l.SyscallConn()
	if err != nil {
		return fmt.Errorf("api: stop accepting: %w", err)
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		// One classic BPF instruction: return 0, keep no byte.
		serr = syscall.AttachLsf(int(fd), []syscall.SockFilter{{Code: syscall.BPF_RET | syscall.BPF_K, K: 0}})
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("api: stop accepting: %w", err)
	}
	return nil
}
