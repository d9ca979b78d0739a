package attack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/auth/totp"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/guard"
	"github.com/havencare/haven/policy"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/web"
)

// peoplePerTenant is large enough that each service holds more people than
// a coordinator's hourly budget, so the budget, not the data, is the bound.
const peoplePerTenant = 150

// smallTenant is enough for the simulations that test one rule.
const smallTenant = 40

// sim is a running Haven under attack.
type sim struct {
	*authtest.Env
	ts     *httptest.Server
	origin string
	// nhs maps each north person's NHS number to their id: a response
	// holding the number holds that person's data.
	nhs map[string]string
}

func newSim(t *testing.T, postgres bool, people, canaries int) *sim {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	origin := "http://localhost:" + ts.Listener.Addr().(*net.TCPAddr).AddrPort().String()[len("127.0.0.1:"):]
	env := authtest.New(t, authtest.Options{Origin: origin, People: people, Postgres: postgres, Canaries: canaries})
	srv := web.New(web.Config{Origin: origin, Insecure: true}, env.Auth, env.Care, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.Now = env.Clock.Now
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	s := &sim{Env: env, ts: ts, origin: origin, nhs: map[string]string{}}
	for i, id := range env.People[authtest.North] {
		s.nhs[env.NHS[authtest.North][i]] = id
	}
	return s
}

// stores runs f on SQLite and on PostgreSQL.
func stores(t *testing.T, f func(t *testing.T, postgres bool)) {
	t.Run("sqlite", func(t *testing.T) { f(t, false) })
	t.Run("postgres", func(t *testing.T) { f(t, true) })
}

var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// request sends one request as the holder of the stolen cookie.
func (s *sim) request(t *testing.T, method, path, cookie string, form url.Values) (int, string, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", s.origin)
	}
	req.AddCookie(&http.Cookie{Name: "haven_session", Value: cookie})
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

var (
	nhsPattern = regexp.MustCompile(`\b\d{10}\b`)
	nextPage   = regexp.MustCompile(`href="/people\?after=([0-9a-f-]+)"`)
)

// haul is what an attacker obtained.
type haul struct {
	people    map[string]bool // distinct north people whose data came back
	requests  int
	cutAfter  int    // requests made when Haven first refused to serve the session at all (0: never)
	cutReason string // where the session was sent then
}

func (h *haul) take(s *sim, body string) {
	for _, n := range nhsPattern.FindAllString(body, -1) {
		if id, ok := s.nhs[n]; ok {
			h.people[id] = true
		}
	}
}

// dead reports whether a response shows the session no longer works.
func dead(status int, body, location string) (bool, string) {
	switch {
	case status == http.StatusSeeOther && strings.HasPrefix(location, "/sign-in"):
		return true, "session ended"
	case status == http.StatusSeeOther && strings.HasPrefix(location, "/confirm"):
		return true, "session frozen until a factor is confirmed"
	case status == http.StatusForbidden && strings.Contains(body, "looked like misuse"):
		return true, "access stopped"
	}
	return false, ""
}

// plunder is the bulk read: walk every page of the people list, open
// every north person by id (the attacker holds the full id list, the worst
// case), then search every family name. It stops early once the session is
// dead and five more requests confirmed it yields nothing.
func (s *sim) plunder(t *testing.T, cookie string) haul {
	t.Helper()
	h := haul{people: map[string]bool{}}
	after := 0
	step := func(path string) bool {
		h.requests++
		status, body, loc := s.request(t, http.MethodGet, path, cookie, nil)
		if status == http.StatusOK {
			h.take(s, body)
		}
		if d, why := dead(status, body, loc); d && h.cutAfter == 0 {
			h.cutAfter, h.cutReason = h.requests, why
		}
		if h.cutAfter > 0 {
			after++
		}
		return after <= 5
	}
	// Walk the list as far as it goes, following its "next page" links.
	for path, page := "/people", 0; path != "" && page < 50; page++ {
		h.requests++
		status, body, loc := s.request(t, http.MethodGet, path, cookie, nil)
		if status == http.StatusOK {
			h.take(s, body)
		}
		if d, why := dead(status, body, loc); d {
			h.cutAfter, h.cutReason = h.requests, why
			break
		}
		path = ""
		if m := nextPage.FindStringSubmatch(body); m != nil {
			path = "/people?after=" + m[1]
		}
	}
	for _, id := range s.People[authtest.North] {
		if !step("/people/" + id) {
			return h
		}
	}
	seen := map[string]bool{}
	for _, fam := range s.Names[authtest.North] {
		if !seen[fam] {
			seen[fam] = true
			if !step("/people?q=" + url.QueryEscape(fam)) {
				return h
			}
		}
	}
	return h
}

// alerts returns north's alerts by rule.
func (s *sim) alerts(t *testing.T) map[guard.Rule]int {
	t.Helper()
	as, err := s.Care.Alerts(context.Background(), haven.SystemPrincipal(authtest.North, "test"), care.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[guard.Rule]int{}
	for _, a := range as {
		out[a.Rule]++
	}
	return out
}

func (s *sim) locked(t *testing.T, a authtest.Account) bool {
	t.Helper()
	infos, err := s.Auth.Accounts(context.Background(), haven.SystemPrincipal(authtest.North, "test"))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range infos {
		if i.ID == a.ID {
			return i.Locked
		}
	}
	t.Fatalf("no account %s", a.ID)
	return false
}

// measured collects the figures for docs/security.md.
type measured struct {
	store, role          string
	relationship, budget int
	obtained, requests   int
	cutAfter             int
	cut                  string
}

func report(t *testing.T, rows []measured) {
	t.Helper()
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].store < rows[j].store })
	var b strings.Builder
	fmt.Fprintf(&b, "\n| store | role | may see by relationship | hourly budget | people obtained | requests | stopped after | how |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		cut := "never stopped"
		if r.cutAfter > 0 {
			cut = fmt.Sprint(r.cutAfter)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %s | %s |\n", r.store, r.role, r.relationship, r.budget, r.obtained, r.requests, cut, r.cut)
	}
	t.Log(b.String())
}

