package policy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven"
)

// TestHomeAccessWindow walks the edges of [Start-lead, End) one nanosecond
// either side, for each role that may reveal, with and without step-up.
func TestHomeAccessWindow(t *testing.T) {
	start := now
	end := now.Add(45 * time.Minute)
	visits := []VisitWindow{{Start: start, End: end}}
	ns := time.Nanosecond
	cases := []struct {
		name string
		at   time.Time
		lead time.Duration
		in   bool
	}{
		{"default lead, just before opening", start.Add(-DefaultHomeAccessLead - ns), 0, false},
		{"default lead, at opening", start.Add(-DefaultHomeAccessLead), 0, true},
		{"at start", start, 0, true},
		{"just before end", end.Add(-ns), 0, true},
		{"at end (exclusive)", end, 0, false},
		{"after end", end.Add(time.Hour), 0, false},
		{"a day before", start.Add(-24 * time.Hour), 0, false},
		{"10 min lead, just before opening", start.Add(-10*time.Minute - ns), 10 * time.Minute, false},
		{"10 min lead, at opening", start.Add(-10 * time.Minute), 10 * time.Minute, true},
		{"negative lead means default, at opening", start.Add(-DefaultHomeAccessLead), -time.Minute, true},
		{"negative lead means default, before", start.Add(-DefaultHomeAccessLead - ns), -time.Minute, false},
		{"lead capped at max, just before max", start.Add(-MaxHomeAccessLead - ns), 24 * time.Hour, false},
		{"lead capped at max, at max", start.Add(-MaxHomeAccessLead), 24 * time.Hour, true},
	}
	for _, r := range []haven.Role{haven.RoleCarer, haven.RoleNurse, haven.RoleClinician} {
		for _, tc := range cases {
			for _, stepped := range []bool{false, true} {
				c := Context{Now: tc.at, Visits: visits, HomeAccessLead: tc.lead, SteppedUp: stepped}
				d := Decide(principal(r), RevealHomeAccess, subject(RevealHomeAccess), c)
				w := want{allow: tc.in && stepped, stepUp: tc.in && !stepped, alert: !tc.in}
				if got := (want{allow: d.Allow, stepUp: d.NeedStepUp, alert: d.Alert, lease: d.Lease}); got != w {
					t.Errorf("%s, %s, stepped up %v: got %+v (%q), want %+v", r, tc.name, stepped, got, d.Reason, w)
				}
			}
		}
	}
}

func TestHomeAccessVisits(t *testing.T) {
	p := principal(haven.RoleCarer)
	s := subject(RevealHomeAccess)
	past := VisitWindow{Start: now.Add(-3 * time.Hour), End: now.Add(-2 * time.Hour)}
	current := VisitWindow{Start: now.Add(-5 * time.Minute), End: now.Add(25 * time.Minute)}
	future := VisitWindow{Start: now.Add(5 * time.Hour), End: now.Add(6 * time.Hour)}
	cases := []struct {
		name   string
		visits []VisitWindow
		now    time.Time
		allow  bool
	}{
		{"one of several visits is open", []VisitWindow{past, future, current}, now, true},
		{"only past and future visits", []VisitWindow{past, future}, now, false},
		{"no visits", nil, now, false},
		{"visit ending before it starts", []VisitWindow{{Start: now.Add(time.Minute), End: now.Add(-time.Hour)}}, now, false},
		{"zero-length visit", []VisitWindow{{Start: now.Add(time.Minute), End: now.Add(time.Minute)}}, now, false},
		{"no time given", []VisitWindow{current}, time.Time{}, false},
	}
	for _, tc := range cases {
		d := Decide(p, RevealHomeAccess, s, Context{Now: tc.now, Visits: tc.visits, SteppedUp: true})
		if d.Allow != tc.allow || d.Alert == tc.allow {
			t.Errorf("%s: got allow %v alert %v (%q), want allow %v", tc.name, d.Allow, d.Alert, d.Reason, tc.allow)
		}
	}
}

