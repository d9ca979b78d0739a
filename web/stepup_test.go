package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/auth/totp"
)

// TestStepUpRoutes: sensitive actions asked more than five minutes after
// the last factor confirmation are sent to confirm it first and do
// nothing; after confirming, they work.
func TestStepUpRoutes(t *testing.T) {
	g := newGateEnv(t)
	ctx := context.Background()
	carer := g.EnrolTOTP(t, authtest.North, "carer@north.example", haven.RoleCarer)
	// Ten minutes before the carer's next visit (once the clock has moved
	// on below), when its home-access window is open.
	visit := g.NextVisit(t, carer)
	g.Clock.SetClock(visit.Start.Add(-16 * time.Minute))
	key := authtest.NewSoftKey(g.origin)
	g.EnrolPasskey(t, authtest.North, "admin@north.example", haven.RoleTenantAdmin, key)
	admin := g.SignInPasskey(t, key)
	carerTok := g.SignIn(t, carer)
	csrf := func(tok string) string {
		s, err := g.Auth.Authenticate(ctx, tok, auth.ClientInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return s.CSRFToken()
	}
	g.Clock.Advance(6 * time.Minute)
	before := g.snapshot(t, authtest.North)

	person := visit.PersonID
	for _, c := range []struct {
		tok, path string
		form      url.Values
	}{
		{admin, "/admin/staff", url.Values{"email": {"new@north.example"}, "name": {"New"}, "role": {"tenant-admin"}, "back": {"/admin/staff"}}},
		{admin, "/admin/staff/" + carer.ID + "/role", url.Values{"role": {"tenant-admin"}, "back": {"/admin/staff"}}},
		{admin, "/admin/staff/" + carer.ID + "/disable", url.Values{"back": {"/admin/staff"}}},
		{admin, "/admin/clients", url.Values{"name": {"x"}, "jwks": {"{}"}, "scopes": {"system/Patient.read"}, "back": {"/admin/clients"}}},
		{carerTok, "/people/" + person + "/home-access", url.Values{"back": {"/people/" + person}}},
		{carerTok, "/account/recovery-codes/new", url.Values{"back": {"/account"}}},
		{carerTok, "/account/factors/remove", url.Values{"factor": {"totp"}, "back": {"/account"}}},
	} {
		c.form.Set("csrf", csrf(c.tok))
		resp, body := g.post(t, c.path, c.form, map[string]string{"haven_session": c.tok}, g.origin)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/confirm?next=") {
			t.Errorf("POST %s without recent confirmation: status %d, location %q", c.path, resp.StatusCode, resp.Header.Get("Location"))
		}
		if strings.Contains(body, "Key safe") {
			t.Errorf("POST %s revealed home access without step-up", c.path)
		}
	}
	if after := g.snapshot(t, authtest.North); after != before {
		t.Fatalf("sensitive actions without step-up changed data:\n%s\n%s", before, after)
	}

	// The carer confirms a code and the reveal then works, and is audited.
	code, _ := totp.Code(carer.TOTPSecret, g.Clock.Now())
	resp, _ := g.post(t, "/confirm/totp", url.Values{"csrf": {csrf(carerTok)}, "code": {code}, "next": {"/people/" + person}}, map[string]string{"haven_session": carerTok}, g.origin)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/people/"+person {
		t.Fatalf("step-up: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := g.post(t, "/people/"+person+"/home-access", url.Values{"csrf": {csrf(carerTok)}}, map[string]string{"haven_session": carerTok}, g.origin)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "data-home-access") {
		t.Fatalf("reveal after step-up: status %d", resp.StatusCode)
	}
	var n int
	if err := g.DB.SQL().QueryRow(`SELECT count(*) FROM audit_entries WHERE tenant_id = ? AND actor = ? AND action = 'reveal' AND person_id = ?`, authtest.North, carer.ID, person).Scan(&n); err != nil || n != 1 {
		t.Fatalf("reveal audit entries: %d, %v", n, err)
	}
}
