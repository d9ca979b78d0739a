package fhir_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/auth/totp"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/guard"
	"github.com/havencare/haven/store"
	"github.com/havencare/haven/web"
)

// SMART App Launch (standalone) for staff, end to end over HTTP: a member
// of staff signed in with two factors approves an app, the app exchanges
// the code with its PKCE verifier, and every FHIR call then acts as that
// member of staff, through the same policy (caseload), guard and audit log
// as the web pages. Then the attacks: every way of getting or keeping a
// token without the approval, the app, the verifier or the live session.

const appRedirect = "https://app.example/callback"

// launchEnv is Haven over loopback whose web server shares the services'
// clock, with a browser-like client that does not follow redirects.
type launchEnv struct {
	*authtest.Env
	base string
	http *http.Client
}

func newLaunchEnv(t *testing.T, opt authtest.Options) *launchEnv {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	origin := "http://localhost:" + port
	opt.Origin = origin
	env := authtest.New(t, opt)
	w := web.New(web.Config{Origin: origin, Insecure: true}, env.Auth, env.Care, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.Now = env.Clock.Now
	srv.Config.Handler = w
	srv.Start()
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &launchEnv{Env: env, base: origin, http: c}
}

// send makes one request with a session cookie (or none), a form body
// (POST) and extra headers.
func (e *launchEnv) send(t *testing.T, method, path, cookie string, form url.Values, headers ...string) reply {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", e.base)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "haven_session", Value: cookie})
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Cookie" {
			req.Header.Add("Cookie", headers[i+1])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	return send(t, e.http, req)
}

// fhirGet reads through the FHIR API with a bearer token.
func (e *launchEnv) fhir(t *testing.T, method, path, token, body string) reply {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	return send(t, e.http, req)
}

// pkce makes a verifier and its S256 challenge, computed here with the
// standard library rather than by the code under test.
func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// launch is one app's authorization request.
type launch struct {
	client, redirect, scope, state, verifier, challenge string
	extra                                               url.Values // set (or, with an empty value, remove) parameters
}

func (e *launchEnv) newLaunch(client, scope string) *launch {
	v, c := pkce()
	st := make([]byte, 12)
	rand.Read(st)
	return &launch{client: client, redirect: appRedirect, scope: scope, state: base64.RawURLEncoding.EncodeToString(st), verifier: v, challenge: c}
}

func (e *launchEnv) authorizePath(l *launch) string {
	q := url.Values{"response_type": {"code"}, "client_id": {l.client}, "redirect_uri": {l.redirect}, "scope": {l.scope},
		"state": {l.state}, "code_challenge": {l.challenge}, "code_challenge_method": {"S256"}, "aud": {e.base + "/fhir"}}
	for k, v := range l.extra {
		if v[0] == "" {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return "/fhir/auth/authorize?" + q.Encode()
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// consent opens the consent page as the signed-in cookie and returns its
// form's fields.
func (e *launchEnv) consent(t *testing.T, cookie string, l *launch) (url.Values, reply) {
	t.Helper()
	a := e.send(t, "GET", e.authorizePath(l), cookie, nil)
	if a.status != http.StatusOK || !strings.Contains(a.raw, `action="/fhir/auth/authorize"`) {
		t.Fatalf("consent page: %d %s %.300s", a.status, a.header.Get("Location"), a.raw)
	}
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(a.raw, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	return form, a
}

// approve signs the approval and returns the code the app receives.
func (e *launchEnv) approve(t *testing.T, cookie string, l *launch) string {
	t.Helper()
	form, _ := e.consent(t, cookie, l)
	form.Set("decision", "allow")
	a := e.send(t, "POST", "/fhir/auth/authorize", cookie, form)
	loc, err := url.Parse(a.header.Get("Location"))
	if a.status != http.StatusSeeOther || err != nil || !strings.HasPrefix(loc.String(), l.redirect+"?") {
		t.Fatalf("approve: %d %q %.300s", a.status, a.header.Get("Location"), a.raw)
	}
	if loc.Query().Get("state") != l.state || loc.Query().Get("code") == "" {
		t.Fatalf("approve: redirect %s lacks the code or the state", loc)
	}
	return loc.Query().Get("code")
}

// exchange posts the code to the token endpoint as a public client.
func (e *launchEnv) exchange(t *testing.T, l *launch, code string, edit ...func(url.Values)) reply {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {l.redirect}, "client_id": {l.client}, "code_verifier": {l.verifier}}
	for _, f := range edit {
		f(form)
	}
	req, err := http.NewRequest("POST", e.base+"/fhir/auth/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(t, e.http, req)
}

// fresh lets the token endpoint's throttle window pass: refused exchanges
// from one address are slowed after the third, and each attack must be
// answered on its merits. Attacks call it first, before anything that
// expires (codes, tokens) is made, and make at most three refusals each.
func (e *launchEnv) fresh() { e.Clock.Advance(auth.ThrottleWindow) }

// token runs the whole flow and returns the access token.
func (e *launchEnv) token(t *testing.T, cookie string, l *launch) string {
	t.Helper()
	a := e.exchange(t, l, e.approve(t, cookie, l))
	tok, _ := a.body["access_token"].(string)
	if a.status != 200 || tok == "" {
		t.Fatalf("token: %d %s", a.status, a.raw)
	}
	return tok
}

// refused checks an OAuth error reply.
func refused(t *testing.T, what string, a reply, status int, code string) {
	t.Helper()
	if a.status != status || a.body["error"] != code || a.body["access_token"] != nil {
		t.Errorf("%s: got %d %s, want %d %s", what, a.status, a.raw, status, code)
	}
}

// redirectError checks that an authorization request was sent back to the
// app with an OAuth error and its state, and no code.
func redirectError(t *testing.T, what string, a reply, l *launch, code string) {
	t.Helper()
	loc, err := url.Parse(a.header.Get("Location"))
	if a.status != http.StatusSeeOther || err != nil || !strings.HasPrefix(loc.String(), l.redirect+"?") {
		t.Errorf("%s: got %d %q, want a redirect to the app", what, a.status, a.header.Get("Location"))
		return
	}
	if q := loc.Query(); q.Get("error") != code || q.Get("state") != l.state || q.Has("code") {
		t.Errorf("%s: redirect %s, want error=%s with the state and no code", what, loc, code)
	}
}

// shownNotRedirected checks that a refusal is on Haven's page and the
// browser is sent nowhere.
func shownNotRedirected(t *testing.T, what string, a reply, status int) {
	t.Helper()
	if a.status != status || a.header.Get("Location") != "" || strings.Contains(a.raw, "code=") {
		t.Errorf("%s: got %d location %q, want %d shown on the page", what, a.status, a.header.Get("Location"), status)
	}
}

// csrfOf is the anti-forgery token of a signed-in session.
func (e *launchEnv) csrfOf(t *testing.T, cookie string) (string, string) {
	t.Helper()
	s, err := e.Auth.Authenticate(context.Background(), cookie, auth.ClientInfo{Addr: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return s.CSRFToken(), s.ID
}

// people splits a tenant's real (non-canary) people into those on the
// account's caseload and the others.
func (e *launchEnv) people(t *testing.T, a authtest.Account) (in, out []string) {
	t.Helper()
	caseload := e.Caseload(t, a)
	for _, p := range e.Data[a.Partition].People {
		if p.Person.Canary {
			continue
		}
		if caseload[p.Person.ID] {
			in = append(in, p.Person.ID)
		} else {
			out = append(out, p.Person.ID)
		}
	}
	if len(in) == 0 || len(out) == 0 {
		t.Fatalf("%s: %d people in the caseload, %d outside; the test needs both", a.Email, len(in), len(out))
	}
	return in, out
}

// auditOf is the tenant's audit log about person by actor, read by the
// data-protection officer through the record service.
func (e *launchEnv) auditOf(t *testing.T, actor, person string) []audit.Entry {
	t.Helper()
	// A reader of its own each time: the guard budgets a data-protection
	// officer's reads about people too.
	dpo := haven.Principal{ID: "dpo-test-" + person, TenantID: authtest.North, Role: haven.RoleDPO, Purpose: "oversight"}
	entries, err := e.Care.AccessReport(context.Background(), dpo, store.AuditQuery{Actors: []string{actor}, PersonID: person, Until: e.Clock.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func searchIDs(t *testing.T, a reply) map[string]bool {
	t.Helper()
	if a.status != 200 || a.body["resourceType"] != "Bundle" {
		t.Fatalf("search: %d %.300s", a.status, a.raw)
	}
	out := map[string]bool{}
	entries, _ := a.body["entry"].([]any)
	for _, en := range entries {
		m := en.(map[string]any)
		if s, _ := m["search"].(map[string]any); s["mode"] != "match" {
			continue
		}
		out[m["resource"].(map[string]any)["id"].(string)] = true
	}
	return out
}

func TestStaffLaunchSQLite(t *testing.T) { testStaffLaunch(t, authtest.Options{People: 16}) }

func TestStaffLaunchPostgres(t *testing.T) {
	testStaffLaunch(t, authtest.Options{People: 16, Postgres: true})
}

func testStaffLaunch(t *testing.T, opt authtest.Options) {
	e := newLaunchEnv(t, opt)
	ctx := context.Background()
	admin := haven.SystemPrincipal(authtest.North, "test: register staff apps")
	app, err := e.Auth.RegisterStaffApp(ctx, admin, "Care notes", []string{appRedirect, "http://127.0.0.1:7777/cb"}, []string{"user/*.cruds"})
	if err != nil {
		t.Fatal(err)
	}
	patientsApp, err := e.Auth.RegisterStaffApp(ctx, admin, "Patient list", []string{appRedirect}, []string{"user/Patient.rs"})
	if err != nil {
		t.Fatal(err)
	}
	carer := e.EnrolTOTP(t, authtest.North, "carer@north.example", haven.RoleCarer)
	in, out := e.people(t, carer)

	t.Run("carer through an app sees exactly their caseload", func(t *testing.T) {
		cookie := e.SignIn(t, carer)
		l := e.newLaunch(app, "launch/patient openid fhirUser user/*.cruds")
		form, page := e.consent(t, cookie, l)
		if !strings.Contains(page.raw, "Care notes") || !strings.Contains(page.raw, "Create, read, update, delete and search records of every kind") {
			t.Errorf("the consent page does not name the app and its scopes in words: %.2000s", page.raw)
		}
		if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example") {
			t.Errorf("consent page CSP %q does not let the reply go back to the app", csp)
		}
		if form.Get("csrf") == "" || form.Get("code_challenge") != l.challenge {
			t.Fatalf("consent form: %v", form)
		}
		code := e.approve(t, cookie, l)
		a := e.exchange(t, l, code)
		tok, _ := a.body["access_token"].(string)
		if a.status != 200 || tok == "" || a.body["token_type"] != "bearer" || a.body["expires_in"] != float64(300) || a.body["scope"] != "user/*.cruds" {
			t.Fatalf("token: %d %s", a.status, a.raw)
		}
		if _, ok := a.body["refresh_token"]; ok {
			t.Error("a refresh token was issued")
		}

		// In the caseload: read, $everything.
		if r := e.fhir(t, "GET", "/fhir/Patient/"+in[0], tok, ""); r.status != 200 || r.body["id"] != in[0] {
			t.Fatalf("read in caseload: %d %.300s", r.status, r.raw)
		}
		if r := e.fhir(t, "GET", "/fhir/Patient/"+in[0]+"/$everything", tok, ""); r.status != 200 {
			t.Errorf("$everything in caseload: %d %.300s", r.status, r.raw)
		}
		// Outside it: refused as the web page refuses it, and audited.
		r := e.fhir(t, "GET", "/fhir/Patient/"+out[0], tok, "")
		webAns := e.send(t, "GET", "/people/"+out[0], cookie, nil)
		if r.status != http.StatusForbidden || r.body["resourceType"] != "OperationOutcome" || webAns.status != http.StatusForbidden {
			t.Errorf("read outside caseload: FHIR %d, web %d; want 403 from both", r.status, webAns.status)
		}
		for _, name := range e.Names[authtest.North] {
			if strings.Contains(r.raw, name) {
				t.Errorf("the refusal holds a name: %s", r.raw)
			}
		}
		var viaApp, viaWeb int
		for _, en := range e.auditOf(t, carer.ID, out[0]) {
			if en.Outcome == care.OutcomeOK {
				t.Errorf("audit shows a successful access outside the caseload: %+v", en)
			}
			if en.Action == care.ActionRead && en.Outcome == care.OutcomeDenied && en.ActorRole == string(haven.RoleCarer) {
				if strings.Contains(en.Purpose, "API (app "+app+")") {
					viaApp++
				} else {
					viaWeb++
				}
			}
		}
		if viaApp != 1 || viaWeb != 1 {
			t.Errorf("denied reads audited: %d through the app, %d from the web page; want 1 each", viaApp, viaWeb)
		}
		// Writes go through policy too.
		if c := e.fhir(t, "POST", "/fhir/Condition", tok, sprintf(condition, in[0])); c.status != 201 {
			t.Errorf("write in caseload: %d %.300s", c.status, c.raw)
		}
		if c := e.fhir(t, "POST", "/fhir/Condition", tok, sprintf(condition, out[0])); c.status != http.StatusForbidden {
			t.Errorf("write outside caseload: %d %.300s", c.status, c.raw)
		}
		// Search lists the caseload and nobody else; an exact search for
		// someone outside it finds nothing.
		got := searchIDs(t, e.fhir(t, "GET", "/fhir/Patient?_count=100", tok, ""))
		if want := e.Caseload(t, carer); len(got) != len(want) {
			t.Errorf("search found %d people, the caseload has %d", len(got), len(want))
		} else {
			for id := range got {
				if !want[id] {
					t.Errorf("search found %s, who is not in the caseload", id)
				}
			}
		}
		for i, p := range e.Data[authtest.North].People {
			if p.Person.ID == out[0] {
				if n := searchIDs(t, e.fhir(t, "GET", "/fhir/Patient?identifier="+e.NHS[authtest.North][i], tok, "")); len(n) != 0 {
					t.Errorf("search by NHS number found someone outside the caseload: %v", n)
				}
			}
		}
		// Another organisation's patient does not exist.
		e.fhir(t, "GET", "/fhir/Patient/"+e.People[authtest.South][0], tok, "").wantOutcome(t, http.StatusNotFound)
		// No bulk export for staff, whatever the scopes.
		xr, _ := http.NewRequest("GET", e.base+"/fhir/Patient/$export?_type=Patient", nil)
		xr.Header.Set("Authorization", "Bearer "+tok)
		xr.Header.Set("Prefer", "respond-async")
		if res, err := e.http.Do(xr); err != nil || res.StatusCode != http.StatusForbidden {
			t.Errorf("bulk export by a member of staff: %v %v", res.StatusCode, err)
		} else {
			res.Body.Close()
		}

		// Signing out ends the app's token at once.
		csrf, _ := e.csrfOf(t, cookie)
		if so := e.send(t, "POST", "/sign-out", cookie, url.Values{"csrf": {csrf}}); so.status != 200 {
			t.Fatalf("sign out: %d", so.status)
		}
		e.fhir(t, "GET", "/fhir/Patient/"+in[0], tok, "").wantOutcome(t, http.StatusUnauthorized)
	})

	t.Run("scopes only narrow", func(t *testing.T) {
		nurse := e.EnrolTOTP(t, authtest.North, "nurse@north.example", haven.RoleNurse)
		nin, _ := e.people(t, nurse)
		cookie := e.SignIn(t, nurse)
		// The app is allowed user/Patient.rs; asking for more gets less.
		l := e.newLaunch(patientsApp, "user/Patient.rs user/Condition.rs")
		code := e.approve(t, cookie, l)
		a := e.exchange(t, l, code)
		tok, _ := a.body["access_token"].(string)
		if a.status != 200 || a.body["scope"] != "user/Patient.rs" {
			t.Fatalf("token: %d %s", a.status, a.raw)
		}
		if r := e.fhir(t, "GET", "/fhir/Patient/"+nin[0], tok, ""); r.status != 200 {
			t.Errorf("read Patient in caseload: %d", r.status)
		}
		// The nurse may write a condition in the web UI; this app may not.
		e.fhir(t, "POST", "/fhir/Condition", tok, sprintf(condition, nin[0])).wantOutcome(t, http.StatusForbidden)
		if r := e.fhir(t, "GET", "/fhir/Patient/"+nin[0]+"/$everything", tok, ""); r.status != 200 || strings.Contains(r.raw, `"Condition"`) {
			t.Errorf("$everything shows a type outside the scopes: %d %.300s", r.status, r.raw)
		}

		// The narrowing itself, at the record service: a member of staff
		// carrying scopes is judged by user/ scopes only. system/*.rs on a
		// staff principal grants nothing; the same person with user/*.rs
		// reads, and without the app (a browser, no scopes) reads too.
		st, _ := e.StaffOf(t, nurse)
		p := haven.Principal{ID: nurse.ID, TenantID: authtest.North, Role: haven.RoleNurse, StaffID: st.ID, Purpose: "test"}
		for _, c := range []struct {
			scopes []string
			ok     bool
		}{{nil, true}, {[]string{"user/*.rs"}, true}, {[]string{"system/*.rs"}, false}, {[]string{"system/*.cruds", "patient/*.rs"}, false}, {[]string{}, false}} {
			p.Scopes = c.scopes
			_, _, err := e.Care.Get(ctx, p, haven.KindPerson, nin[0])
			if c.ok != (err == nil) || !c.ok && !errors.Is(err, haven.ErrForbidden) {
				t.Errorf("care read with scopes %q: %v, want allowed=%v", c.scopes, err, c.ok)
			}
		}
		// Deleting needs the app's d, though the nurse may delete in the
		// web pages: create, read and update do not include it.
		for _, c := range []struct {
			scope string
			ok    bool
		}{{"user/Condition.cru", false}, {"user/Condition.cud", true}} {
			p.Scopes = []string{c.scope}
			id := care.NewID()
			if _, err := e.Care.Create(ctx, p, &haven.Condition{ID: id, PersonID: nin[0], Code: "38341003", Display: "Hypertensive disorder", Status: "active"}); err != nil {
				t.Fatalf("%s: create: %v", c.scope, err)
			}
			err := e.Care.Delete(ctx, p, haven.KindCondition, id)
			if c.ok != (err == nil) || !c.ok && !errors.Is(err, haven.ErrForbidden) {
				t.Errorf("care delete with %s: %v, want allowed=%v", c.scope, err, c.ok)
			}
		}
	})

	t.Run("attacks on the code", func(t *testing.T) {
		cookie := e.SignIn(t, carer)

		// Wrong verifier: refused, and the code is spent.
		e.fresh()
		l := e.newLaunch(app, "user/*.rs")
		code := e.approve(t, cookie, l)
		other, _ := pkce()
		refused(t, "wrong verifier", e.exchange(t, l, code, func(f url.Values) { f.Set("code_verifier", other) }), 400, "invalid_grant")
		refused(t, "right verifier after a wrong one", e.exchange(t, l, code), 400, "invalid_grant")

		// Replay: the second exchange is refused and revokes the token
		// (at once: the token's own five minutes have not passed).
		e.fresh()
		l = e.newLaunch(app, "user/*.rs")
		code = e.approve(t, cookie, l)
		first := e.exchange(t, l, code)
		tok, _ := first.body["access_token"].(string)
		if first.status != 200 || tok == "" {
			t.Fatalf("first exchange: %d %s", first.status, first.raw)
		}
		if r := e.fhir(t, "GET", "/fhir/Patient/"+in[0], tok, ""); r.status != 200 {
			t.Fatalf("token before replay: %d", r.status)
		}
		refused(t, "replayed code", e.exchange(t, l, code), 400, "invalid_grant")
		e.fhir(t, "GET", "/fhir/Patient/"+in[0], tok, "").wantOutcome(t, http.StatusUnauthorized)
		refused(t, "replayed again", e.exchange(t, l, code), 400, "invalid_grant")

		// A code for one app, presented by another of the same
		// organisation (same redirect URI).
		e.fresh()
		l = e.newLaunch(app, "user/*.rs")
		code = e.approve(t, cookie, l)
		refused(t, "code for another app", e.exchange(t, l, code, func(f url.Values) { f.Set("client_id", patientsApp) }), 400, "invalid_grant")
		refused(t, "its own app after that", e.exchange(t, l, code), 400, "invalid_grant")

		// redirect_uri: the token request must name the one the code was
		// issued for, even another registered one.
		e.fresh()
		l = e.newLaunch(app, "user/*.rs")
		code = e.approve(t, cookie, l)
		refused(t, "redirect_uri mismatch", e.exchange(t, l, code, func(f url.Values) { f.Set("redirect_uri", "http://127.0.0.1:7777/cb") }), 400, "invalid_grant")
		// No verifier at all (the code is not spent by a malformed request).
		refused(t, "no verifier", e.exchange(t, l, code, func(f url.Values) { f.Del("code_verifier") }), 400, "invalid_request")

		// Expired: a code lives 60 seconds.
		e.fresh()
		l = e.newLaunch(app, "user/*.rs")
		code = e.approve(t, cookie, l)
		e.Clock.Advance(auth.CodeLife)
		refused(t, "expired code", e.exchange(t, l, code), 400, "invalid_grant")
		// Just inside its minute, a code works.
		l = e.newLaunch(app, "user/*.rs")
		code = e.approve(t, cookie, l)
		e.Clock.Advance(auth.CodeLife - time.Second)
		if a := e.exchange(t, l, code); a.status != 200 {
			t.Errorf("code a second before expiry: %d %s", a.status, a.raw)
		}

		// Codes that were never issued, or name another tenant; an
		// unknown client.
		e.fresh()
		l = e.newLaunch(app, "user/*.rs")
		refused(t, "forged code", e.exchange(t, l, authtest.North+"."+strings.Repeat("A", 43)), 400, "invalid_grant")
		code = e.approve(t, cookie, l)
		refused(t, "code moved to another tenant", e.exchange(t, l, authtest.South+code[len(authtest.North):]), 400, "invalid_grant")
		refused(t, "unknown client", e.exchange(t, l, code, func(f url.Values) { f.Set("client_id", authtest.North+"/c-0000") }), 401, "invalid_client")

		// A code whose session signed out before the exchange gets nothing.
		e.fresh()
		l = e.newLaunch(app, "user/*.rs")
		code = e.approve(t, cookie, l)
		if err := e.Auth.SignOut(ctx, cookie, false); err != nil {
			t.Fatal(err)
		}
		refused(t, "code after sign-out", e.exchange(t, l, code), 400, "invalid_grant")

		// Refusals are audited in the organisation's log.
		n := 0
		entries, err := e.Care.AccessReport(ctx, haven.Principal{ID: "dpo-test", TenantID: authtest.North, Role: haven.RoleDPO, Purpose: "oversight"},
			store.AuditQuery{Until: e.Clock.Now().Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range entries {
			if en.Action == auth.ActionTokenRefused && en.RecordID == app && en.Outcome == "denied" {
				n++
			}
		}
		if n < 7 {
			t.Errorf("%d refused code exchanges audited, want at least 7", n)
		}
	})

	t.Run("attacks on the authorization request", func(t *testing.T) {
		cookie := e.SignIn(t, carer)
		send := func(l *launch) reply { return e.send(t, "GET", e.authorizePath(l), cookie, nil) }
		with := func(k, v string) *launch {
			l := e.newLaunch(app, "user/*.rs")
			l.extra = url.Values{k: {v}}
			return l
		}
		// Untrusted client or redirect: shown, never redirected.
		shownNotRedirected(t, "unregistered redirect_uri", send(with("redirect_uri", "https://evil.example/callback")), 400)
		shownNotRedirected(t, "redirect_uri by prefix", send(with("redirect_uri", appRedirect+"/x")), 400)
		shownNotRedirected(t, "no redirect_uri", send(with("redirect_uri", "")), 400)
		shownNotRedirected(t, "unknown client", send(with("client_id", authtest.North+"/c-0000")), 400)
		shownNotRedirected(t, "another tenant's client id", send(with("client_id", authtest.South+app[len(authtest.North):])), 400)
		rep := e.newLaunch(app, "user/*.rs")
		shownNotRedirected(t, "repeated redirect_uri", e.send(t, "GET", e.authorizePath(rep)+"&redirect_uri="+url.QueryEscape("https://evil.example/cb"), cookie, nil), 400)

		// Trusted app, bad request: back to the app with the error.
		for _, c := range []struct{ k, v, code string }{
			{"code_challenge", "", "invalid_request"},
			{"code_challenge_method", "", "invalid_request"},
			{"code_challenge_method", "plain", "invalid_request"},
			{"code_challenge", "too-short", "invalid_request"},
			{"aud", "https://evil.example/fhir", "invalid_request"},
			{"aud", "", "invalid_request"},
			{"response_type", "token", "unsupported_response_type"},
			{"launch", "xyz", "invalid_request"},
			{"scope", "system/*.rs", "invalid_scope"},
			{"scope", "user/*.rs system/*.rs", "invalid_scope"},
			{"scope", "patient/*.rs", "invalid_scope"},
			{"scope", "openid fhirUser", "invalid_scope"},
		} {
			l := with(c.k, c.v)
			redirectError(t, c.k+"="+c.v, send(l), l, c.code)
		}
		// Missing state: refused too (without a state to echo).
		l := with("state", "")
		if a := send(l); a.status != http.StatusSeeOther || !strings.Contains(a.header.Get("Location"), "error=invalid_request") || strings.Contains(a.header.Get("Location"), "code=") {
			t.Errorf("no state: %d %q", a.status, a.header.Get("Location"))
		}

		// The consent form is a signed-in form: without its anti-forgery
		// token, or from another site, nothing is issued.
		l = e.newLaunch(app, "user/*.rs")
		form, _ := e.consent(t, cookie, l)
		form.Set("decision", "allow")
		noCSRF := url.Values{}
		for k, v := range form {
			if k != "csrf" {
				noCSRF[k] = v
			}
		}
		if a := e.send(t, "POST", "/fhir/auth/authorize", cookie, noCSRF); a.status != http.StatusForbidden || a.header.Get("Location") != "" {
			t.Errorf("consent without CSRF token: %d %q", a.status, a.header.Get("Location"))
		}
		if a := e.send(t, "POST", "/fhir/auth/authorize", cookie, form, "Origin", "https://evil.example"); a.status != http.StatusForbidden || a.header.Get("Location") != "" {
			t.Errorf("consent from another site: %d %q", a.status, a.header.Get("Location"))
		}
		// A tampered consent form (another redirect URI) is checked again.
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("redirect_uri", "https://evil.example/callback")
		shownNotRedirected(t, "consent posted with another redirect_uri", e.send(t, "POST", "/fhir/auth/authorize", cookie, bad), 400)
		// Denial goes back to the app as access_denied.
		form.Set("decision", "deny")
		redirectError(t, "denied", e.send(t, "POST", "/fhir/auth/authorize", cookie, form), l, "access_denied")
	})

	t.Run("who may authorize", func(t *testing.T) {
		l := e.newLaunch(app, "user/*.rs")
		// Nobody signed in: to sign-in and back, never a code.
		a := e.send(t, "GET", e.authorizePath(l), "", nil)
		if loc := a.header.Get("Location"); a.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/sign-in?next=") || strings.Contains(loc, "code=") {
			t.Fatalf("not signed in: %d %q", a.status, loc)
		}
		// Arriving from the app's site without the (SameSite=Strict)
		// cookie: Haven's own page sends the browser back here first.
		if b := e.send(t, "GET", e.authorizePath(l), "", nil, "Sec-Fetch-Site", "cross-site"); b.status != 200 || !strings.Contains(b.raw, `http-equiv="refresh"`) || !strings.Contains(b.raw, "/fhir/auth/authorize?") {
			t.Errorf("cross-site arrival: %d %.300s", b.status, b.raw)
		}
		// An API client's token is no session: it is sent to sign in.
		api := &api{Env: e.Env, base: e.base, client: e.http}
		k, _ := ecdsaKey()
		api.key = k
		bearer := api.token(t, authtest.North, "system/*.rs")
		if b := e.send(t, "GET", e.authorizePath(l), "", nil, "Authorization", "Bearer "+bearer); b.status != http.StatusSeeOther || !strings.HasPrefix(b.header.Get("Location"), "/sign-in") {
			t.Errorf("authorize with an API client's token: %d %q", b.status, b.header.Get("Location"))
		}
		// And an app is no backend client: it has no key to sign with, and
		// client_credentials under its id is refused as an unknown client.
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: k}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
		if err != nil {
			t.Fatal(err)
		}
		now := e.Clock.Now()
		assertion, err := jwt.Signed(signer).Claims(map[string]any{"iss": app, "sub": app, "aud": e.base + "/fhir/auth/token",
			"exp": now.Add(4 * time.Minute).Unix(), "iat": now.Unix(), "jti": "app-as-backend"}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		e.fresh()
		cc := e.send(t, "POST", "/fhir/auth/token", "", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}})
		refused(t, "client_credentials as a staff app", cc, 401, "invalid_client")

		// A backend client's id is not an app.
		clients, err := e.Auth.Clients(ctx, admin)
		if err != nil || len(clients) == 0 {
			t.Fatalf("clients: %v", err)
		}
		backend := e.newLaunch(clients[0].ID, "user/*.rs")
		shownNotRedirected(t, "backend client as app", e.send(t, "GET", e.authorizePath(backend), e.SignIn(t, carer), nil), 400)

		// The whole sign-in, with a factor, and back to the request.
		csrf := strings.Repeat("c", 43)
		next := strings.TrimPrefix(a.header.Get("Location"), "/sign-in?next=")
		nextPath, _ := url.QueryUnescape(next)
		si := e.send(t, "POST", "/sign-in", "", url.Values{"csrf": {csrf}, "email": {carer.Email}, "password": {authtest.Password}, "next": {nextPath}}, "Cookie", "haven_csrf="+csrf)
		if si.status != http.StatusSeeOther || si.header.Get("Location") != "/confirm?next="+url.QueryEscape(nextPath) {
			t.Fatalf("sign-in: %d %q", si.status, si.header.Get("Location"))
		}
		pending := cookieValue(si.header, "haven_session")
		pcsrf, _ := e.csrfOf(t, pending)
		e.Clock.Advance(30 * time.Second)
		code, _ := totp.Code(carer.TOTPSecret, e.Clock.Now())
		cf := e.send(t, "POST", "/confirm/totp", pending, url.Values{"csrf": {pcsrf}, "code": {code}, "next": {nextPath}})
		if cf.status != http.StatusSeeOther || cf.header.Get("Location") != nextPath {
			t.Fatalf("factor: %d %q, want back to %q", cf.status, cf.header.Get("Location"), nextPath)
		}
		full := cookieValue(cf.header, "haven_session")
		// A password-only session is sent to the factor, not to consent.
		if p := e.send(t, "GET", nextPath, e.PasswordOnly(t, carer), nil); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/confirm?next=") {
			t.Errorf("password only: %d %q", p.status, p.header.Get("Location"))
		}
		e.approve(t, full, l)

		// Roles without care records, and another organisation's staff,
		// cannot approve.
		southCarer := e.EnrolTOTP(t, authtest.South, "carer@south.example", haven.RoleCarer)
		if s := e.send(t, "GET", e.authorizePath(e.newLaunch(app, "user/*.rs")), e.SignIn(t, southCarer), nil); s.status != http.StatusForbidden || s.header.Get("Location") != "" {
			t.Errorf("another organisation's carer: %d %q", s.status, s.header.Get("Location"))
		}
		dpo := e.EnrolTOTP(t, authtest.North, "dpo@north.example", haven.RoleDPO)
		dl := e.newLaunch(app, "user/*.rs")
		dc := e.SignIn(t, dpo)
		if s := e.send(t, "GET", e.authorizePath(dl), dc, nil); s.status != http.StatusForbidden {
			t.Errorf("data-protection officer: %d", s.status)
		}
		if s := e.send(t, "POST", "/fhir/auth/authorize", dc, url.Values{"csrf": {func() string { c, _ := e.csrfOf(t, dc); return c }()}, "decision": {"allow"}}); s.status != http.StatusForbidden || s.header.Get("Location") != "" {
			t.Errorf("data-protection officer posting consent: %d %q", s.status, s.header.Get("Location"))
		}
	})

	t.Run("containment ends the app's token with the session", func(t *testing.T) {
		// Frozen by the guard: the token stops; the browser must confirm a
		// factor, and then a new approval is needed.
		cookie := e.SignIn(t, carer)
		tok := e.token(t, cookie, e.newLaunch(app, "user/*.rs"))
		_, sessionID := e.csrfOf(t, cookie)
		if err := e.Auth.Contain(ctx, guard.Contain{Tenant: authtest.North, Actor: carer.ID, Role: haven.RoleCarer, Session: sessionID, Level: guard.Freeze}); err != nil {
			t.Fatal(err)
		}
		e.fhir(t, "GET", "/fhir/Patient/"+in[0], tok, "").wantOutcome(t, http.StatusUnauthorized)
		if a := e.send(t, "GET", e.authorizePath(e.newLaunch(app, "user/*.rs")), cookie, nil); a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/confirm?next=") {
			t.Errorf("frozen session at authorize: %d %q", a.status, a.header.Get("Location"))
		}

		// Frozen between the approval and the exchange, or between the
		// consent page and the approval: nothing is issued.
		e.fresh()
		cookie = e.SignIn(t, carer)
		l := e.newLaunch(app, "user/*.rs")
		code := e.approve(t, cookie, l)
		sess, err := e.Auth.Authenticate(ctx, cookie, auth.ClientInfo{Addr: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		launch, err := e.Auth.CheckLaunch(ctx, url.Values{"response_type": {"code"}, "client_id": {app}, "redirect_uri": {appRedirect}, "scope": {"user/*.rs"},
			"state": {"s"}, "code_challenge": {l.challenge}, "code_challenge_method": {"S256"}, "aud": {e.base + "/fhir"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Auth.Contain(ctx, guard.Contain{Tenant: authtest.North, Actor: carer.ID, Role: haven.RoleCarer, Session: sess.ID, Level: guard.Freeze}); err != nil {
			t.Fatal(err)
		}
		refused(t, "code of a session frozen since", e.exchange(t, l, code), 400, "invalid_grant")
		if _, err := e.Auth.ApproveLaunch(ctx, sess, launch, "127.0.0.1"); !errors.Is(err, auth.ErrSession) {
			t.Errorf("approval by a session frozen since the consent page: %v", err)
		}

		// The guard's own rule, through the API: refused reads outside
		// the caseload end the session, and the token with it.
		clin := e.EnrolTOTP(t, authtest.North, "second-carer@north.example", haven.RoleCarer)
		_, cout := e.people(t, clin)
		ccookie := e.SignIn(t, clin)
		ctok := e.token(t, ccookie, e.newLaunch(app, "user/*.rs"))
		for i := 0; i < 5; i++ {
			e.fhir(t, "GET", "/fhir/Patient/"+cout[i%len(cout)], ctok, "").wantOutcome(t, http.StatusForbidden)
		}
		e.fhir(t, "GET", "/fhir/Patient/"+cout[0], ctok, "").wantOutcome(t, http.StatusUnauthorized)
		if a := e.send(t, "GET", "/people", ccookie, nil); a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/sign-in") {
			t.Errorf("the web session survived containment: %d %q", a.status, a.header.Get("Location"))
		}

		// An administrator ending the account's sessions, and a removed app.
		cookie = e.SignIn(t, carer)
		tok = e.token(t, cookie, e.newLaunch(app, "user/*.rs"))
		if _, err := e.Auth.RevokeAccountSessions(ctx, admin, carer.ID); err != nil {
			t.Fatal(err)
		}
		e.fhir(t, "GET", "/fhir/Patient/"+in[0], tok, "").wantOutcome(t, http.StatusUnauthorized)
		cookie = e.SignIn(t, carer)
		tok = e.token(t, cookie, e.newLaunch(patientsApp, "user/Patient.rs"))
		if r := e.fhir(t, "GET", "/fhir/Patient/"+in[0], tok, ""); r.status != 200 {
			t.Fatalf("before removal: %d", r.status)
		}
		if err := e.Auth.RemoveClient(ctx, admin, patientsApp); err != nil {
			t.Fatal(err)
		}
		e.fhir(t, "GET", "/fhir/Patient/"+in[0], tok, "").wantOutcome(t, http.StatusUnauthorized)
		// The token's own life is the system tokens' five minutes.
		tok = e.token(t, cookie, e.newLaunch(app, "user/*.rs"))
		e.Clock.Advance(auth.TokenLife)
		e.fhir(t, "GET", "/fhir/Patient/"+in[0], tok, "").wantOutcome(t, http.StatusUnauthorized)
	})
}

// wantOutcome checks an OperationOutcome with status.
func (a reply) wantOutcome(t *testing.T, status int) {
	t.Helper()
	if a.status != status || a.body["resourceType"] != "OperationOutcome" {
		t.Errorf("want OperationOutcome %d, got %d %.300s", status, a.status, a.raw)
	}
}

func cookieValue(h http.Header, name string) string {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func ecdsaKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P384(), rand.Reader) }