func TestBreakGlassReason(t *testing.T) {
	cases := []struct {
		reason string
		allow  bool
	}{
		{"", false},
		{"urgent", false},
		{"123456789", false},             // MinReasonLength-1
		{"1234567890", true},             // MinReasonLength
		{"   123456789   ", false},       // padding does not count
		{"\t1234567890\n", true},         // trimmed to 10
		{"          ", false},            // ten spaces
		{"ééééééééé", false},             // 9 characters, 18 bytes: characters count, not bytes
		{"éééééééééé", true},             // 10 characters
		{"patient unresponsive", true},   // a real one
		{strings.Repeat("x", 500), true}, // no upper bound: long reasons are welcome
	}
	p := principal(haven.RoleClinician)
	for _, tc := range cases {
		d := Decide(p, BreakGlass, subject(BreakGlass), Context{Now: now, Reason: tc.reason, SteppedUp: true})
		if d.Allow != tc.allow || d.Alert != tc.allow {
			t.Errorf("reason %q: got allow %v alert %v (%q), want %v", tc.reason, d.Allow, d.Alert, d.Reason, tc.allow)
		}
		if tc.allow && !d.LeaseUntil.Equal(now.Add(MaxBreakGlassLease)) {
			t.Errorf("reason %q: lease until %v, want %v", tc.reason, d.LeaseUntil, now.Add(MaxBreakGlassLease))
		}
		if !tc.allow && !d.LeaseUntil.IsZero() {
			t.Errorf("reason %q: refused but lease until %v", tc.reason, d.LeaseUntil)
		}
	}
	// No time: a lease cannot be timed, so none is opened.
	if d := Decide(p, BreakGlass, subject(BreakGlass), Context{Reason: goodWhy, SteppedUp: true}); d.Allow {
		t.Errorf("break-glass with no time given was allowed")
	}
}

// TestLeaseEdges checks that a lease ends at LeaseUntil and that a lease
// longer than the policy grants is not honoured.
func TestLeaseEdges(t *testing.T) {
	p := principal(haven.RoleClinician)
	ns := time.Nanosecond
	cases := []struct {
		name  string
		until time.Time
		now   time.Time
		allow bool
	}{
		{"one nanosecond left", now.Add(ns), now, true},
		{"at the end", now, now, false},
		{"after the end", now.Add(-time.Minute), now, false},
		{"exactly the maximum left", now.Add(MaxBreakGlassLease), now, true},
		{"longer than the maximum", now.Add(MaxBreakGlassLease + ns), now, false},
		{"no lease", time.Time{}, now, false},
		{"no time given", now.Add(time.Minute), time.Time{}, false},
	}
	for _, tc := range cases {
		for _, a := range []Action{ListPeople, ReadRecord} {
			d := Decide(p, a, subject(a), Context{Now: tc.now, LeaseUntil: tc.until})
			if d.Allow != tc.allow || d.Lease != tc.allow {
				t.Errorf("%s %s: got allow %v lease %v (%q), want %v", a, tc.name, d.Allow, d.Lease, d.Reason, tc.allow)
			}
		}
	}
	// A lease is the clinician's: a carer with one still needs the care team.
	if d := Decide(principal(haven.RoleCarer), ReadRecord, subject(ReadRecord), Context{Now: now, LeaseUntil: now.Add(time.Minute)}); d.Allow {
		t.Errorf("carer with a lease was allowed")
	}
}

func TestSupplierGrantEdges(t *testing.T) {
	p := principal(haven.RoleSupplierSupport)
	grant := func(tenantID string, expires time.Time) *Grant {
		return &Grant{TenantID: tenantID, Actions: []Action{ReadRecord}, Expires: expires, Ticket: "SUP-9"}
	}
	cases := []struct {
		name  string
		g     *Grant
		now   time.Time
		allow bool
	}{
		{"one nanosecond left", grant(tenant, now.Add(time.Nanosecond)), now, true},
		{"at expiry", grant(tenant, now), now, false},
		{"after expiry", grant(tenant, now.Add(-time.Hour)), now, false},
		{"wrong tenant", grant(other, now.Add(time.Hour)), now, false},
		{"zero expiry", grant(tenant, time.Time{}), now, false},
		{"no time given", grant(tenant, now.Add(time.Hour)), time.Time{}, false},
		{"no grant", nil, now, false},
	}
	for _, tc := range cases {
		d := Decide(p, ReadRecord, subject(ReadRecord), Context{Now: tc.now, Grant: tc.g, SteppedUp: true})
		if d.Allow != tc.allow {
			t.Errorf("%s: got allow %v (%q), want %v", tc.name, d.Allow, d.Reason, tc.allow)
		}
	}
	if d := Decide(p, ReadRecord, subject(ReadRecord), Context{Now: now}); d.Reason != "no approved access" {
		t.Errorf("supplier without grant: reason %q, want %q", d.Reason, "no approved access")
	}
	// Home access stays closed through a grant, by reading or by writing.
	c := Context{Now: now, Grant: fullGrant(), SteppedUp: true, Visits: openVisit()}
	for _, a := range []Action{ReadRecord, WriteRecord} {
		s := subject(a)
		s.Kind = haven.KindHomeAccess
		if d := Decide(p, a, s, c); d.Allow || d.NeedStepUp {
			t.Errorf("supplier %s of home access through a grant: %+v", a, d)
		}
	}
}

