package api

import (
	"io"
	"time"
)

// NewLogWriter is Run's log buffering, for benchmarks.
func NewLogWriter(w io.Writer) interface {
	io.Writer
	Close() error
} {
	return newLogWriter(w, 64<<10, 100*time.Millisecond)
}
