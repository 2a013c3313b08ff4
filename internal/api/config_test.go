package api_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"tasks/internal/api"
)

// TestRunRefusesBadConfiguration: a variable that does not fit its
// format stops the service before it starts, naming the variable and the
// format, instead of a bare "parse error" or a silent default.
func TestRunRefusesBadConfiguration(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"DB_MAX_CONNS", "abc", `$DB_MAX_CONNS="abc": want a whole number, 1 or more`},
		{"DB_MAX_CONNS", "0", `$DB_MAX_CONNS="0": want a whole number, 1 or more`},
		{"REQUEST_TIMEOUT", "5", `$REQUEST_TIMEOUT="5": want a duration with a unit, such as 5s`},
		{"MAX_HEADER_BYTES", "32k", `$MAX_HEADER_BYTES="32k": want a whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			getenv := func(k string) string {
				if k == tt.name {
					return tt.value
				}
				return ""
			}
			// An address no test uses: Run must fail before binding it.
			err := api.Run(context.Background(), []string{"-addr", "127.0.0.1:1"}, getenv, strings.NewReader(""), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want it to contain %q", err, tt.want)
			}
		})
	}
}
