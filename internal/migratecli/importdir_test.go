package migratecli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportThroughTheCommand: the Atlas CLI's flags, a target directory
// made when missing, and the messages.
func TestImportThroughTheCommand(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "1_init.up.sql"), []byte("CREATE TABLE t (id int);\n"), 0o644)
	os.WriteFile(filepath.Join(src, "1_init.down.sql"), []byte("DROP TABLE t;\n"), 0o644)
	dst := filepath.Join(t.TempDir(), "migrations")
	out, _, err := run(t, nil, "import", "--from", "file://"+src+"?format=golang-migrate", "--to", "file://"+dst)
	if err != nil || !strings.Contains(out, "Imported 1 file into "+dst) {
		t.Fatalf("import: %v\n%s", err, out)
	}
	checkSum(t, dst, 1)
	if _, _, err := run(t, nil, "import", "--to", "file://"+dst); err == nil || !strings.Contains(err.Error(), "--from is required") {
		t.Fatalf("without --from: err = %v", err)
	}
}
