package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/store"
)

// Read-only units of work (store.View) run beside the committers. These
// tests show that a view sees what was committed, is confined to its tenant
// like any unit of work, and cannot write: not a row, not an index entry,
// not an audit entry.

func testViewReadsCommitted(t *testing.T, e *env) {
	p := e.tenant("t1")
	e.create(p, person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", "07700 900123"))
	var row store.Row
	var size int64
	err := e.db.View(ctx, haven.ScopeOf(p), func(tx store.Tx) error {
		var err error
		if row, err = tx.Get(haven.KindPerson, "p1"); err != nil {
			return err
		}
		size, err = tx.AuditSize()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if row.PersonID != "p1" || row.Version != 1 || len(row.Sealed) == 0 {
		t.Fatalf("view read %+v", row)
	}
	if size == 0 {
		t.Fatal("view saw an empty audit log after a committed create")
	}
	// A view's error is the caller's, and does not undo anything else.
	sentinel := errors.New("caller's own error")
	if err := e.db.View(ctx, haven.ScopeOf(p), func(store.Tx) error { return sentinel }); !errors.Is(err, sentinel) {
		t.Fatalf("view returned %v, want the unit's own error", err)
	}
}

func testViewConfinedToTenant(t *testing.T, e *env) {
	a := e.tenant("ta")
	b := e.tenant("tb")
	e.create(a, person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", "07700 900123"))
	err := e.db.View(ctx, haven.ScopeOf(b), func(tx store.Tx) error {
		if tx.Tenant() != "tb" {
			t.Errorf("view of tenant B reports tenant %q", tx.Tenant())
		}
		if _, err := tx.Get(haven.KindPerson, "p1"); !errors.Is(err, haven.ErrNotFound) {
			t.Errorf("tenant B's view read tenant A's person: %v", err)
		}
		if _, err := tx.PersonKey("p1"); !errors.Is(err, haven.ErrNotFound) {
			t.Errorf("tenant B's view read tenant A's person key: %v", err)
		}
		if rows, err := tx.ListPerson("p1"); err != nil || len(rows) != 0 {
			t.Errorf("tenant B's view listed tenant A's rows: %d %v", len(rows), err)
		}
		if rows, err := tx.ListKind(haven.KindPerson, "", 100); err != nil || len(rows) != 0 {
			t.Errorf("tenant B's view listed tenant A's people: %d %v", len(rows), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	called := false
	if err := e.db.View(ctx, haven.Scope{}, func(store.Tx) error { called = true; return nil }); !errors.Is(err, store.ErrNoScope) || called {
		t.Fatalf("view with no scope: err %v, ran %v", err, called)
	}
}

func testViewCannotWrite(t *testing.T, e *env) {
	p := e.tenant("t1")
	e.create(p, person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", "07700 900123"))
	rows := e.count(`SELECT COUNT(*) FROM records WHERE tenant_id = ?`, "t1")
	index := e.count(`SELECT COUNT(*) FROM blind_index WHERE tenant_id = ?`, "t1")
	entries := e.count(`SELECT COUNT(*) FROM audit_entries WHERE tenant_id = ?`, "t1")

	attempts := map[string]func(tx store.Tx) error{
		"insert": func(tx store.Tx) error {
			return tx.Insert(store.Row{Kind: haven.KindCondition, ID: "c9", PersonID: "p1", Version: 1, Sealed: []byte("x"), Updated: time.Now()})
		},
		"replace": func(tx store.Tx) error {
			r, err := tx.Get(haven.KindPerson, "p1")
			if err != nil {
				return err
			}
			r.Version++
			return tx.Replace(r)
		},
		"delete":    func(tx store.Tx) error { return tx.Delete(haven.KindPerson, "p1") },
		"erase":     func(tx store.Tx) error { return tx.ErasePerson("p1") },
		"set index": func(tx store.Tx) error { return tx.SetIndex(haven.KindPerson, "p1", "p1", nil) },
		"audit": func(tx store.Tx) error {
			err := tx.AppendAudit(audit.Entry{Actor: "thief", Action: "read", Outcome: "ok"})
			return err
		},
	}
	for name, write := range attempts {
		var werr error
		err := e.db.View(ctx, haven.ScopeOf(p), func(tx store.Tx) error {
			werr = write(tx)
			return nil // even if the unit ignores the error, nothing is kept
		})
		if err != nil {
			t.Fatalf("%s: view failed: %v", name, err)
		}
		if werr == nil {
			t.Errorf("%s inside a read-only view succeeded", name)
		}
	}
	if got := e.count(`SELECT COUNT(*) FROM records WHERE tenant_id = ?`, "t1"); got != rows {
		t.Errorf("records: %d before the views, %d after", rows, got)
	}
	if got := e.count(`SELECT COUNT(*) FROM blind_index WHERE tenant_id = ?`, "t1"); got != index {
		t.Errorf("index entries: %d before the views, %d after", index, got)
	}
	if got := e.count(`SELECT COUNT(*) FROM audit_entries WHERE tenant_id = ?`, "t1"); got != entries {
		t.Errorf("audit entries: %d before the views, %d after", entries, got)
	}
	if rep := e.verify(); !rep.OK() {
		t.Fatalf("audit log after the views: %+v", rep)
	}
}

// testViewBurst starts many more views at once than the store has
// connections, each running queries no view has run before. A view holds
// its connection while it works, so it must never wait for a second one:
// once every connection was held by a view waiting to prepare a statement
// on another, the store stopped answering reads for good.
func testViewBurst(t *testing.T, e *env) {
	p := e.tenant("t1")
	const views = 48
	var entered atomic.Int64
	errs := make(chan error, views)
	for range views {
		go func() {
			errs <- e.db.View(ctx, haven.ScopeOf(p), func(tx store.Tx) error {
				// Hold this connection until no more views are getting one,
				// so that every connection is held when the queries start.
				for n := entered.Add(1); ; {
					time.Sleep(50 * time.Millisecond)
					if now := entered.Load(); now == n {
						break
					} else {
						n = now
					}
				}
				if _, err := tx.Get(haven.KindPerson, "nobody"); !errors.Is(err, haven.ErrNotFound) {
					return fmt.Errorf("get: %w", err)
				}
				if _, err := tx.PersonKey("nobody"); !errors.Is(err, haven.ErrNotFound) {
					return fmt.Errorf("person key: %w", err)
				}
				if _, err := tx.ListKind(haven.KindPerson, "", 10); err != nil {
					return fmt.Errorf("list: %w", err)
				}
				_, err := tx.AuditEntries(store.AuditQuery{Limit: 10})
				return err
			})
		}()
	}
	// The deadline only tells a deadlock from slowness; no timing is judged.
	deadline := time.After(2 * time.Minute)
	for range views {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatalf("view: %v", err)
			}
		case <-deadline:
			t.Fatalf("views deadlocked: %d of %d got a connection and none finished in 2 minutes", entered.Load(), views)
		}
	}
}

// testSharedReads checks what sharing one read-only transaction among a
// request's views must never change: a request reads what it wrote, a view
// of another tenant is confined to that tenant, views nest, and a failed
// view leaves none in doubt. Where the store shares (SharesReads), it also
// shows that the views do share: they keep one snapshot until the
// request's first write.
func testSharedReads(t *testing.T, e *env) {
	a, b := e.tenant("ta"), e.tenant("tb")
	e.create(a, person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", "07700 900123"))
	rctx, reads := store.ShareReads(ctx)
	defer reads.End()
	// seen reads a person in a view that succeeds whether or not it finds
	// them (a failed view would end the sharing).
	seen := func(sc haven.Principal, id string) bool {
		found := false
		err := e.db.View(rctx, haven.ScopeOf(sc), func(tx store.Tx) error {
			_, err := tx.Get(haven.KindPerson, id)
			if errors.Is(err, haven.ErrNotFound) {
				return nil
			}
			found = err == nil
			return err
		})
		if err != nil {
			t.Fatalf("shared view of %s: %v", id, err)
		}
		return found
	}
	if !seen(a, "p1") {
		t.Fatal("shared view did not find p1")
	}
	// Someone else writes while the request is reading.
	e.create(a, person("p2", "9434765870", "Grace", "Hopper", "1906-12-09", "07700 900124"))
	switch saw := seen(a, "p2"); {
	case e.db.SharesReads() && saw:
		t.Fatal("a later view of the request saw a commit made after its first began: the views did not share")
	case !e.db.SharesReads() && !saw:
		t.Fatal("an unshared view missed a committed person")
	}
	// Another tenant's view is its own and confined to that tenant.
	err := e.db.View(rctx, haven.ScopeOf(b), func(tx store.Tx) error {
		if tx.Tenant() != "tb" {
			t.Errorf("tenant B's view under sharing reports tenant %q", tx.Tenant())
		}
		_, err := tx.Get(haven.KindPerson, "p1")
		if !errors.Is(err, haven.ErrNotFound) {
			t.Errorf("tenant B's view under tenant A's sharing read A's person: %v", err)
		}
		_, err = tx.Get(haven.KindPerson, "p2")
		if !errors.Is(err, haven.ErrNotFound) {
			t.Errorf("tenant B's view under tenant A's sharing read A's person: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A view inside a view runs (in a transaction of its own).
	err = e.db.View(rctx, haven.ScopeOf(a), func(store.Tx) error {
		if !seen(a, "p1") {
			return errors.New("nested view did not find p1")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("nested view: %v", err)
	}
	// The request's own write ends the sharing: it reads what it wrote,
	// and what others committed before.
	if _, err := e.svc.Create(rctx, a, person("p3", "9434765838", "Mary", "Somerville", "1980-12-26", "07700 900125")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"p2", "p3"} {
		if !seen(a, id) {
			t.Fatalf("after the request's write, its view did not find %s", id)
		}
	}
	// A failed view does not leave its transaction to the next.
	boom := errors.New("unit failed")
	rctx2, reads2 := store.ShareReads(ctx)
	defer reads2.End()
	if err := e.db.View(rctx2, haven.ScopeOf(a), func(store.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("failed view returned %v", err)
	}
	if err := e.db.View(rctx2, haven.ScopeOf(a), func(tx store.Tx) error { _, err := tx.Get(haven.KindPerson, "p3"); return err }); err != nil {
		t.Fatalf("view after a failed one: %v", err)
	}
	reads2.End()
	if err := e.db.View(rctx2, haven.ScopeOf(a), func(tx store.Tx) error { _, err := tx.Get(haven.KindPerson, "p3"); return err }); err != nil {
		t.Fatalf("view after the sharing ended: %v", err)
	}
}

// testStopsWhenCancelled: statements run under a context that cannot end
// (the driver would otherwise watch each one with a goroutine), so the
// store itself must stop a unit of work whose caller has gone away, at its
// next statement: in a view and in a batch. (What the read cache answers
// runs no statement.)
func testStopsWhenCancelled(t *testing.T, e *env) {
	p := e.tenant("t1")
	sc := haven.ScopeOf(p)
	e.create(p, person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", ""))
	for name, run := range map[string]func(context.Context, haven.Scope, func(store.Tx) error) error{"View": e.db.View, "Update": e.db.Update} {
		c, cancel := context.WithCancel(ctx)
		var before, after error
		err := run(c, sc, func(tx store.Tx) error {
			_, before = tx.Get(haven.KindPerson, "p1")
			cancel()
			// An id not read before: the read cache cannot answer it.
			_, after = tx.Get(haven.KindPerson, "p2")
			return after
		})
		if before != nil {
			t.Fatalf("%s: read before cancelling: %v", name, before)
		}
		if !errors.Is(after, context.Canceled) || !errors.Is(err, context.Canceled) {
			t.Errorf("%s: a read after the caller went away returned %v (unit: %v), want context.Canceled", name, after, err)
		}
	}
}
