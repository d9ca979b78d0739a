package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// progress draws a one-line progress bar on a terminal, or prints a line
// every 10% when the output is not a terminal (logs, CI).
type progress struct {
	mu        sync.Mutex // add may be called from several goroutines
	out       *os.File
	label     string
	total, n  int
	start     time.Time
	tty       bool
	lastShown int
}

func newProgress(out *os.File, label string, total int) *progress {
	fi, err := out.Stat()
	tty := err == nil && fi.Mode()&os.ModeCharDevice != 0
	return &progress{out: out, label: label, total: max(total, 1), start: time.Now(), tty: tty, lastShown: -1}
}

func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += n
	pct := p.n * 100 / p.total
	if p.tty {
		if pct != p.lastShown {
			width := 30
			fill := pct * width / 100
			fmt.Fprintf(p.out, "\r%s [%s%s] %3d%% %d/%d", p.label, strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct, p.n, p.total)
			p.lastShown = pct
		}
		return
	}
	if pct/10 != p.lastShown/10 {
		fmt.Fprintf(p.out, "%s: %d%% (%d/%d)\n", p.label, pct, p.n, p.total)
		p.lastShown = pct
	}
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := time.Since(p.start)
	rate := float64(p.n) / d.Seconds()
	if p.tty {
		fmt.Fprintln(p.out)
	}
	fmt.Fprintf(p.out, "%s: %d done in %s (%.0f/s)\n", p.label, p.n, d.Round(time.Millisecond), rate)
}
