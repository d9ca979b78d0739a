package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/care"
	"github.com/havencare/haven/guard"
)

const secret = "a webhook secret of some length"

// received is one request the test receiver got.
type received struct {
	method, path string
	header       http.Header
	body         []byte
}

// receiver is a tenant's webhook endpoint on loopback. answer gives the
// status and body for the nth request (1-based).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int) (int, string)
}

func newReceiver(t *testing.T, answer func(n int) (int, string)) *receiver {
	r := &receiver{answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Method, req.URL.Path, req.Header.Clone(), body})
		n := len(r.got)
		r.mu.Unlock()
		status, text := r.answer(n)
		w.WriteHeader(status)
		io.WriteString(w, text)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func ok(int) (int, string) { return http.StatusNoContent, "" }

// fixture is an environment whose north tenant sends alerts to a
// receiver, and a deliverer with its own clock.
type fixture struct {
	env *authtest.Env
	rec *receiver
	d   *Deliverer
	now time.Time
}

func setup(t *testing.T, answer func(n int) (int, string)) *fixture {
	t.Helper()
	f := &fixture{env: authtest.New(t, authtest.Options{})}
	if answer != nil {
		f.rec = newReceiver(t, answer)
		setWebhook(t, f.env, authtest.North, f.rec.srv.URL+"/haven/alerts")
	}
	f.now = f.env.Clock.Now()
	f.d = &Deliverer{Care: f.env.Care, Now: func() time.Time { return f.now }}
	return f
}

func setWebhook(t *testing.T, env *authtest.Env, tenant, u string) {
	t.Helper()
	st := guard.Defaults()
	st.WebhookURL, st.WebhookSecret = u, secret
	if err := env.Care.SetSettings(context.Background(), haven.SystemPrincipal(tenant, "test"), st); err != nil {
		t.Fatalf("set webhook: %v", err)
	}
}

// raise makes the tenant raise one alert: supplier support asks for
// access.
func raise(t *testing.T, env *authtest.Env, tenant string) care.Alert {
	t.Helper()
	ctx := context.Background()
	p := haven.Principal{ID: "sup-1", Role: haven.RoleSupplierSupport, SupportTenant: tenant}
	if _, err := env.Care.RequestSupport(ctx, p, "TICKET-1", "investigate slow page loads"); err != nil {
		t.Fatalf("request support: %v", err)
	}
	alerts := alertsOf(t, env, tenant)
	if len(alerts) != 1 || alerts[0].Rule != guard.RuleSupportRequest {
		t.Fatalf("after a support request %s has alerts %+v, want one %s", tenant, alerts, guard.RuleSupportRequest)
	}
	return alerts[0]
}

func alertsOf(t *testing.T, env *authtest.Env, tenant string) []care.Alert {
	t.Helper()
	alerts, err := env.Care.Alerts(context.Background(), haven.SystemPrincipal(tenant, "test"), care.AlertQuery{})
	if err != nil {
		t.Fatalf("alerts of %s: %v", tenant, err)
	}
	return alerts
}

func alertByID(t *testing.T, env *authtest.Env, tenant, id string) care.Alert {
	t.Helper()
	for _, a := range alertsOf(t, env, tenant) {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("alert %s is gone from %s", id, tenant)
	return care.Alert{}
}

// runAt runs the deliverer once at the given time after the fixture's
// start and checks its counts.
func (f *fixture) runAt(t *testing.T, start time.Time, after time.Duration, wantDelivered, wantFailed int) {
	t.Helper()
	f.now = start.Add(after)
	delivered, failed, err := f.d.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce at +%s: %v", after, err)
	}
	if delivered != wantDelivered || failed != wantFailed {
		t.Fatalf("RunOnce at +%s = %d delivered, %d failed; want %d, %d", after, delivered, failed, wantDelivered, wantFailed)
	}
}

func pending(t *testing.T, env *authtest.Env, tenant string, at time.Time) []care.Alert {
	t.Helper()
	alerts, _, err := env.Care.PendingAlerts(context.Background(), tenant, at)
	if err != nil {
		t.Fatal(err)
	}
	return alerts
}

