package fhir_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/fhir"
	"github.com/havencare/haven/guard"
	"github.com/havencare/haven/web"
)

// setClientBudget sets how many people an API client of the north tenant
// may read an hour and a day before the guard stops it.
func setClientBudget(t testing.TB, env *authtest.Env, b guard.Budget) {
	t.Helper()
	p := haven.SystemPrincipal(authtest.North, "test")
	st, err := env.Care.Settings(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	st.Budgets[haven.RoleAPIClient] = b
	if err := env.Care.SetSettings(context.Background(), p, st); err != nil {
		t.Fatal(err)
	}
}

// api is Haven served over loopback, with a SMART client per tenant.
type api struct {
	*authtest.Env
	base   string
	client *http.Client
	key    *ecdsa.PrivateKey
}

func newAPI(t *testing.T) *api { return newAPIWith(t, authtest.Options{People: 3}) }

// newAPIWith serves Haven over loopback on the store opt names.
func newAPIWith(t *testing.T, opt authtest.Options) *api {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	origin := "http://localhost:" + port
	opt.Origin = origin
	env := authtest.New(t, opt)
	srv.Config.Handler = web.New(web.Config{Origin: origin, Insecure: true}, env.Auth, env.Care, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.Start()
	t.Cleanup(srv.Close)
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &api{Env: env, base: origin, client: srv.Client(), key: key}
}

// token registers a client in tenant with scopes and returns an access token.
func (a *api) token(t testing.TB, tenant string, scopes ...string) string {
	t.Helper()
	return a.clientToken(t, a.register(t, tenant, scopes...), scopes...)
}

// register registers a client in tenant with scopes and returns its id.
func (a *api) register(t testing.TB, tenant string, scopes ...string) string {
	t.Helper()
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &a.key.PublicKey, KeyID: "k1", Algorithm: "ES384", Use: "sig"}}})
	id, err := a.Auth.RegisterClient(context.Background(), haven.SystemPrincipal(tenant, "test"), "client", set, scopes)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// clientToken is a new access token for a client already registered.
