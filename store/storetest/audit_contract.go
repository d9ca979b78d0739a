package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/store"
)

func (e *env) entries(tenant string) []audit.Entry {
	e.t.Helper()
	var out []audit.Entry
	if err := e.db.AuditSource().Entries(tenant, func(a audit.Entry) error { out = append(out, a); return nil }); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// testAudited: every read and write of personal data leaves an entry that
// says who, what, whose, why, the outcome and from where.
func testAudited(t *testing.T, e *env) {
	sys := e.tenant("t1")
	before := len(e.entries("t1"))
	e.create(sys, person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", ""))
	e.create(sys, homeAccess("h1", "p1", "C1947"))
	p := e.carer(sys, "s1", "p1")
	if got := e.entries("t1")[before:]; len(got) != 5 || got[0].Action+" "+got[0].Kind+" "+got[1].Kind != "create person home-access" {
		t.Fatalf("set-up entries: %+v", got)
	}
	before = len(e.entries("t1"))
	if _, err := e.svc.PersonRecord(ctx, p, "p1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Get(ctx, p, haven.KindHomeAccess, "h1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Search(ctx, p, care.Query{Family: "Lovelace"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Get(ctx, p, haven.KindPerson, "nobody"); !errors.Is(err, haven.ErrNotFound) {
		t.Fatal(err)
	}
	got := e.entries("t1")[before:]
	want := []string{
		"read person p1 p1 ok", "reveal home-access h1 p1 ok", "search person p1 p1 ok", "read person nobody  not-found",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i, g := range got {
		if s := fmt.Sprintf("%s %s %s %s %s", g.Action, g.Kind, g.RecordID, g.PersonID, g.Outcome); s != want[i] {
			t.Errorf("entry %d = %q, want %q", i, s, want[i])
		}
		if g.Actor != p.ID || g.ActorRole != string(p.Role) || !strings.HasPrefix(g.Purpose, "direct care") || g.ClientAddr != "127.0.0.1" || g.Time.IsZero() {
			t.Errorf("entry %d lacks who/why/where: %+v", i, g)
		}
	}
	if _, err := e.svc.Checkpoint(ctx, e.signer); err != nil {
		t.Fatal(err)
	}
	if rep := e.verify(); !rep.OK() || rep.Entries == 0 || rep.Checkpoints == 0 {
		t.Fatalf("clean log does not verify: %+v", rep)
	}
}

// testAuditFailsClosed breaks the audit table underneath the service: the
// read must fail and return nothing, and a write must leave no record.
func testAuditFailsClosed(t *testing.T, e *env) {
	p := e.tenant("t1")
	e.create(p, person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", ""))
	e.exec(`DROP TABLE audit_hashes`)
	rec, err := e.svc.PersonRecord(ctx, p, "p1")
	if err == nil {
		t.Fatalf("read succeeded with the audit log broken: %+v", rec)
	}
	if !errors.Is(err, haven.ErrAuditUnavailable) {
		t.Errorf("error does not say the audit log failed: %v", err)
	}
	if rec.Person.Family != "" {
		t.Fatal("data returned although the access was not recorded")
	}
	if _, err := e.svc.Create(ctx, p, person("p2", "9434765870", "Mary", "Shelley", "1940-01-02", "")); err == nil {
		t.Fatal("write succeeded with the audit log broken")
	}
	if n := e.count(`SELECT COUNT(*) FROM records WHERE id = 'p2'`); n != 0 {
		t.Fatal("unaudited write was kept")
	}
	if n := e.count(`SELECT COUNT(*) FROM person_keys WHERE person_id = 'p2'`); n != 0 {
		t.Fatal("unaudited write left a key")
	}
}

// seedLog writes n audited reads and checkpoints every 10 entries.
func (e *env) seedLog(n int) haven.Principal {
	p := e.tenant("t1")
	e.create(p, person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", ""))
	for i := 0; i < n; i++ {
		if _, err := e.svc.PersonRecord(ctx, p, "p1"); err != nil {
			e.t.Fatal(err)
		}
		if i%10 == 9 {
			if _, err := e.svc.Checkpoint(ctx, e.signer); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	return p
}

// testAuditTamper edits, deletes, inserts and reorders rows directly in the
// database; verification must name the first bad entry every time.
func testAuditTamper(t *testing.T, e *env) {
	for _, tc := range []struct {
		name   string
		tamper func(e *env)
		seq    int64 // first bad entry, -1 if only a range can be named
	}{
		{"edit actor", func(e *env) { e.exec(`UPDATE audit_entries SET actor = 'someone-else' WHERE seq = 7`) }, 7},
		{"edit person", func(e *env) { e.exec(`UPDATE audit_entries SET person_id = 'p9' WHERE seq = 12`) }, 12},
		{"edit time", func(e *env) { e.exec(`UPDATE audit_entries SET at_us = at_us + 1 WHERE seq = 3`) }, 3},
		{"delete", func(e *env) { e.exec(`DELETE FROM audit_entries WHERE seq = 9`) }, 9},
		{"delete tail", func(e *env) { e.exec(`DELETE FROM audit_entries WHERE seq >= 15`) }, 15},
		{"reorder", func(e *env) {
			e.exec(`UPDATE audit_entries SET seq = -1 WHERE seq = 4`)
			e.exec(`UPDATE audit_entries SET seq = 4 WHERE seq = 5`)
			e.exec(`UPDATE audit_entries SET seq = 5 WHERE seq = -1`)
		}, 4},
		{"insert", func(e *env) {
			e.exec(`UPDATE audit_entries SET seq = seq + 1000 WHERE seq >= 6`)
			e.exec(`UPDATE audit_entries SET seq = seq - 999 WHERE seq >= 1006`)
			e.exec(`INSERT INTO audit_entries SELECT tenant_id, 6, at_us, 'intruder', actor_role, action, kind, record_id, person_id, purpose, outcome, client_addr FROM audit_entries WHERE seq = 5`)
		}, 6},
		{"edit entry and its hash", func(e *env) {
			e.exec(`UPDATE audit_entries SET actor = 'x' WHERE seq = 2`)
			e.exec(`UPDATE audit_hashes SET hash = (SELECT hash FROM audit_hashes WHERE idx = 0) WHERE idx = ?`, audit.HashIndex(2))
		}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, e.h)
			e.seedLog(20)
			if rep := e.verify(); !rep.OK() {
				t.Fatalf("clean log: %+v", rep.Problems)
			}
			tc.tamper(e)
			rep := e.verify()
			if rep.OK() {
				t.Fatalf("tampering (%s) not detected", tc.name)
			}
			first := rep.Problems[0]
			if tc.seq >= 0 && first.Seq != tc.seq {
				t.Errorf("first problem at entry %d (%s), want %d", first.Seq, first.Reason, tc.seq)
			}
			if first.Reason == "" || first.Tenant != "t1" {
				t.Errorf("problem not explained: %+v", first)
			}
		})
	}
}

// testBlastRadius: given accounts and a window, list exactly whose data
// they touched.
func testBlastRadius(t *testing.T, e *env) {
	p := e.tenant("t1")
	for i, nhs := range []string{"9434765919", "9434765870", "4010232137"} {
		e.create(p, person(fmt.Sprintf("p%d", i+1), nhs, "A", fmt.Sprintf("Fam%d", i), "1950-01-01", ""))
	}
	start := time.Now()
	thief := e.carer(p, "s-stolen", "p1", "p3")
	thief.ID = "stolen"
	for _, id := range []string{"p1", "p3", "p1"} {
		if _, err := e.svc.PersonRecord(ctx, thief, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.PersonRecord(ctx, p, "p2"); err != nil {
		t.Fatal(err)
	}
	dpo := haven.Principal{ID: "dpo", TenantID: "t1", Role: haven.RoleDPO, Purpose: "breach investigation"}
	entries, err := e.svc.AccessReport(ctx, dpo, store.AuditQuery{Actors: []string{"stolen"}, Since: start})
	if err != nil {
		t.Fatal(err)
	}
	if got := care.PeopleTouched(entries); len(got) != 2 || got["p1"] != 2 || got["p3"] != 1 {
		t.Fatalf("people touched by the stolen account = %v", got)
	}
	byPerson, err := e.svc.AccessReport(ctx, dpo, store.AuditQuery{PersonID: "p2"})
	if err != nil {
		t.Fatal(err)
	}
	actors := map[string]bool{}
	for _, en := range byPerson {
		actors[en.Actor] = true
	}
	if actors["stolen"] || !actors[p.ID] {
		t.Fatalf("who accessed p2: %v", actors)
	}
	future, _ := e.svc.AccessReport(ctx, dpo, store.AuditQuery{Actors: []string{"stolen"}, Since: time.Now().Add(time.Hour)})
	if len(future) != 0 {
		t.Fatalf("window ignored: %d entries", len(future))
	}
}

func testKeyRotation(t *testing.T, e *env) {
	p := e.tenant("t1")
	e.create(p, person("p1", "9434765919", "Ada", "Lovelace", "1936-12-10", "07700 900123"))
	e.create(p, condition("c1", "p1"))
	oldKeys := e.count(`SELECT COUNT(*) FROM person_keys`)
	if err := e.kms.Rotate(); err != nil {
		t.Fatal(err)
	}
	rep, err := e.svc.RotateTenantKeys(ctx, nil)
	if err != nil || rep.Tenants != 1 || rep.PersonKeys != oldKeys {
		t.Fatalf("rotate: %+v %v", rep, err)
	}
	full, err := e.svc.PersonRecord(ctx, p, "p1")
	if err != nil || full.Person.Family != "Lovelace" || len(full.Conditions) != 1 {
		t.Fatalf("old data after rotation: %+v %v", full, err)
	}
	e.create(p, person("p2", "9434765870", "Mary", "Shelley", "1940-01-02", ""))
	if got, _ := e.svc.Search(ctx, p, care.Query{Phone: "07700900123"}); len(got) != 1 {
		t.Fatal("blind index lost by rotation")
	}
	// Rotating twice more still leaves everything readable.
	for i := 0; i < 2; i++ {
		if err := e.kms.Rotate(); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.RotateTenantKeys(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.PersonRecord(ctx, p, "p2"); err != nil {
		t.Fatal(err)
	}
}

// testConcurrency: many callers at once share commits; every one of them
// is recorded, in a log that still verifies.
func testConcurrency(t *testing.T, e *env) {
	a := e.tenant("ta")
	b := e.tenant("tb")
	const workers, each = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			p := a
			if w%2 == 1 {
				p = b
			}
			for i := 0; i < each; i++ {
				nine := fmt.Sprintf("9%02d%06d", w, i)
				if haven.NHSCheckDigit(nine) < 0 {
					nine = fmt.Sprintf("8%02d%06d", w, i)
				}
				if haven.NHSCheckDigit(nine) < 0 {
					continue
				}
				id := fmt.Sprintf("w%d-%d", w, i)
				nhs := fmt.Sprintf("%s%d", nine, haven.NHSCheckDigit(nine))
				if _, err := e.svc.Create(ctx, p, person(id, nhs, "N", "Fam", "1950-01-01", "")); err != nil {
					errs <- err
					return
				}
				if _, err := e.svc.PersonRecord(ctx, p, id); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if _, err := e.svc.Checkpoint(ctx, e.signer); err != nil {
		t.Fatal(err)
	}
	rep := e.verify()
	if !rep.OK() {
		t.Fatalf("log after concurrent use: %+v", rep.Problems)
	}
	people := e.count(`SELECT COUNT(*) FROM records WHERE kind = 'person'`)
	if int64(2*people+2) != rep.Entries { // create + read per person, plus tenant creation
		t.Fatalf("%d people but %d audit entries", people, rep.Entries)
	}
}

func testBadInput(t *testing.T, e *env) {
	p := e.tenant("t1")
	bad := []haven.Record{
		person("p1", "9434765918", "Ada", "Lovelace", "1936-12-10", ""), // wrong check digit
		person("p1", "9434765919", "", "Lovelace", "1936-12-10", ""),
		person("p1", "9434765919", "Ada", strings.Repeat("x", 5000), "1936-12-10", ""),
		&haven.Visit{ID: "v1", PersonID: "p1", StaffID: "s1", Start: time.Now(), End: time.Now().Add(-time.Hour), Status: "planned"},
		condition("c1", "no-such-person"),
	}
	for _, r := range bad {
		if _, err := e.svc.Create(ctx, p, r); err == nil {
			t.Errorf("bad %s accepted", r.Kind())
		}
	}
	// The tenant's own index-version marker is written when it is created.
	if n := e.count(`SELECT COUNT(*) FROM records WHERE kind <> 'index-version'`); n != 0 {
		t.Fatalf("%d records written from bad input", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM person_keys`); n != 0 {
		t.Fatalf("%d keys written from bad input", n)
	}
}

// testRecordFailsAlone: work queued with Record has no savepoint of its
// own, so when it fails the store must roll back the batch it shared and
// commit the rest without it. Updates queued before and after a failing
// Record are kept, each exactly once; nothing the failed Record appended
// is; the other Records are; and the log still verifies.
func testRecordFailsAlone(t *testing.T, e *env) {
	e.tenant("t1")
	sc := haven.ScopeOf(haven.SystemPrincipal("t1", "test"))
	entry := func(action string) audit.Entry {
		return audit.Entry{Time: time.Now(), Actor: "test", ActorRole: "system", Action: action, Outcome: "ok"}
	}
	before := len(e.entries("t1"))
	boom := errors.New("record failed")
	units := make([]func() error, 21)
	for i := range units {
		switch {
		case i == 10:
			units[i] = func() error {
				return e.db.Record(ctx, sc, func(tx store.Tx) error {
					if err := tx.AppendAudit(entry("failed-record")); err != nil {
						return err
					}
					return boom
				})
			}
		case i%2 == 0:
			units[i] = func() error {
				return e.db.Update(ctx, sc, func(tx store.Tx) error {
					if err := tx.Insert(store.Row{Kind: haven.KindNote, ID: fmt.Sprint("n", i), PersonID: "px", Version: 1, Sealed: []byte("x"), Updated: time.Now()}); err != nil {
						return err
					}
					err := tx.AppendAudit(entry(fmt.Sprint("update-", i)))
					return err
				})
			}
		default:
			units[i] = func() error {
				return e.db.Record(ctx, sc, func(tx store.Tx) error {
					err := tx.AppendAudit(entry(fmt.Sprint("record-", i)))
					return err
				})
			}
		}
	}
	onlyFailing(t, e.inOneBatch(sc, units), 10, boom)
	seen := map[string]int{}
	for _, a := range e.entries("t1")[before:] {
		seen[a.Action]++
	}
	if seen["failed-record"] != 0 {
		t.Error("the failed Record's audit entry was kept")
	}
	for i := range 21 {
		want := fmt.Sprint("record-", i)
		if i%2 == 0 {
			want = fmt.Sprint("update-", i)
		}
		if i != 10 && seen[want] != 1 {
			t.Errorf("%s is in the log %d times, want once", want, seen[want])
		}
	}
	e.in(haven.SystemPrincipal("t1", "test"), func(tx store.Tx) error {
		for i := 0; i < 21; i += 2 {
			if i == 10 {
				continue
			}
			if _, err := tx.Get(haven.KindNote, fmt.Sprint("n", i)); err != nil {
				t.Errorf("note of update %d: %v", i, err)
			}
		}
		return nil
	})
	if rep := e.verify(); !rep.OK() {
		t.Fatalf("the log does not verify after a failed Record: %+v", rep.Problems)
	}
}

// testPanicRollsBack: a unit of work that panics after writing is an error
// like any other: what it wrote is rolled back, as Update or as Record,
// and the store goes on committing other work.
func testPanicRollsBack(t *testing.T, e *env) {
	e.tenant("t1")
	sc := haven.ScopeOf(haven.SystemPrincipal("t1", "test"))
	before := len(e.entries("t1"))
	note := func(id string) store.Row {
		return store.Row{Kind: haven.KindNote, ID: id, PersonID: "px", Version: 1, Sealed: []byte("x"), Updated: time.Now()}
	}
	for name, queue := range map[string]func(context.Context, haven.Scope, func(store.Tx) error) error{"Update": e.db.Update, "Record": e.db.Record} {
		err := queue(ctx, sc, func(tx store.Tx) error {
			if err := tx.Insert(note("panic-" + name)); err != nil {
				return err
			}
			if err := tx.AppendAudit(audit.Entry{Time: time.Now(), Actor: "test", ActorRole: "system", Action: "panic", Outcome: "ok"}); err != nil {
				return err
			}
			panic("unit of work gave up")
		})
		if err == nil || !strings.Contains(err.Error(), "panicked") {
			t.Fatalf("%s of a panicking unit returned %v", name, err)
		}
	}
	e.in(haven.SystemPrincipal("t1", "test"), func(tx store.Tx) error {
		for _, name := range []string{"Update", "Record"} {
			if _, err := tx.Get(haven.KindNote, "panic-"+name); !errors.Is(err, haven.ErrNotFound) {
				t.Errorf("the panicking %s's row was kept: %v", name, err)
			}
		}
		return tx.Insert(note("after"))
	})
	for _, a := range e.entries("t1")[before:] {
		if a.Action == "panic" {
			t.Fatal("a panicking unit's audit entry was kept")
		}
	}
	if rep := e.verify(); !rep.OK() {
		t.Fatalf("the log does not verify after a panic: %+v", rep.Problems)
	}
}
