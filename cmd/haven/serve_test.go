package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestTuneGC checks that a serving process collects less often than Go's
// default, and that GOGC and GOMEMLIMIT set by the operator win.
func TestTuneGC(t *testing.T) {
	wasPercent, wasLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(wasPercent)
		debug.SetMemoryLimit(wasLimit)
	})
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	tuneGC(getenv)
	if p := debug.SetGCPercent(100); p != serveGCPercent {
		t.Errorf("GC percent %d with GOGC unset, want %d", p, serveGCPercent)
	}
	if l := debug.SetMemoryLimit(math.MaxInt64); l != serveMemoryLimit {
		t.Errorf("memory limit %d with GOMEMLIMIT unset, want %d", l, serveMemoryLimit)
	}

	env["GOGC"], env["GOMEMLIMIT"] = "50", "2GiB"
	tuneGC(getenv)
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("GC percent %d with GOGC set, want it left alone (100)", p)
	}
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Errorf("memory limit %d with GOMEMLIMIT set, want it left alone", l)
	}
}
