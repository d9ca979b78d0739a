package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/sqlstore"
)

// The store keeps what views read until a write changes the tenant's epoch
// (store/sqlstore/cache.go). These tests warm that cache with a view, make
// each kind of write, and check that the next view sees it: a revoked token
// (a deleted row), a changed record, an erased person, a moved index entry,
// new tenant keys. A stale answer here would be a revocation that did not
// take or an erasure that did not happen.

// reader reads through views of one tenant of one store.
type reader struct {
	t  testing.TB
	db *sqlstore.DB
	sc haven.Scope
}

func (r reader) view(fn func(tx store.Tx) error) {
	r.t.Helper()
	if err := r.db.View(context.Background(), r.sc, fn); err != nil {
		r.t.Fatal(err)
	}
}

func (r reader) update(fn func(tx store.Tx) error) {
	r.t.Helper()
	if err := r.db.Update(context.Background(), r.sc, fn); err != nil {
		r.t.Fatal(err)
	}
}

// row returns the sealed bytes of kind/id, or nil if there is none.
func (r reader) row(kind haven.Kind, id string) []byte {
	r.t.Helper()
	var out []byte
	r.view(func(tx store.Tx) error {
		row, err := tx.Get(kind, id)
		if errors.Is(err, haven.ErrNotFound) {
			return nil
		}
		out = row.Sealed
		return err
	})
	return out
}

func (r reader) personKey(id string) []byte {
	r.t.Helper()
	var out []byte
	r.view(func(tx store.Tx) error {
		w, err := tx.PersonKey(id)
		if errors.Is(err, haven.ErrNotFound) {
			return nil
		}
		out = w
		return err
	})
	return out
}

func (r reader) lookup(field string, digest []byte) []store.IndexHit {
	r.t.Helper()
	var out []store.IndexHit
	r.view(func(tx store.Tx) error {
		var err error
		out, err = tx.Lookup(field, digest, 10)
		return err
	})
	return out
}

func (r reader) keys() store.TenantKeys {
	r.t.Helper()
	var out store.TenantKeys
	r.view(func(tx store.Tx) error {
		var err error
		out, err = tx.TenantKeys()
		return err
	})
	return out
}

func sealedRow(kind haven.Kind, id string, v int64, body string) store.Row {
	return store.Row{Kind: kind, ID: id, PersonID: "px", Version: v, Sealed: []byte(body), Updated: time.Now()}
}

