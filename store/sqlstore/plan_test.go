package sqlstore_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/havencare/haven/store/sqlite"
	"github.com/havencare/haven/store/sqlstore"
)

// TestAuditQueriesUseTheirIndex: on SQLite, an access report on one person
// and the entries of one account are read through the person and actor
// indexes, not by walking every entry of the tenant in order (which is
// what SQLite chose for these queries without a hint: the primary key
// gives the order they ask for).
func TestAuditQueriesUseTheirIndex(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "haven.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[string]string{"by person": "audit_entries_person", "by actor": "audit_entries_actor"}
	for name, q := range sqlstore.AuditQueries(sqlite.Dialect) {
		rows, err := db.SQL().QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, "t1", "x", 0, 1, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if p := strings.Join(plan, "; "); !strings.Contains(p, "USING INDEX "+want[name]+" ") {
			t.Errorf("entries %s: plan %q, want a search of %s", name, p, want[name])
		}
	}
}
