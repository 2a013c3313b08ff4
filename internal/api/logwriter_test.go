package api_test

import (
	"strings"
	"testing"
	"time"

	"tasks/internal/api"
)

// TestLogWriter: lines are written within the interval, a record larger
// than the buffer at once, what is left by Close, and lines after it at once.
func TestLogWriter(t *testing.T) {
	var out syncBuffer
	w := api.NewLogWriter(&out)
	w.Write([]byte("one\n"))
	w.Write([]byte("two\n"))
	deadline := time.Now().Add(5 * time.Second)
	for out.String() != "one\ntwo\n" {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s the output is %q; want both lines within the interval", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A batch larger than the buffer goes out without waiting.
	big := strings.Repeat("x", 128<<10) + "\n"
	w.Write([]byte(big))
	if !strings.Contains(out.String(), big) {
		t.Error("a record larger than the buffer was held back")
	}

	w.Write([]byte("three\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "three\n") {
		t.Errorf("Close left %q unwritten", "three")
	}
	w.Write([]byte("four\n"))
	if !strings.HasSuffix(out.String(), "four\n") {
		t.Errorf("a line written after Close is held back: %q", out.String())
	}
}
