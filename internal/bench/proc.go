package bench

import (
	"time"

	"github.com/prometheus/procfs"
)

// procTimes is a process's CPU use from /proc/<pid>/stat: its own user and
// system time, and that of its children it has waited for.
type procTimes struct {
	ppid      int
	own, kids time.Duration
}

func readProc(pid int) (procTimes, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return procTimes{}, err
	}
	s, err := p.Stat()
	if err != nil {
		return procTimes{}, err
	}
	return statTimes(s), nil
}

// statTimes reads ppid and the CPU times of a stat record, which are in
// clock ticks: USER_HZ, which Linux fixes at 100 for what it reports to
// user space.
func statTimes(s procfs.ProcStat) procTimes {
	const clockTick = 10 * time.Millisecond
	return procTimes{
		ppid: s.PPID,
		own:  time.Duration(s.UTime+s.STime) * clockTick,
		kids: time.Duration(s.CUTime+s.CSTime) * clockTick,
	}
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
	procs, _ := procfs.AllProcs()
	for _, p := range procs {
		if p.PID == postmaster {
			continue
		}
		s, err := p.Stat()
		if err != nil || s.PPID != postmaster {
			continue
		}
		total += statTimes(s).own
	}
	return total
}

// peakRSS is a process's high-water resident set (VmHWM), in bytes.
func peakRSS(pid int) int64 {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0
	}
	s, err := p.NewStatus()
	if err != nil {
		return 0
	}
	return int64(s.VmHWM)
}
