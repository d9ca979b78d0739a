package policy

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven"
)

// matrix mirrors the table in docs/permissions.md cell for cell.
// TestMatrixMatchesDoc fails if the two differ; TestMatrix turns every cell
// into cases through cellCases, so a cell whose meaning changed in the code
// fails there.
var matrix = map[haven.Role][]string{
	//                          list-people, read-record, write-record, reveal-home-access, break-glass, export, manage-staff, manage-clients, manage-settings, read-audit, review-alerts, request-support, approve-support, list-staff, erase
	haven.RoleCarer:            {cTeam, cTeam, cTeam, cVisit, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever},
	haven.RoleNurse:            {cTeam, cTeam, cTeam, cVisit, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever},
	haven.RoleClinician:        {cTeamServiceLease, cTeamServiceLease, cTeamServiceLeaseNotes, cVisit, cReason, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever},
	haven.RoleCoordinator:      {cService, cServiceSched, cServiceSched, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cAllow, cNever},
	haven.RoleTenantAdmin:      {cNever, cNever, cNever, cNever, cNever, cNever, cStepUp, cStepUp, cStepUp, cNever, cAllow, cNever, cStepUp, cAllow, cNever},
	haven.RoleDPO:              {cNever, cNever, cNever, cNever, cNever, cOnePerson, cNever, cNever, cNever, cAllow, cAllow, cNever, cNever, cAllow, cNever},
	haven.RoleSupplierSupport:  {cGrant, cGrant, cGrant, cNever, cNever, cNever, cNever, cNever, cGrant, cGrant, cNever, cAllow, cNever, cNever, cNever},
	haven.RoleSupplierOperator: {cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever, cNever},
	haven.RoleAPIClient:        {cScope, cScope, cScope, cNever, cNever, cScope, cNever, cNever, cNever, cScope, cNever, cNever, cNever, cScope, cNever},
	haven.RoleSystem:           {cAllow, cAllow, cAllow, cNever, cNever, cAllow, cAllow, cAllow, cAllow, cAllow, cAllow, cNever, cNever, cAllow, cAllow},
}

// The cell vocabulary of docs/permissions.md.
const (
	cAllow                 = "allow"
	cNever                 = "never"
	cStepUp                = "step-up"
	cTeam                  = "care team"
	cTeamServiceLease      = "care team or service or lease"
	cTeamServiceLeaseNotes = "care team or service; lease: notes, observations"
	cService               = "service"
	cServiceSched          = "service, scheduling kinds"
	cVisit                 = "visit window + step-up"
	cReason                = "reason + step-up"
	cOnePerson             = "step-up, one person"
	cScope                 = "scope"
	cGrant                 = "grant + step-up"
)

// allRoles is every role Haven knows, in the doc's row order.
var allRoles = []haven.Role{haven.RoleCarer, haven.RoleNurse, haven.RoleClinician, haven.RoleCoordinator,
	haven.RoleTenantAdmin, haven.RoleDPO, haven.RoleSupplierSupport, haven.RoleSupplierOperator,
	haven.RoleAPIClient, haven.RoleSystem}

var now = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

const (
	tenant  = "aire-valley"
	other   = "other-trust"
	person  = "person-1"
	goodWhy = "collapsed at day centre, no GP record"
)

func principal(r haven.Role) haven.Principal {
	p := haven.Principal{ID: "staff-1", TenantID: tenant, Role: r}
	if r == haven.RoleSupplierSupport || r == haven.RoleSupplierOperator {
		p.TenantID = ""
	}
	return p
}

// otherTenant returns p as it would be if it did not belong to tenant: a
// tenant principal of another organisation, or a supplier principal that
// claims a tenant (which supplier staff never have).
func otherTenant(p haven.Principal) haven.Principal {
	if p.TenantID == "" {
		p.TenantID = tenant
	} else {
		p.TenantID = other
	}
	return p
}

