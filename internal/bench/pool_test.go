package bench

import (
	"io"
	"strings"
	"testing"
)

// TestPoolFlags: bench pool refuses what it cannot measure, naming the
// flag, before it starts anything.
func TestPoolFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // "" for accepted
	}{
		{nil, ""},
		{[]string{"-procs", "1,3"}, ""},
		{[]string{"-procs", "0"}, "bad process count"},
		{[]string{"-procs", "1,x"}, "bad process count"},
		{[]string{"-ops", "get,delete"}, "unknown operation"},
		{[]string{"-clients", "2", "-procs", "1,4"}, "-clients"},
		{[]string{"-rounds", "0"}, "-rounds"},
		{[]string{"-pool-size", "0"}, "-pool-size"},
	} {
		_, err := parsePoolFlags(tc.args, io.Discard)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: got %v, want an error naming %q", tc.args, err, tc.want)
		}
	}
}
