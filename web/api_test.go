package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/auth/totp"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/guard"
)

// apiCaller calls the JSON API as one signed-in session, as the browser's
// script does: session cookie, X-CSRF-Token header, JSON in and out.
type apiCaller struct {
	g   *gateEnv
	tok string
}

func (g *gateEnv) apiAs(tok string) *apiCaller { return &apiCaller{g: g, tok: tok} }

// apiReply is one answer of the API.
type apiReply struct {
	status int
	raw    []byte
	ctype  string
}

func (r apiReply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.raw, v); err != nil {
		t.Fatalf("decode %s: %v", r.raw, err)
	}
}

// errorOf returns the error body's message and redirect.
func (r apiReply) errorOf(t *testing.T) (string, string) {
	t.Helper()
	var e struct{ Error, Redirect string }
	r.decode(t, &e)
	return e.Error, e.Redirect
}

// call sends body (nil: none; string or []byte: as is; otherwise JSON).
func (c *apiCaller) call(t *testing.T, method, path string, body any) apiReply {
	t.Helper()
	return c.callWith(t, method, path, body, "application/json")
}

func (c *apiCaller) callWith(t *testing.T, method, path string, body any, ctype string) apiReply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.g.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if rd != nil && ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if stateChanging(method) {
		req.Header.Set("Origin", c.g.origin)
	}
	if c.tok != "" {
		req.AddCookie(&http.Cookie{Name: "haven_session", Value: c.tok})
		sess, err := c.g.Auth.Authenticate(context.Background(), c.tok, auth.ClientInfo{})
		if err == nil {
			req.Header.Set("X-CSRF-Token", sess.CSRFToken())
		}
	}
	resp, err := c.g.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return apiReply{status: resp.StatusCode, raw: raw, ctype: resp.Header.Get("Content-Type")}
}

// want fails the test unless the reply has status want and is JSON.
func (r apiReply) want(t *testing.T, what string, want int) apiReply {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, want, r.raw)
	}
	if !strings.HasPrefix(r.ctype, "application/json") {
		t.Fatalf("%s: content type %q, want JSON", what, r.ctype)
	}
	return r
}

// wantStepUp fails the test unless the reply asks to confirm a factor.
func (r apiReply) wantStepUp(t *testing.T, what string) {
	t.Helper()
	r.want(t, what, http.StatusForbidden)
	if _, redirect := r.errorOf(t); !strings.HasPrefix(redirect, "/confirm") {
		t.Fatalf("%s: redirect %q, want /confirm...: %s", what, redirect, r.raw)
	}
}

// apiStepUpTOTP confirms a TOTP code in a signed-in session, as the
// /confirm page does, and returns the session's (possibly new) cookie.
func (g *gateEnv) apiStepUpTOTP(t *testing.T, tok string, a authtest.Account) string {
	t.Helper()
	code, _ := totp.Code(a.TOTPSecret, g.Clock.Now())
	sess, err := g.Auth.VerifyTOTP(context.Background(), tok, code, auth.ClientInfo{Addr: "192.0.2.1"})
	if err != nil {
		t.Fatalf("step-up with TOTP: %v", err)
	}
	g.Clock.Advance(30 * time.Second) // the code is spent
	if sess != nil && sess.Token != "" {
		return sess.Token
	}
	return tok
}

