package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/havencare/haven/store/sqlite"
	"github.com/havencare/haven/store/sqlstore"
	"github.com/havencare/haven/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, harness)
}

// TestUpgrade opens a database made at schema version 1 with this version.
func TestUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "haven.db")
	storetest.Upgrade(t, sqlite.Dialect, func(t testing.TB) *sqlstore.DB {
		db, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
		if err != nil {
			t.Fatal(err)
		}
		s, err := sqlstore.Open(context.Background(), db, storetest.V1Dialect(sqlite.Dialect))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t testing.TB) *sqlstore.DB {
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// BenchmarkPersonRead measures the protected and the plain read with the
// default durability (synchronous=FULL) and with synchronous=NORMAL, to show
// how much of the cost is the disk's fsync.
func BenchmarkPersonRead(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run("sync="+sync, func(b *testing.B) {
			storetest.Bench(b, storetest.Harness{Open: func(t testing.TB) (*sqlstore.DB, *sql.DB) {
				db, err := sqlite.OpenWith(context.Background(), filepath.Join(t.TempDir(), "haven.db"), sqlite.Options{Synchronous: sync})
				if err != nil {
					t.Fatal(err)
				}
				return db, db.SQL()
			}})
		})
	}
}

var harness = storetest.Harness{Open: func(t testing.TB) (*sqlstore.DB, *sql.DB) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "haven.db"))
	if err != nil {
		t.Fatal(err)
	}
	return db, db.SQL()
}}

// TestSharesReads: the embedded store has a reader pool of its own, so the
// contract's SharedReads test checks that a request's views do share.
func TestSharesReads(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "haven.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.SharesReads() {
		t.Fatal("the SQLite store does not share reads")
	}
}

// TestCacheAcrossProcesses: one store instance's views see what another
// instance on the same file wrote (a haven command run beside the server),
// though the first keeps what it read.
func TestCacheAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "haven.db")
	a, b := storetest.TwoInstances(t, func() (*sqlstore.DB, error) { return sqlite.Open(context.Background(), path) })
	storetest.CacheSeesWrites(t, a, b)
}

// TestAuditAcrossProcesses: two processes append to one database file's
// audit log, each keeping the tree edge of what it committed.
func TestAuditAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "haven.db")
	a, b := storetest.TwoInstances(t, func() (*sqlstore.DB, error) { return sqlite.Open(context.Background(), path) })
	storetest.AuditAcrossInstances(t, a, b)
}

// TestTempInMemory: the writer keeps statement journals and other
// temporary data in memory. On disk, every multi-row insert and savepoint
// in a batch spilled page copies to a temporary file, a system call each.
func TestTempInMemory(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "haven.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode int
	if err := s.SQL().QueryRow("PRAGMA temp_store").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != 2 {
		t.Fatalf("temp_store is %d, want 2 (MEMORY)", mode)
	}
}
