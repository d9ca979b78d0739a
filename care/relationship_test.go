package care_test

// These tests check that the record service enforces the policy of
// docs/permissions.md by care relationship, on a real store (SQLite and
// PostgreSQL). Principals are built directly from the generated staff
// records, and every expected answer is computed from the generated data
// (authtest.Env.Data), never from Haven's own indexes.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/demo"
	"github.com/havencare/haven/guard"
	"github.com/havencare/haven/policy"
	"github.com/havencare/haven/store"
)

// relPeople is how many people each tenant gets: enough for caseloads,
// services and canaries to differ, few enough to stay under every guard
// budget.
const relPeople = 30

// relAddr is the address every test principal acts from, so the guard's
// new-network rule stays quiet.
const relAddr = "192.0.2.10"

// goodReason is a break-glass reason long enough for policy.
const goodReason = "Called by 111: found collapsed, needs medication history"

// onBothStores runs body on a fresh SQLite environment and on a fresh
// PostgreSQL one (skipped without HAVEN_TEST_POSTGRES_URL). Each store gets
// its own environment, so clocks, guard windows and alerts never leak
// between them.
func onBothStores(t *testing.T, body func(t *testing.T, e *authtest.Env)) {
	t.Helper()
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		body(t, authtest.New(t, authtest.Options{People: relPeople}))
	})
	t.Run("postgres", func(t *testing.T) {
		body(t, authtest.New(t, authtest.Options{People: relPeople, Postgres: true}))
	})
}

// --- the generated data, read independently of Haven ---

// staffWithRole lists a tenant's staff of one role, in generated order.
func staffWithRole(ds demo.Dataset, role haven.Role) []haven.Staff {
	var out []haven.Staff
	for _, st := range ds.Staff {
		if st.Role == role {
			out = append(out, st)
		}
	}
	return out
}

func staffByID(t *testing.T, ds demo.Dataset, id string) haven.Staff {
	t.Helper()
	for _, st := range ds.Staff {
		if st.ID == id {
			return st
		}
	}
	t.Fatalf("no staff record %s", id)
	return haven.Staff{}
}

func personByID(t *testing.T, ds demo.Dataset, id string) demo.PersonData {
	t.Helper()
	for _, pd := range ds.People {
		if pd.Person.ID == id {
			return pd
		}
	}
	t.Fatalf("no person %s", id)
	return demo.PersonData{}
}

// sortedPeople returns the tenant's people ordered by id, so every choice a
// test makes among them is deterministic.
func sortedPeople(ds demo.Dataset) []demo.PersonData {
	out := slices.Clone(ds.People)
	sort.Slice(out, func(i, j int) bool { return out[i].Person.ID < out[j].Person.ID })
	return out
}

// namesStaff reports whether any of pd's care teams lists the staff id.
func namesStaff(pd demo.PersonData, staffID string) bool {
	for _, ct := range pd.CareTeams {
		if slices.Contains(ct.StaffIDs, staffID) {
			return true
		}
	}
	return false
}

// inService reports whether any of pd's care teams is provided by svc.
func inService(pd demo.PersonData, svc string) bool {
	if svc == "" {
		return false
	}
	for _, ct := range pd.CareTeams {
		if ct.Service == svc {
			return true
		}
	}
	return false
}

// visibleTo is who a member of staff may list and read by relationship
// (docs/permissions.md): carers and nurses their care teams, coordinators
// their service, clinicians both; nobody else anyone.
func visibleTo(ds demo.Dataset, st haven.Staff) map[string]bool {
	out := map[string]bool{}
	for _, pd := range ds.People {
		team, svc := namesStaff(pd, st.ID), inService(pd, st.Service)
		var ok bool
		switch st.Role {
		case haven.RoleCarer, haven.RoleNurse:
			ok = team
		case haven.RoleClinician:
			ok = team || svc
		case haven.RoleCoordinator:
			ok = svc
		}
		if ok {
			out[pd.Person.ID] = true
		}
	}
	return out
}

// busiest returns the member of staff of role who may see the most people.
func busiest(t *testing.T, ds demo.Dataset, role haven.Role) haven.Staff {
	t.Helper()
	var best haven.Staff
	most := -1
	for _, st := range staffWithRole(ds, role) {
		if n := len(visibleTo(ds, st)); n > most {
			best, most = st, n
		}
	}
	if most <= 0 {
		t.Fatalf("no %s with anyone to see", role)
	}
	return best
}

// outsider returns a person (not a canary) whom st may not see, preferring
// one in st's own service so that "same service is not enough" is tested.
func outsider(t *testing.T, ds demo.Dataset, st haven.Staff, visible map[string]bool) demo.PersonData {
	t.Helper()
	var fallback *demo.PersonData
	for _, pd := range sortedPeople(ds) {
		if visible[pd.Person.ID] || pd.Person.Canary {
			continue
		}
		if inService(pd, st.Service) {
			return pd
		}
		if fallback == nil {
			fallback = &pd
		}
	}
	if fallback == nil {
		t.Fatalf("everyone is visible to %s %s", st.Role, st.ID)
	}
	return *fallback
}

// freshNHSNumber returns a valid NHS number no generated person has.
func freshNHSNumber(e *authtest.Env, skip int) string {
	used := map[string]bool{}
	for _, ns := range e.NHS {
		for _, n := range ns {
			used[haven.NormalizeNHSNumber(n)] = true
		}
	}
	for i := 0; ; i++ {
		nine := fmt.Sprintf("999%06d", 424242+i)
		c := haven.NHSCheckDigit(nine)
		if c < 0 {
			continue
		}
		if n := nine + strconv.Itoa(c); !used[n] {
			if skip == 0 {
				return n
			}
			skip--
		}
	}
}

// --- principals ---

// staffPrincipal is a signed-in member of staff linked to st. id names the
// account; tests give each principal its own, so the guard's windows of
// one check never spill into another.
func staffPrincipal(tenant string, st haven.Staff, id string) haven.Principal {
	return haven.Principal{ID: id, TenantID: tenant, Role: st.Role, StaffID: st.ID, ClientAddr: relAddr, Purpose: "direct care"}
}

func stepped(p haven.Principal) haven.Principal {
	p.SteppedUp = true
	return p
}

func dpoOf(t *testing.T, e *authtest.Env, tenant string) haven.Principal {
	t.Helper()
	st := staffWithRole(e.Data[tenant], haven.RoleDPO)
	if len(st) == 0 {
		t.Fatalf("%s has no data-protection officer", tenant)
	}
	p := staffPrincipal(tenant, st[0], "acct-dpo-"+tenant)
	p.Purpose = "oversight"
	return p
}

func adminOf(t *testing.T, e *authtest.Env, tenant string) haven.Principal {
	t.Helper()
	st := staffWithRole(e.Data[tenant], haven.RoleTenantAdmin)
	if len(st) == 0 {
		t.Fatalf("%s has no tenant administrator", tenant)
	}
	p := staffPrincipal(tenant, st[0], "acct-admin-"+tenant)
	p.Purpose = "administration"
	return p
}