func (a *api) clientToken(t testing.TB, id string, scopes ...string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: a.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	jti := make([]byte, 12)
	rand.Read(jti)
	now := a.Clock.Now()
	assertion, err := jwt.Signed(signer).Claims(map[string]any{"iss": id, "sub": id, "aud": a.base + "/fhir/auth/token",
		"exp": now.Add(4 * time.Minute).Unix(), "iat": now.Unix(), "jti": base64.RawURLEncoding.EncodeToString(jti)}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.client.PostForm(a.base+"/fhir/auth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Join(scopes, " ")},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("token: %d %v", res.StatusCode, err)
	}
	return body.AccessToken
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (a *api) do(t *testing.T, method, path, tok string, body string, headers ...string) reply {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", fhir.ContentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return send(t, a.client, req)
}

// send makes the request and reads the whole answer, decoding it when it
// is JSON.
func send(t *testing.T, client *http.Client, req *http.Request) reply {
	t.Helper()
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := reply{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// outcome checks that r is an OperationOutcome with status.
func (r reply) outcome(t *testing.T, status int) {
	t.Helper()
	if r.status != status || r.body["resourceType"] != "OperationOutcome" {
		t.Errorf("want OperationOutcome %d, got %d %s", status, r.status, r.raw)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), fhir.ContentType) {
		t.Errorf("content type %q", r.header.Get("Content-Type"))
	}
}

const newPatient = `{"resourceType":"Patient",
 "identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],
 "name":[{"use":"official","family":"Quarrington","given":["Zebedee"]}],
 "gender":"male","birthDate":"1931-02-03",
 "address":[{"use":"home","line":["17 Wistful Vista"],"city":"Otley","postalCode":"LS21 9ZZ"}]}`

func TestPatientLifecycle(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/Patient.cruds")

	md := a.do(t, "GET", "/fhir/metadata", "", "")
	if md.status != 200 || md.body["resourceType"] != "CapabilityStatement" || !strings.Contains(md.raw, "/fhir/auth/token") || !strings.Contains(md.raw, `"Patient"`) {
		t.Fatalf("metadata: %d %s", md.status, md.raw)
	}

	created := a.do(t, "POST", "/fhir/Patient", tok, newPatient)
	if created.status != 201 || created.header.Get("ETag") != `W/"1"` || !strings.Contains(created.header.Get("Location"), "/fhir/Patient/") {
		t.Fatalf("create: %d %v %s", created.status, created.header, created.raw)
	}
	id, _ := created.body["id"].(string)
	read := a.do(t, "GET", "/fhir/Patient/"+id, tok, "")
	if read.status != 200 || !strings.Contains(read.raw, "9434765919") || read.header.Get("Last-Modified") == "" {
		t.Fatalf("read: %d %s", read.status, read.raw)
	}

	updated := strings.Replace(newPatient, `"Zebedee"`, `"Zebedee","Ignatius"`, 1)
	updated = strings.Replace(updated, `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+id+`",`, 1)
	a.do(t, "PUT", "/fhir/Patient/"+id, tok, updated).outcome(t, http.StatusPreconditionRequired)
	if up := a.do(t, "PUT", "/fhir/Patient/"+id, tok, updated, "If-Match", `W/"1"`); up.status != 200 || up.header.Get("ETag") != `W/"2"` {
		t.Fatalf("update: %d %s", up.status, up.raw)
	}
	a.do(t, "PUT", "/fhir/Patient/"+id, tok, updated, "If-Match", `W/"1"`).outcome(t, http.StatusPreconditionFailed)

	for _, q := range []string{"identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919", "identifier=9434765919", "family=quarrington", "_id=" + id} {
		s := a.do(t, "GET", "/fhir/Patient?"+q, tok, "")
		if s.status != 200 || s.body["type"] != "searchset" || s.body["total"] != float64(1) || !strings.Contains(s.raw, id) {
			t.Errorf("search %s: %d %s", q, s.status, s.raw)
		}
	}
	if s := a.do(t, "GET", "/fhir/Patient?family=quarrington&colour=blue", tok, ""); s.status != 200 || !strings.Contains(s.raw, "colour") {
		t.Errorf("lenient search does not report the ignored parameter: %s", s.raw)
	}
	a.do(t, "GET", "/fhir/Patient?family=quarrington&colour=blue", tok, "", "Prefer", "handling=strict").outcome(t, http.StatusBadRequest)
}

func TestFHIRRefusals(t *testing.T) {
	a := newAPI(t)
	north := a.token(t, authtest.North, "system/Patient.cruds")
	readOnly := a.token(t, authtest.North, "system/Patient.rs")
	south := a.token(t, authtest.South, "system/Patient.cruds")
	northID := a.People[authtest.North][0]

	a.do(t, "GET", "/fhir/Patient/"+northID, "", "").outcome(t, http.StatusUnauthorized)
	a.do(t, "GET", "/fhir/Patient/"+northID, "north.not-a-token", "").outcome(t, http.StatusUnauthorized)
	// Another tenant's id is "not found", exactly like an id that does not exist.
	a.do(t, "GET", "/fhir/Patient/"+northID, south, "").outcome(t, http.StatusNotFound)
	a.do(t, "GET", "/fhir/Patient/no-such-id", south, "").outcome(t, http.StatusNotFound)
	if s := a.do(t, "GET", "/fhir/Patient?identifier="+a.NHS[authtest.North][0], south, ""); s.status != 200 || s.body["total"] != float64(0) {
		t.Errorf("south's search found north's patient: %s", s.raw)
	}
	// Scopes: read-only cannot create.
	a.do(t, "POST", "/fhir/Patient", readOnly, newPatient).outcome(t, http.StatusForbidden)
	// Media types.
	a.do(t, "GET", "/fhir/Patient/"+northID, north, "", "Accept", "text/html").outcome(t, http.StatusNotAcceptable)
	if r := a.do(t, "POST", "/fhir/Patient", north, "", "Content-Type", "text/plain"); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: %d", r.status)
	}
	// Bad input is a 400 OperationOutcome, never a 500.
	for _, body := range []string{`{`, `[]`, `{"resourceType":"Claim"}`, strings.Replace(newPatient, "9434765919", "9434765918", 1),
		strings.Replace(newPatient, "1931-02-03", "1931-02-30", 1), strings.Repeat("x", 2<<20)} {
		r := a.do(t, "POST", "/fhir/Patient", north, body)
		if r.status >= 500 || r.body["resourceType"] != "OperationOutcome" {
			t.Errorf("bad body %.40q: %d %.200s", body, r.status, r.raw)
		}
	}
	// Types Haven does not serve are named, not silently 404 HTML.
	r := a.do(t, "GET", "/fhir/Claim/1", north, "")
	r.outcome(t, http.StatusNotFound)
	if !strings.Contains(r.raw, "Claim") {
		t.Errorf("unsupported type not named: %s", r.raw)
	}
}

// TestFHIRAuditedAsClient: every API read is in the tenant's audit log
// under the client's id.
func TestFHIRAuditedAsClient(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/Patient.rs")
	id := a.People[authtest.North][1]
	if r := a.do(t, "GET", "/fhir/Patient/"+id, tok, ""); r.status != 200 {
		t.Fatalf("read: %d %s", r.status, r.raw)
	}
	var n int
	if err := a.DB.SQL().QueryRow(`SELECT count(*) FROM audit_entries WHERE tenant_id = ? AND action = 'read' AND person_id = ? AND actor_role = 'api-client' AND outcome = 'ok'`,
		authtest.North, id).Scan(&n); err != nil || n != 1 {
		t.Fatalf("audit entries for the API read: %d %v", n, err)
	}
}