// TestAttackStolenSessionBulkRead: a fully signed-in session of each role
// is stolen and used to read every person in the organisation. The haul
// must stay inside the role's relationship and hourly budget; sessions that
// could reach more than they may are cut off, with an alert.
func TestAttackStolenSessionBulkRead(t *testing.T) {
	var rows []measured
	stores(t, func(t *testing.T, postgres bool) {
		s := newSim(t, postgres, peoplePerTenant, -1)
		st := guard.Defaults()
		for _, role := range []haven.Role{haven.RoleCarer, haven.RoleNurse, haven.RoleClinician, haven.RoleCoordinator, haven.RoleTenantAdmin, haven.RoleDPO} {
			t.Run(string(role), func(t *testing.T) {
				var acct authtest.Account
				var cookie string
				email := string(role) + "@north.example"
				if auth.Privileged(role) {
					key := authtest.NewSoftKey(s.origin)
					acct = s.EnrolPasskey(t, authtest.North, email, role, key)
					cookie = s.SignInPasskey(t, key)
				} else {
					acct = s.EnrolTOTP(t, authtest.North, email, role)
					cookie = s.SignIn(t, acct)
				}
				may := s.Caseload(t, acct)
				before := s.alerts(t)
				h := s.plunder(t, cookie)
				budget := st.Budgets[role].PerHour
				m := measured{store: map[bool]string{false: "SQLite", true: "PostgreSQL"}[postgres], role: string(role),
					relationship: len(may), budget: budget, obtained: len(h.people), requests: h.requests, cutAfter: h.cutAfter, cut: h.cutReason}
				rows = append(rows, m)

				for id := range h.people {
					if !may[id] {
						t.Errorf("%s obtained person %s outside their relationship", role, id)
					}
				}
				if len(h.people) > budget {
					t.Errorf("%s obtained %d people; the hourly budget is %d", role, len(h.people), budget)
				}
				switch role {
				case haven.RoleTenantAdmin, haven.RoleDPO:
					if len(h.people) != 0 {
						t.Errorf("%s obtained %d people; they read no records", role, len(h.people))
					}
				default:
					// Every care role holding the full id list tries people
					// outside its relationship: the session must be cut off
					// and the controller alerted.
					if h.cutAfter == 0 {
						t.Errorf("%s session was never stopped in %d requests", role, h.requests)
					}
					after := s.alerts(t)
					if after[guard.RuleOutside]+after[guard.RuleBudgetHour] <= before[guard.RuleOutside]+before[guard.RuleBudgetHour] {
						t.Errorf("%s bulk read raised no alert: %v", role, after)
					}
					if len(may) > 0 && len(h.people) == 0 && role != haven.RoleCoordinator {
						t.Logf("%s obtained nobody before being stopped", role)
					}
				}
				// Whatever happened, the stolen cookie is worth nothing now.
				if status, body, loc := s.request(t, http.MethodGet, "/people", cookie, nil); status == http.StatusOK && role != haven.RoleTenantAdmin && role != haven.RoleDPO {
					t.Errorf("%s session still works after the bulk read (%d %s)", role, status, loc)
				} else {
					var got haul
					got.people = map[string]bool{}
					got.take(s, body)
					if len(got.people) > 0 {
						t.Errorf("%s session still yields people after containment", role)
					}
				}
			})
		}
	})
	report(t, rows)
}

