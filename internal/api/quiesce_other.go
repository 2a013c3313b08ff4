//go:build !linux

package api

import "net"

// stopAccepting is a no-op where the socket filter is not available:
// the accept queue is drained all the same, but may still grow until the
// listener closes.
func stopAccepting(*net.TCPListener) error { return nil }

// acceptQueue is unknown here: the queue counts as empty when Accept's
// deadline passes.
func acceptQueue(*net.TCPListener) (int, error) { return 0, nil }
