package api

import (
	"context"
	"io"
	"net"
)

// OpenAPI is the served description, for the test that checks every
// response against it.
var OpenAPI = openAPI

// RunOn is Run serving on ln, which the test bound, so it knows the
// address without reading the log.
func RunOn(ctx context.Context, ln net.Listener, getenv func(string) string, stdout, stderr io.Writer) error {
	return run(ctx, nil, getenv, nil, stdout, stderr, func(string) (net.Listener, error) { return ln, nil })
}

// PlainListen listens on addr the way Run does, on a plain TCP socket.
func PlainListen(addr string) (net.Listener, error) {
	return plainTCP().Listen(context.Background(), "tcp", addr)
}