// apiStepUpPasskey confirms key's passkey in a signed-in session.
func (g *gateEnv) apiStepUpPasskey(t *testing.T, tok string, key *authtest.SoftKey) string {
	t.Helper()
	ctx := context.Background()
	opts, err := g.Auth.BeginPasskeyConfirm(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	body, err := key.Assert(opts)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := g.Auth.FinishPasskeyConfirm(ctx, tok, body, auth.ClientInfo{Addr: "192.0.2.1"})
	if err != nil {
		t.Fatalf("step-up with passkey: %v", err)
	}
	if sess != nil && sess.Token != "" {
		return sess.Token
	}
	return tok
}

// apiPerson returns the id and family name of one of tenant's people who
// is not a canary (opening a canary's record locks the account at once).
func (g *gateEnv) apiPerson(t *testing.T, tenant string, n int) (string, string) {
	t.Helper()
	for _, pd := range g.Data[tenant].People {
		if !pd.Person.Canary {
			if n == 0 {
				return pd.Person.ID, pd.Person.Family
			}
			n--
		}
	}
	t.Fatalf("%s has too few people who are not canaries", tenant)
	return "", ""
}

// apiBreakGlass has a north clinician break glass on person, which opens a
// lease and raises an alert for the reviewers.
func (g *gateEnv) apiBreakGlass(t *testing.T, person string) care.Lease {
	t.Helper()
	var clinician string
	for _, st := range g.Data[authtest.North].Staff {
		if st.Role == haven.RoleClinician {
			clinician = st.ID
			break
		}
	}
	p := haven.Principal{ID: "a-test-clinician", TenantID: authtest.North, Role: haven.RoleClinician, StaffID: clinician, SteppedUp: true}
	l, err := g.Care.BreakGlass(context.Background(), p, person, "unconscious at the day centre, allergies needed")
	if err != nil {
		t.Fatalf("break glass: %v", err)
	}
	return l
}

// TestAPIAlerts: the data-protection officer lists and acknowledges
// alerts; a carer is refused; bad input is a 4xx, never a 500.
func TestAPIAlerts(t *testing.T) {
	g := newGateEnv(t)
	person, _ := g.apiPerson(t, authtest.North, 0)
	lease := g.apiBreakGlass(t, person)

	dpo := g.EnrolTOTP(t, authtest.North, "dpo@north.example", haven.RoleDPO)
	d := g.apiAs(g.SignIn(t, dpo))
	carer := g.EnrolTOTP(t, authtest.North, "carer@north.example", haven.RoleCarer)
	c := g.apiAs(g.SignIn(t, carer))

	var list struct{ Alerts []care.Alert }
	d.call(t, "GET", "/api/alerts?open=1", nil).want(t, "DPO lists open alerts", http.StatusOK).decode(t, &list)
	var alert *care.Alert
	for i, a := range list.Alerts {
		if a.Rule == guard.RuleBreakGlass && strings.Contains(a.Detail, lease.ID) {
			alert = &list.Alerts[i]
		}
	}
	if alert == nil {
		t.Fatalf("the break-glass alert is not listed: %+v", list.Alerts)
	}
	if !alert.Open() {
		t.Fatal("the new alert is not open")
	}

	// Refusals and bad input first: none of them acknowledges anything.
	c.call(t, "GET", "/api/alerts", nil).want(t, "carer lists alerts", http.StatusForbidden)
	c.call(t, "POST", "/api/alerts/"+alert.ID+"/ack", map[string]string{"note": "x"}).want(t, "carer acks", http.StatusForbidden)
	g.apiAs("").call(t, "GET", "/api/alerts", nil).want(t, "no session", http.StatusUnauthorized)
	d.call(t, "GET", "/api/alerts?open=perhaps", nil).want(t, "bad ?open", http.StatusBadRequest)
	d.call(t, "POST", "/api/alerts/"+alert.ID+"/ack", `{"note":`).want(t, "truncated JSON", http.StatusBadRequest)
	d.call(t, "POST", "/api/alerts/"+alert.ID+"/ack", `{"note":"ok","extra":1}`).want(t, "unknown field", http.StatusBadRequest)
	d.call(t, "POST", "/api/alerts/"+alert.ID+"/ack", `{"note":1}`).want(t, "note of the wrong type", http.StatusBadRequest)
	d.call(t, "POST", "/api/alerts/"+alert.ID+"/ack", `{"note":"a"}{"note":"b"}`).want(t, "two objects", http.StatusBadRequest)
	d.call(t, "POST", "/api/alerts/"+alert.ID+"/ack", "").want(t, "no body", http.StatusBadRequest)
	d.callWith(t, "POST", "/api/alerts/"+alert.ID+"/ack", `{"note":"ok"}`, "text/plain").want(t, "not JSON", http.StatusUnsupportedMediaType)
	d.call(t, "POST", "/api/alerts/"+alert.ID+"/ack", `{"note":"`+strings.Repeat("x", 70<<10)+`"}`).want(t, "huge body", http.StatusRequestEntityTooLarge)
	d.call(t, "POST", "/api/alerts/"+alert.ID+"/ack", map[string]string{"note": strings.Repeat("x", haven.MaxLongField+1)}).want(t, "long note", http.StatusBadRequest)
	d.call(t, "POST", "/api/alerts/no-such-alert/ack", map[string]string{"note": "seen"}).want(t, "unknown alert", http.StatusNotFound)
	// Without the anti-forgery token nothing happens.
	req, _ := http.NewRequest("POST", g.ts.URL+"/api/alerts/"+alert.ID+"/ack", strings.NewReader(`{"note":"forged"}`))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: "haven_session", Value: d.tok})
	if resp, err := g.client().Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("ack without X-CSRF-Token: %v %v", resp.StatusCode, err)
	}

	d.call(t, "POST", "/api/alerts/"+alert.ID+"/ack", map[string]string{"note": "Checked with the clinician: a real emergency."}).
		want(t, "DPO acks", http.StatusOK)
	d.call(t, "POST", "/api/alerts/"+alert.ID+"/ack", map[string]string{"note": "again"}).want(t, "second ack", http.StatusConflict)

	list.Alerts = nil
	d.call(t, "GET", "/api/alerts?open=1", nil).want(t, "open alerts after ack", http.StatusOK).decode(t, &list)
	for _, a := range list.Alerts {
		if a.ID == alert.ID {
			t.Fatal("the acknowledged alert is still listed as open")
		}
	}
	list.Alerts = nil
	d.call(t, "GET", "/api/alerts", nil).want(t, "all alerts", http.StatusOK).decode(t, &list)
	found := false
	for _, a := range list.Alerts {
		if a.ID == alert.ID {
			found = true
			if a.Open() || a.AcknowledgedBy != dpo.ID || a.Note != "Checked with the clinician: a real emergency." {
				t.Fatalf("acknowledged alert: %+v", a)
			}
		}
	}
	if !found {
		t.Fatal("the acknowledged alert is not in the full list")
	}
}