func TestDeliverSigned(t *testing.T) {
	f := setup(t, ok)
	a := raise(t, f.env, authtest.North)
	if a.Delivery.Next.IsZero() {
		t.Fatalf("an alert of a tenant with a webhook is not in the outbox: %+v", a.Delivery)
	}
	start := f.now
	f.runAt(t, start, 0, 1, 0)

	got := f.rec.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	r := got[0]
	if r.method != http.MethodPost || r.path != "/haven/alerts" {
		t.Errorf("request %s %s, want POST /haven/alerts", r.method, r.path)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if id := r.header.Get("X-Haven-Alert"); id != a.ID {
		t.Errorf("X-Haven-Alert %q, want %q", id, a.ID)
	}

	// The receiver's check, written out independently of Sign.
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(r.body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	sig := r.header.Get("X-Haven-Signature")
	if !hmac.Equal([]byte(sig), []byte(want)) {
		t.Errorf("X-Haven-Signature %q, want %q", sig, want)
	}
	other := hmac.New(sha256.New, []byte("another secret, not the tenant's"))
	other.Write(r.body)
	if sig == "sha256="+hex.EncodeToString(other.Sum(nil)) {
		t.Error("the signature verifies under another secret")
	}

	var body map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, r.body)
	}
	if keys := sortedKeys(body); !slices.Equal(keys, []string{"alert", "tenant"}) {
		t.Errorf("body has %v, want alert and tenant", keys)
	}
	var tenant string
	json.Unmarshal(body["tenant"], &tenant)
	if tenant != authtest.North {
		t.Errorf("tenant %q, want %q", tenant, authtest.North)
	}
	var sent map[string]any
	if err := json.Unmarshal(body["alert"], &sent); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"id": a.ID, "rule": string(guard.RuleSupportRequest), "actor": "sup-1",
		"actorRole": string(haven.RoleSupplierSupport), "containment": guard.AlertOnly.String(), "detail": a.Detail} {
		if sent[k] != v {
			t.Errorf("alert %s = %v, want %q", k, sent[k], v)
		}
	}
	if _, ok := sent["delivery"]; ok {
		t.Errorf("the alert carries the outbox's delivery state: %s", body["alert"])
	}
	var decoded care.Alert
	if err := json.Unmarshal(body["alert"], &decoded); err != nil || !decoded.Time.Equal(a.Time) {
		t.Errorf("alert time %v (%v), want %v", decoded.Time, err, a.Time)
	}

	// Nothing about anyone cared for: no name, no NHS number, of either
	// tenant.
	for _, tn := range []string{authtest.North, authtest.South} {
		for _, s := range append(slices.Clone(f.env.Names[tn]), f.env.NHS[tn]...) {
			if s != "" && strings.Contains(string(r.body), s) {
				t.Errorf("the delivery contains %q of a person in %s", s, tn)
			}
		}
	}

	// It is delivered, once.
	st := alertByID(t, f.env, authtest.North, a.ID).Delivery
	if st.Attempts != 1 || !st.Delivered.Equal(start) || st.LastError != "" {
		t.Errorf("delivery state %+v, want delivered at %v in one attempt", st, start)
	}
	if p := pending(t, f.env, authtest.North, start.Add(48*time.Hour)); len(p) != 0 {
		t.Errorf("still pending after delivery: %+v", p)
	}
	f.runAt(t, start, time.Hour, 0, 0)
	if n := len(f.rec.requests()); n != 1 {
		t.Errorf("receiver got %d requests after a second run, want 1", n)
	}
}

func TestNoteIsNotSent(t *testing.T) {
	f := setup(t, ok)
	a := raise(t, f.env, authtest.North)
	// An administrator acknowledges the alert before it went out, with a
	// free-text note.
	note := "spoke to Mrs Example about her daughter's visit"
	if err := f.env.Care.AcknowledgeAlert(context.Background(), haven.SystemPrincipal(authtest.North, "test"), a.ID, note); err != nil {
		t.Fatal(err)
	}
	f.runAt(t, f.now, 0, 1, 0)
	got := f.rec.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	if strings.Contains(string(got[0].body), "Mrs Example") || strings.Contains(string(got[0].body), `"note"`) {
		t.Errorf("the acknowledgement note was sent: %s", got[0].body)
	}
}

