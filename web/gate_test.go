package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/authtest"
)

// gateEnv is a server over a real store with two tenants.
type gateEnv struct {
	*authtest.Env
	srv    *Server
	ts     *httptest.Server
	origin string
}

func newGateEnv(t *testing.T) *gateEnv {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	// Passkeys need a host name, not an IP address, as relying party.
	origin := "http://localhost:" + ts.Listener.Addr().(*net.TCPAddr).AddrPort().String()[len("127.0.0.1:"):]
	env := authtest.New(t, authtest.Options{Origin: origin})
	srv := New(Config{Origin: origin, Insecure: true}, env.Auth, env.Care, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.Now = env.Clock.Now
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return &gateEnv{Env: env, srv: srv, ts: ts, origin: origin}
}

// snapshot lists every stored record with its version, and every
// account's role, status and factors: if a request changed anything, the
// snapshot changes. Sessions, tokens and assertion ids are left out
// (checking a session may expire it), and so are accounts' failure
// counters and last-seen times, which a refused attempt rightly updates.
func (g *gateEnv) snapshot(t *testing.T, tenants ...string) string {
	t.Helper()
	var b strings.Builder
	for _, tenant := range tenants {
		accts, err := g.Auth.Accounts(context.Background(), haven.SystemPrincipal(tenant, "test"))
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range accts {
			fmt.Fprintf(&b, "%s/%s %s %s %s %v locked=%v codes=%d\n", tenant, a.ID, a.Email, a.Role, a.Status, a.Factors, a.Locked, a.RecoveryLeft)
		}
	}
	rows, err := g.DB.SQL().Query(`SELECT tenant_id, kind, id, version FROM records
		WHERE kind NOT IN ('session', 'access-token', 'assertion-id', 'account') ORDER BY tenant_id, kind, id`)
	in := strings.Join(tenants, ",")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var tenant, kind, id string
		var v int64
		if err := rows.Scan(&tenant, &kind, &id, &v); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(","+in+",", ","+tenant+",") {
			continue
		}
		fmt.Fprintf(&b, "%s/%s/%s@%d\n", tenant, kind, id, v)
	}
	return b.String()
}

// leaks returns the north tenant's personal data found in body.
func (g *gateEnv) leaks(body string, extra ...string) []string {
	var out []string
	for _, s := range append(append(append([]string{}, g.Names[authtest.North]...), g.NHS[authtest.North]...), extra...) {
		if s != "" && strings.Contains(body, s) {
			out = append(out, s)
		}
	}
	return out
}

// state is one kind of caller in the route matrix.
type state struct {
	name   string
	cookie string // session cookie value, "" for none
	csrf   string // the form token that caller would have
}

