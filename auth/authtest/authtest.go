// Package authtest sets up real identity services for tests: a SQLite
// store in a temporary directory, real keys, two care organisations with
// synthetic people, and staff accounts enrolled through the same calls a
// browser makes. Nothing is mocked; only the clock is under the test's
// control.
package authtest

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/totp"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/demo"
	"github.com/havencare/haven/fhir"
	"github.com/havencare/haven/seal"
	"github.com/havencare/haven/store/postgres/pgtest"
	"github.com/havencare/haven/store/sqlite"
	"github.com/havencare/haven/store/sqlstore"
)

// Clock is a settable clock shared by the services under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Env is a running identity and record service over a real store.
type Env struct {
	DB    *sqlstore.DB
	Care  *care.Service
	Auth  *auth.Service
	Clock *Clock
	// People holds the ids of each tenant's synthetic people.
	People map[string][]string
	// Names holds each tenant's people's family names, and NHS their NHS
	// numbers, to look for leaks.
	Names map[string][]string
	NHS   map[string][]string
	// Data is each tenant's generated organisation: staff, people, care
	// teams and visits (planned from the clock's time).
	Data map[string]demo.Dataset

	mu     sync.Mutex
	linked map[string]bool // staff ids already linked to an account
}

// Tenants the environment creates.
const (
	North = "north"
	South = "south"
)

// Password is the password test accounts choose (long, not on the list).
const Password = "correct horse battery staple 7"

// Options adjust the environment.
type Options struct {
	Origin  string // default http://localhost:8080
	People  int    // per tenant; default 5
	RealNow bool   // use the wall clock (browser tests)
	// Postgres runs on a fresh PostgreSQL database (pgtest; skipped when
	// no server is configured) instead of SQLite.
	Postgres bool
	// Staff per tenant (demo.Options.Staff: 0 means the demo default).
	Staff int
	// Canaries per tenant (demo.Options.Canaries: 0 means the default, a
	// negative number none).
	Canaries int
}