// --- what Haven answers ---

// wantDenied checks that err is a refusal by policy: a care.DeniedError
// that is a haven.ErrForbidden.
func wantDenied(t *testing.T, err error, what string) *care.DeniedError {
	t.Helper()
	var de *care.DeniedError
	if !errors.Is(err, haven.ErrForbidden) || !errors.As(err, &de) {
		t.Errorf("%s: got %v, want a refusal (care.DeniedError, haven.ErrForbidden)", what, err)
		return &care.DeniedError{}
	}
	return de
}

// wantRefused is wantDenied for a refusal that step-up would not change.
func wantRefused(t *testing.T, err error, what string) {
	t.Helper()
	if de := wantDenied(t, err, what); de.NeedStepUp {
		t.Errorf("%s: refusal asks for step-up (%q); want a refusal whatever the factor", what, de.Reason)
	}
}

// wantStepUp checks that err says only step-up is missing.
func wantStepUp(t *testing.T, err error, what string) {
	t.Helper()
	if de := wantDenied(t, err, what); !de.NeedStepUp {
		t.Errorf("%s: refusal %q does not ask for step-up", what, de.Reason)
	}
}

func wantNotFound(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, haven.ErrNotFound) || errors.Is(err, haven.ErrForbidden) {
		t.Errorf("%s: got %v, want haven.ErrNotFound (and not forbidden)", what, err)
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// listPeople pages through List(KindPerson) size records at a time and
// returns every id, checking that pages are ascending and never overlap.
func listPeople(t *testing.T, e *authtest.Env, p haven.Principal, size int) []string {
	t.Helper()
	var ids []string
	after := ""
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatal("paging does not end")
		}
		recs, err := e.Care.List(context.Background(), p, haven.KindPerson, after, size)
		must(t, err, "list people")
		if len(recs) == 0 {
			return ids
		}
		if len(recs) > size {
			t.Errorf("page of %d people, asked for %d", len(recs), size)
		}
		for _, r := range recs {
			per, ok := r.(*haven.Person)
			if !ok {
				t.Fatalf("list of people returned a %T", r)
			}
			if per.ID <= after {
				t.Errorf("person %s listed after %s: pages are not ascending", per.ID, after)
			}
			ids = append(ids, per.ID)
			after = per.ID
		}
	}
}

// sameSet compares ids with want, naming what is missing, extra or repeated.
func sameSet(t *testing.T, what string, got []string, want map[string]bool) {
	t.Helper()
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("%s: %s returned twice", what, id)
		}
		seen[id] = true
		if !want[id] {
			t.Errorf("%s: %s returned but not expected", what, id)
		}
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("%s: %s expected but not returned", what, id)
		}
	}
}

func personIDs(ps []haven.Person) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// auditOf reads a tenant's audit log as its data-protection officer. The
// window is closed at the test clock: the store's default end is the wall
// clock, which the test clock may be ahead of.
func auditOf(t *testing.T, e *authtest.Env, tenant string, q store.AuditQuery) []audit.Entry {
	t.Helper()
	q.Until = e.Clock.Now().Add(time.Minute)
	entries, err := e.Care.AccessReport(context.Background(), dpoOf(t, e, tenant), q)
	must(t, err, "access report")
	return entries
}

func alertsOf(t *testing.T, e *authtest.Env, tenant string) []care.Alert {
	t.Helper()
	as, err := e.Care.Alerts(context.Background(), dpoOf(t, e, tenant), care.AlertQuery{})
	must(t, err, "alerts")
	return as
}

// countAlerts counts alerts of rule raised by actor about person ("" for
// any person).
func countAlerts(as []care.Alert, rule guard.Rule, actor, person string) int {
	n := 0
	for _, a := range as {
		if a.Rule == rule && a.Actor == actor && (person == "" || a.PersonID == person) {
			n++
		}
	}
	return n
}

// findEntry returns the entries matching action, outcome and person.
func findEntries(entries []audit.Entry, action, outcome, person string) []audit.Entry {
	var out []audit.Entry
	for _, en := range entries {
		if en.Action == action && en.Outcome == outcome && en.PersonID == person {
			out = append(out, en)
		}
	}
	return out
}

// --- carers and nurses: the care team, nothing wider ---

func TestRelationshipCareTeam(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *authtest.Env) {
		ctx := context.Background()
		ds := e.Data[authtest.North]
		for _, role := range []haven.Role{haven.RoleCarer, haven.RoleNurse} {
			t.Run(string(role), func(t *testing.T) {
				st := busiest(t, ds, role)
				p := staffPrincipal(authtest.North, st, "acct-"+string(role))
				want := visibleTo(ds, st)

				// Listing, a few at a time, gives exactly the caseload.
				sameSet(t, "list", listPeople(t, e, p, 3), want)

				// Search by family name returns the caseload's matches
				// only. Pick a name someone outside the caseload shares,
				// when there is one.
				var mine []string
				for id := range want {
					mine = append(mine, id)
				}
				sort.Strings(mine)
				family := personByID(t, ds, mine[0]).Person.Family
			pick:
				for _, id := range mine {
					f := haven.NormalizeName(personByID(t, ds, id).Person.Family)
					for _, pd := range ds.People {
						if !want[pd.Person.ID] && haven.NormalizeName(pd.Person.Family) == f {
							family = personByID(t, ds, id).Person.Family
							break pick
						}
					}
				}
				wantFam := map[string]bool{}
				matches := 0
				for _, pd := range ds.People {
					if haven.NormalizeName(pd.Person.Family) == haven.NormalizeName(family) {
						matches++
						if want[pd.Person.ID] {
							wantFam[pd.Person.ID] = true
						}
					}
				}
				found, err := e.Care.Search(ctx, p, care.Query{Family: family})
				must(t, err, "search by family name")
				sameSet(t, fmt.Sprintf("search family %q (%d in the organisation)", family, matches), personIDs(found), wantFam)
				t.Logf("%s %s: %d people on their care teams; family %q matches %d in the organisation, %d in the caseload",
					role, st.ID, len(want), family, matches, len(wantFam))

				in := personByID(t, ds, mine[0])
				out := outsider(t, ds, st, want)
				found, err = e.Care.Search(ctx, p, care.Query{NHSNumber: in.Person.NHSNumber})
				must(t, err, "search own NHS number")
				sameSet(t, "search NHS number in caseload", personIDs(found), map[string]bool{in.Person.ID: true})
				found, err = e.Care.Search(ctx, p, care.Query{NHSNumber: out.Person.NHSNumber})
				must(t, err, "search other NHS number")
				sameSet(t, "search NHS number outside caseload", personIDs(found), nil)

				// The record of someone on the caseload opens, whole.
				pr, err := e.Care.PersonRecord(ctx, p, in.Person.ID)
				must(t, err, "person record in caseload")
				if pr.Person.ID != in.Person.ID || len(pr.Conditions) != len(in.Conditions) ||
					len(pr.Medications) != len(in.Medications) || len(pr.Visits) != len(in.Visits) {
					t.Errorf("record of %s: got person %s with %d conditions, %d medications, %d visits; want %d, %d, %d",
						in.Person.ID, pr.Person.ID, len(pr.Conditions), len(pr.Medications), len(pr.Visits),
						len(in.Conditions), len(in.Medications), len(in.Visits))
				}

				// Anyone else's is refused, even in the same service,
				// and the refusal is audited.
				_, err = e.Care.PersonRecord(ctx, p, out.Person.ID)
				wantRefused(t, err, "person record outside caseload")
				_, _, err = e.Care.Get(ctx, p, haven.KindPerson, out.Person.ID)
				wantRefused(t, err, "get person outside caseload")
				if len(out.Conditions) > 0 {
					_, _, err = e.Care.Get(ctx, p, haven.KindCondition, out.Conditions[0].ID)
					wantRefused(t, err, "get condition outside caseload")
				}
				entries := auditOf(t, e, authtest.North, store.AuditQuery{Actors: []string{p.ID}, PersonID: out.Person.ID})
				if got := findEntries(entries, care.ActionRead, care.OutcomeDenied, out.Person.ID); len(got) == 0 {
					t.Errorf("no denied read of %s by %s in the audit log; entries: %+v", out.Person.ID, p.ID, entries)
				}
				for _, en := range entries {
					if en.Outcome == care.OutcomeOK {
						t.Errorf("audit log shows a successful access to a person outside the caseload: %+v", en)
					}
				}

				// Listing another kind walks the caseload only.
				visits, err := e.Care.List(ctx, p, haven.KindVisit, "", care.MaxListResults)
				must(t, err, "list visits")
				if len(visits) == 0 {
					t.Error("no visits listed for a caseload with visits")
				}
				for _, r := range visits {
					if v := r.(*haven.Visit); !want[v.PersonID] {
						t.Errorf("visit %s of %s listed, outside the caseload", v.ID, v.PersonID)
					}
				}
			})
		}
	})
}

