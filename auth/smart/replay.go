package smart

import (
	"container/heap"
	"errors"
	"sync"
	"time"
)

// defaultMaxReplayEntries caps MemoryReplay. With exp at most 5 minutes
// ahead it is reached only at over 3000 accepted assertions a second, well
// beyond what backend clients send; past it Seen fails closed.
const defaultMaxReplayEntries = 1 << 20

// ErrReplayFull is returned by MemoryReplay.Seen when it cannot remember
// another assertion. Accepting the assertion unrecorded would let it be
// replayed, so Verify refuses it (as a server error).
var ErrReplayFull = errors.New("smart: replay store is full")

// MemoryReplay is an in-process Replay that forgets entries after they
// expire. Each Seen first drops the entries whose exp has passed, so memory
// holds only assertions that could still be replayed. The zero value is ready
// to use.
//
// It protects one process only: behind a load balancer an assertion refused
// by one instance would be accepted by another, so a multi-instance service
// needs a shared Replay.
type MemoryReplay struct {
	// Now returns the current time; nil means time.Now. It must be the
	// Verifier's clock: an entry is forgotten once its exp has passed by
	// this clock, and if it ran ahead of the Verifier's, assertions the
	// Verifier still accepts would already be forgotten.
	Now func() time.Time

	mu         sync.Mutex
	entries    map[replayKey]time.Time
	byExp      expiryHeap // the same entries, soonest exp first, for pruning
	maxEntries int        // 0 means defaultMaxReplayEntries; set by tests
}

// replayKey is a struct, not a joined string, so that no choice of client id
// and jti can collide with another pair.
type replayKey struct{ clientID, jti string }

// NewMemoryReplay returns an empty MemoryReplay.
func NewMemoryReplay() *MemoryReplay {
	return &MemoryReplay{}
}

// Seen implements Replay. An exp already past is reported as not seen and
// not stored: such an assertion is refused as expired whatever Seen says.
func (m *MemoryReplay) Seen(clientID, jti string, exp time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	m.prune(now)
	k := replayKey{clientID, jti}
	if _, ok := m.entries[k]; ok {
		return true, nil
	}
	if !exp.After(now) {
		return false, nil
	}
	limit := m.maxEntries
	if limit <= 0 {
		limit = defaultMaxReplayEntries
	}
	if len(m.entries) >= limit {
		return false, ErrReplayFull
	}
	if m.entries == nil {
		m.entries = make(map[replayKey]time.Time)
	}
	m.entries[k] = exp
	heap.Push(&m.byExp, replayEntry{key: k, exp: exp})
	return false, nil
}

// prune drops every entry whose exp is not after now. Popping from a heap
// costs O(log n) per expired entry, so pruning on every call stays cheap
// however large the store is.
func (m *MemoryReplay) prune(now time.Time) {
	for len(m.byExp) > 0 && !m.byExp[0].exp.After(now) {
		e := heap.Pop(&m.byExp).(replayEntry)
		delete(m.entries, e.key)
	}
}

type replayEntry struct {
	key replayKey
	exp time.Time
}

// expiryHeap is a min-heap of entries by exp (container/heap.Interface).
type expiryHeap []replayEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].exp.Before(h[j].exp) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(replayEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = replayEntry{} // let the strings be collected
	*h = old[:len(old)-1]
	return e
}
