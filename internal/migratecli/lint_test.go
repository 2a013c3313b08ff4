package migratecli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLintThroughTheCommand checks the wiring: the env's lint block
// reaches the analyzers, --latest overrides the block's latest, --var
// reaches atlas.hcl, and the exit status follows the analyzers' error
// levels.
func TestLintThroughTheCommand(t *testing.T) {
	dev := cluster.Empty(t)
	dir := writeDir(t, map[string]string{
		"20240101000000_init.sql": "CREATE TABLE t (id int, a int, n int);\n",
		"20240102000000_drop.sql": "ALTER TABLE t DROP COLUMN a;\nALTER TABLE t ALTER COLUMN n SET NOT NULL;\n",
		"20240103000000_add.sql":  "ALTER TABLE t ADD COLUMN b int NOT NULL;\n",
	})
	conf := filepath.Join(t.TempDir(), "atlas.hcl")
	if err := os.WriteFile(conf, []byte(`
variable "dev_url" {
  type    = string
  default = ""
}
lint {
  latest = 2
  // The lock checks have cases of their own (internal/lint/testdata).
  lock_timeout {
    skip = true
  }
  blocking_change {
    skip = true
  }
}
env "warn" {
  dev = getenv("DEV_URL")
  migration {
    dir = "file://`+dir+`"
  }
  lint {
    destructive {
      error = false
    }
    lock_timeout {
      skip = true
    }
    blocking_change {
      skip = true
    }
  }
}
env "strict" {
  dev = var.dev_url
  migration {
    dir = "file://`+dir+`"
  }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DEV_URL": dev}
	want := "20240102000000_drop.sql\n" +
		"  L1: Dropping non-virtual column \"a\" (DS103)\n" +
		"  L2: Modifying nullable column \"n\" to non-nullable might fail in case it contains NULL values (MF104)\n" +
		"20240103000000_add.sql\n" +
		"  L1: Adding a non-nullable \"integer\" column \"b\" will fail in case table \"t\" is not empty (MF103)\n"

	out, _, err := run(t, env, "lint", "--config", conf, "--env", "warn")
	if err != nil {
		t.Fatalf("lint --env warn: %v (destructive is a warning there)", err)
	}
	if out != want {
		t.Fatalf("lint --env warn:\n%s\nwant:\n%s", out, want)
	}

	// The strict env takes its dev database from an input variable.
	if _, _, err = run(t, env, "lint", "--config", conf, "--env", "strict"); err == nil || !strings.Contains(err.Error(), "needs a dev database") {
		t.Fatalf("lint --env strict without --var: err = %v; want the missing dev database named", err)
	}
	out, _, err = run(t, env, "lint", "--config", conf, "--env", "strict", "--var", "dev_url="+dev)
	if err == nil || !strings.Contains(err.Error(), "20240102000000_drop.sql: destructive changes detected") {
		t.Fatalf("lint --env strict: err = %v; want the destructive change to fail it", err)
	}
	// The failure says how to accept an intended change.
	for _, hint := range []string{"`-- atlas:nolint DS103", "lint { destructive { error = false } }"} {
		if !strings.Contains(err.Error(), hint) {
			t.Errorf("lint --env strict: err = %v\nwant it to say %q", err, hint)
		}
	}
	if out != want {
		t.Fatalf("lint --env strict:\n%s\nwant:\n%s", out, want)
	}

	out, _, err = run(t, env, "lint", "--config", conf, "--env", "strict", "--var", "dev_url="+dev, "--latest", "1")
	if err != nil {
		t.Fatalf("lint --latest 1: %v", err)
	}
	if want := want[strings.Index(want, "20240103000000_add.sql"):]; out != want {
		t.Fatalf("lint --latest 1:\n%s\nwant:\n%s", out, want)
	}
}