// --- coordinators: their service, scheduling kinds ---

func TestRelationshipCoordinator(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *authtest.Env) {
		ctx := context.Background()
		ds := e.Data[authtest.North]
		coords := staffWithRole(ds, haven.RoleCoordinator)
		if len(coords) < 2 || coords[0].Service == coords[1].Service {
			t.Fatalf("want coordinators of two services, have %+v", coords)
		}
		for _, st := range coords {
			t.Run(st.Service, func(t *testing.T) {
				p := staffPrincipal(authtest.North, st, "acct-coord-"+st.ID)
				want := visibleTo(ds, st)
				if len(want) == 0 {
					t.Fatalf("nobody in %s", st.Service)
				}
				sameSet(t, "list", listPeople(t, e, p, 4), want)

				// Someone in the service with every kind of record.
				var pd *demo.PersonData
				for _, x := range sortedPeople(ds) {
					if want[x.Person.ID] && !x.Person.Canary && len(x.Visits) > 0 && len(x.CarePlans) > 0 &&
						len(x.Conditions) > 0 && len(x.Medications) > 0 {
						pd = &x
						break
					}
				}
				if pd == nil {
					t.Fatalf("nobody in %s with visits, a care plan, conditions and medicines", st.Service)
				}
				for _, c := range []struct {
					kind haven.Kind
					id   string
				}{
					{haven.KindPerson, pd.Person.ID},
					{haven.KindVisit, pd.Visits[0].ID},
					{haven.KindCarePlan, pd.CarePlans[0].ID},
					{haven.KindCareTeam, pd.CareTeams[0].ID},
				} {
					rec, _, err := e.Care.Get(ctx, p, c.kind, c.id)
					if err != nil {
						t.Errorf("get %s %s in own service: %v", c.kind, c.id, err)
					} else if rec.RecordID() != c.id || rec.Subject() != pd.Person.ID {
						t.Errorf("get %s %s: got %s of %s", c.kind, c.id, rec.RecordID(), rec.Subject())
					}
				}
				_, _, err := e.Care.Get(ctx, p, haven.KindCondition, pd.Conditions[0].ID)
				wantRefused(t, err, "coordinator gets a condition")
				_, _, err = e.Care.Get(ctx, p, haven.KindMedication, pd.Medications[0].ID)
				wantRefused(t, err, "coordinator gets a medication")

				// Outside the service nothing opens, not even scheduling.
				q := staffPrincipal(authtest.North, st, "acct-coord-outside-"+st.ID)
				out := outsider(t, ds, st, want)
				_, err = e.Care.PersonRecord(ctx, q, out.Person.ID)
				wantRefused(t, err, "coordinator reads a person outside the service")
				if len(out.Visits) > 0 {
					_, _, err = e.Care.Get(ctx, q, haven.KindVisit, out.Visits[0].ID)
					wantRefused(t, err, "coordinator gets a visit outside the service")
				}
			})
		}

		// A coordinator registers someone new in their service and then
		// sees them; the other service's coordinator does not.
		t.Run("register", func(t *testing.T) {
			st, other := coords[0], coords[1]
			p := staffPrincipal(authtest.North, st, "acct-coord-register")
			newcomer := &haven.Person{
				ID: "rel-newcomer-1", NHSNumber: freshNHSNumber(e, 0), Given: "Edith", Family: "Newcombe",
				BirthDate: haven.DateOf(time.Date(1938, 4, 2, 0, 0, 0, 0, time.UTC)), Gender: "female",
				Address: haven.Address{Lines: []string{"3 Mill Lane"}, City: "Keighley", Postcode: "BD21 4AA"},
			}
			_, err := e.Care.Create(ctx, p, newcomer)
			must(t, err, "coordinator creates a person")
			team := &haven.CareTeam{ID: "rel-newcomer-team-1", PersonID: newcomer.ID, Name: st.Service + " (new referral)", Service: st.Service}
			_, err = e.Care.Create(ctx, p, team)
			must(t, err, "coordinator creates a care team in own service")

			want := visibleTo(e.Data[authtest.North], st)
			want[newcomer.ID] = true
			sameSet(t, "list after registering", listPeople(t, e, p, 5), want)
			pr, err := e.Care.PersonRecord(ctx, p, newcomer.ID)
			must(t, err, "coordinator reads the newcomer")
			if pr.Person.Family != newcomer.Family || len(pr.CareTeams) != 1 || pr.CareTeams[0].Service != st.Service {
				t.Errorf("newcomer's record: %+v", pr)
			}

			// The coordinator may not write clinical detail for them.
			_, err = e.Care.Create(ctx, p, &haven.Condition{ID: "rel-newcomer-cond-1", PersonID: newcomer.ID,
				Code: "38341003", Display: "Hypertensive disorder", Status: "active"})
			wantRefused(t, err, "coordinator writes a condition")

			q := staffPrincipal(authtest.North, other, "acct-coord-other-service")
			if slices.Contains(listPeople(t, e, q, 50), newcomer.ID) {
				t.Errorf("coordinator of %s lists a newcomer registered in %s", other.Service, st.Service)
			}
			_, err = e.Care.PersonRecord(ctx, q, newcomer.ID)
			wantRefused(t, err, "other service's coordinator reads the newcomer")
		})
	})
}