func TestAPIClientScope(t *testing.T) {
	p := principal(haven.RoleAPIClient)
	for _, a := range Actions() {
		for _, scope := range []bool{false, true} {
			d := Decide(p, a, subject(a), Context{Now: now, ScopeAllows: scope})
			wantAllow := scope && slices.Contains([]Action{ListPeople, ReadRecord, WriteRecord, Export, ReadAudit, ListStaff}, a)
			if d.Allow != wantAllow || d.NeedStepUp {
				t.Errorf("%s scope %v: got %+v, want allow %v", a, scope, d, wantAllow)
			}
		}
	}
	s := subject(WriteRecord)
	s.Kind = haven.KindHomeAccess
	if d := Decide(p, WriteRecord, s, Context{Now: now, ScopeAllows: true}); d.Allow {
		t.Errorf("API client wrote home access")
	}
}

// TestRecordKinds: read-record never yields home access or staff records, for
// anyone, in any context; unknown kinds are refused.
func TestRecordKinds(t *testing.T) {
	for _, r := range allRoles {
		for _, k := range []haven.Kind{haven.KindHomeAccess, haven.KindStaff, "", "diary"} {
			s := Subject{TenantID: tenant, PersonID: person, Kind: k}
			if d := Decide(principal(r), ReadRecord, s, everything()); d.Allow || d.NeedStepUp {
				t.Errorf("%s read-record of %q: %+v", r, k, d)
			}
		}
		for _, k := range []haven.Kind{haven.KindStaff, "", "diary"} {
			s := Subject{TenantID: tenant, PersonID: person, Kind: k}
			if d := Decide(principal(r), WriteRecord, s, everything()); d.Allow || d.NeedStepUp {
				t.Errorf("%s write-record of %q: %+v", r, k, d)
			}
		}
	}
	// Who may write home access at all: coordinators (with step-up) and the
	// console.
	for _, r := range allRoles {
		s := Subject{TenantID: tenant, PersonID: person, Kind: haven.KindHomeAccess}
		d := Decide(principal(r), WriteRecord, s, everything())
		want := r == haven.RoleCoordinator || r == haven.RoleSystem
		if d.Allow != want {
			t.Errorf("%s write-record of home access: got %+v, want allow %v", r, d, want)
		}
	}
}

// TestSubjectShape: a subject without a tenant, a person-level action without
// a person and an organisation-level action with one are all refused, even
// for the console.
func TestSubjectShape(t *testing.T) {
	sys := haven.SystemPrincipal(tenant, "test")
	for _, a := range Actions() {
		if d := Decide(sys, a, Subject{PersonID: person}, everything()); d.Allow {
			t.Errorf("%s with no tenant allowed", a)
		}
		if d := Decide(haven.SystemPrincipal("", "test"), a, Subject{}, everything()); d.Allow {
			t.Errorf("%s with no tenant on either side allowed", a)
		}
	}
	for _, a := range []Action{ListPeople, ReadRecord, WriteRecord, BreakGlass} {
		if d := Decide(sys, a, Subject{TenantID: tenant, Kind: haven.KindPerson}, everything()); d.Allow {
			t.Errorf("%s with no person allowed", a)
		}
	}
	for _, a := range []Action{ManageStaff, ManageClients, ManageSettings, ReviewAlerts} {
		if d := Decide(sys, a, Subject{TenantID: tenant, PersonID: person}, everything()); d.Allow {
			t.Errorf("%s naming a person allowed", a)
		}
	}
	if d := Decide(principal(haven.RoleSupplierSupport), RequestSupport, Subject{TenantID: tenant, PersonID: person}, everything()); d.Allow {
		t.Errorf("request-support naming a person allowed")
	}
}

