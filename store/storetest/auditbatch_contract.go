package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/sqlstore"
	"golang.org/x/mod/sumdb/tlog"
)

// The store writes a batch's audit entries together just before it commits,
// and computes their Merkle hashes from the right edge of the tree it keeps
// in memory (store/sqlstore/auditwriter.go). These tests try to make that
// memory wrong: another instance appending behind its back, a unit that
// reads the log and then fails, an entry the database refuses.

// checkStoredHashes rebuilds tenant's Merkle tree from its entries as
// stored and compares every stored hash with it, interior ones included.
// audit.Verify checks only leaf hashes and signed roots; a wrong interior
// hash would show only in the next checkpoint.
func checkStoredHashes(t testing.TB, src audit.Source, tenant string) int64 {
	t.Helper()
	var tree []tlog.Hash
	var n int64
	err := src.Entries(tenant, func(e audit.Entry) error {
		if e.Seq != n {
			return fmt.Errorf("entry %d found where %d belongs", e.Seq, n)
		}
		hs, err := tlog.StoredHashes(n, e.Leaf(), memTree(tree))
		if err != nil {
			return err
		}
		tree = append(tree, hs...)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for idx, want := range tree {
		got, ok, err := src.StoredHash(tenant, int64(idx))
		if err != nil {
			t.Fatal(err)
		}
		if !ok || got != want {
			t.Fatalf("stored hash %d of %s's log (%d entries) is %v, present %v; the entries give %v", idx, tenant, n, got, ok, want)
		}
	}
	if _, ok, _ := src.StoredHash(tenant, int64(len(tree))); ok {
		t.Fatalf("a stored hash past the %d entries of %s's log", n, tenant)
	}
	return n
}

type memTree []tlog.Hash

func (m memTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(m)) {
			return nil, fmt.Errorf("hash %d not built yet", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

func auditEntry(action string) audit.Entry {
	return audit.Entry{Time: time.Now(), Actor: "test", ActorRole: "system", Action: action, Outcome: "ok"}
}

// TwoInstances opens two store instances on one database with open (two
// processes on one SQLite file, or two servers on one PostgreSQL), closed
// when t ends, and creates tenant t1 through the first.
func TwoInstances(t *testing.T, open func() (*sqlstore.DB, error)) (a, b *sqlstore.DB) {
	t.Helper()
	var s [2]*sqlstore.DB
	for i := range s {
		var err error
		if s[i], err = open(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s[i].Close() })
	}
	if err := s[0].CreateTenant(context.Background(), haven.Tenant{ID: "t1", Name: "T1"}, store.TenantKeys{Data: []byte("d"), Index: []byte("i")}); err != nil {
		t.Fatal(err)
	}
	return s[0], s[1]
}

// AuditAcrossInstances appends to tenant t1's log through two store
// instances on one database (two processes, or two servers on one
// PostgreSQL), in turns and at once, in batches of different sizes. Each
// instance's committer keeps the tree edge of what it committed; after the
// other one appends, that edge is stale and must not be used. Every stored
// hash must match the tree of the entries, and each entry be there once.
func AuditAcrossInstances(t *testing.T, a, b *sqlstore.DB) {
	ctx := context.Background()
	sc := haven.ScopeOf(haven.SystemPrincipal("t1", "test"))
	stores := []*sqlstore.DB{a, b}
	want := map[string]bool{}
	var mu sync.Mutex
	appendVia := func(s *sqlstore.DB, action string, record bool) {
		queue := s.Update
		if record {
			queue = s.Record
		}
		if err := queue(ctx, sc, func(tx store.Tx) error { return tx.AppendAudit(auditEntry(action)) }); err != nil {
			t.Errorf("%s: %v", action, err)
			return
		}
		mu.Lock()
		want[action] = true
		mu.Unlock()
	}
	// In turns: each instance appends a batch of a different size, so the
	// tree grows through sizes of every shape while the other's edge ages.
	for round := range 12 {
		s := stores[round%2]
		var wg sync.WaitGroup
		for i := range round + 1 {
			wg.Add(1)
			go func() { defer wg.Done(); appendVia(s, fmt.Sprintf("turn-%d-%d", round, i), i%3 != 0) }()
		}
		wg.Wait()
	}
	// At once: both instances append together.
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				appendVia(stores[w%2], fmt.Sprintf("race-%d-%d", w, i), i%2 == 0)
			}
		}()
	}
	wg.Wait()
	// In turns again, after the race left both edges anywhere.
	for round := range 4 {
		appendVia(stores[round%2], fmt.Sprintf("after-%d", round), round%2 == 0)
	}

	n := checkStoredHashes(t, a.AuditSource(), "t1")
	seen := map[string]int{}
	if err := a.AuditSource().Entries("t1", func(e audit.Entry) error { seen[e.Action]++; return nil }); err != nil {
		t.Fatal(err)
	}
	for action := range want {
		if seen[action] != 1 {
			t.Errorf("%s is in the log %d times, want once", action, seen[action])
		}
	}
	if n != int64(len(want)) {
		t.Errorf("the log holds %d entries, want %d", n, len(want))
	}
}