// --- clinicians: care team or service, otherwise break-glass ---

func TestRelationshipClinicianBreakGlass(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *authtest.Env) {
		ctx := context.Background()
		ds := e.Data[authtest.North]
		st := busiest(t, ds, haven.RoleClinician)
		p := staffPrincipal(authtest.North, st, "acct-clinician")
		want := visibleTo(ds, st)
		sameSet(t, "list", listPeople(t, e, p, 2), want)

		var in *demo.PersonData
		for _, x := range sortedPeople(ds) {
			if want[x.Person.ID] && !x.Person.Canary {
				in = &x
				break
			}
		}
		if in == nil {
			t.Fatal("clinician sees nobody but canaries")
		}
		_, err := e.Care.PersonRecord(ctx, p, in.Person.ID)
		must(t, err, "clinician reads someone in caseload or service")

		// Outside both: refused.
		out := outsider(t, ds, st, want)
		if namesStaff(out, st.ID) || inService(out, st.Service) {
			t.Fatalf("outsider %s is related to the clinician", out.Person.ID)
		}
		_, err = e.Care.PersonRecord(ctx, p, out.Person.ID)
		wantRefused(t, err, "clinician reads outside team and service")

		// Break-glass needs a real reason, then a fresh factor.
		_, err = e.Care.BreakGlass(ctx, stepped(p), out.Person.ID, "too short")
		wantRefused(t, err, "break-glass with a 9-character reason")
		_, err = e.Care.BreakGlass(ctx, p, out.Person.ID, goodReason)
		wantStepUp(t, err, "break-glass without step-up")
		if n := countAlerts(alertsOf(t, e, authtest.North), guard.RuleBreakGlass, p.ID, ""); n != 0 {
			t.Errorf("refused break-glass attempts raised %d break-glass alerts", n)
		}

		opened := e.Clock.Now()
		lease, err := e.Care.BreakGlass(ctx, stepped(p), out.Person.ID, goodReason)
		must(t, err, "break-glass with reason and step-up")
		if lease.ID == "" || lease.PersonID != out.Person.ID || lease.Account != p.ID || lease.Reason != goodReason {
			t.Errorf("lease: %+v", lease)
		}
		if !lease.Until.Equal(opened.Add(policy.MaxBreakGlassLease)) {
			t.Errorf("lease until %v, want %v (opened %v + %v)", lease.Until, opened.Add(policy.MaxBreakGlassLease), opened, policy.MaxBreakGlassLease)
		}

		// Through the lease the record opens, marked in the audit log.
		pr, err := e.Care.PersonRecord(ctx, p, out.Person.ID)
		must(t, err, "read through the lease")
		if pr.Person.ID != out.Person.ID {
			t.Errorf("read through the lease returned %s", pr.Person.ID)
		}
		entries := auditOf(t, e, authtest.North, store.AuditQuery{Actors: []string{p.ID}, PersonID: out.Person.ID})
		reads := findEntries(entries, care.ActionRead, care.OutcomeOK, out.Person.ID)
		if len(reads) != 1 || !strings.Contains(reads[0].Purpose, "break-glass lease "+lease.ID) {
			t.Errorf("successful reads of %s: %+v; want one whose purpose names break-glass lease %s", out.Person.ID, reads, lease.ID)
		}
		if bg := findEntries(entries, care.ActionBreakGlass, care.OutcomeOK, out.Person.ID); len(bg) != 1 || !strings.Contains(bg[0].Purpose, lease.ID) {
			t.Errorf("break-glass entries: %+v; want one naming lease %s", bg, lease.ID)
		}
		if n := countAlerts(alertsOf(t, e, authtest.North), guard.RuleBreakGlass, p.ID, out.Person.ID); n != 1 {
			t.Errorf("%d break-glass alerts for the lease, want 1", n)
		}

		// A lease does not open home access, and under it only notes and
		// observations may be written.
		_, err = e.Care.HomeAccess(ctx, stepped(p), out.Person.ID)
		wantRefused(t, err, "home access through a lease")
		if n := countAlerts(alertsOf(t, e, authtest.North), guard.RuleHomeAccess, p.ID, out.Person.ID); n != 1 {
			t.Errorf("%d home-access-refused alerts, want 1", n)
		}
		_, err = e.Care.Create(ctx, p, &haven.Note{ID: "rel-lease-note-1", PersonID: out.Person.ID, AuthorID: st.ID,
			At: e.Clock.Now(), Text: "Seen at home after a fall; no injury found."})
		must(t, err, "write a note through the lease")
		_, err = e.Care.Create(ctx, p, &haven.Condition{ID: "rel-lease-cond-1", PersonID: out.Person.ID,
			Code: "38341003", Display: "Hypertensive disorder", Status: "active"})
		wantRefused(t, err, "write a condition through the lease")

		// The lease waits for the data-protection officer's review.
		dpo := dpoOf(t, e, authtest.North)
		pending, err := e.Care.Leases(ctx, dpo, true)
		must(t, err, "pending leases")
		if !slices.ContainsFunc(pending, func(l care.Lease) bool { return l.ID == lease.ID }) {
			t.Errorf("lease %s not pending review: %+v", lease.ID, pending)
		}
		_, err = e.Care.Leases(ctx, p, true)
		wantRefused(t, err, "clinician lists leases")
		must(t, e.Care.ReviewLease(ctx, dpo, lease.ID, true, "Confirmed with 111: emergency call-out"), "review lease")
		pending, err = e.Care.Leases(ctx, dpo, true)
		must(t, err, "pending leases after review")
		if slices.ContainsFunc(pending, func(l care.Lease) bool { return l.ID == lease.ID }) {
			t.Errorf("lease %s still pending after review", lease.ID)
		}
		all, err := e.Care.Leases(ctx, dpo, false)
		must(t, err, "all leases")
		i := slices.IndexFunc(all, func(l care.Lease) bool { return l.ID == lease.ID })
		if i < 0 || all[i].Reviewer != dpo.ID || all[i].Reviewed.IsZero() || !all[i].Justified {
			t.Errorf("reviewed lease: %+v", all)
		}

		// One nanosecond before the end the lease holds; at its end it is
		// over.
		e.Clock.SetClock(lease.Until.Add(-time.Nanosecond))
		_, err = e.Care.PersonRecord(ctx, p, out.Person.ID)
		must(t, err, "read just before the lease ends")
		e.Clock.SetClock(lease.Until)
		_, err = e.Care.PersonRecord(ctx, p, out.Person.ID)
		wantRefused(t, err, "read when the lease has ended")
		e.Clock.Advance(time.Minute)
		_, err = e.Care.PersonRecord(ctx, p, out.Person.ID)
		wantRefused(t, err, "read after the lease has ended")
	})
}

