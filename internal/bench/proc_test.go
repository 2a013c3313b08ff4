package bench

import (
	"os"
	"testing"
)

// TestReadProc: the process's own stat and status are read, parent and
// peak resident set included.
func TestReadProc(t *testing.T) {
	t0, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if t0.ppid != os.Getppid() {
		t.Errorf("ppid = %d; want %d", t0.ppid, os.Getppid())
	}
	if rss := peakRSS(os.Getpid()); rss < 1<<20 {
		t.Errorf("peakRSS = %d bytes; want at least a MiB for a Go test binary", rss)
	}
}