// randomContext draws facts around now so that windows, leases and grants
// fall on both sides of their edges.
func randomContext(rng *rand.Rand) Context {
	at := func() time.Time {
		if rng.IntN(10) == 0 {
			return time.Time{}
		}
		return now.Add(time.Duration(rng.IntN(6*60)-3*60) * time.Minute)
	}
	c := Context{
		Now: at(), SteppedUp: rng.IntN(2) == 0, OnCareTeam: rng.IntN(2) == 0, SameService: rng.IntN(2) == 0,
		LeaseUntil: at(), ScopeAllows: rng.IntN(2) == 0,
		HomeAccessLead: time.Duration(rng.IntN(5*60)-60) * time.Minute,
	}
	if rng.IntN(2) == 0 {
		c.Reason = strings.Repeat("r", rng.IntN(20))
	}
	for range rng.IntN(3) {
		s := at()
		c.Visits = append(c.Visits, VisitWindow{Start: s, End: s.Add(time.Duration(rng.IntN(120)-20) * time.Minute)})
	}
	if rng.IntN(2) == 0 {
		tenants := []string{tenant, other, ""}
		var acts []Action
		for _, a := range Actions() {
			if rng.IntN(2) == 0 {
				acts = append(acts, a)
			}
		}
		c.Grant = &Grant{TenantID: tenants[rng.IntN(3)], Actions: acts, Expires: at(), Ticket: []string{"", "SUP-2"}[rng.IntN(2)]}
	}
	return c
}

// inWindow is the home-access rule restated independently of rules.go.
func inWindow(c Context) bool {
	lead := c.HomeAccessLead
	if lead <= 0 {
		lead = 30 * time.Minute
	}
	if lead > 2*time.Hour {
		lead = 2 * time.Hour
	}
	for _, v := range c.Visits {
		if !c.Now.IsZero() && v.End.After(v.Start) && !c.Now.Before(v.Start.Add(-lead)) && c.Now.Before(v.End) {
			return true
		}
	}
	return false
}

// TestProperties draws random principals, subjects and contexts (fixed seed,
// so a failure reproduces) and checks what must hold for every decision:
// only carers, nurses and clinicians at an open visit, stepped up, in their
// own tenant, ever reveal home access; nobody acts in another tenant except
// supplier support through that tenant's live grant; the answer fields are
// consistent; and Decide is deterministic and leaves its inputs alone.
func TestProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 314))
	roles := append(slices.Clone(allRoles), "root")
	tenants := []string{tenant, other, ""}
	revealers := []haven.Role{haven.RoleCarer, haven.RoleNurse, haven.RoleClinician}
	kinds := []haven.Kind{haven.KindPerson, haven.KindCondition, haven.KindNote, haven.KindVisit, haven.KindHomeAccess, haven.KindStaff, ""}
	const n = 200000
	reveals := 0
	for i := range n {
		p := haven.Principal{ID: "u", Role: roles[rng.IntN(len(roles))], TenantID: tenants[rng.IntN(3)]}
		a := Actions()[rng.IntN(len(Actions()))]
		if i%2 == 0 {
			a = RevealHomeAccess // half the draws aim at the most protected action
		}
		s := Subject{TenantID: tenants[rng.IntN(3)], PersonID: []string{person, ""}[rng.IntN(2)], Kind: kinds[rng.IntN(len(kinds))]}
		c := randomContext(rng)
		before := cloneContext(c)
		d := Decide(p, a, s, c)

		if !reflect.DeepEqual(c, before) {
			t.Fatalf("Decide changed its context: %+v became %+v", before, c)
		}
		if d2 := Decide(p, a, s, c); d2 != d {
			t.Fatalf("Decide is not deterministic: %+v then %+v", d, d2)
		}
		if d.Reason == "" {
			t.Fatalf("empty reason for %+v %s %+v %+v", p, a, s, c)
		}
		if d.Allow && d.NeedStepUp {
			t.Fatalf("allowed and needing step-up: %+v", d)
		}
		if d.Lease && (!d.Allow || p.Role != haven.RoleClinician) {
			t.Fatalf("lease on a decision that is not a clinician's allowance: %+v %+v", p, d)
		}
		if (d.Allow || d.NeedStepUp) && p.Role != haven.RoleSupplierSupport && (p.TenantID == "" || p.TenantID != s.TenantID) {
			t.Fatalf("%+v got %+v in tenant %q", p, d, s.TenantID)
		}
		if (d.Allow || d.NeedStepUp) && p.Role == haven.RoleSupplierSupport && a != RequestSupport {
			g := c.Grant
			if p.TenantID != "" || g == nil || g.TenantID != s.TenantID || !c.Now.Before(g.Expires) || !slices.Contains(g.Actions, a) || g.Ticket == "" {
				t.Fatalf("supplier support got %+v for %s without a live grant: %+v %+v", d, a, s, g)
			}
		}
		if a == RevealHomeAccess {
			if d.Allow {
				reveals++
				if !slices.Contains(revealers, p.Role) || !c.SteppedUp || p.TenantID != s.TenantID || s.TenantID == "" || !inWindow(c) {
					t.Fatalf("home access revealed to %+v with %+v", p, c)
				}
			}
			if !d.Allow && !d.NeedStepUp && !d.Alert {
				t.Fatalf("refused reveal without alert: %+v %+v", p, d)
			}
		}
	}
	// The property is empty if nothing was ever revealed; make sure the
	// draws reach the allowed side too.
	if reveals == 0 {
		t.Fatalf("no draw revealed home access; the generator does not cover the rule")
	}
	t.Logf("%d draws, %d reveals", n, reveals)
}