// TestAPIBreakGlassReview: the review queue lists a new lease; the review
// needs an explicit verdict and a finding, and happens once.
func TestAPIBreakGlassReview(t *testing.T) {
	g := newGateEnv(t)
	person, _ := g.apiPerson(t, authtest.North, 1)
	lease := g.apiBreakGlass(t, person)
	dpo := g.EnrolTOTP(t, authtest.North, "dpo@north.example", haven.RoleDPO)
	d := g.apiAs(g.SignIn(t, dpo))

	var list struct{ Leases []care.Lease }
	d.call(t, "GET", "/api/break-glass?pending=1", nil).want(t, "pending leases", http.StatusOK).decode(t, &list)
	if len(list.Leases) != 1 || list.Leases[0].ID != lease.ID {
		t.Fatalf("pending leases: %+v", list.Leases)
	}
	path := "/api/break-glass/" + lease.ID + "/review"
	d.call(t, "POST", path, map[string]any{"finding": "no verdict"}).want(t, "review without verdict", http.StatusBadRequest)
	d.call(t, "POST", path, map[string]any{"justified": true, "finding": "  "}).want(t, "review without finding", http.StatusBadRequest)
	d.call(t, "POST", path, map[string]any{"justified": "yes", "finding": "x"}).want(t, "verdict of the wrong type", http.StatusBadRequest)
	d.call(t, "POST", "/api/break-glass/no-such-lease/review", map[string]any{"justified": true, "finding": "fine"}).want(t, "unknown lease", http.StatusNotFound)
	d.call(t, "POST", path, map[string]any{"justified": true, "finding": "Emergency admission; the GP confirmed."}).want(t, "review", http.StatusOK)
	d.call(t, "POST", path, map[string]any{"justified": false, "finding": "again"}).want(t, "second review", http.StatusConflict)

	list.Leases = nil
	d.call(t, "GET", "/api/break-glass?pending=1", nil).want(t, "pending after review", http.StatusOK).decode(t, &list)
	if len(list.Leases) != 0 {
		t.Fatalf("still pending: %+v", list.Leases)
	}
	d.call(t, "GET", "/api/break-glass", nil).want(t, "all leases", http.StatusOK).decode(t, &list)
	if len(list.Leases) != 1 || !list.Leases[0].Justified || list.Leases[0].Reviewer != dpo.ID {
		t.Fatalf("reviewed lease: %+v", list.Leases)
	}
}

