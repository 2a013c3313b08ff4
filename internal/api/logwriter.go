package api

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logWriter buffers the log and writes it out when the buffer fills and
// at least every interval, so that a busy server makes one write system
// call per batch of lines instead of one per line; with an access-log
// line per request that call was most of what logging cost. A crash
// loses at most one interval of lines.
type logWriter struct {
	mu     sync.Mutex
	buf    *bufio.Writer
	closed bool

	stop, done chan struct{}
}

func newLogWriter(w io.Writer, size int, interval time.Duration) *logWriter {
	l := &logWriter{buf: bufio.NewWriterSize(w, size), stop: make(chan struct{}), done: make(chan struct{})}
	go l.flushEvery(interval)
	return l
}

// Write buffers one record (slog writes each in one call, so records are
// never split between flushes unless larger than the buffer).
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.buf.Write(p)
	if err == nil && l.closed {
		// After Close nothing flushes on a timer: write through.
		err = l.buf.Flush()
	}
	return n, err
}

func (l *logWriter) flushEvery(interval time.Duration) {
	defer close(l.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			l.buf.Flush()
			l.mu.Unlock()
		}
	}
}

// Close writes out what is buffered; later writes go straight through.
func (l *logWriter) Close() error {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return l.buf.Flush()
}
