package postgres_test

import (
	"context"
	"testing"

	"github.com/havencare/haven"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/postgres"
	"github.com/havencare/haven/store/postgres/pgtest"
)

// TestRowLevelSecurity shows the second wall: even a query that forgets its
// tenant condition, run through Haven's own database role, sees only the
// rows of the tenant its transaction entered, and none outside a tenant.
func TestRowLevelSecurity(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	defer db.Close()
	for _, id := range []string{"ta", "tb"} {
		if err := db.CreateTenant(ctx, haven.Tenant{ID: id, Name: id}, store.TenantKeys{Data: []byte{1}, Index: []byte{2}}); err != nil {
			t.Fatal(err)
		}
		p := haven.SystemPrincipal(id, "test")
		err := db.Update(ctx, haven.ScopeOf(p), func(tx store.Tx) error {
			return tx.Insert(store.Row{Kind: haven.KindPerson, ID: "p-" + id, PersonID: "p-" + id, Version: 1, Sealed: []byte("x")})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func(tenant string) int {
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if tenant != "" {
			if err := postgres.Dialect.EnterTenant(ctx, tx, tenant); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		// Deliberately no tenant condition: only the policy stands in the way.
		if err := tx.QueryRow(`SELECT COUNT(*) FROM records`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(""); n != 0 {
		t.Errorf("no tenant entered: saw %d rows, want 0", n)
	}
	if n := count("ta"); n != 1 {
		t.Errorf("tenant ta: saw %d rows, want 1", n)
	}
	// Writing a row for another tenant is refused by the policy's check.
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := postgres.Dialect.EnterTenant(ctx, tx, "ta"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO records (tenant_id, kind, id, person_id, version, sealed, updated_us) VALUES ('tb', 'person', 'evil', 'evil', 1, 'x', 0)`); err == nil {
		t.Error("tenant ta wrote a row into tenant tb")
	}
}