// --- home access: the assigned visit's window, with step-up ---

// homeAccessOpen reports whether any of staffID's visits to pd opens home
// access at `at` (docs/permissions.md: [Start-30m, End)).
func homeAccessOpen(pd demo.PersonData, staffID string, at time.Time, except string) bool {
	for _, v := range pd.Visits {
		if v.ID == except || v.StaffID != staffID || v.Status == "cancelled" || !v.End.After(v.Start) {
			continue
		}
		if !at.Before(v.Start.Add(-policy.DefaultHomeAccessLead)) && at.Before(v.End) {
			return true
		}
	}
	return false
}

type homeCase struct {
	pd    demo.PersonData
	visit haven.Visit
	carer haven.Staff
	other haven.Staff // on the same care team, no visit open in visit's window
}

// pickHomeCase finds a carer's visit whose window stands alone (no other
// visit of theirs to the person is open just before it opens, while it is
// open, or when it ends) and a colleague on the same team without a visit
// then, preferring one with no visit to the person at all.
func pickHomeCase(t *testing.T, e *authtest.Env, tenant string) homeCase {
	t.Helper()
	ds := e.Data[tenant]
	now := e.Clock.Now()
	lead := policy.DefaultHomeAccessLead
	for _, pd := range sortedPeople(ds) {
		if pd.Person.Canary || pd.HomeAccess == nil {
			continue
		}
		for _, v := range pd.Visits {
			carer := staffByID(t, ds, v.StaffID)
			before := v.Start.Add(-lead - time.Minute)
			if carer.Role != haven.RoleCarer || v.Status == "cancelled" || before.Before(now) ||
				homeAccessOpen(pd, carer.ID, before, "") || homeAccessOpen(pd, carer.ID, v.End, "") ||
				homeAccessOpen(pd, carer.ID, v.Start.Add(-lead), v.ID) || homeAccessOpen(pd, carer.ID, v.End.Add(-time.Minute), v.ID) {
				continue
			}
			var other *haven.Staff
			for _, ct := range pd.CareTeams {
				for _, id := range ct.StaffIDs {
					o := staffByID(t, ds, id)
					if id == carer.ID || (o.Role != haven.RoleCarer && o.Role != haven.RoleNurse) ||
						homeAccessOpen(pd, id, v.Start.Add(-lead), "") || homeAccessOpen(pd, id, v.End.Add(-time.Minute), "") {
						continue
					}
					none := !slices.ContainsFunc(pd.Visits, func(w haven.Visit) bool { return w.StaffID == id })
					if other == nil || none {
						other = &o
					}
				}
			}
			if other != nil {
				return homeCase{pd: pd, visit: v, carer: carer, other: *other}
			}
		}
	}
	t.Fatal("no visit suits the home-access test")
	return homeCase{}
}

func TestRelationshipHomeAccess(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *authtest.Env) {
		ctx := context.Background()
		hc := pickHomeCase(t, e, authtest.North)
		t.Logf("visit %s by carer %s to %s, %s to %s; colleague %s (%s)", hc.visit.ID, hc.carer.ID, hc.pd.Person.ID,
			hc.visit.Start.Format(time.RFC3339), hc.visit.End.Format(time.RFC3339), hc.other.ID, hc.other.Role)
		person, ha, v := hc.pd.Person.ID, hc.pd.HomeAccess, hc.visit
		carer := staffPrincipal(authtest.North, hc.carer, "acct-visiting-carer")
		other := staffPrincipal(authtest.North, hc.other, "acct-team-colleague")
		refusedAlerts := func(p haven.Principal) int {
			return countAlerts(alertsOf(t, e, authtest.North), guard.RuleHomeAccess, p.ID, person)
		}

		// The carer is on the care team, so the record opens all along;
		// home access does not.
		_, err := e.Care.PersonRecord(ctx, carer, person)
		must(t, err, "the visiting carer reads the record")

		// Before the window (31 minutes before the start): refused, alert.
		e.Clock.SetClock(v.Start.Add(-policy.DefaultHomeAccessLead - time.Minute))
		_, err = e.Care.HomeAccess(ctx, stepped(carer), person)
		wantRefused(t, err, "home access before the window")
		_, _, err = e.Care.Get(ctx, stepped(carer), haven.KindHomeAccess, ha.ID)
		wantRefused(t, err, "get home access before the window")
		if n := refusedAlerts(carer); n != 2 {
			t.Errorf("%d home-access-refused alerts before the window, want 2", n)
		}

		// The window opens 30 minutes before the start: without step-up
		// only the factor is missing, and nothing alerts.
		e.Clock.SetClock(v.Start.Add(-policy.DefaultHomeAccessLead))
		_, err = e.Care.HomeAccess(ctx, carer, person)
		wantStepUp(t, err, "home access in the window without step-up")
		_, _, err = e.Care.Get(ctx, carer, haven.KindHomeAccess, ha.ID)
		wantStepUp(t, err, "get home access in the window without step-up")
		if n := refusedAlerts(carer); n != 2 {
			t.Errorf("%d home-access-refused alerts after asking for step-up, want still 2", n)
		}

		// With step-up the details are revealed, audited with the visit.
		got, err := e.Care.HomeAccess(ctx, stepped(carer), person)
		must(t, err, "home access in the window with step-up")
		if len(got) != 1 || got[0].ID != ha.ID || got[0].KeySafeCode != ha.KeySafeCode || got[0].EntryInstructions != ha.EntryInstructions {
			t.Errorf("home access: got %+v, want %+v", got, *ha)
		}
		rec, _, err := e.Care.Get(ctx, stepped(carer), haven.KindHomeAccess, ha.ID)
		must(t, err, "get home access in the window with step-up")
		if h, ok := rec.(*haven.HomeAccess); !ok || h.ID != ha.ID || h.KeySafeCode != ha.KeySafeCode {
			t.Errorf("get home access: got %+v", rec)
		}

		// A colleague on the same team, with no visit then: refused, alert.
		_, err = e.Care.HomeAccess(ctx, stepped(other), person)
		wantRefused(t, err, "home access by a team colleague without a visit")
		_, _, err = e.Care.Get(ctx, stepped(other), haven.KindHomeAccess, ha.ID)
		wantRefused(t, err, "get home access by a team colleague without a visit")
		if n := refusedAlerts(other); n != 2 {
			t.Errorf("%d home-access-refused alerts for the colleague, want 2", n)
		}

		// Still open a minute before the end.
		e.Clock.SetClock(v.End.Add(-time.Minute))
		_, err = e.Care.HomeAccess(ctx, stepped(carer), person)
		must(t, err, "home access a minute before the visit ends")

		// At the end the window is closed: refused, alert.
		e.Clock.SetClock(v.End)
		_, err = e.Care.HomeAccess(ctx, stepped(carer), person)
		wantRefused(t, err, "home access at the end of the visit")
		_, _, err = e.Care.Get(ctx, stepped(carer), haven.KindHomeAccess, ha.ID)
		wantRefused(t, err, "get home access at the end of the visit")
		if n := refusedAlerts(carer); n != 4 {
			t.Errorf("%d home-access-refused alerts for the carer, want 4", n)
		}

		// Every reveal is one audit entry; the allowed ones name the visit.
		entries := auditOf(t, e, authtest.North, store.AuditQuery{Actors: []string{carer.ID}, PersonID: person})
		ok := findEntries(entries, care.ActionReveal, care.OutcomeOK, person)
		if len(ok) != 3 {
			t.Errorf("%d successful reveals audited, want 3: %+v", len(ok), entries)
		}
		for _, en := range ok {
			if !strings.Contains(en.Purpose, "visit "+v.ID) {
				t.Errorf("reveal audited with purpose %q, want it to name visit %s", en.Purpose, v.ID)
			}
			if en.Kind != string(haven.KindHomeAccess) {
				t.Errorf("reveal audited as kind %q", en.Kind)
			}
		}
		if n := len(findEntries(entries, care.ActionReveal, care.OutcomeDenied, person)); n != 6 {
			t.Errorf("%d refused reveals audited, want 6 (2 before, 2 without step-up, 2 after)", n)
		}
	})
}

