package devdb_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"tasks/internal/devdb"
	"tasks/internal/pgtemp"
)

// TestRunNamesWhatHoldsThePort: a port already taken is reported at once
// with what holds it and how to go on, whether another PostgreSQL (a
// second make run) or a program that accepts and never answers, which
// used to hang make run for minutes.
func TestRunNamesWhatHoldsThePort(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	cases := []struct {
		name string
		port func(t *testing.T) int
		want string
	}{
		{"a listener that never answers", func(*testing.T) int { return silent.Addr().(*net.TCPAddr).Port },
			"another program, not PostgreSQL (it accepted a connection but did not answer within 2s)"},
		{"another PostgreSQL", func(t *testing.T) int {
			srv, err := pgtemp.Start(context.Background())
			if errors.Is(err, pgtemp.ErrNoBinaries) && os.Getenv("CI") == "" {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Stop() })
			u, err := url.Parse(srv.URL("postgres"))
			if err != nil {
				t.Fatal(err)
			}
			n, _ := strconv.Atoi(u.Port())
			return n
		}, "another PostgreSQL server (is a `make run` still running in another terminal?)"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			port := tt.port(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var errb bytes.Buffer
			start := time.Now()
			err := devdb.Run(ctx, []string{"--port", strconv.Itoa(port), "--", "true"}, os.Getenv, io.Discard, &errb)
			if err == nil {
				t.Fatal("devdb ran on a port that was taken")
			}
			for _, want := range []string{"port " + strconv.Itoa(port) + " is in use by " + tt.want, "DEVDB_PORT="} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v\nwant it to contain %q", err, want)
				}
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %s to say so", d)
			}
		})
	}
}

// TestRunWithURLBoundsASilentServer: make run with DATABASE_URL pointing
// at a listener that never answers fails in seconds, not minutes.
func TestRunWithURLBoundsASilentServer(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	url := "postgres://postgres@" + silent.Addr().String() + "/tasks"
	err = devdb.Run(ctx, []string{"--url", url, "--", "true"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("err = %v after %s; want a failure well before the minute", err, time.Since(start))
	}
	t.Log(err)
	if !strings.Contains(err.Error(), silent.Addr().String()) || !strings.Contains(err.Error(), "is PostgreSQL listening there?") {
		t.Errorf("err = %v; want it to name the database", err)
	}
}