// CacheSeesWrites checks that views of reads (a store instance) see every
// write made through writes, which may be the same instance or another
// process's on the same database. Both must hold tenant t1.
func CacheSeesWrites(t *testing.T, reads, writes *sqlstore.DB) {
	sc := haven.ScopeOf(haven.SystemPrincipal("t1", "test"))
	r := reader{t: t, db: reads, sc: sc}
	w := reader{t: t, db: writes, sc: sc}
	token := haven.Kind("token")
	check := func(what string, got, want []byte) {
		t.Helper()
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: a view read %q, want %q", what, got, want)
		}
	}

	// Not there, then inserted: a cached "not found" must not hide it.
	check("before insert", r.row(token, "tk1"), nil)
	w.update(func(tx store.Tx) error { return tx.Insert(sealedRow(token, "tk1", 1, "token v1")) })
	check("after insert", r.row(token, "tk1"), []byte("token v1"))
	check("again", r.row(token, "tk1"), []byte("token v1"))

	// Replaced, then deleted (a revoked token).
	w.update(func(tx store.Tx) error { return tx.Replace(sealedRow(token, "tk1", 2, "token v2")) })
	check("after replace", r.row(token, "tk1"), []byte("token v2"))
	w.update(func(tx store.Tx) error { return tx.Delete(token, "tk1") })
	check("after delete", r.row(token, "tk1"), nil)

	// A record kept with history, replaced.
	w.update(func(tx store.Tx) error { return tx.Insert(sealedRow(haven.KindNote, "n1", 1, "note v1")) })
	check("note", r.row(haven.KindNote, "n1"), []byte("note v1"))
	w.update(func(tx store.Tx) error { return tx.Replace(sealedRow(haven.KindNote, "n1", 2, "note v2")) })
	check("note after replace", r.row(haven.KindNote, "n1"), []byte("note v2"))

	// Index entries: added, moved, and a canary flag taken away.
	canary := []byte("digest-of-px-canary")
	check("no key yet", r.personKey("px"), nil)
	if hits := r.lookup("canary", canary); len(hits) != 0 {
		t.Fatalf("lookup before any entry: %v", hits)
	}
	w.update(func(tx store.Tx) error {
		if err := tx.PutPersonKey("px", []byte("wrapped px")); err != nil {
			return err
		}
		return tx.SetIndex(haven.KindPerson, "px", "px", []store.IndexEntry{{Field: "canary", Digest: canary}})
	})
	if hits := r.lookup("canary", canary); len(hits) != 1 || hits[0].PersonID != "px" {
		t.Fatalf("lookup after the entry was set: %v", hits)
	}
	check("person key", r.personKey("px"), []byte("wrapped px"))
	// Wrapped again (key rotation re-wraps every person's key).
	w.update(func(tx store.Tx) error { return tx.PutPersonKey("px", []byte("rewrapped px")) })
	check("re-wrapped person key", r.personKey("px"), []byte("rewrapped px"))
	w.update(func(tx store.Tx) error { return tx.SetIndex(haven.KindPerson, "px", "px", nil) })
	if hits := r.lookup("canary", canary); len(hits) != 0 {
		t.Fatalf("lookup after the entry was removed: %v", hits)
	}

	// Erasure: the person's key and rows go, and no view may still have them.
	w.update(func(tx store.Tx) error { return tx.Insert(sealedRow(haven.KindCondition, "c1", 1, "condition")) })
	check("condition", r.row(haven.KindCondition, "c1"), []byte("condition"))
	w.update(func(tx store.Tx) error { return tx.ErasePerson("px") })
	check("erased key", r.personKey("px"), nil)
	check("erased condition", r.row(haven.KindCondition, "c1"), nil)

	// New tenant keys (rotation).
	before := r.keys()
	w.update(func(tx store.Tx) error {
		return tx.SetTenantKeys(store.TenantKeys{Data: []byte("rotated data"), Index: before.Index})
	})
	check("rotated keys", r.keys().Data, []byte("rotated data"))

	// A write that is rolled back changes nothing, and leaves no trace.
	boom := errors.New("refused")
	err := writes.Update(context.Background(), sc, func(tx store.Tx) error {
		if err := tx.Insert(sealedRow(token, "tk2", 1, "never")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("rolled-back update returned %v", err)
	}
	check("rolled back", r.row(token, "tk2"), nil)
}

func testCacheSeesWrites(t *testing.T, e *env) {
	if err := e.db.CreateTenant(ctx, haven.Tenant{ID: "t1", Name: "T1"}, store.TenantKeys{Data: []byte("d"), Index: []byte("i")}); err != nil {
		t.Fatal(err)
	}
	CacheSeesWrites(t, e.db, e.db)
}

// testCacheConfinedToTenant: a tenant's cached rows are never another's,
// even under the same ids.
func testCacheConfinedToTenant(t *testing.T, e *env) {
	for _, id := range []string{"ta", "tb"} {
		if err := e.db.CreateTenant(ctx, haven.Tenant{ID: id, Name: id}, store.TenantKeys{Data: []byte(id), Index: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
	a := reader{t: t, db: e.db, sc: haven.ScopeOf(haven.SystemPrincipal("ta", "test"))}
	b := reader{t: t, db: e.db, sc: haven.ScopeOf(haven.SystemPrincipal("tb", "test"))}
	a.update(func(tx store.Tx) error { return tx.Insert(sealedRow(haven.KindNote, "n1", 1, "A's note")) })
	if got := a.row(haven.KindNote, "n1"); string(got) != "A's note" {
		t.Fatalf("tenant A read %q", got)
	}
	if got := b.row(haven.KindNote, "n1"); got != nil {
		t.Fatalf("tenant B read tenant A's note through the cache: %q", got)
	}
	if got := string(b.keys().Data); got != "tb" {
		t.Fatalf("tenant B's keys read as %q", got)
	}
	for i := range 3 {
		// Epochs move apart; the answers must not.
		b.update(func(tx store.Tx) error { return tx.Insert(sealedRow(haven.KindNote, fmt.Sprint("b", i), 1, "B")) })
		if got := b.row(haven.KindNote, "n1"); got != nil {
			t.Fatalf("tenant B read tenant A's note: %q", got)
		}
	}
}
