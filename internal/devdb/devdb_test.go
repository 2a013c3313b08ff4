package devdb_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"tasks/internal/devdb"
	"tasks/internal/pgtemp"

	_ "github.com/lib/pq"
)

// TestRunGivesTheCommandAMigratedDatabase runs psql through devdb: the
// command sees DATABASE_URL with the tasks table, its exit status comes
// back, and the server is gone afterwards.
func TestRunGivesTheCommandAMigratedDatabase(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql not installed")
	}
	var out, errb bytes.Buffer
	err := devdb.Run(context.Background(), []string{"--", "sh", "-c",
		`psql -XAtq "$DATABASE_URL" -c "SELECT count(*) FROM pg_trigger WHERE tgname = 'tasks_set_updated_at'" && exit 3`},
		os.Getenv, &out, &errb)
	if errors.Is(err, pgtemp.ErrNoBinaries) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	var exit *devdb.ExitError
	if !errors.As(err, &exit) || exit.Code != 3 {
		t.Fatalf("err = %v; want the command's exit status 3\n%s", err, errb.String())
	}
	if strings.TrimSpace(out.String()) != "1" {
		t.Fatalf("psql saw %q; want the trigger to exist\n%s", out.String(), errb.String())
	}
	// The server it announced is gone (pgtemp's own tests check that its
	// directory goes with it).
	_, url, ok := strings.Cut(errb.String(), "DATABASE_URL=")
	if !ok {
		t.Fatalf("no DATABASE_URL announced:\n%s", errb.String())
	}
	url, _, _ = strings.Cut(url, "\n")
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if db.PingContext(ctx) == nil {
		t.Fatal("the throwaway server still answers after the command exited")
	}
}

// TestRunForwardsSignals interrupts devdb while the command runs: the
// command gets the SIGINT (its trap decides the exit status), and a
// command killed by a signal yields 128+signal like a shell reports it.
func TestRunForwardsSignals(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   int
	}{
		{"trapped", `trap 'exit 7' INT; echo ready; while :; do sleep 0.1; done`, 7},
		{"killed", `echo ready; exec sleep 60`, 128 + int(syscall.SIGINT)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pr, pw := io.Pipe()
			var errb bytes.Buffer
			done := make(chan error, 1)
			go func() {
				err := devdb.Run(ctx, []string{"--", "sh", "-c", tt.script}, os.Getenv, pw, &errb)
				pw.Close()
				done <- err
			}()
			line, readErr := bufio.NewReader(pr).ReadString('\n')
			if line != "ready\n" {
				err := <-done
				if errors.Is(err, pgtemp.ErrNoBinaries) && os.Getenv("CI") == "" {
					t.Skip(err)
				}
				t.Fatalf("command never got ready (%q, %v): devdb: %v\n%s", line, readErr, err, errb.String())
			}
			go io.Copy(io.Discard, pr)
			// devdb has signal.Notify'd SIGINT, so this reaches its
			// forwarding loop rather than killing the test binary.
			if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			err := <-done
			var exit *devdb.ExitError
			if !errors.As(err, &exit) || exit.Code != tt.want {
				t.Fatalf("err = %v; want exit status %d", err, tt.want)
			}
		})
	}
}
