package web_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/authtest"
)

// TestBrowserStaffAppLaunch drives SMART App Launch in real Chromium, from
// an app on another site (127.0.0.1 is another site than localhost): the
// browser arrives without Haven's SameSite=Strict cookie, signs in with a
// factor and comes back to the request, allows the app, and the answer's
// redirect to the app's origin is not stopped by the consent page's
// Content-Security-Policy. A second launch, already signed in, goes
// straight to the consent page; refusing sends access_denied.
func TestBrowserStaffAppLaunch(t *testing.T) {
	b := newBrowserTest(t)
	ctx := context.Background()
	carer := b.env.EnrolTOTP(t, authtest.North, "carer@north.example", haven.RoleCarer)

	// The app: a page with a link to Haven, and the redirect URI, which
	// records what Haven sends back.
	var mu sync.Mutex
	var got []url.Values
	var authorizeURL string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			mu.Lock()
			link := authorizeURL
			mu.Unlock()
			fmt.Fprintf(w, `<!DOCTYPE html><html><body><h1>Visit notes</h1><a id="connect" href="%s">Connect to Haven</a></body></html>`, html.EscapeString(link))
		case "/cb":
			mu.Lock()
			got = append(got, r.URL.Query())
			mu.Unlock()
			fmt.Fprint(w, `<!DOCTYPE html><html><body><h1 id="back">Back in the app</h1></body></html>`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(app.Close)
	redirect := app.URL + "/cb"
	appID, err := b.env.Auth.RegisterStaffApp(ctx, haven.SystemPrincipal(authtest.North, "test"), "Visit notes", []string{redirect}, []string{"user/*.rs"})
	if err != nil {
		t.Fatal(err)
	}
	launch := func() (verifier, state string) {
		v := make([]byte, 32)
		rand.Read(v)
		verifier = base64.RawURLEncoding.EncodeToString(v)
		sum := sha256.Sum256([]byte(verifier))
		state = base64.RawURLEncoding.EncodeToString(v[:9])
		q := url.Values{"response_type": {"code"}, "client_id": {appID}, "redirect_uri": {redirect}, "scope": {"user/*.rs"}, "state": {state},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "aud": {b.origin + "/fhir"}}
		mu.Lock()
		authorizeURL = b.origin + "/fhir/auth/authorize?" + q.Encode()
		mu.Unlock()
		b.do("open the app and connect", chromedp.Navigate(app.URL+"/"), chromedp.Click(chromedp.ID("connect")))
		return verifier, state
	}
	last := func() url.Values {
		mu.Lock()
		defer mu.Unlock()
		if len(got) == 0 {
			return nil
		}
		return got[len(got)-1]
	}

	// Not signed in: sign in, confirm a factor, and land on the consent page.
	verifier, state := launch()
	settle(b, "the sign-in page", `location.pathname === "/sign-in" && document.querySelector("#email") !== null`)
	b.do("sign in",
		chromedp.SendKeys(chromedp.ID("email"), carer.Email),
		chromedp.SendKeys(chromedp.ID("password"), authtest.Password),
		clickAndLoad(chromedp.CSS(`form[action="/sign-in"] button[type=submit]`)),
	)
	b.expectPage("/confirm", "Check it is you")
	b.confirmTOTP(carer.TOTPSecret)
	settle(b, "the consent page", `document.querySelector("[data-allow]") !== null`)
	b.expectPage("/fhir/auth/authorize", "Allow Visit notes")
	b.do("allow", chromedp.Click(chromedp.CSS(`[data-allow]`)), chromedp.WaitVisible(chromedp.ID("back")))
	q := last()
	if q == nil || q.Get("state") != state || q.Get("code") == "" {
		b.fatalf("the app got %v", q)
	}
	// The app exchanges the code and reads as the carer.
	res, err := http.PostForm(b.origin+"/fhir/auth/token", url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")},
		"redirect_uri": {redirect}, "client_id": {appID}, "code_verifier": {verifier}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if res.StatusCode != 200 || err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", res.StatusCode, err)
	}
	var person string
	for id := range b.env.Caseload(t, carer) {
		person = id
		break
	}
	req, _ := http.NewRequest("GET", b.origin+"/fhir/Patient/"+person, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("read through the app: %v %v", res.StatusCode, err)
	} else {
		res.Body.Close()
	}

	// Already signed in: straight to the consent page (the cross-site
	// arrival reloads from Haven to carry the cookie); refusing tells the
	// app access_denied.
	_, state = launch()
	settle(b, "the consent page, signed in", `document.querySelector("[data-deny]") !== null`)
	b.expectPage("/fhir/auth/authorize", "Allow Visit notes")
	b.do("do not allow", chromedp.Click(chromedp.CSS(`[data-deny]`)), chromedp.WaitVisible(chromedp.ID("back")))
	if q := last(); q.Get("error") != "access_denied" || q.Get("state") != state || q.Has("code") {
		b.fatalf("the app got %v after a refusal", q)
	}
	if !strings.HasPrefix(redirect, "http://127.0.0.1:") {
		t.Fatalf("the app is not on another site: %s", redirect)
	}
}

// settle waits until the page is loaded and predicate holds. One click
// here crosses several documents (the app's page, Haven's cross-site
// reload, a redirect to sign in), and a query made while one of them is
// being replaced fails; so the page is asked again until it has settled.
func settle(b *browserTest, what, predicate string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && (`+predicate+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.fatalf("the browser did not reach %s", what)
}
