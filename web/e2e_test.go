package web_test

// End-to-end tests in a real headless Chromium: every step is a click or
// keystroke on the real pages, as a person would do it. The server is the
// real web.Server over a real identity service and SQLite store
// (authtest). The only shortcuts are reads of server-side state through
// env.Auth and env.Care when asserting, and env.EnrolTOTP where a test is
// about what comes after enrolment.
//
// Chromium comes from /usr/bin/chromium. Without it the tests skip, unless
// HAVEN_REQUIRE_CHROMIUM=1 (CI), when they fail.

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/auth/totp"
	"github.com/havencare/haven/web"
)

const (
	chromiumPath = "/usr/bin/chromium"
	// testTimeout bounds each browser test as a whole; stepTimeout bounds
	// one wait inside it, so that a failure still leaves time to describe
	// the page. Neither is an assertion about speed.
	testTimeout = 60 * time.Second
	stepTimeout = 20 * time.Second
)

// browserTest is one test's server and browser tab.
type browserTest struct {
	t      *testing.T
	env    *authtest.Env
	origin string
	ctx    context.Context // the chromedp tab
}

// newBrowserTest starts Haven on a loopback port and a fresh headless
// Chromium with its own profile.
func newBrowserTest(t *testing.T) *browserTest {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("HAVEN_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("HAVEN_REQUIRE_CHROMIUM=1 but Chromium is not usable: %v", err)
		}
		t.Skipf("Chromium not installed (%v); set HAVEN_REQUIRE_CHROMIUM=1 to fail instead", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	// Passkeys need a host name as RP ID, and Chromium treats
	// http://localhost as a secure context.
	origin := "http://localhost:" + port
	env := authtest.New(t, authtest.Options{Origin: origin, RealNow: true})
	// Server errors (a page that failed to render, say) go to the test's
	// output: a browser only sees their effect.
	srv := web.New(web.Config{Origin: origin, Insecure: true}, env.Auth, env.Care, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	// Cleanups run last-registered first: the browser closes, then the
	// server, then (authtest's) the store.
	t.Cleanup(func() { hs.Close() })

	profile := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1024),
	)
	root, cancelRoot := context.WithTimeout(context.Background(), testTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(root, opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for Chromium to exit, before TempDir removes the profile
		cancelRoot()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return &browserTest{t: t, env: env, origin: origin, ctx: ctx}
}

// do runs steps with a bounded wait, failing the test with a description
// of the page if they do not complete.
func (b *browserTest) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fatalf("%s: %v", what, err)
	}
}

// evalJS evaluates a JavaScript expression in the page.
func evalJS[T any](b *browserTest, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// pageState is what a failure message says about the page.
type pageState struct {
	URL           string `json:"url"`
	Title         string `json:"title"`
	H1            string `json:"h1"`
	ErrorSummary  string `json:"errorSummary"`
	WebAuthnError string `json:"webauthnError"`
	Message       string `json:"message"`
	Footer        bool   `json:"footer"`
}

const pageStateJS = `(() => {
	const text = s => { const e = document.querySelector(s); return e ? e.innerText.trim() : ""; };
	return {url: location.href, title: document.title, h1: text("h1"), errorSummary: text(".nhsuk-error-summary"),
		webauthnError: text("[data-webauthn-error]"), message: text("[data-message]"),
		footer: document.querySelector("footer.nhsuk-footer") !== null};
})()`

func (b *browserTest) state() (pageState, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[pageState](pageStateJS))
}