func TestRetryWithBackoff(t *testing.T) {
	long := strings.Repeat("x", 5000) + "END-OF-BODY"
	f := setup(t, func(n int) (int, string) {
		if n <= 2 {
			return http.StatusInternalServerError, long
		}
		return http.StatusOK, "thanks"
	})
	a := raise(t, f.env, authtest.North)
	start := f.now

	f.runAt(t, start, 0, 0, 1)
	st := alertByID(t, f.env, authtest.North, a.ID).Delivery
	if st.Attempts != 1 || !st.Delivered.IsZero() || !st.Next.Equal(start.Add(30*time.Second)) {
		t.Fatalf("after one failure %+v, want attempt 1 and next at +30s", st)
	}
	if !strings.Contains(st.LastError, "500") {
		t.Errorf("LastError %q does not say what the receiver answered", st.LastError)
	}
	if n := strings.Count(st.LastError, "x"); n > 200 || strings.Contains(st.LastError, "END-OF-BODY") || len(st.LastError) > 300 {
		t.Errorf("LastError keeps %d bytes of the body (%d in all), want at most 200", n, len(st.LastError))
	}

	// Not before the backoff has passed.
	f.runAt(t, start, 29*time.Second, 0, 0)
	if n := len(f.rec.requests()); n != 1 {
		t.Fatalf("retried before the backoff: %d requests", n)
	}
	f.runAt(t, start, 30*time.Second, 0, 1)
	st = alertByID(t, f.env, authtest.North, a.ID).Delivery
	if st.Attempts != 2 || !st.Next.Equal(start.Add(30*time.Second+time.Minute)) {
		t.Fatalf("after two failures %+v, want attempt 2 and next a minute after the second", st)
	}
	f.runAt(t, start, 30*time.Second+59*time.Second, 0, 0)
	f.runAt(t, start, 30*time.Second+60*time.Second, 1, 0)

	st = alertByID(t, f.env, authtest.North, a.ID).Delivery
	if st.Attempts != 3 || !st.Delivered.Equal(start.Add(90*time.Second)) || !st.Next.IsZero() || st.LastError != "" {
		t.Errorf("after delivery %+v, want delivered at +90s in three attempts", st)
	}
	got := f.rec.requests()
	if len(got) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(got))
	}
	for _, r := range got[1:] {
		if string(r.body) != string(got[0].body) || r.header.Get("X-Haven-Alert") != a.ID ||
			r.header.Get("X-Haven-Signature") != got[0].header.Get("X-Haven-Signature") {
			t.Error("a retry differs from the first attempt")
		}
	}
}

func TestGiveUpAfterADay(t *testing.T) {
	f := setup(t, func(int) (int, string) { return http.StatusServiceUnavailable, "down" })
	a := raise(t, f.env, authtest.North)
	start := f.now

	f.runAt(t, start, 0, 0, 1)
	f.runAt(t, start, 23*time.Hour, 0, 1)
	st := alertByID(t, f.env, authtest.North, a.ID).Delivery
	if st.Attempts != 2 || st.Next.IsZero() || strings.Contains(st.LastError, "gave up") {
		t.Fatalf("gave up before a day: %+v", st)
	}
	f.runAt(t, start, 24*time.Hour, 0, 1)
	st = alertByID(t, f.env, authtest.North, a.ID).Delivery
	if st.Attempts != 3 || !st.Next.IsZero() || !st.Delivered.IsZero() || !strings.Contains(st.LastError, "gave up") {
		t.Fatalf("after a day %+v, want given up", st)
	}
	if p := pending(t, f.env, authtest.North, start.Add(72*time.Hour)); len(p) != 0 {
		t.Errorf("still pending after giving up: %+v", p)
	}
	f.runAt(t, start, 48*time.Hour, 0, 0)
	if n := len(f.rec.requests()); n != 3 {
		t.Errorf("receiver got %d requests, want 3", n)
	}
	// The alert itself stays for the administrator.
	if !alertByID(t, f.env, authtest.North, a.ID).Open() {
		t.Error("giving up acknowledged the alert")
	}
}

