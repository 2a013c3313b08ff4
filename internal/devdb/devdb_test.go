package devdb_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tasks/internal/devdb"
	"tasks/internal/pgtemp"
)

// TestRunGivesTheCommandAMigratedDatabase runs psql through devdb: the
// command sees DATABASE_URL with the tasks table, its exit status comes
// back, and the server is gone afterwards.
func TestRunGivesTheCommandAMigratedDatabase(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql not installed")
	}
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgtemp-*"))
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
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgtemp-*"))
	if len(after) > len(before) {
		t.Fatalf("server directory left behind: before %v, after %v", before, after)
	}
}