// subject returns the natural subject of a: a person for person-level
// actions (with a clinical kind for records, so that kind rules are
// exercised), none for organisation-level ones.
func subject(a Action) Subject {
	switch a {
	case ListPeople:
		return Subject{TenantID: tenant, PersonID: person, Kind: haven.KindPerson}
	case ReadRecord, WriteRecord:
		return Subject{TenantID: tenant, PersonID: person, Kind: haven.KindCondition}
	case RevealHomeAccess:
		return Subject{TenantID: tenant, PersonID: person, Kind: haven.KindHomeAccess}
	case BreakGlass, Export, Erase:
		return Subject{TenantID: tenant, PersonID: person}
	}
	return Subject{TenantID: tenant}
}

func openVisit() []VisitWindow {
	return []VisitWindow{{Start: now.Add(10 * time.Minute), End: now.Add(40 * time.Minute)}}
}

func fullGrant() *Grant {
	return &Grant{TenantID: tenant, Actions: Actions(), Expires: now.Add(4 * time.Hour), Ticket: "SUP-1234"}
}

// everything is a context in which every fact that could grant access is
// true. A "never" cell must refuse even this.
func everything() Context {
	return Context{
		Now: now, SteppedUp: true, Reason: goodWhy, OnCareTeam: true, SameService: true,
		Visits: openVisit(), LeaseUntil: now.Add(30 * time.Minute), Grant: fullGrant(), ScopeAllows: true,
	}
}

// want is the part of a Decision a case checks. Reason is checked separately
// (never empty); LeaseUntil by the break-glass tests.
type want struct{ allow, stepUp, alert, lease bool }

var (
	allowed  = want{allow: true}
	refused  = want{}
	needStep = want{stepUp: true}
	leased   = want{allow: true, lease: true}
)

type tcase struct {
	name string
	p    haven.Principal
	a    Action
	s    Subject
	c    Context
	want want
}

