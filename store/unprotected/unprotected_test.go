//go:build havenbench_unprotected

package unprotected_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/sqlite"
	"github.com/havencare/haven/store/unprotected"
)

// TestUnprotectedAuditOff: entries appended through the wrapper are not written, and
// everything else still reaches the store.
func TestUnprotectedAuditOff(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "haven.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateTenant(ctx, haven.Tenant{ID: "t1", Name: "T1"}, store.TenantKeys{Data: []byte("d"), Index: []byte("i")}); err != nil {
		t.Fatal(err)
	}
	st := unprotected.Wrap(db)
	sc := haven.ScopeOf(haven.SystemPrincipal("t1", "test"))
	err = st.Update(ctx, sc, func(tx store.Tx) error {
		if err := tx.AppendAudit(audit.Entry{Actor: "a", Action: "read"}); err != nil {
			return err
		}
		return tx.Insert(store.Row{Kind: haven.KindPerson, ID: "p1", PersonID: "p1", Version: 1, Sealed: []byte("x")})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, sc, func(tx store.Tx) error {
		if n, err := tx.AuditSize(); err != nil || n != 0 {
			t.Errorf("audit log size %d (%v), want 0", n, err)
		}
		_, err := tx.Get(haven.KindPerson, "p1")
		return err
	})
	if err != nil {
		t.Fatalf("the row written through the wrapper: %v", err)
	}
}
