package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/sqlstore"
)

// The kept versions of records (vread and _history). These tests write
// through the record service where they can, so that the rows are real
// sealed records, and through store.Tx where they need what the service
// does not offer (a write that is rolled back, an insert that ignores its
// error).

// in runs fn in one transaction of p's tenant and fails the test on error.
func (e *env) in(p haven.Principal, fn func(tx store.Tx) error) {
	e.t.Helper()
	if err := e.db.Update(ctx, haven.ScopeOf(p), fn); err != nil {
		e.t.Fatal(err)
	}
}

// history reads a record's history in p's tenant; err is the store's.
func (e *env) history(p haven.Principal, kind haven.Kind, id string, limit int) (rows []store.Row, err error) {
	e.t.Helper()
	e.in(p, func(tx store.Tx) error {
		rows, err = tx.History(kind, id, limit)
		return nil
	})
	return rows, err
}

func (e *env) version(p haven.Principal, kind haven.Kind, id string, v int64) (row store.Row, err error) {
	e.t.Helper()
	e.in(p, func(tx store.Tx) error {
		row, err = tx.Version(kind, id, v)
		return nil
	})
	return row, err
}

// versionsOf lists the versions of rows, newest first as History gives
// them, with "x" marking a tombstone: "3x 2 1".
func versionsOf(rows []store.Row) string {
	s := ""
	for i, r := range rows {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprint(r.Version)
		if r.Deleted {
			s += "x"
		}
	}
	return s
}

// openRow opens a kept row the way the record service opens a current one:
// under the person's key (or the tenant's, for tenant-level records) with
// the binding of the version the row claims. It is how a test shows that a
// kept ciphertext is the one written at that version, not a copy re-sealed
// or moved.
func (e *env) openRow(p haven.Principal, r store.Row, bindVersion int64) ([]byte, error) {
	e.t.Helper()
	var keys store.TenantKeys
	var wrapped []byte
	e.in(p, func(tx store.Tx) error {
		var err error
		if keys, err = tx.TenantKeys(); err != nil {
			return err
		}
		if r.PersonID != "" {
			wrapped, err = tx.PersonKey(r.PersonID)
		}
		return err
	})
	tk, err := seal.NewKeyring(e.kms).Tenant(p.TenantID, seal.WrappedTenantKeys{Data: keys.Data, Index: keys.Index})
	if err != nil {
		e.t.Fatal(err)
	}
	b := seal.Binding{Tenant: p.TenantID, Kind: string(r.Kind), ID: r.ID, Version: bindVersion}
	if r.PersonID == "" {
		return tk.Open(b, r.Sealed)
	}
	pk, err := tk.Person(r.PersonID, wrapped)
	if err != nil {
		e.t.Fatal(err)
	}
	return pk.Open(b, r.Sealed)
}

// familyAt opens a kept person row and returns the family name it holds.
func (e *env) familyAt(p haven.Principal, r store.Row) string {
	e.t.Helper()
	plain, err := e.openRow(p, r, r.Version)
	if err != nil {
		e.t.Fatalf("version %d does not open: %v", r.Version, err)
	}
	var got haven.Person
	if err := json.Unmarshal(plain, &got); err != nil {
		e.t.Fatal(err)
	}
	return got.Family
}