// TestAPISettings: reading and changing the thresholds needs a tenant
// administrator who confirmed a factor in the last five minutes; the
// webhook secret is never shown, and a blank one keeps the stored one.
func TestAPISettings(t *testing.T) {
	g := newGateEnv(t)
	ctx := context.Background()
	key := authtest.NewSoftKey(g.origin)
	g.EnrolPasskey(t, authtest.North, "admin@north.example", haven.RoleTenantAdmin, key)
	tok := g.SignInPasskey(t, key)
	dpo := g.EnrolTOTP(t, authtest.North, "dpo@north.example", haven.RoleDPO)
	d := g.apiAs(g.SignIn(t, dpo))
	system := haven.SystemPrincipal(authtest.North, "test")

	g.Clock.Advance(6 * time.Minute)
	a := g.apiAs(tok)
	a.call(t, "GET", "/api/settings", nil).wantStepUp(t, "GET settings without step-up")
	change := guard.Defaults()
	change.DeniedLimit = 3
	a.call(t, "PUT", "/api/settings", change).wantStepUp(t, "PUT settings without step-up")
	if st, err := g.Care.Settings(ctx, system); err != nil || st.DeniedLimit != guard.Defaults().DeniedLimit {
		t.Fatalf("settings changed without step-up: %+v, %v", st, err)
	}
	d.call(t, "GET", "/api/settings", nil).want(t, "DPO reads settings", http.StatusForbidden)

	a.tok = g.apiStepUpPasskey(t, tok, key)
	var st guard.Settings
	a.call(t, "GET", "/api/settings", nil).want(t, "GET settings", http.StatusOK).decode(t, &st)
	if st.DeniedLimit != guard.Defaults().DeniedLimit || st.Budgets[haven.RoleCarer] != guard.Defaults().Budgets[haven.RoleCarer] {
		t.Fatalf("default settings: %+v", st)
	}

	st.DeniedLimit = 3
	st.Budgets[haven.RoleCarer] = guard.Budget{PerHour: 20, PerDay: 40}
	st.WebhookURL = "https://alerts.north.example/haven"
	st.WebhookSecret = "a-long-enough-signing-secret"
	var saved guard.Settings
	reply := a.call(t, "PUT", "/api/settings", st).want(t, "PUT settings", http.StatusOK)
	reply.decode(t, &saved)
	if strings.Contains(string(reply.raw), "a-long-enough-signing-secret") || saved.WebhookSecret != "" {
		t.Fatalf("PUT echoed the webhook secret: %s", reply.raw)
	}
	if saved.DeniedLimit != 3 || saved.Budgets[haven.RoleCarer].PerDay != 40 || saved.WebhookURL != st.WebhookURL {
		t.Fatalf("saved settings: %+v", saved)
	}
	reply = a.call(t, "GET", "/api/settings", nil).want(t, "GET after PUT", http.StatusOK)
	if strings.Contains(string(reply.raw), "a-long-enough-signing-secret") || strings.Contains(string(reply.raw), "webhookSecret") {
		t.Fatalf("GET shows the webhook secret: %s", reply.raw)
	}

	// The GET answer (secret blank) put back unchanged keeps the secret.
	var back guard.Settings
	reply.decode(t, &back)
	back.SearchLimit = 30
	a.call(t, "PUT", "/api/settings", back).want(t, "PUT without secret", http.StatusOK)
	stored, err := g.Care.Settings(ctx, system)
	if err != nil || stored.WebhookSecret != "a-long-enough-signing-secret" || stored.SearchLimit != 30 || stored.DeniedLimit != 3 {
		t.Fatalf("stored settings: %+v, %v", stored, err)
	}

	// Settings that cannot be right, and bodies that are not settings.
	for _, c := range []struct {
		name, body string
		want       int
	}{
		{"window too short", `{"window":"1s"}`, http.StatusBadRequest},
		{"not a duration", `{"window":"ten minutes"}`, http.StatusBadRequest},
		{"unknown zone", `{"zone":"Mars/Olympus"}`, http.StatusBadRequest},
		{"carer without a limit", `{"budgets":{"carer":{"perHour":0,"perDay":0}}}`, http.StatusBadRequest},
		{"unknown role", `{"budgets":{"janitor":{"perHour":1,"perDay":1}}}`, http.StatusBadRequest},
		{"plain http webhook", `{"webhookUrl":"http://alerts.example/x","webhookSecret":"0123456789abcdef"}`, http.StatusBadRequest},
		{"unknown field", `{"deniedLimits":3}`, http.StatusBadRequest},
		{"an array", `[]`, http.StatusBadRequest},
		{"garbage", `not json`, http.StatusBadRequest},
	} {
		a.call(t, "PUT", "/api/settings", c.body).want(t, c.name, c.want)
	}
	if after, err := g.Care.Settings(ctx, system); err != nil || after.SearchLimit != 30 || after.Window != stored.Window {
		t.Fatalf("a refused PUT changed the settings: %+v, %v", after, err)
	}
}