// fatalf fails the test with the page's state and a screenshot (kept when
// go test runs with -artifacts).
func (b *browserTest) fatalf(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	if st, err := b.state(); err == nil {
		msg += fmt.Sprintf("\npage: %s\ntitle: %q\nh1: %q", st.URL, st.Title, st.H1)
		for _, f := range []struct{ name, v string }{{"error summary", st.ErrorSummary}, {"passkey error", st.WebAuthnError}, {"message", st.Message}} {
			if f.v != "" {
				msg += fmt.Sprintf("\n%s: %q", f.name, f.v)
			}
		}
	} else {
		msg += fmt.Sprintf("\n(could not read the page: %v)", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		name := filepath.Join(b.t.ArtifactDir(), "failure.png")
		if os.WriteFile(name, png, 0o644) == nil {
			msg += "\nscreenshot: " + name + " (kept with go test -artifacts)"
		}
	}
	b.t.Fatal(msg)
}

// clickAndLoad clicks and waits for the page load the click causes: a
// form submission, a link, or a script that moves to another page.
func clickAndLoad[S chromedp.Selectable](sel S) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(sel))(ctx, t)
		return chromedp.Void{}, err
	}
}

// open navigates to a path on the server (following redirects).
func (b *browserTest) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.origin+path))
}

// expectPage checks that the browser is on path, the page's heading
// starts with h1, and the page rendered to its end (the footer): a page
// whose template failed half-way still has its heading.
func (b *browserTest) expectPage(path, h1 string) {
	b.t.Helper()
	st, err := b.state()
	if err != nil {
		b.fatalf("read page: %v", err)
	}
	u, err := url.Parse(st.URL)
	if err != nil {
		b.fatalf("page URL %q: %v", st.URL, err)
	}
	if u.Path != path || !strings.HasPrefix(st.H1, h1) {
		b.fatalf("want page %s with heading %q…", path, h1)
	}
	if !st.Footer {
		b.fatalf("page %s stops before its footer: it did not render to the end", path)
	}
}

// Steps of the pages, as a person does them.

func (b *browserTest) acceptInvite(inv auth.Invitation) {
	b.t.Helper()
	link := inv.Link(b.origin)
	if !strings.HasPrefix(link, b.origin+"/enrol/") {
		b.t.Fatalf("invitation link %q is not under %s/enrol/", link, b.origin)
	}
	b.do("open the invitation link", chromedp.Navigate(link))
	b.expectPage("/enrol/"+inv.Token, "Set up your Haven account")
	b.do("set a password",
		chromedp.SendKeys(chromedp.ID("password"), authtest.Password),
		clickAndLoad(chromedp.CSS(`main form button[type=submit]`)),
	)
	b.expectPage("/enrol/factor", "Set up a second factor")
}

// signInForm opens the sign-in page and checks it has its whole form.
func (b *browserTest) signInForm() {
	b.t.Helper()
	b.open("/sign-in")
	b.expectPage("/sign-in", "Sign in to Haven")
	missing := evalJS[[]string](b, `["#email", "#password", 'form[action="/sign-in"] button[type=submit]', "[data-webauthn=sign-in]"].filter(s => !document.querySelector(s))`)
	if len(missing) > 0 {
		b.fatalf("the sign-in page lacks %q (did the page render to the end?)", missing)
	}
}

func (b *browserTest) signInPassword(email string) {
	b.t.Helper()
	b.signInForm()
	b.do("sign in with e-mail and password",
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), authtest.Password),
		clickAndLoad(chromedp.CSS(`form[action="/sign-in"] button[type=submit]`)),
	)
	b.expectPage("/confirm", "Check it is you")
}

// confirmTOTP types the code of the next 30-second step: the current
// step's code may already be spent (codes are single use, and one step of
// drift is allowed).
func (b *browserTest) confirmTOTP(secret string) {
	b.t.Helper()
	code, err := totp.Code(secret, time.Now().Add(totp.Period*time.Second))
	if err != nil {
		b.t.Fatal(err)
	}
	b.do("confirm an authenticator-app code",
		chromedp.SendKeys(chromedp.ID("code"), code),
		clickAndLoad(chromedp.CSS(`form[action="/confirm/totp"] button[type=submit]`)),
	)
}

