package sqlstore

import (
	"errors"
	"fmt"
	"sync"

	"github.com/havencare/haven"
	"github.com/havencare/haven/store"
)

// readCache keeps what views read, per tenant, for as long as the tenant's
// epoch is the one it was read at. Every write through the store (a record,
// an index entry, a person key, the tenant's keys) advances the epoch in the
// writing transaction (txn.bump), and a view reads the epoch with the
// tenant's keys, in its own snapshot, before it uses the cache. So a view
// gets from the cache exactly what its snapshot holds, whichever process
// wrote last. A request's reads (the token, its client, the guard's
// settings, the canary index, the record and the person's key) then cost
// one query instead of seven while nothing changes.
//
// It holds only what the database holds: sealed rows, blind-index digests
// and wrapped keys, never plaintext. Writes made behind the store's back
// (raw SQL) do not advance the epoch and are not seen until a write through
// the store does.
//
// A write transaction neither reads nor fills it: until it commits, what it
// read may be rolled back under an epoch that a later write will reuse.
type readCache struct {
	mu      sync.Mutex
	tenants map[string]*tenantCache
	bytes   int // about what all tenants' entries hold
}

type tenantCache struct {
	epoch   int64
	bytes   int
	entries map[cacheKey]any
}

// maxCachedBytes bounds what the cache holds across all tenants; past it,
// it starts again empty. Sealed rows are a few kilobytes, so this keeps
// tens of thousands of them.
const maxCachedBytes = 64 << 20

type cacheKey struct {
	op   byte // 'g' Get, 'l' Lookup, 'k' PersonKey
	a, b string
	n    int
}

// get returns the entry for key if it was read at epoch.
func (c *readCache) get(tenant string, epoch int64, key cacheKey) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tc := c.tenants[tenant]
	if tc == nil || tc.epoch != epoch {
		return nil, false
	}
	v, ok := tc.entries[key]
	return v, ok
}

// put keeps v, of about size bytes, read at epoch. A newer epoch replaces
// the tenant's entries; an entry read at an older one than the cache holds
// is not kept (a view that began before the last write).
func (c *readCache) put(tenant string, epoch int64, key cacheKey, v any, size int) {
	size += len(key.a) + len(key.b) + 64
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tenants == nil || c.bytes+size > maxCachedBytes {
		c.tenants, c.bytes = map[string]*tenantCache{}, 0
	}
	tc := c.tenants[tenant]
	switch {
	case tc == nil || epoch > tc.epoch:
		c.dropLocked(tenant)
		tc = &tenantCache{epoch: epoch, entries: map[cacheKey]any{}}
		c.tenants[tenant] = tc
	case epoch < tc.epoch:
		return
	}
	if _, ok := tc.entries[key]; ok {
		return
	}
	tc.entries[key] = v
	tc.bytes += size
	c.bytes += size
}

// forget drops a tenant's entries (the tenant was deleted).
func (c *readCache) forget(tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(tenant)
}

func (c *readCache) dropLocked(tenant string) {
	if tc := c.tenants[tenant]; tc != nil {
		c.bytes -= tc.bytes
		delete(c.tenants, tenant)
	}
}

// cachedRow is a Get's answer: a row, or not found.
type cachedRow struct {
	row store.Row
	err error
}

func (r cachedRow) answer() (store.Row, error) {
	if r.err != nil {
		return store.Row{}, r.err
	}
	out := r.row
	out.Sealed = append([]byte(nil), r.row.Sealed...)
	return out, nil
}

// cachedKey is a PersonKey's answer.
type cachedKey struct {
	wrapped []byte
	err     error
}

func (k cachedKey) answer() ([]byte, error) {
	if k.err != nil {
		return nil, k.err
	}
	return append([]byte(nil), k.wrapped...), nil
}

// cacheable reports whether err is an answer (found or not found) rather
// than a failure, which is never kept.
func cacheable(err error) bool { return err == nil || errors.Is(err, haven.ErrNotFound) }

// cached returns the epoch a view may use the cache at, or false when the
// transaction may not (a write transaction, or no tenant row).
func (t *txn) cached() (int64, bool) {
	if !t.view {
		return 0, false
	}
	if _, err := t.TenantKeys(); err != nil {
		return 0, false
	}
	return t.epoch, true
}

// bump advances the tenant's epoch, once per transaction, before its first
// write: whatever any process read before is stale once this commits.
func (t *txn) bump() error {
	if t.bumped {
		return nil
	}
	if _, err := t.exec(t.s.q.bumpEpoch, t.tenant); err != nil {
		return fmt.Errorf("advance the tenant's epoch: %w", err)
	}
	t.bumped = true
	return nil
}
