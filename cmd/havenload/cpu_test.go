package main

import (
	"crypto/sha256"
	"os"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// A command name with spaces and parentheses of its own; utime 250
	// and stime 50 ticks.
	line := "4242 (odd) name (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1000 12345 678 18446744073709551615"
	got, err := parseProcStat(line)
	if err != nil || got != 3*time.Second {
		t.Fatalf("parseProcStat = %v, %v; want 3s", got, err)
	}
	for _, bad := range []string{
		"",
		"4242 no name S 1",
		"4242 (short) S 1 2 3",
		"4242 (neg) S 1 4242 4242 0 -1 4194560 100 0 0 0 -5 50 0",
		"4242 (nan) S 1 4242 4242 0 -1 4194560 100 0 0 0 x 50 0",
	} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q) accepted", bad)
		}
	}
}

// TestProcessCPUAgreesWithRusage: read from /proc, this process's time
// matches what the kernel reports to the process itself, to within the
// ticks /proc counts in.
func TestProcessCPUAgreesWithRusage(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	// Use some processor time, so that both readings are well above zero.
	start := selfCPU()
	sum := sha256.Sum256(nil)
	for selfCPU()-start < 100*time.Millisecond {
		for range 1000 {
			sum = sha256.Sum256(sum[:])
		}
	}
	own := selfCPU()
	proc, err := processCPU(os.Getpid())
	after := selfCPU()
	if err != nil {
		t.Fatal(err)
	}
	// /proc counts whole ticks of 10 ms; allow two on either side.
	if proc < own-20*time.Millisecond || proc > after+20*time.Millisecond {
		t.Fatalf("/proc says %v, getrusage %v to %v", proc, own, after)
	}
	if _, err := processCPU(-1); err == nil {
		t.Error("a process that cannot exist was measured")
	}
}
