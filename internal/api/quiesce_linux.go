package api

import (
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
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

// acceptQueue returns how many connections wait in l's accept queue:
// Linux reports it for a listening socket as tcpi_unacked.
func acceptQueue(l *net.TCPListener) (int, error) {
	rc, err := l.SyscallConn()
	if err != nil {
		return 0, err
	}
	var (
		info *unix.TCPInfo
		serr error
	)
	if err := rc.Control(func(fd uintptr) {
		info, serr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, serr
	}
	return int(info.Unacked), nil
}