// cellCases turns one matrix cell into cases that pass only if the code
// implements that cell, and would fail for the neighbouring cells (a "care
// team" cell is checked to refuse "same service", and so on).
func cellCases(r haven.Role, a Action, cell string) []tcase {
	p := principal(r)
	s := subject(a)
	var cs []tcase
	add := func(name string, p haven.Principal, s Subject, c Context, w want) {
		if c.Now.IsZero() {
			c.Now = now
		}
		if a == RevealHomeAccess && !w.allow && !w.stepUp {
			w.alert = true // every refused reveal alerts
		}
		cs = append(cs, tcase{name, p, a, s, c, w})
	}
	kind := func(k haven.Kind) Subject { s2 := s; s2.Kind = k; return s2 }
	lease := func(d time.Duration) Context { return Context{LeaseUntil: now.Add(d)} }

	switch cell {
	case cNever:
		add("zero context", p, s, Context{}, refused)
		add("every fact true", p, s, everything(), refused)
		if a == Export || a == ReadAudit {
			s2 := s
			s2.PersonID = ""
			if a == ReadAudit {
				s2.PersonID = person
			}
			add("every fact true, other subject shape", p, s2, everything(), refused)
		}
	case cAllow:
		add("no facts needed", p, s, Context{}, allowed)
		add("other tenant", otherTenant(p), s, everything(), refused)
		if r == haven.RoleSupplierSupport {
			s2 := s
			s2.TenantID = other
			add("any tenant may be asked", p, s2, Context{}, allowed)
		}
	case cStepUp:
		add("stepped up", p, s, Context{SteppedUp: true}, allowed)
		add("not stepped up", p, s, Context{}, needStep)
		c := everything()
		c.SteppedUp = false
		add("no other fact replaces step-up", p, s, c, needStep)
		add("other tenant", otherTenant(p), s, everything(), refused)
	case cTeam:
		add("on care team", p, s, Context{OnCareTeam: true}, allowed)
		add("no relationship", p, s, Context{}, refused)
		add("same service is not enough", p, s, Context{SameService: true}, refused)
		add("a lease does not apply", p, s, lease(30*time.Minute), refused)
		add("a visit alone does not open the record", p, s, Context{Visits: openVisit()}, refused)
		add("other tenant", otherTenant(p), s, Context{OnCareTeam: true}, refused)
	case cTeamServiceLease, cTeamServiceLeaseNotes:
		add("on care team", p, s, Context{OnCareTeam: true}, allowed)
		add("same service", p, s, Context{SameService: true}, allowed)
		add("no relationship", p, s, Context{}, refused)
		add("relationship beats lease (not marked)", p, s, Context{OnCareTeam: true, LeaseUntil: now.Add(time.Minute)}, allowed)
		add("lease ended", p, s, lease(0), refused)
		add("lease too long", p, s, lease(MaxBreakGlassLease+time.Second), refused)
		add("other tenant with relationship", otherTenant(p), s, Context{OnCareTeam: true, SameService: true}, refused)
		add("other tenant with lease", otherTenant(p), s, lease(time.Minute), refused)
		if cell == cTeamServiceLease {
			add("lease active", p, s, lease(time.Minute), leased)
		} else {
			add("lease: condition refused", p, kind(haven.KindCondition), lease(time.Minute), refused)
			add("lease: medication refused", p, kind(haven.KindMedication), lease(time.Minute), refused)
			add("lease: care plan refused", p, kind(haven.KindCarePlan), lease(time.Minute), refused)
			add("lease: note", p, kind(haven.KindNote), lease(time.Minute), leased)
			add("lease: observation", p, kind(haven.KindObservation), lease(time.Minute), leased)
		}
	case cService:
		add("same service", p, s, Context{SameService: true}, allowed)
		add("care team is not enough", p, s, Context{OnCareTeam: true}, refused)
		add("no relationship", p, s, Context{}, refused)
		add("other tenant", otherTenant(p), s, Context{SameService: true}, refused)
	case cServiceSched:
		for _, k := range []haven.Kind{haven.KindPerson, haven.KindVisit, haven.KindCareTeam, haven.KindCarePlan} {
			add("same service, "+string(k), p, kind(k), Context{SameService: true}, allowed)
			add("care team only, "+string(k), p, kind(k), Context{OnCareTeam: true}, refused)
			add("other tenant, "+string(k), otherTenant(p), kind(k), Context{SameService: true}, refused)
		}
		for _, k := range []haven.Kind{haven.KindCondition, haven.KindAllergy, haven.KindMedication, haven.KindObservation, haven.KindNote} {
			add("clinical detail, "+string(k), p, kind(k), everything(), refused)
		}
		if a == WriteRecord {
			add("home access needs step-up", p, kind(haven.KindHomeAccess), Context{SameService: true}, needStep)
			add("home access with step-up", p, kind(haven.KindHomeAccess), Context{SameService: true, SteppedUp: true}, allowed)
			add("home access outside service", p, kind(haven.KindHomeAccess), Context{OnCareTeam: true, SteppedUp: true}, refused)
		} else {
			add("home access is never read", p, kind(haven.KindHomeAccess), everything(), refused)
		}
	case cVisit:
		add("in window, stepped up", p, s, Context{Visits: openVisit(), SteppedUp: true}, allowed)
		add("in window, not stepped up", p, s, Context{Visits: openVisit()}, needStep)
		add("no visit", p, s, Context{SteppedUp: true}, refused)
		add("care team, service and lease do not open it", p, s, Context{SteppedUp: true, OnCareTeam: true, SameService: true, LeaseUntil: now.Add(time.Minute)}, refused)
		add("other tenant", otherTenant(p), s, Context{Visits: openVisit(), SteppedUp: true}, refused)
	case cReason:
		add("reason, stepped up", p, s, Context{Reason: goodWhy, SteppedUp: true}, want{allow: true, alert: true})
		add("reason, not stepped up", p, s, Context{Reason: goodWhy}, needStep)
		add("no reason", p, s, Context{SteppedUp: true}, refused)
		add("other tenant", otherTenant(p), s, Context{Reason: goodWhy, SteppedUp: true}, refused)
	case cOnePerson:
		add("one person, stepped up", p, s, Context{SteppedUp: true}, allowed)
		add("one person, not stepped up", p, s, Context{}, needStep)
		bulk := s
		bulk.PersonID = ""
		add("bulk", p, bulk, everything(), refused)
		add("other tenant", otherTenant(p), s, everything(), refused)
	case cScope:
		add("scope allows", p, s, Context{ScopeAllows: true}, allowed)
		add("no scope", p, s, Context{}, refused)
		c := everything()
		c.ScopeAllows = false
		add("nothing replaces scope", p, s, c, refused)
		add("other tenant", otherTenant(p), s, Context{ScopeAllows: true}, refused)
		if a == Export {
			bulk := s
			bulk.PersonID = ""
			add("bulk with scope", p, bulk, Context{ScopeAllows: true}, allowed)
		}
		if a == ReadAudit {
			// One person's access report (who saw this person's data).
			one := s
			one.PersonID = person
			add("one person's report with scope", p, one, Context{ScopeAllows: true}, allowed)
			add("one person's report: nothing replaces scope", p, one, c, refused)
		}
	case cGrant:
		g := func(mod func(*Grant)) Context {
			gr := &Grant{TenantID: tenant, Actions: []Action{a}, Expires: now.Add(time.Hour), Ticket: "SUP-1"}
			mod(gr)
			return Context{Grant: gr, SteppedUp: true}
		}
		add("grant, stepped up", p, s, g(func(*Grant) {}), allowed)
		c := g(func(*Grant) {})
		c.SteppedUp = false
		add("grant, not stepped up", p, s, c, needStep)
		add("no grant", p, s, Context{SteppedUp: true, OnCareTeam: true, SameService: true, ScopeAllows: true}, refused)
		add("grant for another tenant", p, s, g(func(g *Grant) { g.TenantID = other }), refused)
		add("grant expired", p, s, g(func(g *Grant) { g.Expires = now }), refused)
		add("grant without ticket", p, s, g(func(g *Grant) { g.Ticket = "" }), refused)
		add("grant for other actions", p, s, g(func(g *Grant) {
			g.Actions = slices.DeleteFunc(Actions(), func(x Action) bool { return x == a })
		}), refused)
		add("supplier claiming a tenant", otherTenant(p), s, g(func(*Grant) {}), refused)
		s2 := s
		s2.TenantID = other
		add("subject in another tenant", p, s2, g(func(*Grant) {}), refused)
	default:
		panic("no cases for cell " + cell)
	}
	return cs
}

