// Package storetest is the contract every Haven store must pass. The same
// tests run unchanged against SQLite and PostgreSQL, through the real record
// service and real cryptography, and then attack the database underneath
// with raw SQL to show what the store's design guarantees.
package storetest

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store/sqlstore"
	"golang.org/x/mod/sumdb/note"
)

// Harness opens a fresh, empty store for one test, and a raw connection
// to the same database with the powers of an attacker who has the database
// itself (PostgreSQL: a superuser, whom row-level security does not bind).
type Harness struct {
	Open func(t testing.TB) (s *sqlstore.DB, raw *sql.DB)
}

// env is one test's world: a store, a key file, the record service and an
// audit signing key.
type env struct {
	h        Harness
	t        testing.TB
	db       *sqlstore.DB
	raw      *sql.DB
	kms      *seal.LocalKMS
	svc      *care.Service
	signer   note.Signer
	verifier note.Verifier
}

func newEnv(t testing.TB, h Harness) *env {
	t.Helper()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "master.key")
	if err := seal.CreateKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	kms, err := seal.OpenKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.CreateKeyFiles(dir); err != nil {
		t.Fatal(err)
	}
	signer, err := audit.LoadSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := audit.LoadVerifier(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, raw := h.Open(t)
	t.Cleanup(func() { db.Close() })
	return &env{h: h, t: t, db: db, raw: raw, kms: kms, svc: care.New(db, seal.NewKeyring(kms)), signer: signer, verifier: verifier}
}

var ctx = context.Background()

func (e *env) tenant(id string) haven.Principal {
	e.t.Helper()
	if err := e.svc.CreateTenant(ctx, haven.Tenant{ID: id, Name: "Org " + id, ODSCode: "X" + id}); err != nil {
		e.t.Fatalf("create tenant %s: %v", id, err)
	}
	return haven.Principal{ID: "staff-" + id, TenantID: id, Role: haven.RoleSystem, Purpose: "direct care", ClientAddr: "127.0.0.1"}
}

// carer files a staff record on the system principal p's tenant, puts it on
// the care teams of people, gives it a visit to each that is under way now,
// and returns the carer's principal, stepped up: the one principal policy
// lets reveal home access.
func (e *env) carer(p haven.Principal, id string, people ...string) haven.Principal {
	e.t.Helper()
	e.create(p, &haven.Staff{ID: id, Name: "Carer " + id, Role: haven.RoleCarer, Email: id + "@example.org", Service: "Home care"})
	now := e.svc.Now()
	for _, pid := range people {
		e.create(p, &haven.CareTeam{ID: "team-" + id + "-" + pid, PersonID: pid, Name: "Home care", StaffIDs: []string{id}, Service: "Home care"})
		e.create(p, &haven.Visit{ID: "visit-" + id + "-" + pid, PersonID: pid, StaffID: id, Start: now.Add(-10 * time.Minute), End: now.Add(50 * time.Minute), Status: "in-progress"})
	}
	return haven.Principal{ID: "account-" + id, TenantID: p.TenantID, Role: haven.RoleCarer, StaffID: id, Purpose: "direct care", ClientAddr: "127.0.0.1", SteppedUp: true}
}

func (e *env) create(p haven.Principal, r haven.Record) {
	e.t.Helper()
	if _, err := e.svc.Create(ctx, p, r); err != nil {
		e.t.Fatalf("create %s %s: %v", r.Kind(), r.RecordID(), err)
	}
}

// exec runs raw SQL written with '?' placeholders against the database,
// bypassing the store: the tests' way of being an attacker with database
// access.
func (e *env) exec(q string, args ...any) int64 {
	e.t.Helper()
	res, err := e.raw.ExecContext(ctx, e.db.Dialect().Rebind(q), args...)
	if err != nil {
		e.t.Fatalf("raw SQL %q: %v", q, err)
	}
	n, _ := res.RowsAffected()
	return n
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.raw.QueryRowContext(ctx, e.db.Dialect().Rebind(q), args...).Scan(&n); err != nil {
		e.t.Fatalf("raw SQL %q: %v", q, err)
	}
	return n
}

func (e *env) verify() audit.Report {
	e.t.Helper()
	rep, err := audit.Verify(e.db.AuditSource(), e.verifier)
	if err != nil {
		e.t.Fatalf("verify: %v", err)
	}
	return rep
}

// Person fixtures with distinctive values.
func person(id, nhs, given, family, birth, phone string) *haven.Person {
	return &haven.Person{ID: id, NHSNumber: nhs, Given: given, Family: family, BirthDate: haven.MustDate(birth),
		Gender: "female", Address: haven.Address{Lines: []string{"1 Test Street"}, City: "Leeds", Postcode: "LS1 1AA"}, Phone: phone}
}

func condition(id, personID string) *haven.Condition {
	return &haven.Condition{ID: id, PersonID: personID, Code: "44054006", Display: "Type 2 diabetes mellitus", Status: "active"}
}

func homeAccess(id, personID, code string) *haven.HomeAccess {
	return &haven.HomeAccess{ID: id, PersonID: personID, KeySafeCode: code, EntryInstructions: "Key safe by the back door"}
}
