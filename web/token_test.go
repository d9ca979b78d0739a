package web_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/web"
)

// End-to-end tests of SMART on FHIR Backend Services over real HTTP: a
// registered client signs an assertion, posts it to the token endpoint and
// gets an access token the identity service then accepts; every way of
// getting one without the right key, or getting more than was allowed, is
// refused with an OAuth error, audited, and issues nothing.

const (
	rsaKID  = "rsa-2048"
	rsa3KID = "rsa-3072"
	ecKID   = "ec-p384"

	assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	allowedScope  = "system/Patient.read"
)

type tokenKeys struct {
	rsa2048, rsa3072, rsaOther *rsa.PrivateKey
	p384                       *ecdsa.PrivateKey
}

// keys are generated once per test binary: RSA generation is slow.
var keys = sync.OnceValue(func() tokenKeys {
	mustRSA := func(bits int) *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		return k
	}
	ec, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return tokenKeys{rsa2048: mustRSA(2048), rsa3072: mustRSA(3072), rsaOther: mustRSA(2048), p384: ec}
})

// tokenEnv is Haven served over HTTP on a loopback port, with the origin
// the server and the identity service are configured with.
type tokenEnv struct {
	*authtest.Env
	origin   string
	tokenURL string
	http     *http.Client
}

func newTokenEnv(t *testing.T) *tokenEnv {
	t.Helper()
	// The listener exists before the services, so the origin they are
	// configured with is the one clients really reach. It is named
	// localhost rather than 127.0.0.1 because the passkey relying party id
	// the identity service derives from the origin may not be an IP
	// address; every request below goes to this origin.
	srv := httptest.NewUnstartedServer(nil)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://localhost:" + port
	env := authtest.New(t, authtest.Options{Origin: origin, People: 1})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv.Config.Handler = web.New(web.Config{Origin: origin, Insecure: true}, env.Auth, env.Care, logger)
	srv.Start()
	t.Cleanup(srv.Close)
	if u, _ := url.Parse(srv.URL); u.Scheme+"://localhost:"+u.Port() != origin {
		t.Fatalf("server URL %q is not at the origin %q", srv.URL, origin)
	}
	// A backend client: no cookies, no Origin header, no CSRF token.
	return &tokenEnv{Env: env, origin: origin, tokenURL: origin + "/fhir/auth/token", http: srv.Client()}
}

// jwks is the public key set a client registers: both of its keys.
func jwks(t *testing.T) []byte {
	t.Helper()
	k := keys()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &k.rsa2048.PublicKey, KeyID: rsaKID, Algorithm: "RS384", Use: "sig"},
		{Key: &k.rsa3072.PublicKey, KeyID: rsa3KID, Algorithm: "RS384", Use: "sig"},
		{Key: &k.p384.PublicKey, KeyID: ecKID, Algorithm: "ES384", Use: "sig"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// register registers a client in tenant with the test key set.
func (e *tokenEnv) register(t *testing.T, tenant string, scopes ...string) string {
	t.Helper()
	if len(scopes) == 0 {
		scopes = []string{allowedScope}
	}
	id, err := e.Auth.RegisterClient(context.Background(), haven.SystemPrincipal(tenant, "test"), "test client "+tenant, jwks(t), scopes)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, tenant+"/") {
		t.Fatalf("client id %q is not in tenant %q", id, tenant)
	}
	return id
}

func randomJTI() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// claims are a valid assertion's claims for clientID at the service's time.
func (e *tokenEnv) claims(clientID string) map[string]any {
	now := e.Clock.Now()
	return map[string]any{
		"iss": clientID,
		"sub": clientID,
		"aud": e.tokenURL,
		"exp": now.Add(4 * time.Minute).Unix(),
		"iat": now.Unix(),
		"jti": randomJTI(),
	}
}

func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned builds a compact JWS by hand, with whatever header and
// signature the test chooses; go-jose will not sign with alg "none".
func unsigned(t *testing.T, header map[string]any, claims map[string]any, sig []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + "." + enc(sig)
}