func (b *browserTest) useRecoveryCode(code string) {
	b.t.Helper()
	b.do("use a recovery code",
		chromedp.Click(chromedp.CSS(`details.nhsuk-details summary`)),
		chromedp.WaitVisible(chromedp.ID("recovery")),
		chromedp.SendKeys(chromedp.ID("recovery"), code),
		clickAndLoad(chromedp.CSS(`form[action="/confirm/recovery"] button[type=submit]`)),
	)
}

func (b *browserTest) signOut() {
	b.t.Helper()
	b.do("sign out", clickAndLoad(chromedp.CSS(`form[action="/sign-out"] button[type=submit]`)))
	b.expectPage("/sign-out", "You have signed out")
	// The session is gone: the home page sends us to sign in.
	b.open("/")
	b.expectPage("/sign-in", "Sign in to Haven")
}

// recoveryCodes reads the recovery codes page, which is at path.
func (b *browserTest) recoveryCodes(path string) []string {
	b.t.Helper()
	b.do("see the recovery codes", chromedp.WaitVisible(chromedp.CSS(`[data-recovery-codes]`)))
	b.expectPage(path, "Save your recovery codes")
	codes := evalJS[[]string](b, `Array.from(document.querySelectorAll("[data-recovery-codes] li"), li => li.innerText.trim())`)
	if len(codes) != 10 {
		b.fatalf("%d recovery codes on the page, want 10: %q", len(codes), codes)
	}
	re := regexp.MustCompile(`^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$`)
	for _, c := range codes {
		if !re.MatchString(c) {
			b.fatalf("recovery code %q does not look like xxxx-xxxx-xxxx-xxxx", c)
		}
	}
	return codes
}

// Server-side state, read to assert.

