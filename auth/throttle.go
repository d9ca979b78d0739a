package auth

import (
	"sync"
	"time"
)

// Throttling bounds online guessing. Each failed attempt is counted
// against the account it named (or the e-mail address, if no account has
// it, so that the answer looks the same) and against the client address.
//
//   - An account key refuses attempts once AccountLimit failures fall in
//     the last ThrottleWindow: nobody can make more than 10 guesses at one
//     account in 5 minutes (the Cyber Essentials bound), whatever addresses
//     they spread the guesses over.
//   - Before that, each failure after the third doubles the wait before the
//     next attempt (1 s, 2 s, 4 s, ...), so a person who mistypes loses
//     nothing and a script crawls.
//   - An address key has a higher limit, because many carers share one care
//     home's connection, but stops one address spraying many accounts.
//
// Separately, an account locks after LockThreshold consecutive failures
// (stored with the account, so it survives restarts) until an admin
// unlocks it. The counters here live in memory: a restart forgets them,
// and with several Haven processes each process enforces the bound on its
// own. docs/security.md says so.
const (
	ThrottleWindow = 5 * time.Minute
	AccountLimit   = 10
	AddressLimit   = 100
	freeFailures   = 3
)

type throttle struct {
	mu       sync.Mutex
	keys     map[string][]time.Time // failure times within the window, oldest first
	inflight map[string]int         // attempts begun and not yet finished
	ops      int
}

func newThrottle() *throttle {
	return &throttle{keys: map[string][]time.Time{}, inflight: map[string]int{}}
}

func limitOf(key string) int {
	if len(key) > 5 && key[:5] == "addr:" {
		return AddressLimit
	}
	return AccountLimit
}

// wait returns how long the caller must wait before an attempt on any of
// keys is checked at all (zero: go ahead).
func (t *throttle) wait(now time.Time, keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waitLocked(now, keys)
}

// begin is wait for an attempt whose outcome is known only later (a
// password check takes tens of milliseconds). Attempts in flight count as
// failures until they finish, so a burst of simultaneous guesses cannot
// all slip past the limit before the first failure is recorded. The
// caller must call finish exactly once.
func (t *throttle) begin(now time.Time, keys ...string) (time.Duration, func(failed bool)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d := t.waitLocked(now, keys); d > 0 {
		return d, func(bool) {}
	}
	for _, k := range keys {
		t.inflight[k]++
	}
	return 0, func(failed bool) {
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, k := range keys {
			if t.inflight[k]--; t.inflight[k] <= 0 {
				delete(t.inflight, k)
			}
			if failed {
				t.keys[k] = append(t.recent(now, k), now)
			}
		}
	}
}

func (t *throttle) waitLocked(now time.Time, keys []string) time.Duration {
	var longest time.Duration
	for _, k := range keys {
		fails := t.recent(now, k)
		busy := t.inflight[k]
		n := len(fails) + busy
		var d time.Duration
		limit := limitOf(k)
		free := freeFailures
		if limit == AddressLimit {
			free = AccountLimit
		}
		switch {
		case n >= limit && len(fails) > n-limit:
			d = fails[n-limit].Add(ThrottleWindow).Sub(now)
		case n >= limit:
			d = time.Second // the limit is taken up by attempts still running
		case n > free && busy > 0:
			d = time.Second // finish one guess before the next
		case n > free:
			delay := time.Second << min(n-free-1, 8)
			d = fails[len(fails)-1].Add(delay).Sub(now)
		}
		longest = max(longest, d)
	}
	return longest
}

// recent drops failures older than the window and returns the rest.
func (t *throttle) recent(now time.Time, k string) []time.Time {
	fails := t.keys[k]
	i := 0
	for i < len(fails) && now.Sub(fails[i]) >= ThrottleWindow {
		i++
	}
	if i == len(fails) {
		delete(t.keys, k)
		return nil
	}
	fails = fails[i:]
	t.keys[k] = fails
	return fails
}

// fail counts a failed attempt against every key.
func (t *throttle) fail(now time.Time, keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		t.keys[k] = append(t.recent(now, k), now)
	}
	// Sweep occasionally so abandoned keys do not pile up.
	if t.ops++; t.ops%1024 == 0 {
		for k := range t.keys {
			t.recent(now, k)
		}
	}
}

// clear forgets an account key's failures after a full sign-in.
func (t *throttle) clear(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, key)
}

func accountKey(email string) string { return "acct:" + normEmail(email) }
func addrKey(addr string) string     { return "addr:" + addr }