func tokenForm(assertion, scope string) url.Values {
	return url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {scope},
		"client_assertion_type": {assertionType},
		"client_assertion":      {assertion},
	}
}

type tokenReply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r tokenReply) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

func (e *tokenEnv) post(t *testing.T, form url.Values) tokenReply {
	t.Helper()
	res, err := e.http.PostForm(e.tokenURL, form)
	if err != nil {
		t.Fatal(err)
	}
	return readReply(t, res)
}

func readReply(t *testing.T, res *http.Response) tokenReply {
	t.Helper()
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := tokenReply{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("status %d: body is not JSON: %v\n%s", res.StatusCode, err, raw)
		}
	}
	return r
}

// issue requests a token that must be granted, and checks the reply.
func (e *tokenEnv) issue(t *testing.T, assertion, scope string) string {
	t.Helper()
	r := e.post(t, tokenForm(assertion, scope))
	if r.status != http.StatusOK {
		t.Fatalf("token request: status %d, want 200: %.300s", r.status, r.raw)
	}
	tok := r.str("access_token")
	if tok == "" {
		t.Fatalf("no access_token in %s", r.raw)
	}
	if tt := r.str("token_type"); !strings.EqualFold(tt, "bearer") {
		t.Errorf("token_type = %q, want bearer", tt)
	}
	exp, ok := r.body["expires_in"].(float64)
	if !ok || exp <= 0 || exp > 300 {
		t.Errorf("expires_in = %v, want 1..300", r.body["expires_in"])
	}
	if got := r.str("scope"); got != scope {
		t.Errorf("scope = %q, want %q", got, scope)
	}
	if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	return tok
}

// refused checks a refusal: the status and OAuth error code wanted, a JSON
// error body, and nothing that looks like a token.
func refused(t *testing.T, r tokenReply, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d: %.300s", r.status, status, r.raw)
	}
	if r.status >= 500 {
		t.Errorf("server error for a client mistake: %.300s", r.raw)
	}
	if r.body == nil {
		t.Fatalf("status %d: not a JSON body (Content-Type %q): %.200s", r.status, r.header.Get("Content-Type"), r.raw)
	}
	if got := r.str("error"); got != code {
		t.Errorf("error = %q, want %q (%s)", got, code, r.str("error_description"))
	}
	if _, ok := r.body["access_token"]; ok {
		t.Errorf("refusal carries an access_token: %s", r.raw)
	}
	if strings.Contains(r.raw, "north.") || strings.Contains(r.raw, "south.") {
		t.Errorf("refusal body looks like it holds a bearer value: %s", r.raw)
	}
}