func browserAccount(t *testing.T, env *authtest.Env, email string) auth.AccountInfo {
	t.Helper()
	as, err := env.Auth.Accounts(context.Background(), haven.SystemPrincipal(authtest.North, "browser test check"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Email == email {
			return a
		}
	}
	t.Fatalf("no account %s", email)
	return auth.AccountInfo{}
}

func browserPeople(t *testing.T, env *authtest.Env, tenant string) []*haven.Person {
	t.Helper()
	recs, err := env.Care.List(context.Background(), haven.SystemPrincipal(tenant, "browser test leak check"), haven.KindPerson, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []*haven.Person
	for _, r := range recs {
		out = append(out, r.(*haven.Person))
	}
	if len(out) == 0 || len(out) != len(env.People[tenant]) {
		t.Fatalf("%s has %d people, authtest made %d", tenant, len(out), len(env.People[tenant]))
	}
	return out
}

// nhsLikeRE matches ten digits, run together or grouped 3-3-4 as NHS
// numbers are written.
var nhsLikeRE = regexp.MustCompile(`\b\d{3}[ -]?\d{3}[ -]?\d{4}\b`)

// browserLeaks lists what of ps a page shows: full names (in the HTML), family
// names as words (in the text people see), NHS numbers, and anything that
// looks like an NHS number.
func browserLeaks(html, text string, ps []*haven.Person, familyNames []string) []string {
	var out []string
	for _, p := range ps {
		if full := p.Given + " " + p.Family; strings.Contains(html, full) || strings.Contains(text, full) {
			out = append(out, "name "+full)
		}
		spaced := p.NHSNumber
		if len(spaced) == 10 {
			spaced = spaced[:3] + " " + spaced[3:6] + " " + spaced[6:]
		}
		if strings.Contains(html, p.NHSNumber) || strings.Contains(html, spaced) {
			out = append(out, "NHS number "+p.NHSNumber)
		}
	}
	for _, f := range familyNames {
		if regexp.MustCompile(`\b` + regexp.QuoteMeta(f) + `\b`).MatchString(text) {
			out = append(out, "family name "+f)
		}
	}
	for _, m := range nhsLikeRE.FindAllString(text, -1) {
		out = append(out, "NHS-number-like "+m)
	}
	return out
}

// The tests.

// TestBrowserInviteEnrolTOTPSignIn walks a carer from the invitation link
// through an authenticator app to their people, then signs out and back in.
func TestBrowserInviteEnrolTOTPSignIn(t *testing.T) {
	b := newBrowserTest(t)
	const email = "carer.totp@north.example"
	inv := b.env.Invite(t, authtest.North, email, haven.RoleCarer)

	b.acceptInvite(inv)
	b.do("choose an authenticator app",
		clickAndLoad(chromedp.CSS(`form[action="/account/totp/begin"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-totp-secret]`)),
	)
	b.expectPage("/account/totp/begin", "Set up your authenticator app")
	secret := strings.TrimSpace(evalJS[string](b, `document.querySelector("[data-totp-secret]").innerText`))
	if qr := evalJS[string](b, `document.querySelector(".haven-qr img").getAttribute("src")`); !strings.HasPrefix(qr, "data:image/png;base64,") {
		b.fatalf("QR code src %.40q…, want a PNG data URI", qr)
	}
	if loaded := evalJS[bool](b, `(() => { const i = document.querySelector(".haven-qr img"); return i.complete && i.naturalWidth > 0; })()`); !loaded {
		b.fatalf("the QR code image did not load")
	}
	code, err := totp.Code(secret, time.Now())
	if err != nil {
		b.fatalf("the secret on the page %q is not a TOTP secret: %v", secret, err)
	}
	b.do("confirm the first code",
		chromedp.SendKeys(chromedp.ID("code"), code),
		clickAndLoad(chromedp.CSS(`form[action="/account/totp/confirm"] button[type=submit]`)),
	)
	b.recoveryCodes("/account/totp/confirm")
	if a := browserAccount(t, b.env, email); a.Status != auth.StatusActive || !slices.Equal(a.Factors, []string{"authenticator app"}) || a.RecoveryLeft != 10 {
		t.Fatalf("after enrolment the account is %+v; want active, one authenticator app, 10 recovery codes", a)
	}

	b.do("continue", clickAndLoad(chromedp.CSS(`main a[href="/"]`)))
	b.expectPage("/", "Hello, Test carer")
	b.signOut()

	b.signInPassword(email)
	b.confirmTOTP(secret)
	b.expectPage("/", "Hello, Test carer")

	b.do("open People", clickAndLoad(chromedp.CSS(`main a[href="/people"]`)))
	b.expectPage("/people", "People")
	text := evalJS[string](b, `document.body.innerText`)
	html := evalJS[string](b, `document.documentElement.outerHTML`)
	shown := 0
	for _, n := range b.env.Names[authtest.North] {
		if strings.Contains(text, n) {
			shown++
		}
	}
	if shown == 0 {
		b.fatalf("the People page shows none of north's people %q", b.env.Names[authtest.North])
	}
	// And nobody from the other organisation.
	for _, p := range browserPeople(t, b.env, authtest.South) {
		if strings.Contains(html, p.ID) || strings.Contains(html, p.NHSNumber) {
			b.fatalf("the People page of a north carer shows south's person %s", p.ID)
		}
	}
}

// TestBrowserPasskeyEnrolAndSignIn enrols a tenant admin with a passkey on
// a virtual authenticator, then signs in with the passkey alone.
func TestBrowserPasskeyEnrolAndSignIn(t *testing.T) {
	b := newBrowserTest(t)
	authID := addVirtualAuthenticator(b)
	const email = "admin.passkey@north.example"
	inv := b.env.Invite(t, authtest.North, email, haven.RoleTenantAdmin)

	b.acceptInvite(inv)
	if evalJS[bool](b, `document.querySelector('form[action="/account/totp/begin"]') !== null`) {
		b.fatalf("the enrol page offers an authenticator app to a tenant admin")
	}
	if !strings.Contains(evalJS[string](b, `document.body.innerText`), "Your role needs a passkey") {
		b.fatalf("the enrol page does not say the role needs a passkey")
	}
	const name = "Work laptop"
	b.do("add a passkey",
		chromedp.SendKeys(chromedp.ID("passkey-name"), name),
		clickAndLoad(chromedp.CSS(`[data-webauthn=register]`)),
	)
	b.recoveryCodes("/account/recovery-codes")

	a := browserAccount(t, b.env, email)
	if a.Status != auth.StatusActive || !slices.Equal(a.Factors, []string{"passkey: " + name}) || a.RecoveryLeft != 10 {
		t.Fatalf("after enrolment the account is %+v; want active, one passkey %q, 10 recovery codes", a, name)
	}
	creds := authenticatorCredentials(b, authID)
	if len(creds) != 1 {
		t.Fatalf("the authenticator holds %d credentials, want 1", len(creds))
	}
	c := creds[0]
	if !c.IsResidentCredential {
		t.Errorf("the passkey is not a resident (discoverable) credential: passkey-only sign-in cannot find it")
	}
	if c.RpID != "localhost" {
		t.Errorf("credential RP ID %q, want localhost", c.RpID)
	}
	if want := authtest.North + "/" + inv.AccountID; string(c.UserHandle) != want {
		t.Errorf("credential user handle %q, want %q", c.UserHandle, want)
	}

	b.do("continue", clickAndLoad(chromedp.CSS(`main a[href="/"]`)))
	b.expectPage("/", "Hello, Test tenant-admin")
	b.signOut()

	// Passkey only: nothing typed.
	b.signInForm()
	if v := evalJS[string](b, `document.getElementById("email").value + document.getElementById("password").value`); v != "" {
		b.fatalf("the sign-in form is not empty: %q", v)
	}
	b.do("sign in with the passkey", clickAndLoad(chromedp.CSS(`[data-webauthn=sign-in]`)))
	b.expectPage("/", "Hello, Test tenant-admin")
	b.open("/admin/staff")
	b.expectPage("/admin/staff", "Staff accounts")
	if !strings.Contains(evalJS[string](b, `document.body.innerText`), email) {
		b.fatalf("the staff page does not list the admin's own account %s", email)
	}
	b.open("/admin/clients")
	b.expectPage("/admin/clients", "API clients")

	if after := authenticatorCredentials(b, authID); len(after) != 1 || after[0].SignCount <= c.SignCount {
		t.Errorf("after the sign-in the authenticator holds %d credentials; want the one passkey, its sign count past %v", len(after), c.SignCount)
	}
}

// addVirtualAuthenticator gives the tab a platform authenticator that
// holds discoverable credentials and verifies its user without a prompt.
func addVirtualAuthenticator(b *browserTest) webauthn.AuthenticatorID {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: new(false)}); err != nil {
		b.t.Fatalf("enable WebAuthn: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		b.t.Fatalf("add a virtual authenticator: %v", err)
	}
	return res.AuthenticatorID
}

func authenticatorCredentials(b *browserTest, id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		b.t.Fatalf("read the authenticator's credentials: %v", err)
	}
	return res.Credentials
}

