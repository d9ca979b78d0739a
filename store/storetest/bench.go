package storetest

import (
	"database/sql"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/demo"
	"github.com/havencare/haven/guard"
)

// Bench compares, on one store, the read Haven actually does (a person's
// whole record: scoped, audited in the same transaction, every row opened
// with the person's key and decoded) with a plain read of the same records
// kept the way an unprotected system would keep them (a benchmark-only
// table of plaintext JSON: one SELECT, decode, no crypto, no audit). The
// ratio of the two is the cost of protection.
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
		if !pd.Person.Canary { // no legitimate reader opens a decoy
			ids = append(ids, pd.Person.ID)
		}
		for _, r := range pd.Records() {
			if _, err := e.svc.Create(ctx, p, r); err != nil {
				b.Fatal(err)
			}
		}
	}
	// The unprotected copy lives in a table of its own that exists only in
	// the benchmark's throw-away database.
	e.exec(`CREATE TABLE plain_records (tenant_id TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, person_id TEXT NOT NULL,
		version BIGINT NOT NULL, body TEXT NOT NULL, updated_us BIGINT NOT NULL, PRIMARY KEY (tenant_id, kind, id))`)
	e.exec(`CREATE INDEX plain_person ON plain_records (tenant_id, person_id, kind, id)`)
	for i := range ds.People {
		for _, r := range ds.People[i].Records() {
			if r.Kind() == haven.KindHomeAccess {
				continue
			}
			body, _ := json.Marshal(r)
			e.exec(`INSERT INTO plain_records VALUES (?, ?, ?, ?, 1, ?, 0)`, "bench", string(r.Kind()), r.RecordID(), r.Subject(), string(body))
		}
	}
	if e.db.Dialect().EnterTenant != nil {
		// PostgreSQL: let Haven's own role read the table, as a plain
		// system would.
		var role string
		e.db.SQL().QueryRow(`SELECT current_user`).Scan(&role)
		e.exec(`GRANT SELECT ON plain_records TO ` + role)
	}
	plain, err := e.db.SQL().Prepare(e.db.Dialect().Rebind(`SELECT kind, id, person_id, version, body, updated_us FROM plain_records WHERE tenant_id = ? AND person_id = ? ORDER BY kind, id`))
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	plainRead := func(id string) error {
		return scanAll(plain.Query("bench", id))
	}
	protected := func(id string) error {
		rec, err := e.svc.PersonRecord(ctx, p, id)
		if err == nil && rec.Person.ID != id {
			b.Fatalf("read %s, got %s", id, rec.Person.ID)
		}
		return err
	}
	// The same read by a carer on each person's care team: policy asks
	// for the relationship (one indexed lookup per decision) and the guard
	// counts the read. The budget is raised out of the way: the benchmark
	// reads the same 100 people over and over, as no carer does.
	e.create(p, &haven.Staff{ID: "bench-carer", Name: "Bench Carer", Role: haven.RoleCarer, Email: "bench@example.org", Service: "Home care"})
	for _, id := range ids {
		e.create(p, &haven.CareTeam{ID: "bench-team-" + id, PersonID: id, Name: "Bench team", StaffIDs: []string{"bench-carer"}, Service: "Home care"})
	}
	st := guard.Defaults()
	st.Budgets[haven.RoleCarer] = guard.Budget{PerHour: guard.MaxBudget, PerDay: guard.MaxBudget}
	st.WorkStart, st.WorkEnd = 0, 0
	if err := e.svc.SetSettings(ctx, p, st); err != nil {
		b.Fatal(err)
	}
	carer := haven.Principal{ID: "bench-account", TenantID: "bench", Role: haven.RoleCarer, StaffID: "bench-carer", Purpose: "direct care", ClientAddr: "127.0.0.1"}
	withPolicy := func(id string) error {
		rec, err := e.svc.PersonRecord(ctx, carer, id)
		if err == nil && rec.Person.ID != id {
			b.Fatalf("read %s, got %s", id, rec.Person.ID)
		}
		return err
	}
	for _, c := range []struct {
		name string
		read func(string) error
	}{{"plain", plainRead}, {"protected", protected}, {"protected+policy", withPolicy}} {
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
		var body []byte
		if err := rows.Scan(&kind, &id, &person, &version, &body, &us); err != nil {
			return err
		}
		rec, _ := haven.New(haven.Kind(kind))
		if err := json.Unmarshal(body, rec); err != nil {
			return err
		}
	}
	return rows.Err()
}
