package care_test

import (
	"context"
	"testing"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/authtest"
)

// TestReindexRestoresRelationships: records indexed by an older Haven (no
// care-relationship indexes, no index-version marker) give a carer an
// empty caseload until Reindex rebuilds them; then it is whole again.
func TestReindexRestoresRelationships(t *testing.T) {
	ctx := context.Background()
	e := authtest.New(t, authtest.Options{People: 20})
	var carer haven.Staff
	for _, st := range e.Data[authtest.North].Staff {
		if st.Role == haven.RoleCarer {
			carer = st
			break
		}
	}
	p := haven.Principal{ID: "acct-" + carer.ID, TenantID: authtest.North, Role: haven.RoleCarer, StaffID: carer.ID}
	list := func() int {
		t.Helper()
		recs, err := e.Care.List(ctx, p, haven.KindPerson, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}
	want := list()
	if want == 0 {
		t.Fatal("the carer has an empty caseload to begin with")
	}
	if n, err := e.Care.Reindex(ctx); err != nil || n != 0 {
		t.Fatalf("reindex of current tenants rebuilt %d records: %v", n, err)
	}
	// Make north look like it was written by an older Haven.
	if _, err := e.DB.SQL().Exec(`DELETE FROM blind_index WHERE tenant_id = ? AND field LIKE 'careteam.%'`, authtest.North); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DB.SQL().Exec(`DELETE FROM records WHERE tenant_id = ? AND kind = 'index-version'`, authtest.North); err != nil {
		t.Fatal(err)
	}
	// This process has read north already and keeps what it read until the
	// tenant's epoch moves (store/sqlstore/cache.go); a Haven started on a
	// database an older Haven wrote has read nothing. Move the epoch, as
	// that restart would empty the cache.
	if _, err := e.DB.SQL().Exec(`UPDATE tenants SET epoch = epoch + 1 WHERE id = ?`, authtest.North); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != 0 {
		t.Fatalf("without its indexes the caseload still lists %d people", got)
	}
	n, err := e.Care.Reindex(ctx)
	if err != nil || n == 0 {
		t.Fatalf("reindex: %d records, %v", n, err)
	}
	if got := list(); got != want {
		t.Fatalf("after reindex the caseload lists %d people, want %d", got, want)
	}
}