// TestBrowserRecoveryCodeSignIn signs in with a recovery code in place of
// the authenticator app, and checks the code does not work twice.
func TestBrowserRecoveryCodeSignIn(t *testing.T) {
	b := newBrowserTest(t)
	const email = "carer.recovery@north.example"
	acct := b.env.EnrolTOTP(t, authtest.North, email, haven.RoleCarer)
	code := acct.RecoveryCodes[3]

	b.signInPassword(email)
	b.useRecoveryCode(code)
	b.expectPage("/", "Hello, Test carer")
	if a := browserAccount(t, b.env, email); a.RecoveryLeft != 9 {
		t.Fatalf("%d recovery codes left after using one, want 9", a.RecoveryLeft)
	}
	b.signOut()

	b.signInPassword(email)
	b.useRecoveryCode(code)
	b.do("see the refusal", chromedp.WaitVisible(chromedp.CSS(`.nhsuk-error-summary`)))
	st, err := b.state()
	if err != nil {
		b.fatalf("read page: %v", err)
	}
	if u, _ := url.Parse(st.URL); u == nil || u.Path != "/confirm/recovery" || !strings.Contains(st.ErrorSummary, "not right") {
		b.fatalf("a spent recovery code: want the factor page again with an error, got %s with %q", st.URL, st.ErrorSummary)
	}
	if evalJS[bool](b, `document.querySelector('form[action="/sign-out"]') !== null`) {
		b.fatalf("the page after a refused recovery code shows a signed-in header")
	}
	b.open("/")
	b.expectPage("/confirm", "Check it is you")
	if a := browserAccount(t, b.env, email); a.RecoveryLeft != 9 {
		t.Fatalf("%d recovery codes left after a refused one, want 9", a.RecoveryLeft)
	}
}

