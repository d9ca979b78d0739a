package store

import (
	"context"
	"sync"
)

// SharedReads lets the read-only units of work of one request share one
// read-only transaction. A request reads in several steps (the credential
// check, then the record and the facts policy needs) and each step used to
// begin and end a transaction of its own, paying each time for what
// beginning costs (on SQLite, a page cache that every commit has made
// stale). Shared, the steps cost one transaction and see one snapshot: the
// token is checked against the same state the record is read from.
//
// The store begins the shared transaction on the first View under the
// context and gives it to every later View of the same tenant. A View of
// another tenant, a View while the transaction is in use (nested, or from
// another goroutine), and every View after End get a transaction of their
// own, as without sharing. Update ends the sharing before it runs, so that
// what a request wrote is what its later reads see. A store that cannot
// hold a read transaction while the request waits on a write (one pool for
// both) ignores it.
type SharedReads struct {
	mu    sync.Mutex
	ended bool
	held  any    // the store's open transaction, nil until the first View
	close func() // ends held
}

type sharedKey struct{}

// ShareReads returns ctx marked for shared reads, and the sharing; the
// caller must End it when the request is done.
func ShareReads(ctx context.Context) (context.Context, *SharedReads) {
	s := &SharedReads{}
	return context.WithValue(ctx, sharedKey{}, s), s
}

// SharedReadsIn returns the sharing ctx is marked for, or nil.
func SharedReadsIn(ctx context.Context) *SharedReads {
	s, _ := ctx.Value(sharedKey{}).(*SharedReads)
	return s
}

// EndSharedReads ends the sharing ctx is marked for, if any.
func EndSharedReads(ctx context.Context) {
	if s := SharedReadsIn(ctx); s != nil {
		s.End()
	}
}

// End closes the shared transaction, if one was begun; later Views get
// their own. It is safe to call more than once.
func (s *SharedReads) End() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endLocked()
}

// Ended reports whether End was called.
func (s *SharedReads) Ended() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}

func (s *SharedReads) endLocked() {
	if s.close != nil {
		s.close()
	}
	s.ended, s.held, s.close = true, nil, nil
}

// Use runs fn with the shared transaction when it can be had: open
// returns a new transaction and its closer, matches says whether the held
// one serves this View. It reports false, without running fn, when the
// View must have a transaction of its own. A View that fails ends the
// sharing, so that no later View inherits a transaction in doubt.
func (s *SharedReads) Use(open func() (any, func(), error), matches func(held any) bool, fn func(held any) error) (bool, error) {
	if !s.mu.TryLock() {
		return false, nil // in use: nested, or another goroutine
	}
	defer s.mu.Unlock()
	if s.ended {
		return false, nil
	}
	if s.held == nil {
		held, closer, err := open()
		if err != nil {
			return true, err
		}
		s.held, s.close = held, closer
	} else if !matches(s.held) {
		return false, nil
	}
	err := fn(s.held)
	if err != nil {
		s.endLocked()
	}
	return true, err
}