// --- administrators and the data-protection officer see no records ---

func TestRelationshipAdminAndDPO(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *authtest.Env) {
		ctx := context.Background()
		ds := e.Data[authtest.North]
		someone := sortedPeople(ds)[0]
		if someone.Person.Canary {
			someone = sortedPeople(ds)[1]
		}
		for _, p := range []haven.Principal{stepped(adminOf(t, e, authtest.North)), stepped(dpoOf(t, e, authtest.North))} {
			t.Run(string(p.Role), func(t *testing.T) {
				recs, err := e.Care.List(ctx, p, haven.KindPerson, "", care.MaxListResults)
				if err != nil {
					wantRefused(t, err, "list people")
				} else if len(recs) != 0 {
					t.Errorf("%s lists %d people, want none", p.Role, len(recs))
				}
				found, err := e.Care.Search(ctx, p, care.Query{NHSNumber: someone.Person.NHSNumber})
				if err != nil {
					wantRefused(t, err, "search")
				} else if len(found) != 0 {
					t.Errorf("%s finds %d people, want none", p.Role, len(found))
				}
				_, err = e.Care.PersonRecord(ctx, p, someone.Person.ID)
				wantRefused(t, err, "person record")
				_, _, err = e.Care.Get(ctx, p, haven.KindPerson, someone.Person.ID)
				wantRefused(t, err, "get person")
			})
		}

		// The data-protection officer reads the audit log, which shows
		// those refusals; a carer may not.
		entries := auditOf(t, e, authtest.North, store.AuditQuery{PersonID: someone.Person.ID})
		for _, p := range []haven.Principal{adminOf(t, e, authtest.North), dpoOf(t, e, authtest.North)} {
			var n int
			for _, en := range entries {
				if en.Actor == p.ID && en.Action == care.ActionRead && en.Outcome == care.OutcomeDenied {
					n++
				}
			}
			if n != 2 {
				t.Errorf("%d denied reads by %s in the access report, want 2", n, p.Role)
			}
		}
		carer := staffPrincipal(authtest.North, busiest(t, ds, haven.RoleCarer), "acct-carer-auditor")
		_, err := e.Care.AccessReport(ctx, stepped(carer), store.AuditQuery{Until: e.Clock.Now().Add(time.Minute)})
		wantRefused(t, err, "carer reads the audit log")
		_, err = e.Care.Alerts(ctx, stepped(carer), care.AlertQuery{})
		wantRefused(t, err, "carer reads alerts")
		_, err = e.Care.Leases(ctx, stepped(carer), true)
		wantRefused(t, err, "carer reads leases")
	})
}

// --- another tenant's people do not exist ---

func TestRelationshipCrossTenant(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *authtest.Env) {
		ctx := context.Background()
		north, south := e.Data[authtest.North], e.Data[authtest.South]
		st := busiest(t, south, haven.RoleCarer)
		p := stepped(staffPrincipal(authtest.South, st, "acct-south-carer"))

		// A North person well within reach had they been in South: one
		// with a home-access record and visits.
		var np *demo.PersonData
		for _, x := range sortedPeople(north) {
			if !x.Person.Canary && x.HomeAccess != nil && len(x.Visits) > 0 {
				np = &x
				break
			}
		}
		if np == nil {
			t.Fatal("no North person with home access and visits")
		}
		_, err := e.Care.PersonRecord(ctx, p, np.Person.ID)
		wantNotFound(t, err, "South carer reads a North person")
		_, _, err = e.Care.Get(ctx, p, haven.KindPerson, np.Person.ID)
		wantNotFound(t, err, "South carer gets a North person")
		_, _, err = e.Care.Get(ctx, p, haven.KindVisit, np.Visits[0].ID)
		wantNotFound(t, err, "South carer gets a North visit")
		_, err = e.Care.HomeAccess(ctx, p, np.Person.ID)
		wantNotFound(t, err, "South carer reveals a North person's home access")
		found, err := e.Care.Search(ctx, p, care.Query{NHSNumber: np.Person.NHSNumber})
		must(t, err, "search a North NHS number")
		if len(found) != 0 {
			t.Errorf("South carer's search finds %v", personIDs(found))
		}
		sameSet(t, "South carer's list", listPeople(t, e, p, 10), visibleTo(south, st))

		clin := stepped(staffPrincipal(authtest.South, busiest(t, south, haven.RoleClinician), "acct-south-clinician"))
		_, err = e.Care.BreakGlass(ctx, clin, np.Person.ID, goodReason)
		wantNotFound(t, err, "South clinician breaks glass on a North person")

		// North's log knows nothing of them; South's records not-found.
		if got := auditOf(t, e, authtest.North, store.AuditQuery{Actors: []string{p.ID, clin.ID}}); len(got) != 0 {
			t.Errorf("North's audit log holds South principals' entries: %+v", got)
		}
		southLog := auditOf(t, e, authtest.South, store.AuditQuery{Actors: []string{p.ID}, PersonID: np.Person.ID})
		if len(southLog) < 2 {
			t.Errorf("South's log has %d entries about the North id, want the read and the reveal", len(southLog))
		}
		for _, en := range southLog {
			if en.Outcome != care.OutcomeNotFound {
				t.Errorf("South's log: %+v, want outcome not-found", en)
			}
		}
		if n := countAlerts(alertsOf(t, e, authtest.South), guard.RuleHomeAccess, p.ID, ""); n != 0 {
			t.Errorf("%d home-access alerts for an id that is not in South", n)
		}
	})
}

// --- supplier support: nothing without the tenant's grant ---