// auditCount counts audit entries with action, in tenant when it is not "".
func (e *tokenEnv) auditCount(t *testing.T, tenant, action string) int {
	t.Helper()
	q := `SELECT COUNT(*) FROM audit_entries WHERE action = ?`
	args := []any{action}
	if tenant != "" {
		q += ` AND tenant_id = ?`
		args = append(args, tenant)
	}
	var n int
	if err := e.DB.SQL().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// auditActor counts entries in tenant with action, outcome and actor.
func (e *tokenEnv) auditActor(t *testing.T, tenant, action, outcome, actor string) int {
	t.Helper()
	var n int
	err := e.DB.SQL().QueryRow(`SELECT COUNT(*) FROM audit_entries WHERE tenant_id = ? AND action = ? AND outcome = ? AND actor = ?`,
		tenant, action, outcome, actor).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTokenSmartConfiguration(t *testing.T) {
	e := newTokenEnv(t)
	res, err := e.http.Get(e.origin + "/fhir/.well-known/smart-configuration")
	if err != nil {
		t.Fatal(err)
	}
	r := readReply(t, res)
	if r.status != http.StatusOK || r.body == nil {
		t.Fatalf("status %d, Content-Type %q: %.300s", r.status, r.header.Get("Content-Type"), r.raw)
	}
	if got := r.str("token_endpoint"); got != e.tokenURL {
		t.Errorf("token_endpoint = %q, want %q", got, e.tokenURL)
	}
	strs := func(key string) []string {
		list, ok := r.body[key].([]any)
		if !ok {
			t.Errorf("%s is not a list: %v", key, r.body[key])
		}
		var out []string
		for _, v := range list {
			s, _ := v.(string)
			out = append(out, s)
		}
		return out
	}
	methods := strs("token_endpoint_auth_methods_supported")
	if !slices.Equal(methods, []string{"private_key_jwt", "none"}) { // none: staff apps, public clients with PKCE
		t.Errorf("token_endpoint_auth_methods_supported = %q, want [private_key_jwt none]", methods)
	}
	for _, m := range methods {
		if strings.Contains(m, "client_secret") {
			t.Errorf("a client_secret method is advertised: %q", m)
		}
	}
	if strings.Contains(r.raw, "client_secret") {
		t.Errorf("the document mentions client_secret: %s", r.raw)
	}
	algs := strs("token_endpoint_auth_signing_alg_values_supported")
	for _, want := range []string{"RS384", "ES384"} {
		if !slices.Contains(algs, want) {
			t.Errorf("signing algs %q lack %s", algs, want)
		}
	}
	for _, a := range algs {
		if a != "RS384" && a != "ES384" {
			t.Errorf("signing alg %q advertised", a)
		}
	}
	if got := strs("grant_types_supported"); !slices.Equal(got, []string{"client_credentials", "authorization_code"}) {
		t.Errorf("grant_types_supported = %q, want [client_credentials authorization_code]", got)
	}
}

// TestTokenIssue: genuine assertions with each allowed algorithm get a
// token that authenticates as the client, in its tenant, with the scopes
// granted, and only for the token's life.
func TestTokenIssue(t *testing.T) {
	e := newTokenEnv(t)
	k := keys()
	id := e.register(t, authtest.North, allowedScope, "system/Observation.rs")
	ctx := context.Background()

	cases := []struct {
		name  string
		alg   jose.SignatureAlgorithm
		key   any
		kid   string
		scope string
	}{
		{"RS384 with RSA-2048", jose.RS384, k.rsa2048, rsaKID, allowedScope},
		{"RS384 with RSA-3072", jose.RS384, k.rsa3072, rsa3KID, "system/Observation.rs"},
		{"ES384 with P-384", jose.ES384, k.p384, ecKID, allowedScope + " system/Observation.rs"},
	}
	var tokens []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			issued := e.auditActor(t, authtest.North, auth.ActionTokenIssue, "ok", id)
			tok := e.issue(t, sign(t, tc.alg, tc.key, tc.kid, e.claims(id)), tc.scope)
			if !strings.HasPrefix(tok, authtest.North+".") {
				t.Errorf("token %q does not name tenant north", tok)
			}
			g, err := e.Auth.AuthenticateToken(ctx, tok, "192.0.2.9")
			if err != nil {
				t.Fatalf("AuthenticateToken: %v", err)
			}
			if g.Principal.TenantID != authtest.North || g.Principal.Role != haven.RoleAPIClient || g.Principal.ID != id {
				t.Errorf("principal %+v, want api-client %s of north", g.Principal, id)
			}
			if want := strings.Fields(tc.scope); !slices.Equal(g.Scopes, want) {
				t.Errorf("scopes %q, want %q", g.Scopes, want)
			}
			if life := g.Expires.Sub(e.Clock.Now()); life <= 0 || life > 5*time.Minute {
				t.Errorf("token lives %v", life)
			}
			if got := e.auditActor(t, authtest.North, auth.ActionTokenIssue, "ok", id); got != issued+1 {
				t.Errorf("token-issue entries for %s in north: %d, want %d", id, got, issued+1)
			}
			tokens = append(tokens, tok)
		})
	}
	if len(tokens) != len(cases) {
		t.Fatal("not every token was issued")
	}
	e.Clock.Advance(5*time.Minute + time.Second)
	for i, tok := range tokens {
		if _, err := e.Auth.AuthenticateToken(ctx, tok, "192.0.2.9"); !errors.Is(err, auth.ErrSession) {
			t.Errorf("%s: token still authenticates after its life: %v", cases[i].name, err)
		}
	}
}