func TestBackoff(t *testing.T) {
	for failures, want := range map[int]time.Duration{
		0: 30 * time.Second, 1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 4: 4 * time.Minute,
		5: 8 * time.Minute, 6: 16 * time.Minute, 7: 32 * time.Minute, 8: time.Hour, 9: time.Hour, 1000: time.Hour,
	} {
		if got := Backoff(failures); got != want {
			t.Errorf("Backoff(%d) = %s, want %s", failures, got, want)
		}
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	target := newReceiver(t, ok)
	f := setup(t, nil)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.srv.URL+"/elsewhere", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	setWebhook(t, f.env, authtest.North, redirector.URL+"/haven")
	a := raise(t, f.env, authtest.North)

	f.runAt(t, f.now, 0, 0, 1)
	if n := len(target.requests()); n != 0 {
		t.Errorf("the redirect was followed: the target got %d requests", n)
	}
	st := alertByID(t, f.env, authtest.North, a.ID).Delivery
	if !strings.Contains(st.LastError, "307") || st.Next.IsZero() {
		t.Errorf("delivery state %+v, want a failure naming the redirect", st)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	f := setup(t, nil)
	setWebhook(t, f.env, authtest.North, srv.URL)
	a := raise(t, f.env, authtest.North)
	// A shorter limit than the default, so the test does not wait 10 s.
	f.d.Client = &http.Client{Timeout: 50 * time.Millisecond}

	f.runAt(t, f.now, 0, 0, 1)
	st := alertByID(t, f.env, authtest.North, a.ID).Delivery
	if !strings.Contains(st.LastError, "timed out") || st.Next.IsZero() {
		t.Errorf("delivery state %+v, want a timeout to retry", st)
	}
	if strings.Contains(st.LastError, srv.URL) {
		t.Errorf("LastError repeats the webhook URL: %q", st.LastError)
	}
}

func TestUnreachable(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	f := setup(t, nil)
	setWebhook(t, f.env, authtest.North, gone.URL+"/hook/token-in-the-path")
	a := raise(t, f.env, authtest.North)
	f.runAt(t, f.now, 0, 0, 1)
	st := alertByID(t, f.env, authtest.North, a.ID).Delivery
	if st.LastError == "" || st.Next.IsZero() {
		t.Errorf("delivery state %+v, want a failure to retry", st)
	}
	if strings.Contains(st.LastError, "token-in-the-path") {
		t.Errorf("LastError repeats the webhook URL: %q", st.LastError)
	}
}

func TestClientBounds(t *testing.T) {
	for _, given := range []*http.Client{nil, {}, {Timeout: time.Hour}, {Timeout: time.Second}} {
		d := &Deliverer{Client: given}
		c := d.client()
		if c.Timeout <= 0 || c.Timeout > Timeout {
			t.Errorf("client from %+v has timeout %s, want at most %s", given, c.Timeout, Timeout)
		}
		if c.CheckRedirect == nil || c.CheckRedirect(nil, nil) != http.ErrUseLastResponse {
			t.Errorf("client from %+v follows redirects", given)
		}
		if given != nil && given.CheckRedirect != nil {
			t.Error("the caller's client was changed")
		}
	}
}

func TestTenantWithoutWebhook(t *testing.T) {
	f := setup(t, ok) // north has a webhook, south none
	a := raise(t, f.env, authtest.South)
	if !a.Delivery.Next.IsZero() {
		t.Errorf("an alert of a tenant without a webhook is in the outbox: %+v", a.Delivery)
	}
	if p := pending(t, f.env, authtest.South, f.now.Add(time.Hour)); len(p) != 0 {
		t.Errorf("south has pending alerts without a webhook: %+v", p)
	}
	f.runAt(t, f.now, time.Hour, 0, 0)
	if n := len(f.rec.requests()); n != 0 {
		t.Errorf("north's receiver got %d requests for south's alert", n)
	}
	if st := alertByID(t, f.env, authtest.South, a.ID).Delivery; st != (care.Delivery{}) {
		t.Errorf("south's alert was touched by delivery: %+v", st)
	}
}

func TestTenantsApart(t *testing.T) {
	f := setup(t, ok)
	south := newReceiver(t, ok)
	setWebhook(t, f.env, authtest.South, south.srv.URL+"/south")
	an, as := raise(t, f.env, authtest.North), raise(t, f.env, authtest.South)
	f.runAt(t, f.now, 0, 2, 0)
	for _, c := range []struct {
		rec    *receiver
		tenant string
		id     string
	}{{f.rec, authtest.North, an.ID}, {south, authtest.South, as.ID}} {
		got := c.rec.requests()
		if len(got) != 1 || got[0].header.Get("X-Haven-Alert") != c.id || !strings.Contains(string(got[0].body), `"tenant":"`+c.tenant+`"`) {
			t.Errorf("%s's receiver got %d requests, want its own alert %s only", c.tenant, len(got), c.id)
		}
	}
}

func TestRun(t *testing.T) {
	got := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("X-Haven-Alert")
	}))
	t.Cleanup(srv.Close)
	f := setup(t, nil)
	setWebhook(t, f.env, authtest.North, srv.URL)
	a := raise(t, f.env, authtest.North)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.d.Run(ctx, time.Hour) // the first round runs at once
	}()
	select {
	case id := <-got:
		if id != a.ID {
			t.Errorf("Run delivered %q, want %q", id, a.ID)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run delivered nothing")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestClip(t *testing.T) {
	for in, want := range map[string]string{
		"":                             "",
		"  plain  ":                    "plain",
		"two\nlines\r\tand tab":        "two lines  and tab",
		"bad \xff utf8":                "bad ? utf8",
		"a" + strings.Repeat("é", 150): "a" + strings.Repeat("é", 99),
		strings.Repeat("a", 201):       strings.Repeat("a", 200),
		"<html>\x00\x1b[31m</html>":    "<html>  [31m</html>",
	} {
		if got := clip(in, 200); got != want {
			t.Errorf("clip(%q) = %q, want %q", in, got, want)
		}
	}
}

func sortedKeys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