// TestAttackCoordinatorBudget: a stolen coordinator session that reads
// only inside its service — no refusals to give it away — is stopped by
// the hourly budget.
func TestAttackCoordinatorBudget(t *testing.T) {
	stores(t, func(t *testing.T, postgres bool) {
		s := newSim(t, postgres, peoplePerTenant, -1)
		acct := s.EnrolTOTP(t, authtest.North, "coord@north.example", haven.RoleCoordinator)
		cookie := s.SignIn(t, acct)
		may := s.Caseload(t, acct)
		budget := guard.Defaults().Budgets[haven.RoleCoordinator].PerHour
		if len(may) <= budget {
			t.Fatalf("the coordinator's service has %d people, not more than the budget %d: the test data is too small", len(may), budget)
		}
		h := haul{people: map[string]bool{}}
		var ids []string
		for id := range may {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			h.requests++
			status, body, loc := s.request(t, http.MethodGet, "/people/"+id, cookie, nil)
			if status == http.StatusOK {
				h.take(s, body)
			}
			if d, _ := dead(status, body, loc); d {
				h.cutAfter = h.requests
				break
			}
		}
		if len(h.people) > budget {
			t.Errorf("obtained %d people, budget %d", len(h.people), budget)
		}
		if h.cutAfter == 0 || h.cutAfter > budget+1 {
			t.Errorf("stopped after %d requests; want at the first read beyond the budget (%d)", h.cutAfter, budget+1)
		}
		if s.alerts(t)[guard.RuleBudgetHour] == 0 {
			t.Error("no budget alert")
		}
		t.Logf("coordinator reading only its own service (%d people): obtained %d, stopped at request %d", len(may), len(h.people), h.cutAfter)
	})
}

