package storetest

import (
	"fmt"
	"testing"

	"github.com/havencare/haven"
	"github.com/havencare/haven/store"
)

// testSetIndexEntries: a record's blind-index entries are all written
// whatever their number (more than one statement holds, and repeated
// entries, such as a given name written twice), and setting them again
// replaces them.
func testSetIndexEntries(t *testing.T, e *env) {
	e.tenant("t1")
	sc := haven.ScopeOf(haven.SystemPrincipal("t1", "test"))
	digest := func(i int) []byte { return []byte(fmt.Sprintf("digest-%03d", i)) }
	var many []store.IndexEntry
	for i := range 70 {
		many = append(many, store.IndexEntry{Field: "f", Digest: digest(i)})
	}
	many = append(many, many[3], many[40]) // written twice
	set := func(entries []store.IndexEntry) {
		t.Helper()
		if err := e.db.Update(ctx, sc, func(tx store.Tx) error { return tx.SetIndex(haven.KindNote, "n1", "px", entries) }); err != nil {
			t.Fatal(err)
		}
	}
	found := func(i int) bool {
		t.Helper()
		var hits []store.IndexHit
		err := e.db.Update(ctx, sc, func(tx store.Tx) error {
			var err error
			hits, err = tx.Lookup("f", digest(i), 10)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return len(hits) == 1 && hits[0].ID == "n1" && hits[0].PersonID == "px"
	}
	set(many)
	for i := range 70 {
		if !found(i) {
			t.Fatalf("entry %d of 70 not found", i)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM blind_index WHERE tenant_id = 't1' AND record_id = 'n1'`); n != 70 {
		t.Fatalf("%d index rows, want 70", n)
	}
	set(many[:2])
	if !found(1) || found(2) || found(69) {
		t.Fatal("setting the entries again did not replace them")
	}
	set(nil)
	if n := e.count(`SELECT COUNT(*) FROM blind_index WHERE tenant_id = 't1' AND record_id = 'n1'`); n != 0 {
		t.Fatalf("%d index rows left after setting none", n)
	}
}

// testIndexed: Indexed finds one record's entry by field, digest, kind and
// id, and nothing that differs in any of them, in another tenant, or under
// a key that is not text.
func testIndexed(t *testing.T, e *env) {
	e.tenant("t1")
	e.tenant("t2")
	in := func(tenant string) haven.Scope { return haven.ScopeOf(haven.SystemPrincipal(tenant, "test")) }
	d := []byte("digest-common")
	if err := e.db.Update(ctx, in("t1"), func(tx store.Tx) error {
		if err := tx.SetIndex(haven.KindPerson, "p1", "p1", []store.IndexEntry{{Field: "family", Digest: d}}); err != nil {
			return err
		}
		return tx.SetIndex(haven.KindNote, "n1", "p1", []store.IndexEntry{{Field: "given", Digest: d}})
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tenant, field, digest string
		kind                  haven.Kind
		id                    string
		want                  bool
	}{
		{"t1", "family", "digest-common", haven.KindPerson, "p1", true},
		{"t1", "given", "digest-common", haven.KindNote, "n1", true},
		{"t1", "given", "digest-common", haven.KindPerson, "p1", false},
		{"t1", "family", "digest-other", haven.KindPerson, "p1", false},
		{"t1", "family", "digest-common", haven.KindNote, "p1", false},
		{"t1", "family", "digest-common", haven.KindPerson, "p2", false},
		{"t2", "family", "digest-common", haven.KindPerson, "p1", false},
		{"t1", "family", "digest-common", haven.KindPerson, "p1\x00", false},
	} {
		var got bool
		err := e.db.View(ctx, in(c.tenant), func(tx store.Tx) error {
			var err error
			got, err = tx.Indexed(c.field, []byte(c.digest), c.kind, c.id)
			return err
		})
		if err != nil || got != c.want {
			t.Errorf("%+v: got %v, %v", c, got, err)
		}
	}
}
