package sqlstore_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/havencare/haven/store/sqlite"
	"github.com/havencare/haven/store/sqlstore"
)

// TestQueriesUseTheirIndexes asks SQLite how it plans the queries that
// once read every row of a tenant: an access report on one person and the
// entries of one account (SQLite, without statistics, walked the primary
// key because it gives the order asked for), and erasing a person (one
// statement with OR, which SQLite served by reading every record of the
// tenant inside the single writer). Each must search its own index.
func TestQueriesUseTheirIndexes(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "haven.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[string]string{
		"audit by person":      "audit_entries_person (tenant_id=? AND person_id=?",
		"audit by actor":       "audit_entries_actor (tenant_id=? AND actor=?",
		"erase person's rows":  "records_person (tenant_id=? AND person_id=?)",
		"erase person record":  "sqlite_autoindex_records_1 (tenant_id=? AND kind=? AND id=?)",
		"erase person's kept":  "record_versions_person (tenant_id=? AND person_id=?)",
		"erase person's kept1": "sqlite_autoindex_record_versions_1 (tenant_id=? AND kind=? AND id=?)",
	}
	queries := sqlstore.PlannedQueries(sqlite.Dialect)
	if len(queries) != len(want) {
		t.Fatalf("%d queries to check, %d expectations", len(queries), len(want))
	}
	for name, q := range queries {
		args := make([]any, strings.Count(q, "?"))
		for i := range args {
			args[i] = "x"
		}
		rows, err := db.SQL().QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
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
		if p := strings.Join(plan, "; "); !strings.Contains(p, "SEARCH ") || !strings.Contains(p, "USING INDEX "+want[name]) {
			t.Errorf("%s: plan %q, want a search of %s", name, p, want[name])
		}
	}
}