func check(t *testing.T, tc tcase) {
	t.Helper()
	d := Decide(tc.p, tc.a, tc.s, tc.c)
	got := want{allow: d.Allow, stepUp: d.NeedStepUp, alert: d.Alert, lease: d.Lease}
	if got != tc.want {
		t.Errorf("%s %s %s: got %+v (%q), want %+v", tc.p.Role, tc.a, tc.name, got, d.Reason, tc.want)
	}
	if d.Reason == "" {
		t.Errorf("%s %s %s: empty reason", tc.p.Role, tc.a, tc.name)
	}
}

// TestMatrix checks every role × action cell of docs/permissions.md.
func TestMatrix(t *testing.T) {
	if len(matrix) != len(allRoles) {
		t.Fatalf("matrix has %d rows, want one per role (%d)", len(matrix), len(allRoles))
	}
	n := 0
	for _, r := range allRoles {
		row, ok := matrix[r]
		if !ok || len(row) != len(Actions()) {
			t.Fatalf("matrix row %s: %d cells, want %d", r, len(row), len(Actions()))
		}
		for i, a := range Actions() {
			cases := cellCases(r, a, row[i])
			positive, negative := 0, 0
			for _, tc := range cases {
				check(t, tc)
				if tc.want.allow || tc.want.stepUp {
					positive++
				} else {
					negative++
				}
			}
			// Every cell has a refusal; every cell but "never" has a way in.
			if negative == 0 || (row[i] != cNever) != (positive > 0) {
				t.Errorf("%s %s: %d positive, %d negative cases", r, a, positive, negative)
			}
			n += len(cases)
		}
	}
	t.Logf("%d cases over %d cells", n, len(allRoles)*len(Actions()))
}