// TestBrowserPasswordOnlyBlocked signs in with the password alone and
// tries every page that shows personal data: each must stop at the factor
// challenge and show none of it.
func TestBrowserPasswordOnlyBlocked(t *testing.T) {
	b := newBrowserTest(t)
	const email = "carer.blocked@north.example"
	acct := b.env.EnrolTOTP(t, authtest.North, email, haven.RoleCarer)
	north := browserPeople(t, b.env, authtest.North)

	b.signInPassword(email)

	// The session cookie is there, and scripts cannot read it.
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.origin + "/"}})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "haven_session" {
			session = c
		}
	}
	if session == nil || session.Value == "" {
		t.Fatalf("no session cookie after the password step; cookies: %v", browserCookieNames(cookies.Cookies))
	}
	if !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict {
		t.Errorf("session cookie HttpOnly=%v SameSite=%q, want HttpOnly and Strict", session.HTTPOnly, session.SameSite)
	}
	if jar := evalJS[string](b, `document.cookie`); strings.Contains(jar, "haven_session") || strings.Contains(jar, session.Value) {
		t.Errorf("document.cookie exposes the session cookie: %q", jar)
	}

	for _, path := range []string{"/", "/people", "/people/" + north[0].ID, "/account", "/admin/staff", "/account/recovery-codes", "/admin/sessions"} {
		b.open(path)
		st, err := b.state()
		if err != nil {
			b.fatalf("read page: %v", err)
		}
		u, _ := url.Parse(st.URL)
		if u == nil || (u.Path != "/confirm" && u.Path != "/sign-in") {
			b.fatalf("%s with only a password ended on %s, want /confirm", path, st.URL)
		}
		html := evalJS[string](b, `document.documentElement.outerHTML`)
		text := evalJS[string](b, `document.body.innerText`)
		if l := browserLeaks(html, text, north, b.env.Names[authtest.North]); len(l) > 0 {
			b.fatalf("%s with only a password shows %q", path, l)
		}
	}

	// The check above can see a leak: with the second factor, the same
	// pages show the people.
	b.open("/confirm")
	b.confirmTOTP(acct.TOTPSecret)
	b.expectPage("/", "Hello, Test carer")
	b.open("/people")
	b.expectPage("/people", "People")
	if l := browserLeaks(evalJS[string](b, `document.documentElement.outerHTML`), evalJS[string](b, `document.body.innerText`), north, b.env.Names[authtest.North]); len(l) == 0 {
		b.fatalf("the leak check finds nothing on the People page of a signed-in carer: it cannot work")
	}
}

func browserCookieNames(cs []*network.Cookie) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// browserConsole collects the console messages, exceptions and browser log
// entries of a tab, in order.
type browserConsole struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
	seen chan struct{} // pinged on every message
}

func watchBrowserConsole(b *browserTest) *browserConsole {
	c := &browserConsole{seen: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(b.ctx)
	b.t.Cleanup(cancel)
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
			select {
			case c.seen <- struct{}{}:
			default:
			}
		}
	}()
	return c
}