// New builds an environment. The store closes when the test ends.
func New(t testing.TB, opt Options) *Env {
	t.Helper()
	if opt.Origin == "" {
		opt.Origin = "http://localhost:8080"
	}
	if opt.People == 0 {
		opt.People = 5
	}
	ctx := context.Background()
	dir := t.TempDir()
	if err := seal.CreateKeyFile(filepath.Join(dir, "master.key")); err != nil {
		t.Fatal(err)
	}
	kms, err := seal.OpenKeyFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	var db *sqlstore.DB
	if opt.Postgres {
		db = pgtest.Open(t)
	} else if db, err = sqlite.Open(ctx, filepath.Join(dir, "haven.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kr := seal.NewKeyring(kms)
	e := &Env{DB: db, Care: care.New(db, kr), Clock: &Clock{t: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)},
		People: map[string][]string{}, Names: map[string][]string{}, NHS: map[string][]string{},
		Data: map[string]demo.Dataset{}, linked: map[string]bool{}}
	if e.Auth, err = auth.New(db, kr, auth.Config{Origin: opt.Origin, TokenURL: opt.Origin + "/fhir/auth/token"}); err != nil {
		t.Fatal(err)
	}
	if !opt.RealNow {
		e.Auth.Now = e.Clock.Now
		e.Care.Now = e.Clock.Now
	}
	e.Care.Container = e.Auth
	e.Care.ScopeAllows = fhir.ScopeAllows
	if err := e.Care.EnsureSupplierPartition(ctx); err != nil {
		t.Fatal(err)
	}
	for i, tenant := range []string{North, South} {
		if err := e.Care.CreateTenant(ctx, haven.Tenant{ID: tenant, Name: tenant + " care"}); err != nil {
			t.Fatal(err)
		}
		ds := demo.Generate(demo.Options{People: opt.People, Staff: opt.Staff, Canaries: opt.Canaries, Seed: int64(100 + i), Now: e.Care.Now()})
		e.Data[tenant] = ds
		p := haven.SystemPrincipal(tenant, "test set-up")
		for j := range ds.Staff {
			if _, err := e.Care.Create(ctx, p, &ds.Staff[j]); err != nil {
				t.Fatal(err)
			}
		}
		for j := range ds.People {
			for _, r := range ds.People[j].Records() {
				if _, err := e.Care.Create(ctx, p, r); err != nil {
					t.Fatal(err)
				}
			}
			e.People[tenant] = append(e.People[tenant], ds.People[j].Person.ID)
			e.Names[tenant] = append(e.Names[tenant], ds.People[j].Person.Family)
			e.NHS[tenant] = append(e.NHS[tenant], ds.People[j].Person.NHSNumber)
		}
	}
	return e
}

// Account is an enrolled test account.
type Account struct {
	ID, Email, Partition string
	Role                 haven.Role
	TOTPSecret           string
	RecoveryCodes        []string
}

// Invite creates an account and returns its enrolment link token. An
// account with a care role is linked to an unlinked staff record of that
// role in its tenant, the one with the largest caseload, so that it has
// people to see (see StaffOf).
func (e *Env) Invite(t testing.TB, partition, email string, role haven.Role) auth.Invitation {
	t.Helper()
	staff := e.pickStaff(partition, role)
	inv, err := e.Auth.Invite(context.Background(), haven.SystemPrincipal(haven.TenantOf(partition), "test"), partition, auth.NewAccount{Email: email, Name: "Test " + string(role), Role: role, StaffID: staff})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func (e *Env) pickStaff(partition string, role haven.Role) string {
	switch role {
	case haven.RoleCarer, haven.RoleNurse, haven.RoleClinician, haven.RoleCoordinator:
	default:
		return ""
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ds := e.Data[partition]
	best, most := "", -1
	for _, st := range ds.Staff {
		if st.Role != role || e.linked[st.ID] {
			continue
		}
		if n := len(e.caseload(ds, st)); n > most {
			best, most = st.ID, n
		}
	}
	if best != "" {
		e.linked[best] = true
	}
	return best
}

// caseload is who a member of staff may see by relationship: the people
// whose care team names them, and for coordinators and clinicians the
// people of their service.
func (e *Env) caseload(ds demo.Dataset, st haven.Staff) map[string]bool {
	out := map[string]bool{}
	for _, pd := range ds.People {
		for _, ct := range pd.CareTeams {
			onTeam := slices.Contains(ct.StaffIDs, st.ID)
			inService := st.Service != "" && ct.Service == st.Service
			switch st.Role {
			case haven.RoleCarer, haven.RoleNurse:
				if onTeam {
					out[pd.Person.ID] = true
				}
			case haven.RoleClinician:
				if onTeam || inService {
					out[pd.Person.ID] = true
				}
			case haven.RoleCoordinator:
				if inService {
					out[pd.Person.ID] = true
				}
			}
		}
	}
	return out
}

// StaffOf returns the staff record linked to an account, if any.
func (e *Env) StaffOf(t testing.TB, a Account) (haven.Staff, bool) {
	t.Helper()
	infos, err := e.Auth.Accounts(context.Background(), haven.SystemPrincipal(haven.TenantOf(a.Partition), "test"))
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.ID == a.ID {
			for _, st := range e.Data[a.Partition].Staff {
				if st.ID == info.StaffID && st.ID != "" {
					return st, true
				}
			}
		}
	}
	return haven.Staff{}, false
}

// Caseload returns the ids of the people an account may see by
// relationship, from the generated data (not from Haven's indexes, so that
// tests compare Haven against an independent answer).
func (e *Env) Caseload(t testing.TB, a Account) map[string]bool {
	t.Helper()
	st, ok := e.StaffOf(t, a)
	if !ok {
		return map[string]bool{}
	}
	return e.caseload(e.Data[a.Partition], st)
}

// EnrolTOTP invites an account, sets its password and enrols an
// authenticator app, as the enrolment pages do.
func (e *Env) EnrolTOTP(t testing.TB, partition, email string, role haven.Role) Account {
	t.Helper()
	ctx := context.Background()
	inv := e.Invite(t, partition, email, role)
	c := auth.ClientInfo{Addr: "192.0.2.1", Device: "test"}
	sess, err := e.Auth.AcceptInvite(ctx, inv.Token, Password, c)
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := e.Auth.BeginTOTP(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.Code(secret, e.Auth.Now())
	res, err := e.Auth.ConfirmTOTP(ctx, sess.Token, code, c)
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(30 * time.Second) // the enrolment code is spent
	return Account{ID: inv.AccountID, Email: email, Partition: partition, Role: role, TOTPSecret: secret, RecoveryCodes: res.RecoveryCodes}
}

// SignIn signs an account in with password and TOTP and returns the
// multi-factor session's cookie value.
func (e *Env) SignIn(t testing.TB, a Account) string {
	t.Helper()
	ctx := context.Background()
	c := auth.ClientInfo{Addr: "192.0.2.1", Device: "test"}
	sess, err := e.Auth.SignInPassword(ctx, a.Email, Password, c)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.Code(a.TOTPSecret, e.Auth.Now())
	full, err := e.Auth.VerifyTOTP(ctx, sess.Token, code, c)
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(30 * time.Second)
	return full.Token
}

// PasswordOnly signs an account in with its password only.
func (e *Env) PasswordOnly(t testing.TB, a Account) string {
	t.Helper()
	sess, err := e.Auth.SignInPassword(context.Background(), a.Email, Password, auth.ClientInfo{Addr: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	return sess.Token
}

// NextVisit returns the account's earliest visit that has not ended by the
// clock's time, and its person; it fails the test if the account has none.
func (e *Env) NextVisit(t testing.TB, a Account) haven.Visit {
	t.Helper()
	st, ok := e.StaffOf(t, a)
	if !ok {
		t.Fatalf("account %s has no staff record", a.Email)
	}
	var best *haven.Visit
	now := e.Clock.Now()
	for _, pd := range e.Data[a.Partition].People {
		for i, v := range pd.Visits {
			if v.StaffID == st.ID && v.End.After(now) && (best == nil || v.Start.Before(best.Start)) {
				best = &pd.Visits[i]
			}
		}
	}
	if best == nil {
		t.Fatalf("staff %s has no visits after %s", st.ID, now)
	}
	return *best
}

// SetClock moves the clock to t (forwards only).
func (c *Clock) SetClock(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}
