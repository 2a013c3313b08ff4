package envconf_test

import (
	"errors"
	"flag"
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
	n, err := envconf.Int(env(), "DB_MAX_CONNS", 32, 1)
	if err != nil || n != 32 {
		t.Fatalf("unset: %d, %v; want the default 32", n, err)
	}
	n, err = envconf.Int(env("DB_MAX_CONNS", " 8 "), "DB_MAX_CONNS", 32, 1)
	if err != nil || n != 8 {
		t.Fatalf("8: %d, %v", n, err)
	}
	for _, bad := range []string{"abc", "0", "-3", "8.5"} {
		_, err := envconf.Int(env("DB_MAX_CONNS", bad), "DB_MAX_CONNS", 32, 1)
		var e *envconf.Error
		if !errors.As(err, &e) || !strings.Contains(err.Error(), "$DB_MAX_CONNS") || !strings.Contains(err.Error(), "whole number, 1 or more") {
			t.Errorf("%q: err = %v; want one naming $DB_MAX_CONNS and the format", bad, err)
		}
	}
}

func TestDuration(t *testing.T) {
	d, err := envconf.Duration(env("REQUEST_TIMEOUT", "1500ms"), "REQUEST_TIMEOUT", time.Second)
	if err != nil || d != 1500*time.Millisecond {
		t.Fatalf("1500ms: %v, %v", d, err)
	}
	_, err = envconf.Duration(env("REQUEST_TIMEOUT", "5"), "REQUEST_TIMEOUT", time.Second)
	if err == nil || !strings.Contains(err.Error(), `$REQUEST_TIMEOUT="5": want a duration with a unit, such as 5s`) {
		t.Fatalf("5: err = %v; want the variable and the format", err)
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
