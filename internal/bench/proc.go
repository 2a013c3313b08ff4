package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// clockTick is the unit of the CPU times in /proc/<pid>/stat: USER_HZ,
// which Linux fixes at 100 for what it reports to user space.
const clockTick = 10 * time.Millisecond

// procTimes is a process's CPU use from /proc/<pid>/stat: its own user and
// system time, and that of its children it has waited for.
type procTimes struct {
	ppid      int
	own, kids time.Duration
}

func readProc(pid int) (procTimes, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procTimes{}, err
	}
	return parseStat(b)
}

// parseStat reads fields 4 (ppid) and 14-17 (utime, stime, cutime,
// cstime) of a stat line. The command name, field 2, is in parentheses
// and may itself contain spaces and parentheses, so fields are counted
// from the last ')'.
func parseStat(b []byte) (procTimes, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procTimes{}, fmt.Errorf("bench: malformed stat line %q", b)
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3, the state
	if len(f) < 15 {
		return procTimes{}, fmt.Errorf("bench: short stat line %q", b)
	}
	num := func(k int) int64 { n, _ := strconv.ParseInt(string(f[k-3]), 10, 64); return n }
	return procTimes{
		ppid: int(num(4)),
		own:  time.Duration(num(14)+num(15)) * clockTick,
		kids: time.Duration(num(16)+num(17)) * clockTick,
	}, nil
}

// processCPU is the CPU time a process has used so far.
func processCPU(pid int) time.Duration {
	t, err := readProc(pid)
	if err != nil {
		return 0
	}
	return t.own
}

// serverCPU is the CPU time a PostgreSQL server has used so far: the
// postmaster's own, every live child's (backends, autovacuum, writers),
// and that of the children that have exited (the postmaster waits for
// them, so it holds their times), so that connections opened and closed
// inside a measurement are counted too. A child that has exited but is
// not yet waited for still reports its own times.
func serverCPU(postmaster int) time.Duration {
	pm, err := readProc(postmaster)
	if err != nil {
		return 0
	}
	total := pm.own + pm.kids
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == postmaster {
			continue
		}
		t, err := readProc(pid)
		if err != nil || t.ppid != postmaster {
			continue
		}
		total += t.own
	}
	return total
}

var hwm = regexp.MustCompile(`VmHWM:\s+(\d+) kB`)

// peakRSS is a process's high-water resident set (VmHWM), in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	m := hwm.FindSubmatch(b)
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}
