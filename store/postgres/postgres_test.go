package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/store/postgres"
	"github.com/havencare/haven/store/postgres/pgtest"
	"github.com/havencare/haven/store/sqlstore"
	"github.com/havencare/haven/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, harness)
}

// TestUpgrade opens a database made at schema version 1 with this version.
func TestUpgrade(t *testing.T) {
	url := pgtest.URL(t)
	storetest.Upgrade(t, postgres.Dialect, func(t testing.TB) *sqlstore.DB {
		db, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		s, err := sqlstore.Open(context.Background(), db, storetest.V1Dialect(postgres.Dialect))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t testing.TB) *sqlstore.DB {
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func BenchmarkPersonRead(b *testing.B) { storetest.Bench(b, harness) }

var harness = storetest.Harness{Open: func(t testing.TB) (*sqlstore.DB, *sql.DB) {
	db := pgtest.Open(t)
	return db, pgtest.Superuser(t, db)
}}

// TestCacheAcrossInstances: one instance's views see what another instance
// on the same database wrote, though the first keeps what it read.
func TestCacheAcrossInstances(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a, b := storetest.TwoInstances(t, func() (*sqlstore.DB, error) { return postgres.Open(ctx, url) })
	storetest.CacheSeesWrites(t, a, b)
}

// TestAuditAcrossInstances: two instances append to one tenant's audit log,
// each keeping the tree edge of what it committed.
func TestAuditAcrossInstances(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	a, b := storetest.TwoInstances(t, func() (*sqlstore.DB, error) { return postgres.Open(ctx, url) })
	storetest.AuditAcrossInstances(t, a, b)
}

// TestConcurrentReplaceAcrossInstances: two Haven instances on one database
// (each its own committers, so nothing in Go orders their transactions)
// race to replace the same record. Every replace either wins or gets
// haven.ErrConflict, and the kept history has each version exactly once,
// holding what was written at it.
func TestConcurrentReplaceAcrossInstances(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	var stores []*sqlstore.DB
	for i := 0; i < 2; i++ {
		s, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	if err := stores[0].CreateTenant(ctx, haven.Tenant{ID: "t1", Name: "T1"}, store.TenantKeys{Data: []byte("d"), Index: []byte("i")}); err != nil {
		t.Fatal(err)
	}
	sc := haven.ScopeOf(haven.SystemPrincipal("t1", "test"))
	row := func(v int64) store.Row {
		return store.Row{Kind: haven.KindNote, ID: "n1", PersonID: "px", Version: v, Sealed: fmt.Appendf(nil, "v%d", v), Updated: time.Now()}
	}
	if err := stores[0].Update(ctx, sc, func(tx store.Tx) error { return tx.Insert(row(1)) }); err != nil {
		t.Fatal(err)
	}
	const workers, tries = 8, 15
	var wins atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(s *sqlstore.DB) {
			defer wg.Done()
			for i := 0; i < tries; i++ {
				err := s.Update(ctx, sc, func(tx store.Tx) error {
					cur, err := tx.Get(haven.KindNote, "n1")
					if err != nil {
						return err
					}
					return tx.Replace(row(cur.Version + 1))
				})
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, haven.ErrConflict):
					t.Errorf("replace: %v", err)
				}
			}
		}(stores[w%2])
	}
	wg.Wait()
	var rows []store.Row
	err := stores[1].Update(ctx, sc, func(tx store.Tx) error {
		var err error
		rows, err = tx.History(haven.KindNote, "n1", 1000)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(rows)) != wins.Load()+1 {
		t.Fatalf("%d versions after %d successful replaces", len(rows), wins.Load())
	}
	for i, r := range rows {
		want := int64(len(rows) - i)
		if r.Version != want || string(r.Sealed) != fmt.Sprintf("v%d", want) {
			t.Errorf("history[%d] = version %d holding %q, want version %d", i, r.Version, r.Sealed, want)
		}
	}
}