// TestRouteMatrix walks every registered route with every kind of caller
// that must not reach personal data, and checks that none of them gets
// any of the north tenant's personal data or changes anything stored.
func TestRouteMatrix(t *testing.T) {
	g := newGateEnv(t)
	ctx := context.Background()
	carer := g.EnrolTOTP(t, authtest.North, "carer@north.example", haven.RoleCarer)
	staffEmail := carer.Email
	south := g.EnrolTOTP(t, authtest.South, "carer@south.example", haven.RoleCarer)

	csrfOf := func(tok string) string {
		s, err := g.Auth.Authenticate(ctx, tok, auth.ClientInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return s.CSRFToken()
	}
	pending := g.PasswordOnly(t, carer)
	expired := g.SignIn(t, carer)
	expiredCSRF := csrfOf(expired)
	otherTenant := g.SignIn(t, south)
	// Another tenant's administrator, signed in with a passkey as admins
	// must be, for the administration routes.
	southKey := authtest.NewSoftKey(g.origin)
	g.EnrolPasskey(t, authtest.South, "admin@south.example", haven.RoleTenantAdmin, southKey)
	states := []state{
		{name: "no session", csrf: "public-form-token-0123456789abcdefghijklmnopq"},
		{name: "forged session", cookie: authtest.North + "." + strings.Repeat("A", 43), csrf: "x"},
		{name: "password only", cookie: pending, csrf: csrfOf(pending)},
		{name: "other tenant", cookie: otherTenant, csrf: csrfOf(otherTenant)},
		{name: "expired", cookie: expired, csrf: expiredCSRF},
	}
	// Positive control: a signed-in north carer does see north people, so
	// the leak detector can fire.
	full := g.SignIn(t, carer)
	if body, _ := g.get(t, "/people", full); len(g.leaks(body)) == 0 {
		t.Fatal("control: a signed-in north carer sees no north people; the leak check is blind")
	}
	g.Clock.Advance(16 * time.Minute) // "expired" is now idle too long
	otherTenant = g.SignIn(t, south)
	states[3].cookie, states[3].csrf = otherTenant, csrfOf(otherTenant)
	pending = g.PasswordOnly(t, carer)
	states[2].cookie, states[2].csrf = pending, csrfOf(pending)
	southAdmin := g.SignInPasskey(t, southKey)
	states = append(states, state{name: "other tenant admin", cookie: southAdmin, csrf: csrfOf(southAdmin)})

	person := g.People[authtest.North][0]
	subst := strings.NewReplacer("{id}", person, "{token}", authtest.North+"."+strings.Repeat("B", 43), "{$}", "")
	staffSubst := strings.NewReplacer("{id}", carer.ID)

	routes := g.srv.Routes()
	sort.Slice(routes, func(i, j int) bool { return routes[i].Pattern() < routes[j].Pattern() })
	checked := 0
	for _, st := range states {
		// Callers of another tenant may change their own tenant; nobody may
		// change north's.
		tenants := []string{authtest.North, authtest.South}
		if strings.HasPrefix(st.name, "other tenant") {
			tenants = []string{authtest.North}
		}
		before := g.snapshot(t, tenants...)
		for _, rt := range routes {
			path := subst.Replace(rt.Path)
			if strings.HasPrefix(rt.Path, "/admin/staff/{id}") {
				path = staffSubst.Replace(rt.Path)
			}
			status, body, loc := g.do(t, rt.Method, path, st)
			checked++
			if l := g.leaks(body, staffEmail); len(l) > 0 {
				t.Errorf("%s %s as %s: response holds north personal data %q", rt.Method, path, st.name, l)
			}
			if status >= 500 {
				t.Errorf("%s %s as %s: status %d", rt.Method, path, st.name, status)
			}
			// A route that needs more than the caller has must not run. The
			// other tenant's callers are fully signed in: they may use any
			// route, on their own tenant's data only.
			if rt.Access != Public && !strings.HasPrefix(st.name, "other tenant") && !(st.name == "password only" && rt.Access == Pending) {
				if status == http.StatusOK {
					t.Errorf("%s %s as %s: %s route answered 200 (location %q)", rt.Method, path, st.name, rt.Access, loc)
				}
			}
		}
		if after := g.snapshot(t, tenants...); after != before {
			t.Errorf("requests as %s changed stored data:\nbefore:\n%s\nafter:\n%s", st.name, before, after)
		}
	}
	if checked < 40*len(states)/2 {
		t.Fatalf("only %d requests made", checked)
	}
}

func (g *gateEnv) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends one request as st. State-changing requests carry the caller's
// form token (and, without a session, the matching double-submit cookie),
// so that the gate's access rule, not only the anti-forgery check, is
// what stops them.
func (g *gateEnv) do(t *testing.T, method, path string, st state) (int, string, string) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		// The e-mail address is not one of north's: a page that echoes
		// what was typed must not count as a leak.
		body = strings.NewReader(url.Values{"csrf": {st.csrf}, "email": {"mallory@example.invalid"}, "password": {authtest.Password},
			"role": {"tenant-admin"}, "name": {"Mallory"}, "code": {"123456"}, "session": {"x"}, "factor": {"totp"}}.Encode())
	}
	req, err := http.NewRequest(method, g.ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", g.origin)
	}
	if st.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "haven_session", Value: st.cookie})
	} else {
		req.AddCookie(&http.Cookie{Name: "haven_csrf", Value: st.csrf})
	}
	resp, err := g.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

func (g *gateEnv) get(t *testing.T, path, cookie string) (string, int) {
	t.Helper()
	_, body, _ := g.do(t, http.MethodGet, path, state{cookie: cookie})
	return body, 0
}