// TestTokenReplay: an assertion works once; the same jti again is refused
// even though the first use succeeded, whether the copy is the very same
// string or a new assertion that reuses the jti.
func TestTokenReplay(t *testing.T) {
	e := newTokenEnv(t)
	k := keys()
	id := e.register(t, authtest.North)

	c := e.claims(id)
	assertion := sign(t, jose.RS384, k.rsa2048, rsaKID, c)
	e.issue(t, assertion, allowedScope)

	before := e.auditCount(t, "", auth.ActionTokenRefused)
	refused(t, e.post(t, tokenForm(assertion, allowedScope)), http.StatusUnauthorized, "invalid_client")
	if got := e.auditCount(t, "", auth.ActionTokenRefused); got != before+1 {
		t.Errorf("token-refused entries: %d, want %d", got, before+1)
	}

	// Same jti, re-signed with the other key and a later iat.
	e.Clock.Advance(time.Second)
	c["iat"] = e.Clock.Now().Unix()
	refused(t, e.post(t, tokenForm(sign(t, jose.ES384, k.p384, ecKID, c), allowedScope)), http.StatusUnauthorized, "invalid_client")

	// The jti is the client's: a fresh one still works.
	e.issue(t, sign(t, jose.RS384, k.rsa2048, rsaKID, e.claims(id)), allowedScope)
}

