package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Processor time per request is the steadier figure on a shared machine:
// requests a second move ±15% from one run to the next with what else the
// machine does, while the processor time a server spends on each request
// moves much less. Both the server and the load tool run on the same
// cores, so the load tool's own share is reported too: what it spends is
// not available to the server.

// clockTicks is the unit of utime and stime in /proc/PID/stat: USER_HZ,
// which Linux fixes at 100 on every architecture Go runs on.
const clockTicks = 100

// processCPU returns the processor time (user plus system) that process
// pid has used so far, read from /proc/PID/stat.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("processor time of process %d: %w", pid, err)
	}
	return parseProcStat(string(b))
}

// parseProcStat reads utime and stime (fields 14 and 15) from the text of
// /proc/PID/stat. The command name (field 2) is in parentheses and may hold
// spaces and parentheses itself, so fields are counted from the last ')'.
func parseProcStat(s string) (time.Duration, error) {
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, fmt.Errorf("/proc stat: no command name in %q", truncate(s, 80))
	}
	// After ")": field 3 (state) onwards; utime is field 14, stime 15.
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("/proc stat: processor time %q is not a count of ticks", v)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// selfCPU returns the processor time this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter measures the processor time of the server (when its process id
// is known) and of the load tool across one run.
type cpuMeter struct {
	pid         int
	server, own time.Duration
}

// startCPU starts measuring; serverPID 0 measures the load tool alone. A
// server that cannot be measured is refused before the run, not after.
func startCPU(serverPID int) (*cpuMeter, error) {
	if serverPID < 0 {
		return nil, fmt.Errorf("-server-pid %d: not a process id", serverPID)
	}
	m := &cpuMeter{pid: serverPID, own: selfCPU()}
	if serverPID > 0 {
		var err error
		if m.server, err = processCPU(serverPID); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// finish fills res's processor-time fields for the run just ended: per
// completed request, whatever its status.
func (m *cpuMeter) finish(res *Result) error {
	if res.Requests == 0 {
		return nil
	}
	per := func(d time.Duration) float64 {
		return float64(d.Microseconds()) / float64(res.Requests)
	}
	res.LoadCPUPerRequest = per(selfCPU() - m.own)
	if m.pid == 0 {
		return nil
	}
	now, err := processCPU(m.pid)
	if err != nil {
		return err
	}
	res.ServerCPU = (now - m.server).Seconds()
	res.ServerCPUPerRequest = per(now - m.server)
	return nil
}
