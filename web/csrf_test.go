package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/auth/totp"
)

func (g *gateEnv) post(t *testing.T, path string, form url.Values, cookies map[string]string, origin string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for k, v := range cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := g.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestCSRF: a state-changing request without the session's form token,
// with a wrong one, or from another site's page is refused and changes
// nothing.
func TestCSRF(t *testing.T) {
	g := newGateEnv(t)
	ctx := context.Background()
	a := g.EnrolTOTP(t, authtest.North, "carer@north.example", haven.RoleCarer)
	tok := g.SignIn(t, a)
	sess, err := g.Auth.Authenticate(ctx, tok, auth.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	cookies := map[string]string{"haven_session": tok}
	for _, c := range []struct {
		name   string
		form   url.Values
		origin string
	}{
		{"no token", url.Values{}, g.origin},
		{"wrong token", url.Values{"csrf": {"guess"}}, g.origin},
		{"another session's token", url.Values{"csrf": {strings.Repeat("x", 43)}}, g.origin},
		{"right token from another site", url.Values{"csrf": {sess.CSRFToken()}}, "https://evil.example"},
		{"right token from an opaque origin", url.Values{"csrf": {sess.CSRFToken()}}, "null"},
	} {
		resp, _ := g.post(t, "/sign-out/everywhere", c.form, cookies, c.origin)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", c.name, resp.StatusCode)
		}
		if _, err := g.Auth.Authenticate(ctx, tok, auth.ClientInfo{}); err != nil {
			t.Fatalf("%s: the forged request signed the account out", c.name)
		}
	}
	// A genuine form with a value that is not UTF-8 is refused as
	// unreadable, and changes nothing.
	for _, bad := range []string{"/\xff", "/a\x00b"} {
		resp, body := g.post(t, "/sign-out/everywhere", url.Values{"csrf": {sess.CSRFToken()}, "back": {bad}}, cookies, g.origin)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "could not be read") {
			t.Errorf("form with value %q: status %d", bad, resp.StatusCode)
		}
	}
	// The same with the anti-forgery token in a header, which once let
	// the form go unparsed, and so unchecked, until its handler read it.
	req, _ := http.NewRequest(http.MethodPost, g.ts.URL+"/sign-out/everywhere", strings.NewReader("back=/a%00%FF"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", sess.CSRFToken())
	req.Header.Set("Origin", g.origin)
	req.AddCookie(&http.Cookie{Name: "haven_session", Value: tok})
	if res, err := g.client().Do(req); err != nil || res.StatusCode != http.StatusBadRequest {
		t.Errorf("form with a NUL, token in a header: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	if _, err := g.Auth.Authenticate(ctx, tok, auth.ClientInfo{}); err != nil {
		t.Fatal("the unreadable form signed the account out")
	}
	// The genuine form works.
	resp, _ := g.post(t, "/sign-out/everywhere", url.Values{"csrf": {sess.CSRFToken()}}, cookies, g.origin)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("genuine form: status %d", resp.StatusCode)
	}
	if _, err := g.Auth.Authenticate(ctx, tok, auth.ClientInfo{}); !errors.Is(err, auth.ErrSession) {
		t.Fatal("genuine sign-out did not sign out")
	}
	// Public forms use a double-submit cookie: a sign-in form posted
	// without the cookie's token is refused before the password is checked.
	resp, _ = g.post(t, "/sign-in", url.Values{"email": {a.Email}, "password": {authtest.Password}}, map[string]string{"haven_csrf": strings.Repeat("c", 43)}, g.origin)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without form token: status %d, want 403", resp.StatusCode)
	}
}

// TestSessionFixationOverHTTP: a session id planted in a victim's browser
// before sign-in is not the one the victim ends up signed in with.
func TestSessionFixationOverHTTP(t *testing.T) {
	g := newGateEnv(t)
	ctx := context.Background()
	victim := g.EnrolTOTP(t, authtest.North, "victim@north.example", haven.RoleNurse)
	attacker := g.EnrolTOTP(t, authtest.North, "attacker@north.example", haven.RoleCarer)
	planted := g.PasswordOnly(t, attacker)
	plantedSess, _ := g.Auth.Authenticate(ctx, planted, auth.ClientInfo{})

	// The victim's browser carries the planted cookie through sign-in.
	csrf := plantedSess.CSRFToken()
	resp, _ := g.post(t, "/sign-in", url.Values{"csrf": {csrf}, "email": {victim.Email}, "password": {authtest.Password}}, map[string]string{"haven_session": planted}, g.origin)
	first := cookieValue(resp, "haven_session")
	if resp.StatusCode != http.StatusSeeOther || first == "" || first == planted {
		t.Fatalf("password step: status %d, new cookie %q (planted %q)", resp.StatusCode, first, planted)
	}
	s1, _ := g.Auth.Authenticate(ctx, first, auth.ClientInfo{})
	code, _ := totp.Code(victim.TOTPSecret, g.Clock.Now())
	resp, _ = g.post(t, "/confirm/totp", url.Values{"csrf": {s1.CSRFToken()}, "code": {code}}, map[string]string{"haven_session": first}, g.origin)
	final := cookieValue(resp, "haven_session")
	if final == "" || final == first || final == planted {
		t.Fatalf("second step kept an earlier id: final %q", final)
	}
	// What the attacker holds does not act as the victim.
	for _, tok := range []string{planted, first} {
		if s, err := g.Auth.Authenticate(ctx, tok, auth.ClientInfo{}); err == nil && s.Account.ID == victim.ID {
			t.Fatal("an id issued before sign-in finished acts as the victim")
		}
	}
}

func cookieValue(resp *http.Response, name string) string {
	for _, c := range resp.Cookies() {
		if c.Name == name && c.MaxAge >= 0 {
			return c.Value
		}
	}
	return ""
}

// TestSecurityHeadersAndCookies checks what every page carries when
// served over TLS: a strict CSP with no inline script, HSTS, no framing,
// no referrer, and host-only, HttpOnly, Secure, SameSite=Strict cookies.
func TestSecurityHeadersAndCookies(t *testing.T) {
	env := authtest.New(t, authtest.Options{Origin: "https://haven.example"})
	srv := New(Config{Origin: "https://haven.example"}, env.Auth, env.Care, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://haven.example/sign-in", nil))
	h := rec.Result().Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	if !strings.Contains(h.Get("Strict-Transport-Security"), "max-age=") {
		t.Error("no HSTS")
	}
	if h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("referrer or nosniff header missing")
	}
	body := rec.Body.String()
	if strings.Contains(body, "<script>") || strings.Contains(body, " onclick=") || strings.Contains(body, "style=") {
		t.Error("page has inline script or style")
	}
	var found bool
	for _, c := range rec.Result().Cookies() {
		if c.Name == "__Host-haven_csrf" {
			found = true
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
				t.Errorf("cookie %+v is not Secure, HttpOnly, SameSite=Strict and host-only", c)
			}
		}
	}
	if !found {
		t.Fatal("sign-in page set no form-token cookie")
	}
}