// TestAPISupportFlow: supplier support asks; the tenant administrator
// approves with step-up; supplier support reads a person with step-up;
// the administrator revokes, and supplier support is refused again.
func TestAPISupportFlow(t *testing.T) {
	g := newGateEnv(t)
	key := authtest.NewSoftKey(g.origin)
	g.EnrolPasskey(t, authtest.North, "admin@north.example", haven.RoleTenantAdmin, key)
	admin := g.apiAs(g.SignInPasskey(t, key))
	dpo := g.EnrolTOTP(t, authtest.North, "dpo@north.example", haven.RoleDPO)
	d := g.apiAs(g.SignIn(t, dpo))
	supAcct := g.EnrolTOTP(t, haven.SupplierPartition, "support@supplier.example", haven.RoleSupplierSupport)
	sup := g.apiAs(g.SignIn(t, supAcct))
	carer := g.EnrolTOTP(t, authtest.North, "carer@north.example", haven.RoleCarer)
	c := g.apiAs(g.SignIn(t, carer))
	person, family := g.apiPerson(t, authtest.North, 0)
	southPerson, _ := g.apiPerson(t, authtest.South, 0)
	personPath := "/api/support/north/people/" + person

	// No standing access, stepped up or not.
	if r := sup.call(t, "GET", personPath, nil).want(t, "read without a grant", http.StatusForbidden); strings.Contains(string(r.raw), family) {
		t.Fatal("the refusal holds the person's name")
	}
	if msg, _ := sup.call(t, "GET", personPath, nil).errorOf(t); !strings.Contains(strings.ToLower(msg), "no approved access") {
		t.Fatalf("refusal without a grant: %q", msg)
	}
	sup.call(t, "GET", "/api/support/_supplier/people/"+person, nil).want(t, "the supplier partition", http.StatusNotFound)
	sup.call(t, "GET", "/api/support/nowhere/people/"+person, nil).want(t, "an unknown tenant", http.StatusNotFound)
	sup.call(t, "GET", "/api/support", nil).want(t, "grants without ?tenant", http.StatusBadRequest)

	// The request.
	sup.call(t, "POST", "/api/support/requests", map[string]string{"tenant": "north", "ticket": "", "reason": "Care plan will not save"}).
		want(t, "request without a ticket", http.StatusBadRequest)
	sup.call(t, "POST", "/api/support/requests", map[string]string{"tenant": "north", "ticket": "T-1", "reason": "short"}).
		want(t, "request with a short reason", http.StatusBadRequest)
	sup.call(t, "POST", "/api/support/requests", map[string]string{"tenant": "", "ticket": "T-1", "reason": "Care plan will not save"}).
		want(t, "request naming no tenant", http.StatusBadRequest)
	sup.call(t, "POST", "/api/support/requests", map[string]string{"tenant": "_supplier", "ticket": "T-1", "reason": "Care plan will not save"}).
		want(t, "request to the supplier partition", http.StatusNotFound)
	c.call(t, "POST", "/api/support/requests", map[string]string{"tenant": "north", "ticket": "T-1", "reason": "Care plan will not save"}).
		want(t, "a carer asks", http.StatusForbidden)
	var grant care.SupportGrant
	sup.call(t, "POST", "/api/support/requests", map[string]string{"tenant": "north", "ticket": "T-1042", "reason": "Care plan for one person will not save"}).
		want(t, "request", http.StatusCreated).decode(t, &grant)
	if grant.ID == "" || grant.Status != care.GrantRequested || grant.Account != supAcct.ID {
		t.Fatalf("request: %+v", grant)
	}
	var grants struct{ Grants []care.SupportGrant }
	sup.call(t, "GET", "/api/support?tenant=north", nil).want(t, "supplier lists its grants", http.StatusOK).decode(t, &grants)
	if len(grants.Grants) != 1 || grants.Grants[0].ID != grant.ID {
		t.Fatalf("supplier's grants: %+v", grants.Grants)
	}
	grants.Grants = nil
	d.call(t, "GET", "/api/support", nil).want(t, "DPO lists grants", http.StatusOK).decode(t, &grants)
	if len(grants.Grants) != 1 || grants.Grants[0].Status != care.GrantRequested {
		t.Fatalf("DPO's grants: %+v", grants.Grants)
	}
	// Asking is not having.
	sup.tok = g.apiStepUpTOTP(t, sup.tok, supAcct)
	sup.call(t, "GET", personPath, nil).want(t, "read with a request only", http.StatusForbidden)

	// Approval: only the administrator, only stepped up.
	decide := "/api/support/" + grant.ID + "/decide"
	approve := map[string]any{"approve": true, "actions": []string{"read-record"}, "hours": 2}
	d.call(t, "POST", decide, approve).want(t, "DPO approves", http.StatusForbidden)
	sup.call(t, "POST", decide, approve).want(t, "supplier approves itself", http.StatusForbidden)
	g.Clock.Advance(6 * time.Minute)
	admin.call(t, "POST", decide, approve).wantStepUp(t, "approve without step-up")
	admin.tok = g.apiStepUpPasskey(t, admin.tok, key)
	admin.call(t, "POST", decide, map[string]any{"actions": []string{"read-record"}, "hours": 2}).want(t, "decision without a verdict", http.StatusBadRequest)
	admin.call(t, "POST", decide, map[string]any{"approve": true, "actions": []string{"export"}, "hours": 2}).want(t, "ungrantable action", http.StatusBadRequest)
	admin.call(t, "POST", decide, map[string]any{"approve": true, "actions": []string{"read-record"}, "hours": 9}).want(t, "too long", http.StatusBadRequest)
	admin.call(t, "POST", decide, map[string]any{"approve": true, "actions": []string{"read-record"}, "hours": 1e15}).want(t, "overflowing hours", http.StatusBadRequest)
	admin.call(t, "POST", decide, map[string]any{"approve": true, "actions": []string{"read-record"}, "hours": 0}).want(t, "no hours", http.StatusBadRequest)
	admin.call(t, "POST", "/api/support/no-such-request/decide", approve).want(t, "unknown request", http.StatusNotFound)
	admin.call(t, "POST", decide, approve).want(t, "approve", http.StatusOK).decode(t, &grant)
	if grant.Status != care.GrantApproved || grant.DecidedBy == "" || !grant.Expires.Equal(g.Clock.Now().Add(2*time.Hour).UTC()) {
		t.Fatalf("approved grant: %+v (now %s)", grant, g.Clock.Now())
	}
	admin.call(t, "POST", decide, approve).want(t, "second decision", http.StatusConflict)

	// Use: the grant and a fresh factor, in that tenant only, for what
	// was approved only.
	sup.call(t, "GET", personPath, nil).wantStepUp(t, "read with a grant, without step-up")
	sup.tok = g.apiStepUpTOTP(t, sup.tok, supAcct)
	var rec haven.PersonRecord
	sup.call(t, "GET", personPath, nil).want(t, "read with a grant and step-up", http.StatusOK).decode(t, &rec)
	if rec.Person.ID != person || rec.Person.Family != family || len(rec.CareTeams) == 0 {
		t.Fatalf("record read: %+v", rec)
	}
	sup.call(t, "GET", "/api/support/south/people/"+southPerson, nil).want(t, "read in another tenant", http.StatusForbidden)
	sup.call(t, "GET", "/api/support/north/people/no-such-person", nil).want(t, "an unknown person", http.StatusNotFound)
	admin.call(t, "GET", personPath, nil).want(t, "the administrator uses the supplier route", http.StatusForbidden)

	// Revocation works at once, without step-up.
	g.Clock.Advance(6 * time.Minute)
	c.call(t, "POST", "/api/support/"+grant.ID+"/revoke", nil).want(t, "a carer revokes", http.StatusForbidden)
	admin.call(t, "POST", "/api/support/no-such-grant/revoke", nil).want(t, "revoke an unknown grant", http.StatusNotFound)
	admin.call(t, "POST", "/api/support/"+grant.ID+"/revoke", nil).want(t, "revoke", http.StatusOK)
	sup.tok = g.apiStepUpTOTP(t, sup.tok, supAcct)
	if msg, _ := sup.call(t, "GET", personPath, nil).want(t, "read after revocation", http.StatusForbidden).errorOf(t); !strings.Contains(strings.ToLower(msg), "no approved access") {
		t.Fatalf("refusal after revocation: %q", msg)
	}
	grants.Grants = nil
	admin.call(t, "GET", "/api/support", nil).want(t, "admin lists grants", http.StatusOK).decode(t, &grants)
	if len(grants.Grants) != 1 || grants.Grants[0].Status != care.GrantRevoked {
		t.Fatalf("grants after revocation: %+v", grants.Grants)
	}
}

