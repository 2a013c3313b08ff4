package dburl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/lib/pq"
)

// LocalSSLDefault returns s with sslmode=disable added when it names a
// server on this machine (localhost, a loopback address, a Unix socket
// directory or no host at all) and sets no sslmode, nor does $PGSSLMODE.
// lib/pq's own default is sslmode=require, and a local PostgreSQL rarely
// has a certificate: without this, a URL copied from psql fails with
// "SSL is not enabled on the server". Loopback traffic never leaves the
// machine, so there is nothing to encrypt; a remote server keeps lib/pq's
// default, and Explain says what to do when it has no SSL. A string that
// cannot be read is returned as it is, for the caller to report.
func LocalSSLDefault(s string, getenv func(string) string) string {
	if getenv != nil && getenv("PGSSLMODE") != "" {
		return s
	}
	var host string
	if IsURL(s) {
		u, err := url.Parse(s)
		if err != nil || u.Query().Has("sslmode") {
			return s
		}
		host = u.Hostname()
		if h := u.Query().Get("host"); h != "" {
			host = h
		}
	} else {
		kvs, err := parseKeywords(s)
		if err != nil || len(kvs) == 0 {
			return s
		}
		for _, kv := range kvs {
			switch kv.key {
			case "sslmode":
				return s
			case "host":
				host = kv.value
			}
		}
	}
	if getenv != nil && host == "" {
		host = getenv("PGHOST")
	}
	if !loopback(host) {
		return s
	}
	out, err := SetDefaults(s, [][2]string{{"sslmode", "disable"}})
	if err != nil {
		return s
	}
	return out
}

// loopback reports whether host is this machine: empty (lib/pq then uses
// localhost), a socket directory, localhost or a loopback address.
func loopback(host string) bool {
	if host == "" || strings.HasPrefix(host, "/") || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Explain adds the next step to connection errors whose driver message
// does not give one; other errors are returned unchanged.
func Explain(err error) error {
	if errors.Is(err, pq.ErrSSLNotSupported) {
		return fmt.Errorf("%w: the server does not offer SSL, and lib/pq requires it unless told otherwise; "+
			"add sslmode=disable to the database URL (…?sslmode=disable) on a network you trust, or enable SSL on the server", err)
	}
	return err
}