// TestTokenAttacks: each request below is refused with an OAuth error, never
// a server error, issues no token, and leaves a token-refused audit entry.
func TestTokenAttacks(t *testing.T) {
	e := newTokenEnv(t)
	k := keys()
	north := e.register(t, authtest.North)
	south := e.register(t, authtest.South)
	_, southRow, _ := strings.Cut(south, "/")

	pubDER, err := x509.MarshalPKIXPublicKey(&k.rsa2048.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	valid := func(t *testing.T) string { return sign(t, jose.RS384, k.rsa2048, rsaKID, e.claims(north)) }
	with := func(t *testing.T, scope string, edit func(c map[string]any)) url.Values {
		c := e.claims(north)
		edit(c)
		return tokenForm(sign(t, jose.RS384, k.rsa2048, rsaKID, c), scope)
	}

	tests := []struct {
		name   string
		form   func(t *testing.T) url.Values
		status int
		code   string
		// auditIn is the tenant the refusal must be recorded in, if known.
		auditIn string
	}{
		{
			name: "expired assertion",
			form: func(t *testing.T) url.Values {
				return with(t, allowedScope, func(c map[string]any) {
					c["exp"] = e.Clock.Now().Add(-time.Minute).Unix()
					c["iat"] = e.Clock.Now().Add(-5 * time.Minute).Unix()
				})
			},
			status: 401, code: "invalid_client",
		},
		{
			name: "exp more than 5 minutes ahead",
			form: func(t *testing.T) url.Values {
				return with(t, allowedScope, func(c map[string]any) { c["exp"] = e.Clock.Now().Add(5*time.Minute + time.Second).Unix() })
			},
			status: 401, code: "invalid_client",
		},
		{
			name: "exp an hour ahead",
			form: func(t *testing.T) url.Values {
				return with(t, allowedScope, func(c map[string]any) { c["exp"] = e.Clock.Now().Add(time.Hour).Unix() })
			},
			status: 401, code: "invalid_client",
		},
		{
			name: "aud is not the token endpoint",
			form: func(t *testing.T) url.Values {
				return with(t, allowedScope, func(c map[string]any) { c["aud"] = e.origin + "/fhir" })
			},
			status: 401, code: "invalid_client",
		},
		{
			name: "unregistered key under a registered kid",
			form: func(t *testing.T) url.Values {
				return tokenForm(sign(t, jose.RS384, k.rsaOther, rsaKID, e.claims(north)), allowedScope)
			},
			status: 401, code: "invalid_client",
		},
		{
			name: "unregistered key, client_id sent",
			form: func(t *testing.T) url.Values {
				f := tokenForm(sign(t, jose.RS384, k.rsaOther, rsaKID, e.claims(north)), allowedScope)
				f.Set("client_id", north)
				return f
			},
			status: 401, code: "invalid_client", auditIn: authtest.North,
		},
		{
			name: "alg none",
			form: func(t *testing.T) url.Values {
				return tokenForm(unsigned(t, map[string]any{"alg": "none", "typ": "JWT", "kid": rsaKID}, e.claims(north), nil), allowedScope)
			},
			status: 401, code: "invalid_client",
		},
		{
			name: "alg none with the signature of a genuine assertion",
			form: func(t *testing.T) url.Values {
				parts := strings.Split(valid(t), ".")
				sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
				return tokenForm(unsigned(t, map[string]any{"alg": "none", "kid": rsaKID}, e.claims(north), sig), allowedScope)
			},
			status: 401, code: "invalid_client",
		},
		{
			name: "HS384 keyed with the public key PEM",
			form: func(t *testing.T) url.Values {
				return tokenForm(sign(t, jose.HS384, pubPEM, rsaKID, e.claims(north)), allowedScope)
			},
			status: 401, code: "invalid_client",
		},
		{
			name: "HS384 keyed with the public key DER",
			form: func(t *testing.T) url.Values {
				return tokenForm(sign(t, jose.HS384, pubDER, rsaKID, e.claims(north)), allowedScope)
			},
			status: 401, code: "invalid_client",
		},
		{
			name: "south client asserting as north (forged iss)",
			form: func(t *testing.T) url.Values {
				forged := authtest.North + "/" + southRow
				c := e.claims(forged)
				return tokenForm(sign(t, jose.RS384, k.rsa2048, rsaKID, c), allowedScope)
			},
			status: 401, code: "invalid_client",
		},
		{
			name: "south client asserting as north, client_id sent",
			form: func(t *testing.T) url.Values {
				forged := authtest.North + "/" + southRow
				f := tokenForm(sign(t, jose.ES384, k.p384, ecKID, e.claims(forged)), allowedScope)
				f.Set("client_id", forged)
				return f
			},
			status: 401, code: "invalid_client", auditIn: authtest.North,
		},
		{
			name: "sub names another client",
			form: func(t *testing.T) url.Values {
				return with(t, allowedScope, func(c map[string]any) { c["sub"] = south })
			},
			status: 401, code: "invalid_client",
		},
		{
			name: "south client's genuine assertion with north's client_id",
			form: func(t *testing.T) url.Values {
				f := tokenForm(sign(t, jose.RS384, k.rsa2048, rsaKID, e.claims(south)), allowedScope)
				f.Set("client_id", north)
				return f
			},
			status: 401, code: "invalid_client",
		},
		{
			name:   "user/ scope",
			form:   func(t *testing.T) url.Values { return tokenForm(valid(t), "user/Patient.read") },
			status: 400, code: "invalid_scope", auditIn: authtest.North,
		},
		{
			name:   "patient/ scope",
			form:   func(t *testing.T) url.Values { return tokenForm(valid(t), "patient/*.read") },
			status: 400, code: "invalid_scope", auditIn: authtest.North,
		},
		{
			name:   "user/ scope alongside an allowed one",
			form:   func(t *testing.T) url.Values { return tokenForm(valid(t), allowedScope+" user/Patient.read") },
			status: 400, code: "invalid_scope", auditIn: authtest.North,
		},
		{
			name:   "scope not allowed for the client",
			form:   func(t *testing.T) url.Values { return tokenForm(valid(t), "system/Observation.write") },
			status: 400, code: "invalid_scope", auditIn: authtest.North,
		},
		{
			name:   "wildcard wider than allowed",
			form:   func(t *testing.T) url.Values { return tokenForm(valid(t), "system/*.read") },
			status: 400, code: "invalid_scope", auditIn: authtest.North,
		},
		{
			name: "client_secret alongside a valid assertion",
			form: func(t *testing.T) url.Values {
				f := tokenForm(valid(t), allowedScope)
				f.Set("client_secret", "hunter2")
				return f
			},
			status: 400, code: "invalid_request",
		},
		{
			name: "client_secret instead of an assertion",
			form: func(t *testing.T) url.Values {
				return url.Values{"grant_type": {"client_credentials"}, "scope": {allowedScope}, "client_id": {north}, "client_secret": {"hunter2"}}
			},
			status: 400, code: "invalid_request",
		},
		{
			name: "unsupported grant_type",
			form: func(t *testing.T) url.Values {
				f := tokenForm(valid(t), allowedScope)
				f.Set("grant_type", "authorization_code") // the staff apps' grant: not for a backend client
				return f
			},
			status: 400, code: "unauthorized_client",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Refusals from one address are throttled; let the window pass
			// so that each case is answered on its merits.
			e.Clock.Advance(auth.ThrottleWindow)
			issued := e.auditCount(t, "", auth.ActionTokenIssue)
			refusals := e.auditCount(t, "", auth.ActionTokenRefused)
			var inTenant int
			if tc.auditIn != "" {
				inTenant = e.auditCount(t, tc.auditIn, auth.ActionTokenRefused)
			}

			refused(t, e.post(t, tc.form(t)), tc.status, tc.code)

			if got := e.auditCount(t, "", auth.ActionTokenIssue); got != issued {
				t.Errorf("token-issue entries went from %d to %d", issued, got)
			}
			if got := e.auditCount(t, "", auth.ActionTokenRefused); got != refusals+1 {
				t.Errorf("token-refused entries went from %d to %d, want one more", refusals, got)
			}
			if tc.auditIn != "" {
				if got := e.auditCount(t, tc.auditIn, auth.ActionTokenRefused); got != inTenant+1 {
					t.Errorf("token-refused entries in %s went from %d to %d, want one more", tc.auditIn, inTenant, got)
				}
			}
		})
	}

	// After all of that, the genuine clients still get tokens, each in its
	// own tenant.
	e.Clock.Advance(auth.ThrottleWindow)
	ctx := context.Background()
	for _, id := range []string{north, south} {
		tok := e.issue(t, sign(t, jose.ES384, k.p384, ecKID, e.claims(id)), allowedScope)
		g, err := e.Auth.AuthenticateToken(ctx, tok, "192.0.2.9")
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if tenant, _, _ := strings.Cut(id, "/"); g.Principal.TenantID != tenant || g.Principal.ID != id {
			t.Errorf("%s authenticated as %+v", id, g.Principal)
		}
	}
}