// TestAPIRefusals: a carer reaches no API route, and no body, however
// malformed, makes any API route fail with a 500.
func TestAPIRefusals(t *testing.T) {
	g := newGateEnv(t)
	carer := g.EnrolTOTP(t, authtest.North, "carer@north.example", haven.RoleCarer)
	c := g.apiAs(g.SignIn(t, carer))
	key := authtest.NewSoftKey(g.origin)
	g.EnrolPasskey(t, authtest.North, "admin@north.example", haven.RoleTenantAdmin, key)
	admin := g.apiAs(g.SignInPasskey(t, key))
	dpo := g.EnrolTOTP(t, authtest.North, "dpo@north.example", haven.RoleDPO)
	d := g.apiAs(g.SignIn(t, dpo))
	supAcct := g.EnrolTOTP(t, haven.SupplierPartition, "support@supplier.example", haven.RoleSupplierSupport)
	sup := g.apiAs(g.SignIn(t, supAcct))
	person, _ := g.apiPerson(t, authtest.North, 0)
	path := strings.NewReplacer("{id}", person, "{tenant}", authtest.North)

	var api []Route
	for _, rt := range g.srv.Routes() {
		if strings.HasPrefix(rt.Path, "/api/") {
			api = append(api, rt)
		}
	}
	if len(api) != 11 {
		t.Fatalf("%d API routes, want 11", len(api))
	}
	for _, rt := range api {
		r := c.call(t, rt.Method, path.Replace(rt.Path), "{}")
		if r.status != http.StatusForbidden || !strings.HasPrefix(r.ctype, "application/json") {
			t.Errorf("%s as a carer: status %d %s", rt.Pattern(), r.status, r.raw)
		}
	}
	bodies := []string{"", "{", "[]", `"x"`, "null", "0", `{"note":null,"justified":null,"approve":null}`, `{"tenant":1}`, `{"actions":"read-record"}`,
		`{"hours":-1,"approve":true,"actions":[]}`, `{"budgets":{"":{}}}`, `{"window":""}`, `{"a":1}`, "{}{}", "\x00", strings.Repeat("[", 10000)}
	for _, caller := range []*apiCaller{admin, d, sup} {
		for _, rt := range api {
			if !stateChanging(rt.Method) {
				continue
			}
			for _, b := range bodies {
				r := caller.call(t, rt.Method, path.Replace(rt.Path), b)
				if r.status < 400 || r.status >= 500 {
					t.Errorf("%s with %.20q: status %d %s", rt.Pattern(), b, r.status, r.raw)
				}
			}
		}
	}
}

// TestAPIBodyRefusesNUL: a JSON body that spells a NUL is refused before
// it is decoded; the same body without it is read.
func TestAPIBodyRefusesNUL(t *testing.T) {
	for body, ok := range map[string]bool{`{"note":"a\u0000b"}`: false, `{"note":"ab"}`: true, `{"note":"a\u0001b"}`: true,
		`{"note":"\\u0000"}`: true, `{"note":"\\\u0000"}`: false, `{"note":"u0000"}`: true} {
		r := httptest.NewRequest(http.MethodPost, "/api/x", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		var b ackBody
		if got := readJSON(w, r, &b); got != ok || (!ok && (w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "NUL"))) {
			t.Errorf("%s: read %v, status %d %s", body, got, w.Code, w.Body.String())
		}
	}
}