// testHistoryVersions: two updates leave three versions, each the exact
// ciphertext written at its version, still bound to it, and still readable
// after key rotation (which re-wraps keys and re-seals no rows).
func testHistoryVersions(t *testing.T, e *env) {
	p := e.tenant("t1")
	ada := person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", "")
	e.create(p, ada)
	var sealedV1 []byte
	e.in(p, func(tx store.Tx) error {
		r, err := tx.Get(haven.KindPerson, "p1")
		sealedV1 = r.Sealed
		return err
	})
	for i, family := range []string{"King", "Byron"} {
		ada.Family = family
		if _, err := e.svc.Update(ctx, p, ada, int64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := e.history(p, haven.KindPerson, "p1", 0)
	if err != nil || versionsOf(rows) != "3 2 1" {
		t.Fatalf("history after two updates: %q %v, want 3 2 1", versionsOf(rows), err)
	}
	if string(rows[2].Sealed) != string(sealedV1) {
		t.Error("kept version 1 is not the ciphertext written at version 1")
	}
	for i, want := range []string{"Byron", "King", "Lovelace"} {
		r := rows[i]
		if r.Kind != haven.KindPerson || r.ID != "p1" || r.PersonID != "p1" || r.Updated.IsZero() || r.Deleted {
			t.Errorf("history row %d: %+v", i, r)
		}
		if got := e.familyAt(p, r); got != want {
			t.Errorf("version %d holds %q, want %q", r.Version, got, want)
		}
		// The binding was kept: a kept ciphertext does not open as any
		// other version, so history cannot be replayed as the present.
		if _, err := e.openRow(p, r, r.Version+1); err == nil {
			t.Errorf("version %d opened as version %d", r.Version, r.Version+1)
		}
		v, err := e.version(p, haven.KindPerson, "p1", r.Version)
		if err != nil || v.Version != r.Version || string(v.Sealed) != string(r.Sealed) || !v.Updated.Equal(r.Updated) {
			t.Errorf("Version(%d) = %+v %v, want the history row", r.Version, v, err)
		}
	}
	for _, v := range []int64{0, -1, 4, 99} {
		if _, err := e.version(p, haven.KindPerson, "p1", v); !errors.Is(err, haven.ErrNotFound) {
			t.Errorf("Version(%d): got %v, want not found", v, err)
		}
	}
	if _, err := e.history(p, haven.KindPerson, "nobody", 0); !errors.Is(err, haven.ErrNotFound) {
		t.Errorf("history of an unknown id: %v", err)
	}
	if _, err := e.history(p, haven.KindCondition, "p1", 0); !errors.Is(err, haven.ErrNotFound) {
		t.Errorf("history under the wrong kind: %v", err)
	}

	// A stale update keeps nothing, and neither does a write whose unit of
	// work fails: the kept copy is part of the same transaction.
	ada.Family = "Stale"
	if _, err := e.svc.Update(ctx, p, ada, 1); !errors.Is(err, haven.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	boom := errors.New("unit of work failed")
	err = e.db.Update(ctx, haven.ScopeOf(p), func(tx store.Tx) error {
		r, err := tx.Get(haven.KindPerson, "p1")
		if err != nil {
			return err
		}
		r.Version++
		if err := tx.Replace(r); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failing unit: %v", err)
	}
	if rows, _ := e.history(p, haven.KindPerson, "p1", 0); versionsOf(rows) != "3 2 1" {
		t.Errorf("history after a conflict and a rolled-back replace: %q, want 3 2 1", versionsOf(rows))
	}

	// Key rotation re-wraps keys; old keys stay in the keysets, so every
	// kept version still opens.
	if err := e.kms.Rotate(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RotateTenantKeys(ctx, nil); err != nil {
		t.Fatal(err)
	}
	rows, _ = e.history(p, haven.KindPerson, "p1", 0)
	for i, want := range []string{"Byron", "King", "Lovelace"} {
		if got := e.familyAt(p, rows[i]); got != want {
			t.Errorf("after rotation, version %d holds %q, want %q", rows[i].Version, got, want)
		}
	}
}

// testHistoryTombstone: deleting a record keeps its final version and adds
// a tombstone one version on.
func testHistoryTombstone(t *testing.T, e *env) {
	p := e.tenant("t1")
	e.create(p, person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", ""))
	c := condition("c1", "p1")
	e.create(p, c)
	c.Status = "resolved"
	if _, err := e.svc.Update(ctx, p, c, 1); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	if err := e.svc.Delete(ctx, p, haven.KindCondition, "c1"); err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(time.Second)
	rows, err := e.history(p, haven.KindCondition, "c1", 0)
	if err != nil || versionsOf(rows) != "3x 2 1" {
		t.Fatalf("history after delete: %q %v, want 3x 2 1", versionsOf(rows), err)
	}
	ts := rows[0]
	if len(ts.Sealed) != 0 || ts.PersonID != "p1" || ts.Updated.Before(before) || ts.Updated.After(after) || ts.Updated.Location() != time.UTC {
		t.Errorf("tombstone: %+v", ts)
	}
	if v, err := e.version(p, haven.KindCondition, "c1", 3); err != nil || !v.Deleted || len(v.Sealed) != 0 {
		t.Errorf("Version(3) = %+v %v, want the tombstone", v, err)
	}
	// The final version is the one the delete removed, still sealed to it.
	plain, err := e.openRow(p, rows[1], 2)
	if err != nil {
		t.Fatalf("final version does not open: %v", err)
	}
	var got haven.Condition
	if err := json.Unmarshal(plain, &got); err != nil || got.Status != "resolved" {
		t.Errorf("final version: %+v %v", got, err)
	}
	if _, _, err := e.svc.Get(ctx, p, haven.KindCondition, "c1"); !errors.Is(err, haven.ErrNotFound) {
		t.Errorf("deleted record readable: %v", err)
	}
	// Neither a second delete nor a replace brings it back or writes
	// another tombstone.
	e.in(p, func(tx store.Tx) error {
		if err := tx.Delete(haven.KindCondition, "c1"); !errors.Is(err, haven.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		err := tx.Replace(store.Row{Kind: haven.KindCondition, ID: "c1", PersonID: "p1", Version: 4, Sealed: []byte("x"), Updated: time.Now()})
		if !errors.Is(err, haven.ErrNotFound) {
			t.Errorf("replace of a deleted record: %v", err)
		}
		return nil
	})
	if rows, _ := e.history(p, haven.KindCondition, "c1", 0); versionsOf(rows) != "3x 2 1" {
		t.Errorf("history after a second delete: %q", versionsOf(rows))
	}
	// A deleted record's index entries go with it, as before.
	if n := e.count(`SELECT COUNT(*) FROM blind_index WHERE record_id = 'c1'`); n != 0 {
		t.Errorf("%d index entries left for the deleted record", n)
	}
}

// testHistoryNoReuse: an id, once deleted, is never taken again in its
// tenant, so one id never names two records' histories. Other tenants and
// kinds without history are unaffected.
func testHistoryNoReuse(t *testing.T, e *env) {
	a := e.tenant("ta")
	b := e.tenant("tb")
	e.create(a, person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", ""))
	e.create(a, condition("c1", "p1"))
	if err := e.svc.Delete(ctx, a, haven.KindCondition, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Create(ctx, a, condition("c1", "p1")); !errors.Is(err, haven.ErrConflict) {
		t.Fatalf("create under a deleted id: got %v, want conflict", err)
	}
	// A caller that ignores the conflict and commits still leaves nothing
	// under the old id; so does one that deletes and re-inserts in one
	// transaction.
	row := store.Row{Kind: haven.KindCondition, ID: "c1", PersonID: "p1", Version: 1, Sealed: []byte("x"), Updated: time.Now()}
	e.in(a, func(tx store.Tx) error {
		if err := tx.Insert(row); !errors.Is(err, haven.ErrConflict) {
			t.Errorf("insert under a deleted id: got %v, want conflict", err)
		}
		return nil
	})
	e.in(a, func(tx store.Tx) error {
		r := row
		r.ID = "c2"
		if err := tx.Insert(r); err != nil {
			return err
		}
		if err := tx.Delete(r.Kind, r.ID); err != nil {
			return err
		}
		if err := tx.Insert(r); !errors.Is(err, haven.ErrConflict) {
			t.Errorf("insert after delete in one transaction: got %v, want conflict", err)
		}
		return nil
	})
	for _, id := range []string{"c1", "c2"} {
		if n := e.count(`SELECT COUNT(*) FROM records WHERE tenant_id = 'ta' AND id = ?`, id); n != 0 {
			t.Errorf("%s: %d rows committed under a deleted id", id, n)
		}
	}
	if rows, _ := e.history(a, haven.KindCondition, "c1", 0); versionsOf(rows) != "2x 1" {
		t.Errorf("history after refused inserts: %q, want 2x 1", versionsOf(rows))
	}
	// Ids belong to a tenant: B may use the id A deleted.
	e.create(b, person("p1", "9434765870", "Bea", "Other", "1950-05-05", ""))
	if _, err := e.svc.Create(ctx, b, condition("c1", "p1")); err != nil {
		t.Errorf("tenant B creating the id tenant A deleted: %v", err)
	}
	// Rows that are not records keep no history and may be re-inserted.
	session := haven.Kind("session")
	if store.KeepsHistory(session) || !store.KeepsHistory(haven.KindCondition) || !store.KeepsHistory(haven.ResourceKind("Encounter")) {
		t.Fatal("KeepsHistory does not follow the record kinds")
	}
	e.in(a, func(tx store.Tx) error {
		r := store.Row{Kind: session, ID: "s1", Version: 1, Sealed: []byte("x"), Updated: time.Now()}
		if err := tx.Insert(r); err != nil {
			return err
		}
		r.Version = 2
		if err := tx.Replace(r); err != nil {
			return err
		}
		if err := tx.Delete(session, "s1"); err != nil {
			return err
		}
		r.Version = 1
		return tx.Insert(r)
	})
	if n := e.count(`SELECT COUNT(*) FROM record_versions WHERE kind = 'session'`); n != 0 {
		t.Errorf("%d versions kept of a kind that keeps none", n)
	}
	if rows, err := e.history(a, session, "s1", 0); err != nil || versionsOf(rows) != "1" {
		t.Errorf("history of a row without history: %q %v, want just the current row", versionsOf(rows), err)
	}
}

// testHistoryCrossTenant is invariant 2 for kept versions: no version of
// tenant A's records, kept or current or tombstone, is reachable through
// tenant B, even by guessing ids and versions.
func testHistoryCrossTenant(t *testing.T, e *env) {
	a := e.tenant("ta")
	b := e.tenant("tb")
	ada := person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", "")
	e.create(a, ada)
	ada.Family = "King"
	if _, err := e.svc.Update(ctx, a, ada, 1); err != nil {
		t.Fatal(err)
	}
	e.create(a, condition("c1", "p1"))
	if err := e.svc.Delete(ctx, a, haven.KindCondition, "c1"); err != nil {
		t.Fatal(err)
	}
	for _, probe := range []struct {
		kind haven.Kind
		id   string
		max  int64
	}{{haven.KindPerson, "p1", 3}, {haven.KindCondition, "c1", 3}} {
		if rows, err := e.history(b, probe.kind, probe.id, 0); !errors.Is(err, haven.ErrNotFound) {
			t.Errorf("history of A's %s through B: %q %v, want not found", probe.kind, versionsOf(rows), err)
		}
		for v := int64(0); v <= probe.max; v++ {
			if r, err := e.version(b, probe.kind, probe.id, v); !errors.Is(err, haven.ErrNotFound) {
				t.Errorf("version %d of A's %s through B: %+v %v, want not found", v, probe.kind, r, err)
			}
		}
	}
	// B's own record under the same id has B's history alone, and B's
	// writes do not touch A's.
	bea := person("p1", "9434765870", "Bea", "Other", "1950-05-05", "")
	e.create(b, bea)
	bea.Family = "Changed"
	if _, err := e.svc.Update(ctx, b, bea, 1); err != nil {
		t.Fatal(err)
	}
	rows, err := e.history(b, haven.KindPerson, "p1", 0)
	if err != nil || versionsOf(rows) != "2 1" || e.familyAt(b, rows[1]) != "Other" {
		t.Errorf("B's own history: %q %v", versionsOf(rows), err)
	}
	rows, err = e.history(a, haven.KindPerson, "p1", 0)
	if err != nil || versionsOf(rows) != "2 1" || e.familyAt(a, rows[0]) != "King" || e.familyAt(a, rows[1]) != "Lovelace" {
		t.Errorf("A's history after B used the id: %q %v", versionsOf(rows), err)
	}
	// B erasing "its" p1 leaves A's versions alone.
	if err := e.svc.Erase(ctx, b, "p1"); err != nil {
		t.Fatal(err)
	}
	if rows, err := e.history(a, haven.KindPerson, "p1", 0); err != nil || versionsOf(rows) != "2 1" {
		t.Errorf("A's history after B erased the same id: %q %v", versionsOf(rows), err)
	}
	if n := e.count(`SELECT COUNT(*) FROM record_versions WHERE tenant_id = 'tb'`); n != 0 {
		t.Errorf("%d of B's versions left after B erased its only person", n)
	}
}

// testHistoryErase: erasing a person removes their kept versions and
// tombstones too, not only the current rows; deleting a tenant removes the
// tenant's. Crypto-shredding already makes them unreadable, but a right to
// erasure is not met by keeping unreadable copies on purpose.
func testHistoryErase(t *testing.T, e *env) {
	p := e.tenant("t1")
	other := e.tenant("t2")
	ada := person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", "")
	e.create(p, ada)
	ada.Family = "King"
	if _, err := e.svc.Update(ctx, p, ada, 1); err != nil {
		t.Fatal(err)
	}
	c := condition("c1", "p1")
	e.create(p, c)
	c.Status = "resolved"
	if _, err := e.svc.Update(ctx, p, c, 1); err != nil {
		t.Fatal(err)
	}
	e.create(p, condition("c2", "p1"))
	if err := e.svc.Delete(ctx, p, haven.KindCondition, "c2"); err != nil {
		t.Fatal(err)
	}
	mary := person("p2", "9434765870", "Mary", "Shelley", "1940-01-02", "")
	e.create(p, mary)
	mary.Family = "Godwin"
	if _, err := e.svc.Update(ctx, p, mary, 1); err != nil {
		t.Fatal(err)
	}
	staff := &haven.Staff{ID: "s1", Name: "Sam Carer", Role: haven.RoleCarer, Email: "sam@example.org"}
	e.create(p, staff)
	staff.Name = "Sam Senior"
	if _, err := e.svc.Update(ctx, p, staff, 1); err != nil {
		t.Fatal(err)
	}
	grace := person("p3", "4010232137", "Grace", "Hopper", "1936-12-10", "")
	e.create(other, grace)
	grace.Family = "Murray"
	if _, err := e.svc.Update(ctx, other, grace, 1); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM record_versions WHERE person_id = 'p1' OR id = 'p1'`); n != 4 {
		t.Fatalf("%d kept rows of p1 before erasure, want 4", n)
	}

	if err := e.svc.Erase(ctx, p, "p1"); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM record_versions WHERE person_id = 'p1' OR id = 'p1'`); n != 0 {
		t.Errorf("%d kept versions or tombstones of p1 after erasure", n)
	}
	for _, k := range []struct {
		kind haven.Kind
		id   string
	}{{haven.KindPerson, "p1"}, {haven.KindCondition, "c1"}, {haven.KindCondition, "c2"}} {
		if _, err := e.history(p, k.kind, k.id, 0); !errors.Is(err, haven.ErrNotFound) {
			t.Errorf("history of erased %s %s: %v", k.kind, k.id, err)
		}
		if _, err := e.version(p, k.kind, k.id, 1); !errors.Is(err, haven.ErrNotFound) {
			t.Errorf("version 1 of erased %s %s: %v", k.kind, k.id, err)
		}
	}
	// Everyone else's history is untouched.
	for _, k := range []struct {
		p    haven.Principal
		kind haven.Kind
		id   string
	}{{p, haven.KindPerson, "p2"}, {p, haven.KindStaff, "s1"}, {other, haven.KindPerson, "p3"}} {
		if rows, err := e.history(k.p, k.kind, k.id, 0); err != nil || versionsOf(rows) != "2 1" {
			t.Errorf("history of %s %s after another person's erasure: %q %v", k.kind, k.id, versionsOf(rows), err)
		}
	}

	if err := e.db.DeleteTenant(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM record_versions WHERE tenant_id = 't1'`); n != 0 {
		t.Errorf("%d kept versions of a deleted tenant", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM record_versions WHERE tenant_id = 't2'`); n != 1 {
		t.Errorf("another tenant has %d kept versions after a tenant was deleted, want 1", n)
	}
}

// testHistoryLimit: History returns the newest versions first, at most
// limit of them.
func testHistoryLimit(t *testing.T, e *env) {
	p := e.tenant("t1")
	const n = 6
	e.in(p, func(tx store.Tx) error {
		r := store.Row{Kind: haven.KindNote, ID: "n1", PersonID: "px", Version: 1, Sealed: []byte("v1"), Updated: time.Now()}
		if err := tx.Insert(r); err != nil {
			return err
		}
		for v := int64(2); v <= n; v++ {
			r.Version, r.Sealed = v, fmt.Appendf(nil, "v%d", v)
			if err := tx.Replace(r); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		limit int
		want  string
	}{{1, "6"}, {2, "6 5"}, {n, "6 5 4 3 2 1"}, {n + 10, "6 5 4 3 2 1"}, {0, "6 5 4 3 2 1"}, {-1, "6 5 4 3 2 1"}} {
		rows, err := e.history(p, haven.KindNote, "n1", tc.limit)
		if err != nil || versionsOf(rows) != tc.want {
			t.Errorf("History(limit %d) = %q %v, want %q", tc.limit, versionsOf(rows), err, tc.want)
			continue
		}
		for _, r := range rows {
			if string(r.Sealed) != fmt.Sprintf("v%d", r.Version) {
				t.Errorf("History(limit %d): version %d holds %q", tc.limit, r.Version, r.Sealed)
			}
		}
	}
	// The tombstone counts as the newest version.
	e.in(p, func(tx store.Tx) error { return tx.Delete(haven.KindNote, "n1") })
	if rows, err := e.history(p, haven.KindNote, "n1", 2); err != nil || versionsOf(rows) != "7x 6" {
		t.Errorf("History(limit 2) after delete = %q %v, want 7x 6", versionsOf(rows), err)
	}
}

// Upgrade checks that a database created at schema version 1, before
// versions were kept, moves to the newest schema when opened: its records
// survive and from then on keep their history. openV1 opens a store on a
// database with only the first migration of d; openNew opens the same
// database the ordinary way.
func Upgrade(t *testing.T, d *sqlstore.Dialect, openV1, openNew func(t testing.TB) *sqlstore.DB) {
	old := openV1(t)
	if v, err := old.SchemaVersion(ctx); err != nil || v != 1 {
		t.Fatalf("old database at schema version %d (%v), want 1", v, err)
	}
	// Written with SQL as version 1 would have written it: the new
	// CreateTenant sets an epoch and the new Insert looks in a table, both
	// of which version 1 has not got.
	raw := old.SQL()
	if _, err := raw.ExecContext(ctx, d.Rebind(`INSERT INTO tenants (id, name, ods_code, created_us, data_key, index_key) VALUES ('t1', 'T1', '', 1, ?, ?)`), []byte("d"), []byte("i")); err != nil {
		t.Fatal(err)
	}
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.EnterTenant != nil {
		if err := d.EnterTenant(ctx, tx, "t1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO records (tenant_id, kind, id, person_id, version, sealed, updated_us) VALUES ('t1', 'note', 'n1', 'px', 1, ?, 1)`), []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	check := func(s *sqlstore.DB, want string) {
		t.Helper()
		if v, err := s.SchemaVersion(ctx); err != nil || v != len(d.Migrations) {
			t.Fatalf("schema version %d (%v), want %d", v, err, len(d.Migrations))
		}
		var rows []store.Row
		err := s.Update(ctx, haven.ScopeOf(haven.SystemPrincipal("t1", "test")), func(tx store.Tx) error {
			var err error
			rows, err = tx.History(haven.KindNote, "n1", 0)
			return err
		})
		if err != nil || versionsOf(rows) != want || string(rows[len(rows)-1].Sealed) != "v1" {
			t.Fatalf("history: %q %v, want %s with version 1 intact", versionsOf(rows), err, want)
		}
	}
	s := openNew(t)
	check(s, "1")
	err = s.Update(ctx, haven.ScopeOf(haven.SystemPrincipal("t1", "test")), func(tx store.Tx) error {
		return tx.Replace(store.Row{Kind: haven.KindNote, ID: "n1", PersonID: "px", Version: 2, Sealed: []byte("v2"), Updated: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	check(s, "2 1")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Opening again applies nothing twice.
	s = openNew(t)
	defer s.Close()
	check(s, "2 1")
}

// V1Dialect is d as it was at schema version 1, before versions were
// kept: what Upgrade's openV1 opens with.
func V1Dialect(d *sqlstore.Dialect) *sqlstore.Dialect {
	v1 := *d
	v1.Migrations = d.Migrations[:1]
	return &v1
}
