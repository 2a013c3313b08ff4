package devdb_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"strings"
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
