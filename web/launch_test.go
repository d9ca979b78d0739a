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
)

// TestStaffAppsPage: a tenant administrator registers a staff app on the
// Staff apps page, with step-up like every other client registration;
// without a recent factor, with a redirect URI that is not https (or http
// on loopback) or with a system/ scope nothing is registered; other roles
// do not reach the page; removal works. The flow itself is tested end to
// end in fhir/launch_test.go.
func TestStaffAppsPage(t *testing.T) {
	g := newGateEnv(t)
	ctx := context.Background()
	key := authtest.NewSoftKey(g.origin)
	g.EnrolPasskey(t, authtest.North, "admin@north.example", haven.RoleTenantAdmin, key)
	admin := g.SignInPasskey(t, key)
	carer := g.SignIn(t, g.EnrolTOTP(t, authtest.North, "carer@north.example", haven.RoleCarer))
	csrf := func(tok string) string {
		s, err := g.Auth.Authenticate(ctx, tok, auth.ClientInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return s.CSRFToken()
	}
	apps := func() []auth.APIClient {
		as, err := g.Auth.StaffApps(ctx, haven.SystemPrincipal(authtest.North, "test"))
		if err != nil {
			t.Fatal(err)
		}
		return as
	}
	register := func(tok string, form url.Values) (*http.Response, string) {
		form.Set("csrf", csrf(tok))
		form.Set("back", "/admin/apps")
		return g.post(t, "/admin/apps", form, map[string]string{"haven_session": tok}, g.origin)
	}
	good := func() url.Values {
		return url.Values{"name": {"Visit notes"}, "redirect_uris": {"https://notes.example/cb\nhttp://127.0.0.1:8000/cb"}, "scopes": {"user/Patient.rs user/DocumentReference.cruds"}}
	}

	if body, _ := g.get(t, "/admin/apps", admin); !strings.Contains(body, "Register an app") {
		t.Fatalf("the admin does not see the Staff apps page: %.300s", body)
	}
	resp, body := register(admin, good())
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "data-client-id") {
		t.Fatalf("register: %d %.500s", resp.StatusCode, body)
	}
	list := apps()
	if len(list) != 1 || list[0].Name != "Visit notes" || len(list[0].RedirectURIs) != 2 || !strings.Contains(body, list[0].ID) {
		t.Fatalf("registered apps: %+v", list)
	}
	// A staff app is no backend client.
	if cs, err := g.Auth.Clients(ctx, haven.SystemPrincipal(authtest.North, "test")); err != nil || len(cs) != 0 {
		t.Errorf("backend clients: %+v %v", cs, err)
	}

	for name, edit := range map[string]func(url.Values){
		"plain http":   func(f url.Values) { f.Set("redirect_uris", "http://notes.example/cb") },
		"fragment":     func(f url.Values) { f.Set("redirect_uris", "https://notes.example/cb#x") },
		"no redirect":  func(f url.Values) { f.Set("redirect_uris", "") },
		"system scope": func(f url.Values) { f.Set("scopes", "system/*.rs") },
		"no name":      func(f url.Values) { f.Set("name", "") },
	} {
		f := good()
		edit(f)
		if resp, _ := register(admin, f); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", name, resp.StatusCode)
		}
	}
	if resp, _ := register(carer, good()); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a carer registering an app: %d", resp.StatusCode)
	}
	// Step-up: more than five minutes after the factor, nothing is
	// registered until the administrator confirms it again.
	g.Clock.Advance(auth.StepUpWindow + time.Minute)
	if resp, _ := register(admin, good()); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/confirm?next=") {
		t.Errorf("register without step-up: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := len(apps()); n != 1 {
		t.Errorf("%d apps after the refusals, want 1", n)
	}
	// Removal.
	resp, _ = g.post(t, "/admin/apps/remove", url.Values{"csrf": {csrf(admin)}, "client": {list[0].ID}}, map[string]string{"haven_session": admin}, g.origin)
	if resp.StatusCode != http.StatusSeeOther || len(apps()) != 0 {
		t.Errorf("remove: %d, %d apps left", resp.StatusCode, len(apps()))
	}
}
