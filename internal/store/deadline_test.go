package store

import (
	"net"
	"testing"
	"time"
)

// deadlineRecorder is a socket that notes the deadlines it is given.
type deadlineRecorder struct {
	net.Conn
	set []time.Time
}

func (r *deadlineRecorder) SetDeadline(t time.Time) error {
	r.set = append(r.set, t)
	return nil
}

// A statement may keep the deadline an earlier one left when it ends the
// statement at most 1/deadlineSlack of its time early, and never later.
func TestDeadlineKeptOnlyWhenSlightlyEarly(t *testing.T) {
	rec := &deadlineRecorder{}
	c := &deadlineConn{Conn: rec}
	now := time.Now()
	first := now.Add(5 * time.Second)
	steps := []struct {
		end  time.Time
		want time.Time // the socket's deadline after the statement starts
	}{
		{first, first},
		{first.Add(10 * time.Millisecond), first},                                       // 10 ms early of ~5 s: kept
		{first.Add(time.Second), first.Add(time.Second)},                                // 1 s early: set anew
		{now.Add(time.Second), now.Add(time.Second)},                                    // an earlier end is never exceeded
		{now.Add(time.Second + 100*time.Millisecond), now.Add(1100 * time.Millisecond)}, // 100 ms of 1.1 s: too early
	}
	for i, s := range steps {
		if err := c.until(s.end); err != nil {
			t.Fatal(err)
		}
		if got := rec.set[len(rec.set)-1]; !got.Equal(s.want) {
			t.Errorf("statement %d ending at +%v: socket deadline +%v, want +%v", i, s.end.Sub(now), got.Sub(now), s.want.Sub(now))
		}
	}
	if len(rec.set) != 4 {
		t.Errorf("%d deadline updates for 5 statements, want 4", len(rec.set))
	}
	// A statement its context bounds clears the deadline.
	c.until(time.Time{})
	if got := rec.set[len(rec.set)-1]; !got.IsZero() {
		t.Errorf("deadline %v after a cleared end, want none", got)
	}
}
