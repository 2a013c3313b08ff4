package migrate_test

import (
	osexec "os/exec"
	"testing"

	"tasks/internal/migrate"
)

// TestShellTableSurvivesTheShell: the revision table named in a hint's
// psql command reads as PostgreSQL needs it once the shell has removed
// its own quoting, bare for plain names and quoted otherwise.
func TestShellTableSurvivesTheShell(t *testing.T) {
	for _, tt := range []struct{ schema, want string }{
		{"atlas_schema_revisions", `atlas_schema_revisions.atlas_schema_revisions`},
		{"Ops", `"Ops".atlas_schema_revisions`},
		{`odd"name`, `"odd""name".atlas_schema_revisions`},
	} {
		line := `printf %s "` + migrate.ShellTable(tt.schema) + `"`
		out, err := osexec.Command("sh", "-c", line).Output()
		if err != nil {
			t.Fatalf("sh -c %s: %v", line, err)
		}
		if string(out) != tt.want {
			t.Errorf("schema %q: the shell passes %s; want %s", tt.schema, out, tt.want)
		}
	}
}