// TestAttackCanary: the first opening of a decoy person contains the
// account: the read is refused, every session ends and the account locks.
func TestAttackCanary(t *testing.T) {
	stores(t, func(t *testing.T, postgres bool) {
		s := newSim(t, postgres, smallTenant, 3)
		acct := s.EnrolTOTP(t, authtest.North, "coord@north.example", haven.RoleCoordinator)
		cookie := s.SignIn(t, acct)
		other := s.SignIn(t, acct) // a second session of the same account
		may := s.Caseload(t, acct)
		var canary string
		for _, pd := range s.Data[authtest.North].People {
			if pd.Person.Canary && may[pd.Person.ID] {
				canary = pd.Person.ID
				break
			}
		}
		if canary == "" {
			t.Fatal("no canary in the coordinator's service")
		}
		// The canary shows in the list like anyone else...
		_, body, _ := s.request(t, http.MethodGet, "/people?q="+url.QueryEscape(personFamily(s, canary)), cookie, nil)
		if !strings.Contains(body, canary) {
			t.Fatalf("the canary does not appear in the coordinator's search")
		}
		// ...and opening it is the end.
		status, body, loc := s.request(t, http.MethodGet, "/people/"+canary, cookie, nil)
		if status == http.StatusOK || strings.Contains(body, personNHS(s, canary)) {
			t.Fatalf("canary record served: %d", status)
		}
		if d, _ := dead(status, body, loc); !d {
			t.Errorf("opening a canary was not contained: %d %s", status, loc)
		}
		if !s.locked(t, acct) {
			t.Error("account not locked after opening a canary")
		}
		for _, c := range []string{cookie, other} {
			if st, _, _ := s.request(t, http.MethodGet, "/people", c, nil); st == http.StatusOK {
				t.Error("a session of the locked account still works")
			}
		}
		if s.alerts(t)[guard.RuleCanary] != 1 {
			t.Errorf("canary alerts: %v", s.alerts(t))
		}
	})
}

func personFamily(s *sim, id string) string {
	for _, pd := range s.Data[authtest.North].People {
		if pd.Person.ID == id {
			return pd.Person.Family
		}
	}
	return ""
}

func personNHS(s *sim, id string) string {
	for _, pd := range s.Data[authtest.North].People {
		if pd.Person.ID == id {
			return pd.Person.NHSNumber
		}
	}
	return ""
}

// TestAttackHomeAccess: key-safe codes outside the visit window, or for
// another carer's visit, are refused and alerted; inside the window the
// assigned carer gets them.
func TestAttackHomeAccess(t *testing.T) {
	stores(t, func(t *testing.T, postgres bool) {
		s := newSim(t, postgres, smallTenant, -1)
		carer := s.EnrolTOTP(t, authtest.North, "carer@north.example", haven.RoleCarer)
		visit := s.NextVisit(t, carer)
		other := s.EnrolTOTP(t, authtest.North, "other@north.example", haven.RoleCarer)
		code := homeAccessCode(s, visit.PersonID)
		reveal := func(a authtest.Account) (int, string) {
			cookie := s.SignIn(t, a) // a fresh factor: stepped up
			_, _, _ = s.request(t, http.MethodGet, "/people", cookie, nil)
			sess, err := s.Auth.Authenticate(context.Background(), cookie, auth.ClientInfo{Addr: "127.0.0.1"})
			if err != nil {
				t.Fatal(err)
			}
			st, body, _ := s.request(t, http.MethodPost, "/people/"+visit.PersonID+"/home-access", cookie,
				url.Values{"csrf": {sess.CSRFToken()}, "back": {"/people/" + visit.PersonID}})
			return st, body
		}
		refused := func(when string, a authtest.Account) {
			t.Helper()
			before := s.alerts(t)[guard.RuleHomeAccess]
			st, body := reveal(a)
			if code != "" && strings.Contains(body, code) {
				t.Errorf("%s: key-safe code revealed", when)
			}
			if st == http.StatusOK {
				t.Errorf("%s: status 200", when)
			}
			if s.alerts(t)[guard.RuleHomeAccess] != before+1 {
				t.Errorf("%s: no home-access alert", when)
			}
		}
		// Two hours before the visit: outside the window.
		s.Clock.SetClock(visit.Start.Add(-2 * time.Hour))
		refused("two hours early", carer)
		// In the window, but another carer's visit.
		s.Clock.SetClock(visit.Start.Add(-10 * time.Minute))
		refused("another carer's visit", other)
		// In the window, the assigned carer: revealed.
		if st, body := reveal(carer); st != http.StatusOK || !strings.Contains(body, "data-home-access") {
			t.Errorf("assigned carer in the window: status %d", st)
		}
		// After the visit has ended.
		s.Clock.SetClock(visit.End.Add(time.Minute))
		refused("after the visit", carer)
	})
}

