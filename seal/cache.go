package seal

import (
	"hash/maphash"
	"sync"
)

// lru is a bounded least-recently-used map, safe for concurrent use. It is
// split into shards, each with its own lock, so that the ~30 cache hits of
// one record read, times many concurrent readers, do not queue on one mutex.
// Values are expected to be immutable: they are returned without copying.
type lru[K comparable, V any] struct {
	seed   maphash.Seed
	hash   func(maphash.Seed, K) uint64
	shards []lruShard[K, V]
}

type lruShard[K comparable, V any] struct {
	mu    sync.Mutex
	limit int
	m     map[K]*lruNode[K, V]
	root  lruNode[K, V] // sentinel: root.next is most recent, root.prev least
}

type lruNode[K comparable, V any] struct {
	key        K
	val        V
	prev, next *lruNode[K, V]
}

// newLRU returns a cache holding about limit entries across nshards shards;
// hash picks a key's shard.
func newLRU[K comparable, V any](limit, nshards int, hash func(maphash.Seed, K) uint64) *lru[K, V] {
	if nshards < 1 {
		nshards = 1
	}
	per := max(1, (limit+nshards-1)/nshards)
	c := &lru[K, V]{seed: maphash.MakeSeed(), hash: hash, shards: make([]lruShard[K, V], nshards)}
	for i := range c.shards {
		s := &c.shards[i]
		s.limit = per
		s.m = make(map[K]*lruNode[K, V])
		s.root.next, s.root.prev = &s.root, &s.root
	}
	return c
}

func (c *lru[K, V]) shard(k K) *lruShard[K, V] {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[c.hash(c.seed, k)%uint64(len(c.shards))]
}

func (c *lru[K, V]) get(k K) (V, bool) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.m[k]
	if !ok {
		var zero V
		return zero, false
	}
	s.moveToFront(n)
	return n.val, true
}

func (c *lru[K, V]) put(k K, v V) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(k, v)
}

// putIfAbsent stores v unless keep approves the value already there, and
// returns whichever value is now cached. It lets two goroutines that missed
// at once agree on one value.
func (c *lru[K, V]) putIfAbsent(k K, v V, keep func(V) bool) V {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.m[k]; ok && keep(n.val) {
		s.moveToFront(n)
		return n.val
	}
	s.putLocked(k, v)
	return v
}

func (c *lru[K, V]) remove(k K) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.m[k]; ok {
		s.unlink(n)
		delete(s.m, k)
	}
}

func (c *lru[K, V]) len() int {
	total := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		total += len(s.m)
		s.mu.Unlock()
	}
	return total
}

func (s *lruShard[K, V]) putLocked(k K, v V) {
	if n, ok := s.m[k]; ok {
		n.val = v
		s.moveToFront(n)
		return
	}
	n := &lruNode[K, V]{key: k, val: v}
	s.m[k] = n
	s.insertFront(n)
	for len(s.m) > s.limit {
		last := s.root.prev
		s.unlink(last)
		delete(s.m, last.key)
	}
}

func (s *lruShard[K, V]) unlink(n *lruNode[K, V]) {
	n.prev.next = n.next
	n.next.prev = n.prev
	n.prev, n.next = nil, nil
}

func (s *lruShard[K, V]) insertFront(n *lruNode[K, V]) {
	n.prev = &s.root
	n.next = s.root.next
	s.root.next.prev = n
	s.root.next = n
}

func (s *lruShard[K, V]) moveToFront(n *lruNode[K, V]) {
	if s.root.next == n {
		return
	}
	s.unlink(n)
	s.insertFront(n)
}
