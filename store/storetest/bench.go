package storetest

import (
	"database/sql"
	"sync/atomic"
	"testing"
	"time"

	"github.com/havencare/haven/demo"
)

// Bench compares, on one store, the read Haven actually does (a person's
// whole record: scoped, audited in the same transaction, every row opened
// with the person's key) with a plain read of the same rows (one SELECT,
// no crypto, no audit). The ratio of the two is the cost of protection.
//
// Both run serially and with 16 concurrent readers: the audit append is a
// write, and group commit only pays off when writes arrive together, as
// they do on a busy server.
func Bench(b *testing.B, h Harness) {
	e := newEnv(b, h)
	p := e.tenant("bench")
	ds := demo.Generate(demo.Options{People: 100, Seed: 7, Now: time.Now()})
	var ids []string
	for i := range ds.People {
		pd := &ds.People[i]
		ids = append(ids, pd.Person.ID)
		for _, r := range pd.Records() {
			if _, err := e.svc.Create(ctx, p, r); err != nil {
				b.Fatal(err)
			}
		}
	}
	plain, err := e.db.SQL().Prepare(e.db.Dialect().Rebind(`SELECT kind, id, person_id, version, sealed, updated_us FROM records WHERE tenant_id = ? AND person_id = ? ORDER BY kind, id`))
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	// A role whose reads the database will let through: on PostgreSQL the
	// plain read must enter the tenant like the store does, so it runs in a
	// transaction there; SQLite needs none.
	plainRead := func(id string) error {
		if e.db.Dialect().EnterTenant == nil {
			return scanAll(plain.Query("bench", id))
		}
		tx, err := e.db.SQL().Begin()
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := e.db.Dialect().EnterTenant(ctx, tx, "bench"); err != nil {
			return err
		}
		return scanAll(tx.Stmt(plain).Query("bench", id))
	}
	protected := func(id string) error {
		rec, err := e.svc.PersonRecord(ctx, p, id)
		if err == nil && rec.Person.ID != id {
			b.Fatalf("read %s, got %s", id, rec.Person.ID)
		}
		return err
	}
	for _, c := range []struct {
		name string
		read func(string) error
	}{{"plain", plainRead}, {"protected", protected}} {
		b.Run(c.name+"/serial", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if err := c.read(ids[i%len(ids)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
		b.Run(c.name+"/parallel16", func(b *testing.B) {
			var n atomic.Int64
			b.SetParallelism(8) // 8 × GOMAXPROCS(2) = 16 readers
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.read(ids[int(n.Add(1))%len(ids)]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
}

func scanAll(rows *sql.Rows, err error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, id, person string
		var version, us int64
		var sealed []byte
		if err := rows.Scan(&kind, &id, &person, &version, &sealed, &us); err != nil {
			return err
		}
	}
	return rows.Err()
}
