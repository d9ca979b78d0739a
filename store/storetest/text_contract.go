package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/store"
)

// testNonTextKeys: a key that is not UTF-8, or holds a NUL, names nothing
// on either store: every read answers as for a key that does not exist
// (PostgreSQL would otherwise refuse the string, and the caller see a
// failure of the store), and a write of such a value is refused as invalid
// input, on SQLite too, which would otherwise keep it.
func testNonTextKeys(t *testing.T, e *env) {
	e.tenant("t1")
	sc := haven.ScopeOf(haven.SystemPrincipal("t1", "test"))
	// What reading an ordinary missing key gives, to compare with.
	answers := func(key string) string {
		var out string
		err := e.db.View(ctx, sc, func(tx store.Tx) error {
			_, err := tx.Get(haven.KindNote, key)
			out += fmt.Sprintf("get: %v; ", errors.Is(err, haven.ErrNotFound))
			rows, err := tx.History(haven.KindNote, key, 10)
			out += fmt.Sprintf("history: %d %v; ", len(rows), errors.Is(err, haven.ErrNotFound))
			many, err := tx.GetMany([]store.RecordKey{{Kind: haven.KindNote, ID: key}})
			out += fmt.Sprintf("get many: %d %v; ", len(many), err)
			_, err = tx.PersonKey(key)
			out += fmt.Sprintf("person key: %v; ", errors.Is(err, haven.ErrNotFound))
			rows, err = tx.ListPerson(key)
			out += fmt.Sprintf("list: %d %v; ", len(rows), err)
			entries, err := tx.AuditEntries(store.AuditQuery{PersonID: key})
			out += fmt.Sprintf("by person: %d %v; ", len(entries), err)
			entries, err = tx.AuditEntries(store.AuditQuery{Actors: []string{key}})
			out += fmt.Sprintf("by actor: %d %v", len(entries), err)
			return nil
		})
		if err != nil {
			t.Fatalf("view with key %q: %v", key, err)
		}
		return out
	}
	want := answers("no-such-key")
	for _, key := range []string{"a\x00b", "\xff", "n1\xc3", "\x00"} {
		if got := answers(key); got != want {
			t.Errorf("key %q:\n got  %s\n want %s", key, got, want)
		}
	}
	// A tenant that is not text is no tenant.
	bad := haven.ScopeOf(haven.SystemPrincipal("t1\x00", "test"))
	err := e.db.View(ctx, bad, func(tx store.Tx) error { _, err := tx.TenantKeys(); return err })
	if !errors.Is(err, haven.ErrNotFound) {
		t.Errorf("tenant keys of a tenant that is not text: %v", err)
	}
	// A write of such a value is refused as invalid, and writes nothing.
	before := e.count(`SELECT COUNT(*) FROM records WHERE tenant_id = 't1'`)
	for _, id := range []string{"a\x00b", "\xff"} {
		err := e.db.Update(ctx, sc, func(tx store.Tx) error {
			return tx.Insert(store.Row{Kind: haven.KindNote, ID: id, PersonID: "px", Version: 1, Sealed: []byte("x"), Updated: time.Now()})
		})
		var invalid *haven.InvalidError
		if !errors.As(err, &invalid) {
			t.Errorf("insert with id %q: %v, want invalid input", id, err)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM records WHERE tenant_id = 't1'`); n != before {
		t.Errorf("%d records kept", n-before)
	}
	err = e.db.Update(ctx, bad, func(tx store.Tx) error { return nil })
	if !errors.Is(err, haven.ErrNotFound) {
		t.Errorf("a write in a tenant that is not text: %v", err)
	}
}

// testEraseFindsPersonRecord: erasing a person removes the person's own
// record and its kept versions by kind and id, even where the row's
// person_id does not name the person (the care layer writes it so, but the
// store must not rely on that), as well as every row filed under them.
func testEraseFindsPersonRecord(t *testing.T, e *env) {
	e.tenant("t1")
	sc := haven.ScopeOf(haven.SystemPrincipal("t1", "test"))
	row := func(kind haven.Kind, id, person string, v int64) store.Row {
		return store.Row{Kind: kind, ID: id, PersonID: person, Version: v, Sealed: []byte(fmt.Sprint("v", v)), Updated: time.Now()}
	}
	err := e.db.Update(ctx, sc, func(tx store.Tx) error {
		for _, r := range []store.Row{row(haven.KindPerson, "p9", "", 1), row(haven.KindNote, "n9", "p9", 1), row(haven.KindNote, "other", "p8", 1)} {
			if err := tx.Insert(r); err != nil {
				return err
			}
		}
		if err := tx.Replace(row(haven.KindPerson, "p9", "", 2)); err != nil {
			return err
		}
		return tx.ErasePerson("p9")
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM records WHERE tenant_id = 't1' AND id IN ('p9', 'n9')`); n != 0 {
		t.Errorf("%d of the person's records left", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM record_versions WHERE tenant_id = 't1' AND id IN ('p9', 'n9')`); n != 0 {
		t.Errorf("%d of the person's kept versions left", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM records WHERE tenant_id = 't1' AND id = 'other'`); n != 1 {
		t.Errorf("another person's record: %d left, want 1", n)
	}
}