// TestTokenRemovedClient: removing a client refuses its new requests and
// stops its tokens at once.
func TestTokenRemovedClient(t *testing.T) {
	e := newTokenEnv(t)
	k := keys()
	ctx := context.Background()
	id := e.register(t, authtest.North)
	tok := e.issue(t, sign(t, jose.RS384, k.rsa2048, rsaKID, e.claims(id)), allowedScope)
	if _, err := e.Auth.AuthenticateToken(ctx, tok, "192.0.2.9"); err != nil {
		t.Fatalf("before removal: %v", err)
	}
	// An assertion signed before removal is as dead as one signed after.
	early := sign(t, jose.ES384, k.p384, ecKID, e.claims(id))

	if err := e.Auth.RemoveClient(ctx, haven.SystemPrincipal(authtest.North, "test"), id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Auth.AuthenticateToken(ctx, tok, "192.0.2.9"); !errors.Is(err, auth.ErrSession) {
		t.Errorf("token of a removed client: got %v, want ErrSession", err)
	}
	for name, a := range map[string]string{
		"signed before removal": early,
		"signed after removal":  sign(t, jose.RS384, k.rsa2048, rsaKID, e.claims(id)),
	} {
		t.Run(name, func(t *testing.T) {
			before := e.auditCount(t, "", auth.ActionTokenRefused)
			refused(t, e.post(t, tokenForm(a, allowedScope)), http.StatusUnauthorized, "invalid_client")
			if got := e.auditCount(t, "", auth.ActionTokenRefused); got != before+1 {
				t.Errorf("token-refused entries went from %d to %d, want one more", before, got)
			}
		})
	}
}

// TestTokenEndpointMethod: the token endpoint takes POST only.
func TestTokenEndpointMethod(t *testing.T) {
	e := newTokenEnv(t)
	id := e.register(t, authtest.North)
	q := tokenForm(sign(t, jose.RS384, keys().rsa2048, rsaKID, e.claims(id)), allowedScope)
	res, err := e.http.Get(e.tokenURL + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	r := readReply(t, res)
	if r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405: %.200s", r.status, r.raw)
	}
	if strings.Contains(r.raw, "access_token") {
		t.Errorf("GET answered with a token: %s", r.raw)
	}
	if n := e.auditCount(t, "", auth.ActionTokenIssue); n != 0 {
		t.Errorf("%d tokens issued", n)
	}
}

// TestTokenPartitionRewrite: a token names its tenant, but the name is not
// a key: rewriting it to another tenant yields nothing.
func TestTokenPartitionRewrite(t *testing.T) {
	e := newTokenEnv(t)
	ctx := context.Background()
	id := e.register(t, authtest.North)
	e.register(t, authtest.South) // south has clients and tokens of its own
	tok := e.issue(t, sign(t, jose.RS384, keys().rsa2048, rsaKID, e.claims(id)), allowedScope)
	secret, ok := strings.CutPrefix(tok, authtest.North+".")
	if !ok {
		t.Fatalf("token %q does not start with north.", tok)
	}
	for _, forged := range []string{authtest.South + "." + secret, haven.SupplierPartition + "." + secret, "nowhere." + secret} {
		if g, err := e.Auth.AuthenticateToken(ctx, forged, "192.0.2.9"); !errors.Is(err, auth.ErrSession) {
			t.Errorf("%q: got %+v, %v; want ErrSession", forged[:strings.IndexByte(forged, '.')], g.Principal, err)
		}
	}
	if _, err := e.Auth.AuthenticateToken(ctx, tok, "192.0.2.9"); err != nil {
		t.Errorf("the genuine token no longer works: %v", err)
	}
}

// TestTokenRefusalsAreThrottled: a stream of bad requests from one address
// is slowed and then stopped, and the stopped ones are not written to the
// audit log, so nobody can bury a tenant's real events under refusals.
func TestTokenRefusalsAreThrottled(t *testing.T) {
	e := newTokenEnv(t)
	bad := url.Values{"grant_type": {"client_credentials"}, "scope": {"system/Patient.read"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"not.a.jwt"}}
	before := e.auditCount(t, "", auth.ActionTokenRefused)
	throttled := 0
	for i := 0; i < 30; i++ {
		resp := e.post(t, bad)
		if resp.status == http.StatusTooManyRequests {
			throttled++
			// The client is told when to try again (RFC 6585 section 4).
			if s, err := strconv.Atoi(resp.header.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("429 with Retry-After %q", resp.header.Get("Retry-After"))
			}
		}
	}
	logged := e.auditCount(t, "", auth.ActionTokenRefused) - before
	if throttled == 0 {
		t.Fatal("30 refused requests in a row were never throttled")
	}
	if logged+throttled != 30 || logged > auth.AccountLimit+1 {
		t.Fatalf("%d refusals logged and %d throttled of 30", logged, throttled)
	}
}