func TestRelationshipSupplierSupport(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *authtest.Env) {
		ctx := context.Background()
		ds := e.Data[authtest.North]
		sup := haven.Principal{ID: "acct-supplier-support", Role: haven.RoleSupplierSupport, SupportTenant: authtest.North,
			SteppedUp: true, ClientAddr: "198.51.100.7", Purpose: "supplier support"}
		admin := adminOf(t, e, authtest.North)
		var target demo.PersonData
		for _, x := range sortedPeople(ds) {
			if !x.Person.Canary {
				target = x
				break
			}
		}
		person := target.Person.ID

		type ev struct{ action, outcome, person string }
		var want []ev

		// No grant: nothing.
		_, err := e.Care.PersonRecord(ctx, sup, person)
		wantRefused(t, err, "supplier reads without a grant")
		want = append(want, ev{care.ActionRead, care.OutcomeDenied, person})
		recs, err := e.Care.List(ctx, sup, haven.KindPerson, "", 5)
		must(t, err, "supplier lists without a grant")
		if len(recs) != 0 {
			t.Errorf("supplier lists %d people without a grant", len(recs))
		}
		want = append(want, ev{care.ActionList, care.OutcomeOK, ""})
		_, _, err = e.Care.Get(ctx, sup, haven.KindPerson, person)
		wantRefused(t, err, "supplier gets a person without a grant")
		want = append(want, ev{care.ActionRead, care.OutcomeDenied, person})
		e.Clock.Advance(11 * time.Minute) // past the guard's refusal window

		// The request raises an alert for the controller.
		req, err := e.Care.RequestSupport(ctx, sup, "HAV-1234", "Care plans fail to load for one person")
		must(t, err, "request support")
		want = append(want, ev{care.ActionSupportAsk, care.OutcomeOK, ""})
		if req.Status != care.GrantRequested || req.Account != sup.ID {
			t.Errorf("request: %+v", req)
		}
		if n := countAlerts(alertsOf(t, e, authtest.North), guard.RuleSupportRequest, sup.ID, ""); n != 1 {
			t.Errorf("%d support-request alerts, want 1", n)
		}
		_, err = e.Care.PersonRecord(ctx, sup, person)
		wantRefused(t, err, "supplier reads with a request not yet approved")
		want = append(want, ev{care.ActionRead, care.OutcomeDenied, person})

		// Approval needs the administrator's step-up and at most 8 hours.
		actions := []policy.Action{policy.ReadRecord, policy.ListPeople}
		_, err = e.Care.DecideSupport(ctx, admin, req.ID, true, actions, 2*time.Hour)
		wantStepUp(t, err, "approve without step-up")
		var inv *haven.InvalidError
		_, err = e.Care.DecideSupport(ctx, stepped(admin), req.ID, true, actions, policy.MaxSupportGrant+time.Minute)
		if !errors.As(err, &inv) {
			t.Errorf("approve for more than 8 hours: got %v, want an invalid-request error", err)
		}
		_, err = e.Care.DecideSupport(ctx, sup, req.ID, true, actions, time.Hour)
		wantRefused(t, err, "supplier approves its own request")
		want = append(want, ev{care.ActionSupportGrant, care.OutcomeDenied, ""})
		approvedAt := e.Clock.Now()
		g, err := e.Care.DecideSupport(ctx, stepped(admin), req.ID, true, actions, 2*time.Hour)
		must(t, err, "approve for 2 hours")
		if g.Status != care.GrantApproved || !g.Expires.Equal(approvedAt.Add(2*time.Hour)) {
			t.Errorf("grant: %+v, want approved until %v", g, approvedAt.Add(2*time.Hour))
		}

		// Under the grant, with step-up, the supplier reads.
		pr, err := e.Care.PersonRecord(ctx, sup, person)
		must(t, err, "supplier reads under the grant")
		want = append(want, ev{care.ActionRead, care.OutcomeOK, person})
		if pr.Person.ID != person {
			t.Errorf("supplier read %s, want %s", pr.Person.ID, person)
		}
		recs, err = e.Care.List(ctx, sup, haven.KindPerson, "", 3)
		must(t, err, "supplier lists under the grant")
		ids := slices.Clone(e.People[authtest.North])
		sort.Strings(ids)
		var listed []string
		for _, r := range recs {
			listed = append(listed, r.RecordID())
			want = append(want, ev{care.ActionList, care.OutcomeOK, r.RecordID()})
		}
		if !slices.Equal(listed, ids[:3]) {
			t.Errorf("supplier's list: %v, want North's first three %v", listed, ids[:3])
		}
		// Each use needs a fresh factor.
		_, err = e.Care.PersonRecord(ctx, haven.Principal{ID: sup.ID, Role: sup.Role, SupportTenant: sup.SupportTenant, ClientAddr: sup.ClientAddr, Purpose: sup.Purpose}, person)
		wantStepUp(t, err, "supplier reads under the grant without step-up")
		want = append(want, ev{care.ActionRead, care.OutcomeDenied, person})
		// A grant never opens home access.
		_, err = e.Care.HomeAccess(ctx, sup, person)
		wantRefused(t, err, "supplier reveals home access under a grant")
		want = append(want, ev{care.ActionReveal, care.OutcomeDenied, person})
		if n := countAlerts(alertsOf(t, e, authtest.North), guard.RuleHomeAccess, sup.ID, person); n != 1 {
			t.Errorf("%d home-access-refused alerts for the supplier, want 1", n)
		}
		// A North grant opens nothing in South.
		southPerson := sortedPeople(e.Data[authtest.South])[0].Person.ID
		inSouth := sup
		inSouth.SupportTenant = authtest.South
		_, err = e.Care.PersonRecord(ctx, inSouth, southPerson)
		wantRefused(t, err, "supplier reads in South with North's grant")

		// Revoked: refused at once.
		e.Clock.Advance(11 * time.Minute)
		must(t, e.Care.RevokeSupport(ctx, admin, g.ID), "revoke")
		_, err = e.Care.PersonRecord(ctx, sup, person)
		wantRefused(t, err, "supplier reads after revocation")
		want = append(want, ev{care.ActionRead, care.OutcomeDenied, person})

		// A second grant ends at its expiry.
		req2, err := e.Care.RequestSupport(ctx, sup, "HAV-1240", "Check the fix for care plans loading")
		must(t, err, "second request")
		want = append(want, ev{care.ActionSupportAsk, care.OutcomeOK, ""})
		g2, err := e.Care.DecideSupport(ctx, stepped(admin), req2.ID, true, []policy.Action{policy.ReadRecord}, time.Hour)
		must(t, err, "approve the second request")
		_, err = e.Care.PersonRecord(ctx, sup, person)
		must(t, err, "supplier reads under the second grant")
		want = append(want, ev{care.ActionRead, care.OutcomeOK, person})
		e.Clock.SetClock(g2.Expires)
		_, err = e.Care.PersonRecord(ctx, sup, person)
		wantRefused(t, err, "supplier reads when the second grant has expired")
		want = append(want, ev{care.ActionRead, care.OutcomeDenied, person})
		e.Clock.Advance(time.Hour)
		_, err = e.Care.PersonRecord(ctx, sup, person)
		wantRefused(t, err, "supplier reads an hour after the second grant expired")
		want = append(want, ev{care.ActionRead, care.OutcomeDenied, person})

		// Everything the supplier did is in North's log, in order.
		var got []ev
		for _, en := range auditOf(t, e, authtest.North, store.AuditQuery{Actors: []string{sup.ID}}) {
			got = append(got, ev{en.Action, en.Outcome, en.PersonID})
			if en.ActorRole != string(haven.RoleSupplierSupport) || en.ClientAddr != sup.ClientAddr {
				t.Errorf("supplier's entry: %+v", en)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("supplier's entries in North's audit log:\n got %v\nwant %v", got, want)
		}
		southLog := auditOf(t, e, authtest.South, store.AuditQuery{Actors: []string{sup.ID}})
		if len(southLog) != 1 || southLog[0].Outcome != care.OutcomeDenied || southLog[0].PersonID != southPerson {
			t.Errorf("supplier's entries in South's audit log: %+v, want the one refused read", southLog)
		}
	})
}