// testAuditReadInFailedUnit: a unit of work that appends, reads the log (so
// its entry is written inside its savepoint), appends again and then fails
// shares a batch with units that succeed. Neither of its entries is kept,
// every other one is, and the stored tree matches the entries.
func testAuditReadInFailedUnit(t *testing.T, e *env) {
	e.tenant("t1")
	sc := haven.ScopeOf(haven.SystemPrincipal("t1", "test"))
	boom := errors.New("unit failed")
	units := make([]func() error, 9)
	for i := range units {
		switch {
		case i == 4:
			units[i] = func() error {
				return e.db.Update(ctx, sc, func(tx store.Tx) error {
					if err := tx.AppendAudit(auditEntry("failed-1")); err != nil {
						return err
					}
					if _, err := tx.AuditSize(); err != nil {
						return err
					}
					if err := tx.AppendAudit(auditEntry("failed-2")); err != nil {
						return err
					}
					return boom
				})
			}
		case i%2 == 0:
			units[i] = func() error {
				return e.db.Update(ctx, sc, func(tx store.Tx) error {
					if err := tx.AppendAudit(auditEntry(fmt.Sprint("update-", i))); err != nil {
						return err
					}
					// Reading the log sees this unit's own entry.
					n, err := tx.AuditSize()
					if err == nil && n == 0 {
						err = errors.New("the unit's own entry is not in the log it reads")
					}
					return err
				})
			}
		default:
			units[i] = func() error {
				return e.db.Record(ctx, sc, func(tx store.Tx) error { return tx.AppendAudit(auditEntry(fmt.Sprint("record-", i))) })
			}
		}
	}
	onlyFailing(t, e.inOneBatch(sc, units), 4, boom)
	seen := map[string]int{}
	for _, a := range e.entries("t1") {
		seen[a.Action]++
	}
	if seen["failed-1"]+seen["failed-2"] != 0 {
		t.Errorf("the failed unit's entries were kept: %v", seen)
	}
	for i := range 9 {
		want := fmt.Sprint("record-", i)
		if i%2 == 0 {
			want = fmt.Sprint("update-", i)
		}
		if i != 4 && seen[want] != 1 {
			t.Errorf("%s is in the log %d times, want once", want, seen[want])
		}
	}
	checkStoredHashes(t, e.db.AuditSource(), "t1")
	if rep := e.verify(); !rep.OK() {
		t.Fatalf("the log does not verify: %+v", rep.Problems)
	}
}

// testRefusedEntryFailsAlone: an entry the database refuses when the batch
// writes its entries together (PostgreSQL refuses a NUL byte in text)
// fails the unit that appended it and no other. SQLite keeps such an entry
// as it is; either way the log must verify and hold every other entry.
func testRefusedEntryFailsAlone(t *testing.T, e *env) {
	e.tenant("t1")
	sc := haven.ScopeOf(haven.SystemPrincipal("t1", "test"))
	units := make([]func() error, 7)
	for i := range units {
		entry := auditEntry(fmt.Sprint("record-", i))
		if i == 3 {
			entry.Purpose = "care\x00"
		}
		units[i] = func() error {
			return e.db.Record(ctx, sc, func(tx store.Tx) error { return tx.AppendAudit(entry) })
		}
	}
	errs := e.inOneBatch(sc, units)
	seen := map[string]int{}
	for _, a := range e.entries("t1") {
		seen[a.Action]++
	}
	for i, err := range errs {
		action := fmt.Sprint("record-", i)
		switch {
		case err != nil && i != 3:
			t.Errorf("%s failed beside the refused entry: %v", action, err)
		case err != nil && seen[action] != 0:
			t.Errorf("%s failed but its entry was kept", action)
		case err == nil && seen[action] != 1:
			t.Errorf("%s succeeded and is in the log %d times", action, seen[action])
		}
	}
	checkStoredHashes(t, e.db.AuditSource(), "t1")
	if rep := e.verify(); !rep.OK() {
		t.Fatalf("the log does not verify: %+v", rep.Problems)
	}
}

// inOneBatch holds the committer in a batch of its own, queues units in
// order while it waits (a few milliseconds apart: that keeps the order, it
// is not a check), then lets it go, so that the units share its next batch.
// It returns each unit's error.
func (e *env) inOneBatch(sc haven.Scope, units []func() error) []error {
	hold, held := make(chan struct{}), make(chan struct{})
	go e.db.Update(ctx, sc, func(tx store.Tx) error {
		close(held)
		<-hold
		return nil
	})
	<-held
	errs := make([]error, len(units))
	var wg sync.WaitGroup
	for i, unit := range units {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = unit() }()
		time.Sleep(5 * time.Millisecond)
	}
	close(hold)
	wg.Wait()
	return errs
}

// onlyFailing checks that of units run in one batch, the one at failing
// returned want and every other succeeded.
func onlyFailing(t *testing.T, errs []error, failing int, want error) {
	t.Helper()
	for i, err := range errs {
		if i == failing {
			if !errors.Is(err, want) {
				t.Errorf("the failing unit returned %v, want %v", err, want)
			}
		} else if err != nil {
			t.Errorf("unit %d failed beside the failing one: %v", i, err)
		}
	}
}