func homeAccessCode(s *sim, person string) string {
	for _, pd := range s.Data[authtest.North].People {
		if pd.Person.ID == person && pd.HomeAccess != nil {
			return pd.HomeAccess.KeySafeCode
		}
	}
	return ""
}

// TestAttackSupplierSupport: supplier staff read nothing without the
// tenant's approval, and nothing again once it expires or is revoked.
func TestAttackSupplierSupport(t *testing.T) {
	stores(t, func(t *testing.T, postgres bool) {
		s := newSim(t, postgres, smallTenant, -1)
		ctx := context.Background()
		sup := haven.Principal{ID: "supplier-support-1", Role: haven.RoleSupplierSupport, SupportTenant: authtest.North, SteppedUp: true, ClientAddr: "203.0.113.9"}
		admin := haven.Principal{ID: "north-admin", TenantID: authtest.North, Role: haven.RoleTenantAdmin, SteppedUp: true}
		read := func() int {
			n := 0
			for _, id := range s.People[authtest.North][:20] {
				if _, err := s.Care.PersonRecord(ctx, sup, id); err == nil {
					n++
				}
			}
			return n
		}
		if n := read(); n != 0 {
			t.Fatalf("supplier support without approval read %d people", n)
		}
		g, err := s.Care.RequestSupport(ctx, sup, "SUP-4471", "customer reports missing visit notes")
		if err != nil {
			t.Fatal(err)
		}
		if n := read(); n != 0 {
			t.Fatalf("supplier support with a request not yet approved read %d people", n)
		}
		if _, err := s.Care.DecideSupport(ctx, admin, g.ID, true, []policy.Action{policy.ReadRecord}, 2*time.Hour); err != nil {
			t.Fatal(err)
		}
		if n := read(); n == 0 {
			t.Fatal("approved supplier support read nobody")
		}
		s.Clock.Advance(2*time.Hour + time.Second)
		if n := read(); n != 0 {
			t.Errorf("supplier support read %d people after the grant expired", n)
		}
		g2, err := s.Care.RequestSupport(ctx, sup, "SUP-4472", "customer reports missing visit notes again")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Care.DecideSupport(ctx, admin, g2.ID, true, []policy.Action{policy.ReadRecord}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.Care.RevokeSupport(ctx, admin, g2.ID); err != nil {
			t.Fatal(err)
		}
		if n := read(); n != 0 {
			t.Errorf("supplier support read %d people after revocation", n)
		}
		// Everything the supplier did is in the tenant's own audit log.
		dpo := haven.Principal{ID: "north-dpo", TenantID: authtest.North, Role: haven.RoleDPO}
		entries, err := s.Care.AccessReport(ctx, dpo, store.AuditQuery{Actors: []string{sup.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) < 60 {
			t.Errorf("north's audit log shows %d supplier entries, want every attempt", len(entries))
		}
	})
}

// TestAttackBreakGlass: break-glass without a reason is refused; with one
// it opens the record, is audited as break-glass and alerts.
func TestAttackBreakGlass(t *testing.T) {
	stores(t, func(t *testing.T, postgres bool) {
		s := newSim(t, postgres, smallTenant, -1)
		clin := s.EnrolTOTP(t, authtest.North, "clinician@north.example", haven.RoleClinician)
		may := s.Caseload(t, clin)
		var outside string
		for _, id := range s.People[authtest.North] {
			if !may[id] {
				outside = id
				break
			}
		}
		cookie := s.SignIn(t, clin)
		sess, err := s.Auth.Authenticate(context.Background(), cookie, auth.ClientInfo{})
		if err != nil {
			t.Fatal(err)
		}
		if st, body, _ := s.request(t, http.MethodGet, "/people/"+outside, cookie, nil); st != http.StatusForbidden || strings.Contains(body, personNHS(s, outside)) {
			t.Fatalf("clinician outside the relationship: %d", st)
		}
		post := func(reason string) int {
			st, _, _ := s.request(t, http.MethodPost, "/people/"+outside+"/break-glass", cookie, url.Values{"csrf": {sess.CSRFToken()}, "reason": {reason}, "back": {"/people/" + outside}})
			return st
		}
		if st := post(""); st != http.StatusForbidden {
			t.Errorf("break-glass without a reason: %d", st)
		}
		if st := post("urgent"); st != http.StatusForbidden {
			t.Errorf("break-glass with a token reason: %d", st)
		}
		if s.alerts(t)[guard.RuleBreakGlass] != 0 {
			t.Error("a refused break-glass opened a lease")
		}
		if st := post("Found collapsed at day centre, GP record unavailable"); st != http.StatusSeeOther {
			t.Fatalf("break-glass with a reason: %d", st)
		}
		st, body, _ := s.request(t, http.MethodGet, "/people/"+outside, cookie, nil)
		if st != http.StatusOK || !strings.Contains(body, personNHS(s, outside)) {
			t.Fatalf("record under the lease: %d", st)
		}
		if s.alerts(t)[guard.RuleBreakGlass] != 1 {
			t.Error("break-glass raised no alert")
		}
		dpo := haven.Principal{ID: "north-dpo", TenantID: authtest.North, Role: haven.RoleDPO}
		entries, err := s.Care.AccessReport(context.Background(), dpo, store.AuditQuery{Actors: []string{clin.ID}})
		if err != nil {
			t.Fatal(err)
		}
		marked := 0
		for _, e := range entries {
			if e.PersonID == outside && e.Outcome == care.OutcomeOK && strings.Contains(e.Purpose, "break-glass lease") {
				marked++
			}
		}
		if marked < 2 { // the opening and the read
			t.Errorf("%d audit entries marked break-glass", marked)
		}
		leases, err := s.Care.Leases(context.Background(), dpo, true)
		if err != nil || len(leases) != 1 {
			t.Fatalf("review queue: %v %v", leases, err)
		}
	})
}

// TestAttackSearchFloodFreezes: a session that searches faster than anyone
// looks people up is frozen: the cookie alone reaches nothing more, and
// the real user continues by confirming their factor.
func TestAttackSearchFloodFreezes(t *testing.T) {
	stores(t, func(t *testing.T, postgres bool) {
		s := newSim(t, postgres, smallTenant, -1)
		carer := s.EnrolTOTP(t, authtest.North, "carer@north.example", haven.RoleCarer)
		cookie := s.SignIn(t, carer)
		limit := guard.Defaults().SearchLimit
		frozenAt := 0
		for i := 1; i <= limit+5 && frozenAt == 0; i++ {
			st, body, loc := s.request(t, http.MethodGet, "/people?q="+url.QueryEscape(fmt.Sprintf("Name%d", i)), cookie, nil)
			if d, why := dead(st, body, loc); d {
				frozenAt = i
				t.Logf("stopped at search %d: %s", i, why)
			}
		}
		if frozenAt != limit+1 {
			t.Fatalf("frozen at search %d, want %d", frozenAt, limit+1)
		}
		// Frozen: every page sends the cookie holder to confirm a factor.
		if st, _, loc := s.request(t, http.MethodGet, "/people", cookie, nil); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/confirm") {
			t.Fatalf("frozen session: %d %s", st, loc)
		}
		if s.alerts(t)[guard.RuleSearchVolume] != 1 {
			t.Errorf("search-volume alerts: %v", s.alerts(t))
		}
		// The real user confirms their code and carries on.
		sess, err := s.Auth.Authenticate(context.Background(), cookie, auth.ClientInfo{Addr: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		code, _ := totp.Code(carer.TOTPSecret, s.Clock.Now())
		if st, _, loc := s.request(t, http.MethodPost, "/confirm/totp", cookie, url.Values{"csrf": {sess.CSRFToken()}, "code": {code}, "next": {"/people"}}); st != http.StatusSeeOther || loc != "/people" {
			t.Fatalf("confirming the factor: %d %s", st, loc)
		}
		if st, _, _ := s.request(t, http.MethodGet, "/people", cookie, nil); st != http.StatusOK {
			t.Fatalf("after confirming, the session still does not work: %d", st)
		}
	})
}
