package postgres_test

import (
	"context"
	"slices"
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
			r := store.Row{Kind: haven.KindPerson, ID: "p-" + id, PersonID: "p-" + id, Version: 1, Sealed: []byte("x")}
			if err := tx.Insert(r); err != nil {
				return err
			}
			// A second version, so that record_versions holds a row too.
			r.Version, r.Sealed = 2, []byte("y")
			return tx.Replace(r)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func(table, tenant string) int {
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
		if err := tx.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, table := range []string{"records", "record_versions"} {
		if n := count(table, ""); n != 0 {
			t.Errorf("%s, no tenant entered: saw %d rows, want 0", table, n)
		}
		if n := count(table, "ta"); n != 1 {
			t.Errorf("%s, tenant ta: saw %d rows, want 1", table, n)
		}
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
	tx.Rollback()
	tx, err = db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := postgres.Dialect.EnterTenant(ctx, tx, "ta"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO record_versions (tenant_id, kind, id, version, person_id, sealed, updated_us, deleted) VALUES ('tb', 'person', 'p-tb', 0, 'p-tb', 'x', 0, false)`); err == nil {
		t.Error("tenant ta wrote a kept version into tenant tb")
	}
}

// TestEveryTenantTableHasRowLevelSecurity: every table with a tenant_id
// column, present and future, carries the forced tenant policy, so a new
// table cannot quietly miss the second wall. audit_heads is the one
// deliberate exception (log sizes, read by verification across tenants).
func TestEveryTenantTableHasRowLevelSecurity(t *testing.T) {
	db := pgtest.Open(t)
	defer db.Close()
	rows, err := db.SQL().Query(`
		SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
			EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = n.nspname AND p.tablename = c.relname AND p.policyname = 'tenant_scope')
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
		WHERE c.relkind = 'r' AND n.nspname = current_schema()
		ORDER BY c.relname`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var seen []string
	for rows.Next() {
		var name string
		var enabled, forced, policy bool
		if err := rows.Scan(&name, &enabled, &forced, &policy); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, name)
		if name == "audit_heads" {
			continue
		}
		if !enabled || !forced || !policy {
			t.Errorf("table %s: row-level security enabled %v, forced %v, tenant_scope policy %v", name, enabled, forced, policy)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(seen, "records") || !slices.Contains(seen, "record_versions") {
		t.Fatalf("tenant tables found: %v", seen)
	}
}
