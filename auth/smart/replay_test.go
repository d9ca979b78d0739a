package smart

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock safe to read from many goroutines.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

var replayT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestMemoryReplaySeen(t *testing.T) {
	clock := newFakeClock(replayT0)
	m := NewMemoryReplay()
	m.Now = clock.Now
	exp := replayT0.Add(time.Minute)

	seen := func(client, jti string) bool {
		t.Helper()
		s, err := m.Seen(client, jti, exp)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if seen("c1", "j1") {
		t.Fatal("first use reported as seen")
	}
	if !seen("c1", "j1") {
		t.Fatal("second use not reported as seen")
	}
	if seen("c2", "j1") {
		t.Fatal("same jti from another client reported as seen")
	}
	// The key is a pair, not a joined string, so these cannot collide.
	if seen("c1\x00j", "1") || seen("c1", "\x00j1") {
		t.Fatal("distinct pairs collided")
	}

	clock.Advance(59 * time.Second)
	if !seen("c1", "j1") {
		t.Fatal("forgotten before exp")
	}
	clock.Advance(time.Second) // now == exp: the assertion can no longer be used
	if seen("c1", "j1") {
		t.Fatal("remembered after exp")
	}
}

func TestMemoryReplayZeroValue(t *testing.T) {
	var m MemoryReplay
	exp := time.Now().Add(time.Minute)
	if s, err := m.Seen("c", "j", exp); s || err != nil {
		t.Fatalf("first: %v %v", s, err)
	}
	if s, err := m.Seen("c", "j", exp); !s || err != nil {
		t.Fatalf("second: %v %v", s, err)
	}
}

// Entries go once their exp has passed, whichever entry is touched next, so
// memory holds only assertions that could still be replayed.
func TestMemoryReplayPrunes(t *testing.T) {
	clock := newFakeClock(replayT0)
	m := NewMemoryReplay()
	m.Now = clock.Now
	for i := range 1000 {
		// Spread over 0..99 s so the heap, not insertion order, must
		// decide what has expired.
		exp := replayT0.Add(time.Duration(1+(i*37)%100) * time.Second)
		if s, err := m.Seen("c", fmt.Sprint(i), exp); s || err != nil {
			t.Fatalf("insert %d: %v %v", i, s, err)
		}
	}
	if n := m.size(); n != 1000 {
		t.Fatalf("size %d after inserts", n)
	}

	clock.Advance(50 * time.Second)
	if s, _ := m.Seen("other", "x", replayT0.Add(time.Hour)); s {
		t.Fatal("new entry reported as seen")
	}
	// exp in 1..100 s; those <= 50 s are gone: 500 of the 1000, plus "x".
	if n := m.size(); n != 501 {
		t.Fatalf("size %d after 50 s, want 501", n)
	}
	for i := range 1000 {
		exp := replayT0.Add(time.Duration(1+(i*37)%100) * time.Second)
		_, kept := m.entries[replayKey{"c", fmt.Sprint(i)}]
		if want := exp.After(clock.Now()); kept != want {
			t.Fatalf("entry %d (exp %v): kept=%v", i, exp.Sub(replayT0), kept)
		}
	}

	clock.Advance(time.Minute)
	if s, _ := m.Seen("other", "y", replayT0.Add(time.Hour)); s {
		t.Fatal("new entry reported as seen")
	}
	if n := m.size(); n != 2 {
		t.Fatalf("size %d after all expired, want 2", n)
	}
}

func TestMemoryReplayPastExpNotStored(t *testing.T) {
	clock := newFakeClock(replayT0)
	m := NewMemoryReplay()
	m.Now = clock.Now
	if s, err := m.Seen("c", "j", replayT0.Add(-time.Second)); s || err != nil {
		t.Fatalf("%v %v", s, err)
	}
	if n := m.size(); n != 0 {
		t.Fatalf("size %d, want 0", n)
	}
}

func TestMemoryReplayFull(t *testing.T) {
	clock := newFakeClock(replayT0)
	m := NewMemoryReplay()
	m.Now = clock.Now
	m.maxEntries = 2
	exp := replayT0.Add(time.Minute)
	for _, j := range []string{"a", "b"} {
		if _, err := m.Seen("c", j, exp); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Seen("c", "z", exp); !errors.Is(err, ErrReplayFull) {
		t.Fatalf("third entry: %v, want ErrReplayFull", err)
	}
	// A known entry is still reported while full.
	if s, err := m.Seen("c", "a", exp); !s || err != nil {
		t.Fatalf("known entry while full: %v %v", s, err)
	}
	clock.Advance(time.Minute)
	if _, err := m.Seen("c", "z", exp.Add(time.Minute)); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}

// Many goroutines presenting the same assertion at once: exactly one may
// pass. Run with -race.
func TestMemoryReplayConcurrent(t *testing.T) {
	clock := newFakeClock(replayT0)
	m := NewMemoryReplay()
	m.Now = clock.Now
	const workers, jtis = 16, 200
	var firsts [jtis]atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jtis {
				// Each worker walks the jtis from a different start so
				// that goroutines contend on the same keys.
				j = (j + w*13) % jtis
				if w%4 == 0 {
					clock.Advance(time.Millisecond)
				}
				s, err := m.Seen("c", fmt.Sprint(j), replayT0.Add(time.Hour))
				if err != nil {
					errs <- err
					return
				}
				if !s {
					firsts[j].Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for j := range firsts {
		if n := firsts[j].Load(); n != 1 {
			t.Fatalf("jti %d accepted %d times, want once", j, n)
		}
	}
}

// size reports the entry count and checks the map and heap agree.
func (m *MemoryReplay) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.entries) != len(m.byExp) {
		panic(fmt.Sprintf("map has %d entries, heap %d", len(m.entries), len(m.byExp)))
	}
	return len(m.entries)
}
