package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/store"
)

// Run runs the whole contract against stores opened by h.
func Run(t *testing.T, h Harness) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"RecordLifecycle", testRecordLifecycle},
		{"GetMany", testGetMany},
		{"SearchByBlindIndex", testSearch},
		{"VersionConflict", testVersionConflict},
		{"EraseShredsKeyAndIndex", testErase},
		{"CrossTenantIsolation", testCrossTenant},
		{"NoScopeNoAccess", testNoScope},
		{"CiphertextBoundToRow", testCiphertextBinding},
		{"EveryAccessAudited", testAudited},
		{"AuditFailsClosed", testAuditFailsClosed},
		{"AuditTamperDetected", testAuditTamper},
		{"BlastRadiusQuery", testBlastRadius},
		{"KeyRotation", testKeyRotation},
		{"GroupCommitConcurrency", testConcurrency},
		{"BadInputWritesNothing", testBadInput},
		{"HistoryKeepsVersions", testHistoryVersions},
		{"HistoryTombstoneOnDelete", testHistoryTombstone},
		{"HistoryIDsNeverReused", testHistoryNoReuse},
		{"HistoryCrossTenantIsolation", testHistoryCrossTenant},
		{"HistoryErasedWithPerson", testHistoryErase},
		{"HistoryLimit", testHistoryLimit},
		{"ViewReadsCommitted", testViewReadsCommitted},
		{"ViewConfinedToTenant", testViewConfinedToTenant},
		{"ViewCannotWrite", testViewCannotWrite},
		{"ViewBurst", testViewBurst},
		{"StopsWhenCancelled", testStopsWhenCancelled},
		{"SharedReads", testSharedReads},
		{"CacheSeesWrites", testCacheSeesWrites},
		{"RecordFailsAlone", testRecordFailsAlone},
		{"PanicRollsBack", testPanicRollsBack},
		{"CacheConfinedToTenant", testCacheConfinedToTenant},
		{"AuditReadInFailedUnit", testAuditReadInFailedUnit},
		{"RefusedEntryFailsAlone", testRefusedEntryFailsAlone},
		{"NonTextKeysNameNothing", testNonTextKeys},
		{"EraseFindsPersonRecord", testEraseFindsPersonRecord},
		{"SetIndexEntries", testSetIndexEntries},
		{"Indexed", testIndexed},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newEnv(t, h)) })
	}
}