// sync logs a marker from the page and waits until it arrives: every
// message the page caused before it has arrived too. It returns the
// messages before the marker and forgets them.
func (c *browserConsole) sync(b *browserTest, n int) []chromedp.ConsoleMessage {
	b.t.Helper()
	marker := fmt.Sprintf("haven-e2e-marker-%d", n)
	b.do("log a marker", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`console.info(%q)`, marker)))
	deadline := time.After(stepTimeout)
	for {
		c.mu.Lock()
		for i, m := range c.msgs {
			if strings.Contains(m.Text, marker) {
				before := slices.Clone(c.msgs[:i])
				c.msgs = slices.Clone(c.msgs[i+1:])
				c.mu.Unlock()
				return before
			}
		}
		c.mu.Unlock()
		select {
		case <-c.seen:
		case <-deadline:
			b.fatalf("the console marker %s never arrived", marker)
		}
	}
}

func consoleProblems(ms []chromedp.ConsoleMessage) []string {
	var out []string
	for _, m := range ms {
		if strings.Contains(m.Text, "Content Security Policy") || m.IsException() {
			out = append(out, fmt.Sprintf("%s %s:%d %s", m.Type, m.URL, m.Line+1, m.Text))
		}
	}
	return out
}

// TestBrowserPagesHaveNoCSPViolations loads the sign-in and enrolment pages
// and fails on any Content-Security-Policy report or uncaught exception.
func TestBrowserPagesHaveNoCSPViolations(t *testing.T) {
	b := newBrowserTest(t)
	console := watchBrowserConsole(b)
	n := 0
	check := func(what string) {
		t.Helper()
		n++
		if v := consoleProblems(console.sync(b, n)); len(v) > 0 {
			b.fatalf("%s: %d console problems:\n%s", what, len(v), strings.Join(v, "\n"))
		}
	}

	b.signInForm()
	check("sign-in page")

	inv := b.env.Invite(t, authtest.North, "carer.csp@north.example", haven.RoleCarer)
	b.do("open the invitation link", chromedp.Navigate(inv.Link(b.origin)))
	b.expectPage("/enrol/"+inv.Token, "Set up your Haven account")
	check("invitation page")
	b.do("set a password",
		chromedp.SendKeys(chromedp.ID("password"), authtest.Password),
		clickAndLoad(chromedp.CSS(`main form button[type=submit]`)),
	)
	b.expectPage("/enrol/factor", "Set up a second factor")
	check("enrol page")
	b.do("choose an authenticator app", clickAndLoad(chromedp.CSS(`form[action="/account/totp/begin"] button[type=submit]`)))
	b.expectPage("/account/totp/begin", "Set up your authenticator app")
	check("authenticator-app page (QR code data URI)")
	secret := strings.TrimSpace(evalJS[string](b, `document.querySelector("[data-totp-secret]").innerText`))
	code, err := totp.Code(secret, time.Now())
	if err != nil {
		b.fatalf("secret %q: %v", secret, err)
	}
	b.do("confirm the first code",
		chromedp.SendKeys(chromedp.ID("code"), code),
		clickAndLoad(chromedp.CSS(`form[action="/account/totp/confirm"] button[type=submit]`)),
	)
	b.recoveryCodes("/account/totp/confirm")
	check("recovery codes page")
	b.do("continue", clickAndLoad(chromedp.CSS(`main a[href="/"]`)))
	check("home page")
	b.do("sign out", clickAndLoad(chromedp.CSS(`form[action="/sign-out"] button[type=submit]`)))
	check("signed-out page")
	b.signInPassword("carer.csp@north.example")
	check("factor page")

	// The check can see a violation: an inline script is one.
	b.do("inject an inline script", chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.createElement("script");
		s.textContent = "window.inlineRan = true";
		document.body.appendChild(s);
	})()`))
	n++
	if v := consoleProblems(console.sync(b, n)); len(v) == 0 {
		b.fatalf("an inline script made no Content Security Policy report: the check cannot work")
	}
	if evalJS[bool](b, `window.inlineRan === true`) {
		b.fatalf("an inline script ran despite the Content Security Policy")
	}
}