// TestMatrixMatchesDoc parses the matrix in docs/permissions.md and compares
// it with the table above, so the document cannot drift from what is tested.
func TestMatrixMatchesDoc(t *testing.T) {
	f, err := os.Open("../docs/permissions.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var header []string
	doc := map[haven.Role][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if header == nil {
			if strings.HasPrefix(line, "| Role |") {
				header = cells(line)[1:]
			}
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		if strings.HasPrefix(line, "|---") {
			continue
		}
		row := cells(line)
		role := haven.Role(row[0])
		if _, dup := doc[role]; dup {
			t.Errorf("doc lists role %s twice", role)
		}
		doc[role] = row[1:]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range Actions() {
		actions = append(actions, string(a))
	}
	if !slices.Equal(header, actions) {
		t.Fatalf("doc matrix columns %q, want %q", header, actions)
	}
	if len(doc) != len(matrix) {
		t.Errorf("doc matrix has %d rows, test has %d", len(doc), len(matrix))
	}
	for _, r := range allRoles {
		got, ok := doc[r]
		if !ok {
			t.Errorf("doc matrix has no row for %s", r)
			continue
		}
		if !slices.Equal(got, matrix[r]) {
			t.Errorf("row %s:\n doc  %q\n test %q", r, got, matrix[r])
		}
	}
}

// cells splits a Markdown table row and keeps, from each cell, the text in
// its first pair of backticks (footnotes and prose around it are ignored).
func cells(line string) []string {
	parts := strings.Split(strings.Trim(line, "|"), "|")
	out := make([]string, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if _, rest, ok := strings.Cut(p, "`"); ok {
			p, _, _ = strings.Cut(rest, "`")
		}
		out[i] = p
	}
	return out
}

// TestEveryDecisionHasAReason enumerates every role (and two it does not
// know) × every action (and one it does not know) × contexts and subjects
// of every shape: a refusal without a reason cannot be audited or explained.
func TestEveryDecisionHasAReason(t *testing.T) {
	roles := append(slices.Clone(allRoles), "", "root")
	actions := append(Actions(), "delete-everything")
	notStepped := everything()
	notStepped.SteppedUp = false
	contexts := []Context{{}, {Now: now}, everything(), notStepped}
	n := 0
	for _, r := range roles {
		for _, a := range actions {
			for _, s := range []Subject{subject(a), {TenantID: tenant}, {TenantID: tenant, PersonID: person}, {}, {TenantID: other, PersonID: person, Kind: haven.KindStaff}} {
				for _, c := range contexts {
					for _, p := range []haven.Principal{principal(r), otherTenant(principal(r))} {
						n++
						if d := Decide(p, a, s, c); d.Reason == "" {
							t.Errorf("%s %s %+v %+v: empty reason (%+v)", r, a, s, c, d)
						}
					}
				}
			}
		}
	}
	t.Logf("%d decisions", n)
}

func ExampleDecide() {
	carer := haven.Principal{ID: "staff-7", TenantID: "aire-valley", Role: haven.RoleCarer}
	at := time.Date(2026, 3, 14, 8, 40, 0, 0, time.UTC)
	visit := VisitWindow{Start: at.Add(15 * time.Minute), End: at.Add(45 * time.Minute)}
	d := Decide(carer, RevealHomeAccess, Subject{TenantID: "aire-valley", PersonID: "person-1"},
		Context{Now: at, Visits: []VisitWindow{visit}})
	fmt.Println(d.Allow, d.NeedStepUp, d.Alert)
	// Output: false true false
}
