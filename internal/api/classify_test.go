package api

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lib/pq"

	"tasks/internal/store"
)

// TestClassify pins the one list of database errors: what is a 503, a
// 4xx, and what is left as a bug.
func TestClassify(t *testing.T) {
	pqErr := func(code string) error { return fmt.Errorf("store: get 1: %w", &pq.Error{Code: pq.ErrorCode(code)}) }
	want := map[string]dbClass{}
	got := map[string]dbClass{}
	for class, codes := range map[dbClass][]string{
		dbUnavailable: {
			"08006", "08001", // connection failure
			"28000", "28P01", // role cannot log in, bad password
			"3D000",          // no such database
			"3F000", "42P01", // not migrated
			"53300", "53100", "53200", // too many connections, disk full, out of memory
			"55P03", "55006", // lock not available, object in use
			"57014", "57P01", "57P02", "57P03", // canceled (timeouts), shutdown, crash, starting
			"58030",          // I/O error
			"25006",          // read-only
			"40001", "40P01", // serialization, deadlock
		},
		dbRejectedInput: {"22001", "22P02", "22021"},
		dbConflict:      {"23505", "23503"},
		dbBug:           {"42601", "42703", "0A000", "XX000", "XX001"},
		dbPrivilege:     {"42501"},
		dbExhausted:     {"2200H"},
	} {
		for _, code := range codes {
			want[code] = class
			got[code] = classify(pqErr(code))
		}
	}
	for name, err := range map[string]error{
		"deadline":     context.DeadlineExceeded,
		"bad conn":     driver.ErrBadConn,
		"refused":      fmt.Errorf("dial: %w", syscall.ECONNREFUSED),
		"no such code": errors.New("pq: got 65536 parameters but PostgreSQL only supports 65535 parameters"),
	} {
		want[name] = dbUnavailable
		if name == "no such code" {
			want[name] = dbBug
		}
		got[name] = classify(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("classify (-want +got):\n%s", diff)
	}
}

// TestOutcomeUnknownOnlyAfterSending: a failed write's outcome is unknown
// only when the statement may have reached the server and no answer came
// back; a server error, a connection never had and a connection the pool
// knew bad before use all mean nothing ran.
func TestOutcomeUnknownOnlyAfterSending(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("store: create: %w", err) }
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"server error":         {wrap(&pq.Error{Code: "57014"}), false},
		"no free connection":   {wrap(fmt.Errorf("%w: %w", store.ErrNoConnection, context.DeadlineExceeded)), false},
		"connect failed":       {wrap(fmt.Errorf("%w: %w", store.ErrNoConnection, &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded})), false},
		"bad before use":       {wrap(driver.ErrBadConn), false},
		"dial refused":         {wrap(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), false},
		"read timed out":       {wrap(&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}), true},
		"connection reset":     {wrap(&net.OpError{Op: "read", Err: syscall.ECONNRESET}), true},
		"closed mid-statement": {wrap(io.ErrUnexpectedEOF), true},
		"context deadline":     {wrap(context.DeadlineExceeded), true},
	} {
		if got := outcomeUnknown(tc.err); got != tc.want {
			t.Errorf("%s: outcomeUnknown %v, want %v", name, got, tc.want)
		}
	}
}