func cloneContext(c Context) Context {
	c.Visits = slices.Clone(c.Visits)
	if c.Grant != nil {
		g := *c.Grant
		g.Actions = slices.Clone(g.Actions)
		c.Grant = &g
	}
	return c
}

// TestPure checks, in the package's own source, what "pure" promises: it
// imports nothing that does I/O, never reads the clock and has no
// package-level variables that could change between calls.
func TestPure(t *testing.T) {
	allowed := []string{"slices", "strings", "time", "unicode/utf8", "github.com/havencare/haven"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !slices.Contains(allowed, path) {
				t.Errorf("%s imports %s", name, path)
			}
		}
		for _, decl := range f.Decls {
			if g, ok := decl.(*ast.GenDecl); ok && g.Tok == token.VAR {
				t.Errorf("%s: package-level var at %s", name, fset.Position(g.Pos()))
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "time" && slices.Contains([]string{"Now", "Since", "Until", "Sleep", "After", "Tick", "NewTimer", "NewTicker", "AfterFunc"}, sel.Sel.Name) {
				t.Errorf("%s: reads the clock (time.%s) at %s", name, sel.Sel.Name, fset.Position(sel.Pos()))
			}
			return true
		})
	}
	if checked < 2 {
		t.Fatalf("checked %d source files; expected policy.go and rules.go", checked)
	}
}

// TestJudgedAs: delete-record and read-staff have no column in the
// matrix because every rule judges them exactly as write-record and
// list-staff; only the scopes the caller works out for them differ. Random
// facts (fixed seed) for every role, tenant and kind, with supplier grants
// listing the matrix's actions as they do.
func TestJudgedAs(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 1234))
	roles := append(slices.Clone(allRoles), "root")
	tenants := []string{tenant, other, ""}
	kinds := []haven.Kind{haven.KindPerson, haven.KindCondition, haven.KindNote, haven.KindVisit, haven.KindHomeAccess, haven.KindStaff, ""}
	for alias, as := range map[Action]Action{DeleteRecord: WriteRecord, ReadStaff: ListStaff} {
		if !alias.Valid() || slices.Contains(Actions(), alias) {
			t.Fatalf("%s: valid %v, in the matrix %v", alias, alias.Valid(), slices.Contains(Actions(), alias))
		}
		allowed := 0
		for range 20000 {
			p := haven.Principal{ID: "u", Role: roles[rng.IntN(len(roles))], TenantID: tenants[rng.IntN(3)]}
			s := Subject{TenantID: tenants[rng.IntN(3)], PersonID: []string{person, ""}[rng.IntN(2)], Kind: kinds[rng.IntN(len(kinds))]}
			c := randomContext(rng)
			want, got := Decide(p, as, s, c), Decide(p, alias, s, c)
			if want != got {
				t.Fatalf("%s %+v %+v: %s %+v, %s %+v", p.Role, s, c, as, want, alias, got)
			}
			if got.Allow {
				allowed++
			}
		}
		if allowed == 0 {
			t.Errorf("%s: nothing allowed in the draws: the comparison tested only refusals", alias)
		}
	}
}
