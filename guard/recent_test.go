package guard

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// naive is the obvious model of recent: a map of last reads, scanned whole.
type naive map[string]time.Time

func (m naive) distinct(now time.Time, people []string) (hour, day int) {
	seen := map[string]bool{}
	for p, t := range m {
		if now.Sub(t) < 24*time.Hour {
			day++
			seen[p] = true
			if now.Sub(t) < time.Hour {
				hour++
			}
		}
	}
	for _, p := range unique(people) {
		t, ok := m[p]
		if !ok || now.Sub(t) >= 24*time.Hour {
			if !seen[p] {
				day++
				hour++
			}
		} else if now.Sub(t) >= time.Hour {
			hour++
		}
	}
	return hour, day
}

// TestRecentMatchesModel drives recent and the naive model with the same
// random reads over several days and compares their counts at every step.
func TestRecentMatchesModel(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		r, m := newRecent(), naive{}
		now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		for step := range 3000 {
			// Mostly small steps, sometimes hours, sometimes none at all.
			switch rng.IntN(10) {
			case 0:
				now = now.Add(time.Duration(rng.IntN(5)) * time.Hour)
			case 1:
			default:
				now = now.Add(time.Duration(rng.IntN(600)) * time.Second)
			}
			people := make([]string, rng.IntN(4))
			for i := range people {
				people[i] = fmt.Sprintf("p%d", rng.IntN(60))
			}
			r.advance(now)
			gh, gd := r.distinct(people)
			wh, wd := m.distinct(now, people)
			if gh != wh || gd != wd {
				t.Fatalf("seed %d step %d at %s reading %v: got hour %d day %d, want %d %d", seed, step, now, people, gh, gd, wh, wd)
			}
			if rng.IntN(5) > 0 { // a refused access records nothing
				r.add(now, people)
				for _, p := range people {
					m[p] = now
				}
			}
			if len(r.queue) > 0 && len(r.last) > len(r.queue) {
				t.Fatalf("more people (%d) than kept reads (%d)", len(r.last), len(r.queue))
			}
		}
	}
}
