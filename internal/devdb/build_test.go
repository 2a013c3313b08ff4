package devdb_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestRunPathBuildsWithoutCgo guards make run's first build: api and
// devdb (which applies the migrations through internal/migrate) must not
// pull in the cgo SQL lexer that cmd/migrate links, or a fresh clone
// compiles it before it can serve (minutes on a small machine) and needs
// a C compiler.
func TestRunPathBuildsWithoutCgo(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	cmd := exec.Command(goBin, "list", "-deps", "tasks/cmd/api", "tasks/cmd/devdb")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list with CGO_ENABLED=0 (as make run builds): %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "pg_query") || pkg == "tasks/internal/sqltext" || pkg == "tasks/internal/diff" {
			t.Errorf("make run's binaries depend on %s, which needs cgo and compiles for minutes", pkg)
		}
	}
}