func testRecordLifecycle(t *testing.T, e *env) {
	p := e.tenant("t1")
	ada := person("p1", "943 476 5919", "Ada", "Lovelace", "1936-12-10", "07700 900123")
	e.create(p, ada)
	e.create(p, condition("c1", "p1"))
	e.create(p, homeAccess("h1", "p1", "C1947"))
	e.create(p, &haven.Staff{ID: "s1", Name: "Sam Carer", Role: haven.RoleCarer, Email: "sam@demo.haven.invalid"})

	rec, meta, err := e.svc.Get(ctx, p, haven.KindPerson, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.(*haven.Person); got.Family != "Lovelace" || got.NHSNumber != "9434765919" || meta.Version != 1 {
		t.Fatalf("read back %+v (version %d)", got, meta.Version)
	}
	full, err := e.svc.PersonRecord(ctx, p, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if full.Person.Given != "Ada" || len(full.Conditions) != 1 || full.Conditions[0].Display != "Type 2 diabetes mellitus" {
		t.Fatalf("full record: %+v", full)
	}
	// Home access is never part of the ordinary record.
	if strings.Contains(fmt.Sprintf("%+v", full), "C1947") {
		t.Fatal("full record revealed the key-safe code")
	}
	staff, err := e.svc.List(ctx, p, haven.KindStaff, "", 10)
	if err != nil || len(staff) != 1 || staff[0].(*haven.Staff).Name != "Sam Carer" {
		t.Fatalf("staff list: %v %v", staff, err)
	}
	ha, _, err := e.svc.Get(ctx, e.carer(p, "s9", "p1"), haven.KindHomeAccess, "h1")
	if err != nil || ha.(*haven.HomeAccess).KeySafeCode != "C1947" {
		t.Fatalf("home access: %v %v", ha, err)
	}
	if err := e.svc.Delete(ctx, p, haven.KindCondition, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Get(ctx, p, haven.KindCondition, "c1"); !errors.Is(err, haven.ErrNotFound) {
		t.Fatalf("deleted condition: got %v, want not found", err)
	}
	// Nothing personal is in a plaintext column.
	if n := e.count(`SELECT COUNT(*) FROM records WHERE sealed = ?`, []byte("Lovelace")); n != 0 {
		t.Fatal("plaintext in records")
	}
}

func testSearch(t *testing.T, e *env) {
	p := e.tenant("t1")
	e.create(p, person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", "07700 900123"))
	e.create(p, person("p2", "9434765870", "Mary", "Lovelace", "1940-01-02", "0113 496 0001"))
	e.create(p, person("p3", "4010232137", "Grace", "Hopper", "1936-12-10", ""))
	for _, tc := range []struct {
		q    care.Query
		want []string
	}{
		{care.Query{NHSNumber: "943-476-5919"}, []string{"p1"}},
		{care.Query{Family: "  LOVELACE "}, []string{"p1", "p2"}},
		{care.Query{BirthDate: "1936-12-10"}, []string{"p1", "p3"}},
		{care.Query{Family: "lovelace", BirthDate: "1936-12-10"}, []string{"p1"}},
		{care.Query{Phone: "+44 7700 900123"}, []string{"p1"}},
		{care.Query{Phone: "01134960001"}, []string{"p2"}},
		{care.Query{Family: "Nobody"}, nil},
	} {
		got, err := e.svc.Search(ctx, p, tc.q)
		if err != nil {
			t.Fatalf("%+v: %v", tc.q, err)
		}
		var ids []string
		for _, g := range got {
			ids = append(ids, g.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
			t.Errorf("search %+v = %v, want %v", tc.q, ids, tc.want)
		}
	}
	if _, err := e.svc.Search(ctx, p, care.Query{}); err == nil {
		t.Error("empty search accepted")
	}
	// The index holds digests, never the values.
	if n := e.count(`SELECT COUNT(*) FROM blind_index WHERE digest = ?`, []byte("lovelace")); n != 0 {
		t.Error("plaintext in blind index")
	}
}

func testVersionConflict(t *testing.T, e *env) {
	p := e.tenant("t1")
	ada := person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", "")
	e.create(p, ada)
	if _, err := e.svc.Create(ctx, p, ada); !errors.Is(err, haven.ErrConflict) {
		t.Fatalf("duplicate create: %v", err)
	}
	ada.Family = "King"
	v, err := e.svc.Update(ctx, p, ada, 1)
	if err != nil || v != 2 {
		t.Fatalf("update: %d %v", v, err)
	}
	ada.Family = "Byron"
	if _, err := e.svc.Update(ctx, p, ada, 1); !errors.Is(err, haven.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	rec, meta, _ := e.svc.Get(ctx, p, haven.KindPerson, "p1")
	if rec.(*haven.Person).Family != "King" || meta.Version != 2 {
		t.Fatalf("after conflict: %+v v%d", rec, meta.Version)
	}
	// The index follows the update.
	if got, _ := e.svc.Search(ctx, p, care.Query{Family: "Lovelace"}); len(got) != 0 {
		t.Error("old family name still indexed")
	}
	if got, _ := e.svc.Search(ctx, p, care.Query{Family: "King"}); len(got) != 1 {
		t.Error("new family name not indexed")
	}
	// A record cannot be moved to another person.
	e.create(p, person("p2", "9434765870", "Mary", "Shelley", "1940-01-02", ""))
	e.create(p, condition("c1", "p1"))
	if _, err := e.svc.Update(ctx, p, condition("c1", "p2"), 1); err == nil {
		t.Error("condition moved to another person")
	}
}

func testErase(t *testing.T, e *env) {
	p := e.tenant("t1")
	e.create(p, person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", "07700 900123"))
	e.create(p, condition("c1", "p1"))
	e.create(p, homeAccess("h1", "p1", "C1947"))
	e.create(p, person("p2", "9434765870", "Mary", "Shelley", "1940-01-02", ""))
	if err := e.svc.Erase(ctx, p, "p1"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT COUNT(*) FROM person_keys WHERE person_id = 'p1'`,
		`SELECT COUNT(*) FROM records WHERE person_id = 'p1' OR id = 'p1'`,
		`SELECT COUNT(*) FROM blind_index WHERE person_id = 'p1'`,
	} {
		if n := e.count(q); n != 0 {
			t.Errorf("%s = %d after erasure", q, n)
		}
	}
	if _, err := e.svc.PersonRecord(ctx, p, "p1"); !errors.Is(err, haven.ErrNotFound) {
		t.Errorf("erased person readable: %v", err)
	}
	if got, _ := e.svc.Search(ctx, p, care.Query{NHSNumber: "9434765919"}); len(got) != 0 {
		t.Error("erased person found by search")
	}
	if _, err := e.svc.PersonRecord(ctx, p, "p2"); err != nil {
		t.Errorf("other person lost: %v", err)
	}
	if err := e.svc.Erase(ctx, p, "p1"); !errors.Is(err, haven.ErrNotFound) {
		t.Errorf("second erase: %v", err)
	}
}

// testCrossTenant is invariant 2: a record of tenant A cannot be read,
// listed, searched, updated or deleted through tenant B, even by guessing
// its id.
func testCrossTenant(t *testing.T, e *env) {
	a := e.tenant("ta")
	b := e.tenant("tb")
	e.create(a, person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", "07700 900123"))
	e.create(a, condition("c1", "p1"))
	e.create(a, homeAccess("h1", "p1", "C1947"))

	notFound := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, haven.ErrNotFound) {
			t.Errorf("%s through tenant B: got %v, want not found", what, err)
		}
	}
	_, _, err := e.svc.Get(ctx, b, haven.KindPerson, "p1")
	notFound("get person", err)
	_, _, err = e.svc.Get(ctx, b, haven.KindHomeAccess, "h1")
	notFound("get home access", err)
	_, err = e.svc.PersonRecord(ctx, b, "p1")
	notFound("full record", err)
	_, err = e.svc.Update(ctx, b, person("p1", "9434765919", "Eve", "Evil", "1936-12-10", ""), 1)
	notFound("update", err)
	notFound("delete", e.svc.Delete(ctx, b, haven.KindCondition, "c1"))
	notFound("erase", e.svc.Erase(ctx, b, "p1"))
	if _, err := e.svc.Create(ctx, b, condition("c2", "p1")); err == nil {
		t.Error("tenant B attached a record to tenant A's person")
	}
	for _, q := range []care.Query{{NHSNumber: "9434765919"}, {Family: "Lovelace"}, {Phone: "07700900123"}, {BirthDate: "1936-12-10"}} {
		if got, err := e.svc.Search(ctx, b, q); err != nil || len(got) != 0 {
			t.Errorf("search %+v through tenant B: %v %v", q, got, err)
		}
	}
	for _, k := range []haven.Kind{haven.KindPerson, haven.KindCondition, haven.KindHomeAccess} {
		if got, err := e.svc.List(ctx, b, k, "", 100); err != nil || len(got) != 0 {
			t.Errorf("list %s through tenant B: %d %v", k, len(got), err)
		}
	}
	// B creating the same id makes B's own record; A's is untouched.
	e.create(b, person("p1", "9434765870", "Bea", "Other", "1950-05-05", ""))
	rec, _, err := e.svc.Get(ctx, a, haven.KindPerson, "p1")
	if err != nil || rec.(*haven.Person).Family != "Lovelace" {
		t.Errorf("tenant A's record after B used the same id: %v %v", rec, err)
	}
	rec, _, err = e.svc.Get(ctx, b, haven.KindPerson, "p1")
	if err != nil || rec.(*haven.Person).Family != "Other" {
		t.Errorf("tenant B's own record: %v %v", rec, err)
	}
}

func testNoScope(t *testing.T, e *env) {
	e.tenant("t1")
	called := false
	err := e.db.Update(ctx, haven.Scope{}, func(store.Tx) error { called = true; return nil })
	if !errors.Is(err, store.ErrNoScope) || called {
		t.Fatalf("zero scope: err %v, ran %v", err, called)
	}
	// A principal with no tenant (supplier staff) gets no tenant data.
	supplier := haven.Principal{ID: "op1", Role: haven.RoleSupplierOperator}
	if _, err := e.svc.List(ctx, supplier, haven.KindPerson, "", 10); !errors.Is(err, haven.ErrForbidden) {
		t.Fatalf("supplier without tenant: %v", err)
	}
}

// testCiphertextBinding moves ciphertexts between rows with raw SQL: each
// must fail to open rather than show another record's data.
func testCiphertextBinding(t *testing.T, e *env) {
	a := e.tenant("ta")
	b := e.tenant("tb")
	e.create(a, person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", ""))
	e.create(a, person("p2", "9434765870", "Mary", "Shelley", "1940-01-02", ""))
	e.create(b, person("p3", "4010232137", "Grace", "Hopper", "1936-12-10", ""))
	// p1's ciphertext into p2's row (same tenant, other person and key).
	e.exec(`UPDATE records SET sealed = (SELECT sealed FROM records WHERE tenant_id = 'ta' AND id = 'p1') WHERE tenant_id = 'ta' AND id = 'p2'`)
	if rec, _, err := e.svc.Get(ctx, a, haven.KindPerson, "p2"); err == nil {
		t.Fatalf("moved ciphertext opened: %+v", rec)
	}
	// p1's ciphertext and key into tenant B's row.
	e.exec(`UPDATE records SET sealed = (SELECT sealed FROM records WHERE tenant_id = 'ta' AND id = 'p1') WHERE tenant_id = 'tb' AND id = 'p3'`)
	e.exec(`UPDATE person_keys SET wrapped = (SELECT wrapped FROM person_keys WHERE tenant_id = 'ta' AND person_id = 'p1') WHERE tenant_id = 'tb' AND person_id = 'p3'`)
	if rec, _, err := e.svc.Get(ctx, b, haven.KindPerson, "p3"); err == nil {
		t.Fatalf("ciphertext moved across tenants opened: %+v", rec)
	}
	// An old version replayed over a newer one does not open either.
	p1 := person("p1", "9434765919", "Ada", "King", "1936-12-10", "")
	if _, err := e.svc.Update(ctx, a, p1, 1); err != nil {
		t.Fatal(err)
	}
	e.exec(`UPDATE records SET version = 1 WHERE tenant_id = 'ta' AND id = 'p1'`)
	if rec, _, err := e.svc.Get(ctx, a, haven.KindPerson, "p1"); err == nil {
		t.Fatalf("ciphertext opened under another version: %+v", rec)
	}
}
