package envconf_test

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"tasks/internal/envconf"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestInt(t *testing.T) {
	newFlags := func() (*flag.FlagSet, *int) {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		return fs, envconf.Int(fs, "max-conns", 32, 1, "")
	}
	vars := []envconf.Var{{Flag: "max-conns", Env: "DB_MAX_CONNS"}}
	fs, n := newFlags()
	if err := envconf.Bind(fs, env(), vars); err != nil || *n != 32 {
		t.Fatalf("unset: %d, %v; want the default 32", *n, err)
	}
	fs, n = newFlags()
	if err := envconf.Bind(fs, env("DB_MAX_CONNS", " 8 "), vars); err != nil || *n != 8 {
		t.Fatalf("8: %d, %v", *n, err)
	}
	for _, bad := range []string{"abc", "0", "-3", "8.5"} {
		fs, _ := newFlags()
		err := envconf.Bind(fs, env("DB_MAX_CONNS", bad), vars)
		var e *envconf.Error
		if !errors.As(err, &e) || !strings.Contains(err.Error(), "$DB_MAX_CONNS") || !strings.Contains(err.Error(), "whole number, 1 or more") {
			t.Errorf("%q: err = %v; want one naming $DB_MAX_CONNS and the format", bad, err)
		}
		// The command line gets the same words.
		fs, _ = newFlags()
		fs.SetOutput(io.Discard)
		if err := fs.Parse([]string{"-max-conns", bad}); err == nil || !strings.Contains(err.Error(), "whole number, 1 or more") {
			t.Errorf("-max-conns %s: err = %v; want the format", bad, err)
		}
	}
}

func TestDuration(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	d := envconf.Duration(fs, "request-timeout", time.Second, false, "")
	delay := envconf.Duration(fs, "shutdown-delay", time.Second, true, "")
	vars := []envconf.Var{{Flag: "request-timeout", Env: "REQUEST_TIMEOUT"}, {Flag: "shutdown-delay", Env: "SHUTDOWN_DELAY"}}
	if err := envconf.Bind(fs, env("REQUEST_TIMEOUT", "1500ms", "SHUTDOWN_DELAY", "0s"), vars); err != nil || *d != 1500*time.Millisecond || *delay != 0 {
		t.Fatalf("1500ms, 0s: %v, %v, %v", *d, *delay, err)
	}
	for _, tc := range []struct{ name, value, want string }{
		{"REQUEST_TIMEOUT", "5", `$REQUEST_TIMEOUT="5": want a duration with a unit, such as 5s`},
		{"REQUEST_TIMEOUT", "0s", `$REQUEST_TIMEOUT="0s": want a duration with a unit, such as 5s, 1500ms or 2m, above 0`},
		{"SHUTDOWN_DELAY", "-1s", `$SHUTDOWN_DELAY="-1s": want a duration with a unit, such as 5s, 1500ms or 2m, 0 or more`},
	} {
		err := envconf.Bind(fs, env(tc.name, tc.value), vars)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s: err = %v; want the variable and the format", tc.name, tc.value, err)
		}
	}
}

func TestSetFlag(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	timeout := fs.Duration("request-timeout", 5*time.Second, "")
	if err := envconf.SetFlag(fs, env("REQUEST_TIMEOUT", "2s"), "REQUEST_TIMEOUT", "request-timeout"); err != nil || *timeout != 2*time.Second {
		t.Fatalf("2s: %v, %v", *timeout, err)
	}
	err := envconf.SetFlag(fs, env("REQUEST_TIMEOUT", "5"), "REQUEST_TIMEOUT", "request-timeout")
	if err == nil || !strings.Contains(err.Error(), "$REQUEST_TIMEOUT=\"5\": want a duration with a unit") {
		t.Fatalf("5: err = %v", err)
	}
	fs.Int("max-header-bytes", 1, "")
	err = envconf.SetFlag(fs, env("MAX_HEADER_BYTES", "32k"), "MAX_HEADER_BYTES", "max-header-bytes")
	if err == nil || !strings.Contains(err.Error(), "want a whole number") {
		t.Fatalf("32k: err = %v", err)
	}
}