// --- canaries: listed like anyone, never opened ---

func TestRelationshipCanary(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *authtest.Env) {
		ctx := context.Background()
		ds := e.Data[authtest.North]
		var canary *demo.PersonData
		for _, x := range sortedPeople(ds) {
			if x.Person.Canary {
				canary = &x
				break
			}
		}
		if canary == nil || len(canary.CareTeams) == 0 {
			t.Fatal("no canary with a service in North")
		}
		svc := canary.CareTeams[0].Service
		var st *haven.Staff
		for _, c := range staffWithRole(ds, haven.RoleCoordinator) {
			if c.Service == svc {
				st = &c
				break
			}
		}
		if st == nil {
			t.Fatalf("no coordinator of %s", svc)
		}
		// Opening a canary locks the account, so this principal needs a
		// real one.
		inv := e.Invite(t, authtest.North, "canary.coordinator@north.example", haven.RoleCoordinator)
		p := staffPrincipal(authtest.North, *st, inv.AccountID)

		if !slices.Contains(listPeople(t, e, p, 10), canary.Person.ID) {
			t.Errorf("coordinator of %s does not list canary %s", svc, canary.Person.ID)
		}
		_, err := e.Care.PersonRecord(ctx, p, canary.Person.ID)
		if !errors.Is(err, care.ErrContained) {
			t.Errorf("canary's record: got %v, want care.ErrContained", err)
		}
		if n := countAlerts(alertsOf(t, e, authtest.North), guard.RuleCanary, p.ID, canary.Person.ID); n != 1 {
			t.Errorf("%d canary alerts, want 1", n)
		}
		entries := auditOf(t, e, authtest.North, store.AuditQuery{Actors: []string{p.ID}, PersonID: canary.Person.ID})
		if len(findEntries(entries, care.ActionRead, care.OutcomeDenied, canary.Person.ID)) != 1 {
			t.Errorf("canary read not audited as denied: %+v", entries)
		}
	})
}

// --- places where the record service does not hold the policy ---

// TestRelationshipCoordinatorPersonRecordIsScheduling checks that the whole
// record a coordinator opens holds only scheduling kinds: docs/permissions.md
// says coordinators "see no conditions, allergies, medications,
// observations or notes", and policy refuses them read-record of those
// kinds.
func TestRelationshipCoordinatorPersonRecordIsScheduling(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *authtest.Env) {
		ctx := context.Background()
		ds := e.Data[authtest.North]
		for _, st := range staffWithRole(ds, haven.RoleCoordinator) {
			p := staffPrincipal(authtest.North, st, "acct-coord-record-"+st.ID)
			var pd *demo.PersonData
			for _, x := range sortedPeople(ds) {
				if inService(x, st.Service) && !x.Person.Canary && len(x.Conditions) > 0 && len(x.Medications) > 0 {
					pd = &x
					break
				}
			}
			if pd == nil {
				continue
			}
			for _, k := range []haven.Kind{haven.KindCondition, haven.KindMedication} {
				d := policy.Decide(p, policy.ReadRecord, policy.Subject{TenantID: authtest.North, PersonID: pd.Person.ID, Kind: k},
					policy.Context{Now: e.Clock.Now(), SameService: true})
				if d.Allow {
					t.Fatalf("policy lets a coordinator read %s; this test assumes it does not", k)
				}
			}
			pr, err := e.Care.PersonRecord(ctx, p, pd.Person.ID)
			if err != nil {
				wantDenied(t, err, "coordinator's person record")
				continue
			}
			if n := len(pr.Conditions) + len(pr.Allergies) + len(pr.Medications) + len(pr.Observations) + len(pr.Notes); n > 0 {
				t.Errorf("coordinator of %s opened %s's record and got %d conditions, %d allergies, %d medications, %d observations, %d notes; "+
					"policy refuses coordinators every one of those kinds",
					st.Service, pd.Person.ID, len(pr.Conditions), len(pr.Allergies), len(pr.Medications), len(pr.Observations), len(pr.Notes))
			}
		}
	})
}

// TestRelationshipCareTeamWriteNeedsRelationship checks that filing a care
// team cannot be used to create the relationship that authorises it: a
// clinician or coordinator may write a care team only for someone already
// in their care team or service (break-glass is the only way past that).
func TestRelationshipCareTeamWriteNeedsRelationship(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *authtest.Env) {
		ctx := context.Background()
		ds := e.Data[authtest.North]
		roles := []haven.Role{haven.RoleClinician, haven.RoleCoordinator}
		for i, role := range roles {
			t.Run(string(role), func(t *testing.T) {
				st := busiest(t, ds, role)
				p := staffPrincipal(authtest.North, st, "acct-team-writer-"+string(role))
				out := outsider(t, ds, st, visibleTo(ds, st))
				if inService(out, st.Service) {
					t.Fatalf("%s is in %s already", out.Person.ID, st.Service)
				}
				_, err := e.Care.PersonRecord(ctx, p, out.Person.ID)
				wantRefused(t, err, "read before filing a care team")

				team := &haven.CareTeam{ID: fmt.Sprintf("rel-takeover-team-%d", i), PersonID: out.Person.ID,
					Name: st.Service, StaffIDs: []string{st.ID}, Service: st.Service}
				_, err = e.Care.Create(ctx, p, team)
				if errors.Is(err, haven.ErrForbidden) {
					return
				}
				t.Errorf("%s of %s filed a care team in their own service for %s (in %q, outside their team and service): got %v, want a refusal",
					role, st.Service, out.Person.ID, out.CareTeams[0].Service, err)
				if err != nil {
					return
				}
				if _, err := e.Care.PersonRecord(ctx, p, out.Person.ID); err == nil {
					t.Errorf("%s now reads %s's whole record (%d break-glass alerts raised)", role, out.Person.ID,
						countAlerts(alertsOf(t, e, authtest.North), guard.RuleBreakGlass, p.ID, ""))
				}
			})
		}
	})
}
