package smart_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/havencare/haven/auth/smart"
)

// with returns valid claims changed by edit.
func with(tb testing.TB, edit func(c map[string]any)) map[string]any {
	c := validClaims(tb)
	edit(c)
	return c
}

func TestVerify(t *testing.T) {
	k := testKeys()
	rsaPub := &k.rsa2048.PublicKey
	der, err := x509.MarshalPKIXPublicKey(rsaPub)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	tests := []struct {
		name     string
		token    func(t *testing.T) string
		clientID string // form client_id
		want     string // "" to accept, else part of the error description
	}{
		{
			name:  "RS384 accepted",
			token: func(t *testing.T) string { return sign(t, jose.RS384, k.rsa2048, rsaKID, validClaims(t), nil) },
		},
		{
			name:  "RS384 with 3072-bit key accepted",
			token: func(t *testing.T) string { return sign(t, jose.RS384, k.rsa3072, rsa3KID, validClaims(t), nil) },
		},
		{
			name:  "ES384 accepted",
			token: func(t *testing.T) string { return sign(t, jose.ES384, k.p384, ecKID, validClaims(t), nil) },
		},
		{
			name:     "matching form client_id accepted",
			token:    func(t *testing.T) string { return sign(t, jose.RS384, k.rsa2048, rsaKID, validClaims(t), nil) },
			clientID: clientID,
		},
		{
			name: "aud as array containing token URL accepted",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) {
					c["aud"] = []string{"https://other.example/", tokenURL}
				}), nil)
			},
		},
		{
			name: "exp exactly 5 minutes ahead accepted",
			token: func(t *testing.T) string {
				return sign(t, jose.ES384, k.p384, ecKID, with(t, func(c map[string]any) { c["exp"] = t0.Add(5 * time.Minute).Unix() }), nil)
			},
		},
		{
			name: "exp one second ahead accepted",
			token: func(t *testing.T) string {
				return sign(t, jose.ES384, k.p384, ecKID, with(t, func(c map[string]any) { c["exp"] = t0.Add(time.Second).Unix() }), nil)
			},
		},
		{
			name: "nbf and iat within clock skew accepted",
			token: func(t *testing.T) string {
				return sign(t, jose.ES384, k.p384, ecKID, with(t, func(c map[string]any) {
					c["nbf"] = t0.Add(60 * time.Second).Unix()
					c["iat"] = t0.Add(60 * time.Second).Unix()
				}), nil)
			},
		},
		{
			name: "no typ header accepted",
			token: func(t *testing.T) string {
				signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS384, Key: k.rsa2048},
					(&jose.SignerOptions{}).WithHeader("kid", rsaKID))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := json.Marshal(validClaims(t))
				jws, err := signer.Sign(b)
				if err != nil {
					t.Fatal(err)
				}
				s, err := jws.CompactSerialize()
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
		},

		// Algorithms.
		{
			name: "alg none refused",
			token: func(t *testing.T) string {
				return rawJWS(map[string]string{"alg": "none", "typ": "JWT", "kid": rsaKID}, validClaims(t), nil)
			},
			want: "algorithm not allowed",
		},
		{
			name: "HS384 keyed with the RSA public key (PEM) refused",
			token: func(t *testing.T) string {
				return sign(t, jose.HS384, pemBytes, rsaKID, validClaims(t), nil)
			},
			want: "algorithm not allowed",
		},
		{
			name: "HS384 keyed with the RSA public key (DER) refused",
			token: func(t *testing.T) string {
				return sign(t, jose.HS384, der, rsaKID, validClaims(t), nil)
			},
			want: "algorithm not allowed",
		},
		{
			name:  "RS256 with the registered key refused",
			token: func(t *testing.T) string { return sign(t, jose.RS256, k.rsa2048, rsaKID, validClaims(t), nil) },
			want:  "algorithm not allowed",
		},
		{
			name:  "PS384 with the registered key refused",
			token: func(t *testing.T) string { return sign(t, jose.PS384, k.rsa2048, rsaKID, validClaims(t), nil) },
			want:  "algorithm not allowed",
		},
		{
			name:  "ES256 refused",
			token: func(t *testing.T) string { return sign(t, jose.ES256, k.p256, ecKID, validClaims(t), nil) },
			want:  "algorithm not allowed",
		},
		{
			name:  "ES384 naming an RSA key refused",
			token: func(t *testing.T) string { return sign(t, jose.ES384, k.p384, rsaKID, validClaims(t), nil) },
			want:  "algorithm does not match the registered key",
		},
		{
			name:  "RS384 naming an EC key refused",
			token: func(t *testing.T) string { return sign(t, jose.RS384, k.rsa2048, ecKID, validClaims(t), nil) },
			want:  "algorithm does not match the registered key",
		},

		// Keys and signatures.
		{
			name:  "unregistered RSA key under a registered kid refused",
			token: func(t *testing.T) string { return sign(t, jose.RS384, k.rsaOther, rsaKID, validClaims(t), nil) },
			want:  "invalid assertion signature",
		},
		{
			name:  "unregistered EC key under a registered kid refused",
			token: func(t *testing.T) string { return sign(t, jose.ES384, k.p384Other, ecKID, validClaims(t), nil) },
			want:  "invalid assertion signature",
		},
		{
			name:  "unknown kid refused",
			token: func(t *testing.T) string { return sign(t, jose.RS384, k.rsa2048, "rsa-old", validClaims(t), nil) },
			want:  "unknown key id",
		},
		{
			name:  "missing kid refused",
			token: func(t *testing.T) string { return sign(t, jose.RS384, k.rsa2048, "", validClaims(t), nil) },
			want:  "must include kid",
		},
		{
			name: "tampered payload refused",
			token: func(t *testing.T) string {
				s := sign(t, jose.RS384, k.rsa2048, rsaKID, validClaims(t), nil)
				parts := strings.Split(s, ".")
				payload, err := base64.RawURLEncoding.DecodeString(parts[1])
				if err != nil {
					t.Fatal(err)
				}
				var c map[string]any
				if err := json.Unmarshal(payload, &c); err != nil {
					t.Fatal(err)
				}
				c["jti"] = "forged"
				b, _ := json.Marshal(c)
				parts[1] = base64.RawURLEncoding.EncodeToString(b)
				return strings.Join(parts, ".")
			},
			want: "invalid assertion signature",
		},
		{
			name: "truncated signature refused",
			token: func(t *testing.T) string {
				s := sign(t, jose.ES384, k.p384, ecKID, validClaims(t), nil)
				return s[:len(s)-4]
			},
			want: "invalid assertion signature",
		},

		// Headers.
		{
			name: "typ of an access token refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, validClaims(t), map[jose.HeaderKey]any{"typ": "at+jwt"})
			},
			want: "typ must be JWT",
		},
		{
			name: "jku header refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, validClaims(t), map[jose.HeaderKey]any{"jku": "https://attacker.example/jwks"})
			},
			want: "jku",
		},

		// Claims.
		{
			name: "unknown client refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { c["iss"], c["sub"] = "other", "other" }), nil)
			},
			want: "unknown client",
		},
		{
			name: "missing iss refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { delete(c, "iss") }), nil)
			},
			want: "iss is required",
		},
		{
			name: "iss != sub refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { c["sub"] = "someone-else" }), nil)
			},
			want: "iss and sub",
		},
		{
			name: "missing sub refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { delete(c, "sub") }), nil)
			},
			want: "iss and sub",
		},
		{
			name:     "form client_id different from iss refused",
			token:    func(t *testing.T) string { return sign(t, jose.RS384, k.rsa2048, rsaKID, validClaims(t), nil) },
			clientID: "another-client",
			want:     "client_id does not match",
		},
		{
			name: "wrong aud refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { c["aud"] = "https://haven.example/fhir" }), nil)
			},
			want: "aud must be the token endpoint URL",
		},
		{
			name: "aud with trailing slash refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { c["aud"] = tokenURL + "/" }), nil)
			},
			want: "aud must be the token endpoint URL",
		},
		{
			name: "aud array without token URL refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { c["aud"] = []string{"https://a.example", "https://b.example"} }), nil)
			},
			want: "aud must be the token endpoint URL",
		},
		{
			name: "missing aud refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { delete(c, "aud") }), nil)
			},
			want: "aud must be the token endpoint URL",
		},
		{
			name: "missing exp refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { delete(c, "exp") }), nil)
			},
			want: "exp is required",
		},
		{
			name: "expired refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { c["exp"] = t0.Add(-time.Minute).Unix() }), nil)
			},
			want: "assertion expired",
		},
		{
			name: "exp equal to now refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { c["exp"] = t0.Unix() }), nil)
			},
			want: "assertion expired",
		},
		{
			name: "exp 5 minutes and 1 second ahead refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { c["exp"] = t0.Add(5*time.Minute + time.Second).Unix() }), nil)
			},
			want: "more than 5m0s ahead",
		},
		{
			name: "exp an hour ahead refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { c["exp"] = t0.Add(time.Hour).Unix() }), nil)
			},
			want: "more than 5m0s ahead",
		},
		{
			name: "nbf beyond clock skew refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { c["nbf"] = t0.Add(61 * time.Second).Unix() }), nil)
			},
			want: "not yet valid",
		},
		{
			name: "iat beyond clock skew refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { c["iat"] = t0.Add(61 * time.Second).Unix() }), nil)
			},
			want: "iat is in the future",
		},
		{
			name: "missing jti refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { delete(c, "jti") }), nil)
			},
			want: "jti is required",
		},
		{
			name: "empty jti refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { c["jti"] = "" }), nil)
			},
			want: "jti is required",
		},
		{
			name: "overlong jti refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { c["jti"] = strings.Repeat("j", 257) }), nil)
			},
			want: "jti is too long",
		},
		{
			name: "exp as a string refused",
			token: func(t *testing.T) string {
				return sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(c map[string]any) { c["exp"] = "tomorrow" }), nil)
			},
			want: "malformed",
		},

		// Not a JWS at all.
		{name: "empty assertion refused", token: func(*testing.T) string { return "" }, want: "client_assertion is required"},
		{name: "garbage refused", token: func(*testing.T) string { return "not-a-jwt" }, want: "malformed"},
		{
			name: "JSON serialization refused",
			token: func(t *testing.T) string {
				signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS384, Key: k.rsa2048},
					(&jose.SignerOptions{}).WithHeader("kid", rsaKID))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := json.Marshal(validClaims(t))
				jws, err := signer.Sign(b)
				if err != nil {
					t.Fatal(err)
				}
				return jws.FullSerialize()
			},
			want: "malformed",
		},
	}

	client := registeredClient(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier()
			req := smart.Request{ClientID: tc.clientID, Assertion: tc.token(t), Scope: "system/Patient.read"}
			got, err := v.Verify(context.Background(), req, lookupOf(client))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got.ID != clientID || got.Tenant != "tenant-1" {
					t.Fatalf("Verify returned client %+v", got)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted; want refusal %q", tc.want)
			}
			e := asOAuthError(t, err)
			if e.Code != smart.CodeInvalidClient || e.Status != 401 {
				t.Errorf("got %s/%d, want invalid_client/401", e.Code, e.Status)
			}
			if !strings.Contains(e.Description, tc.want) {
				t.Errorf("description %q does not contain %q", e.Description, tc.want)
			}
			if got.ID != "" {
				t.Errorf("refusal returned client %q", got.ID)
			}
		})
	}
}

func TestVerifyReplay(t *testing.T) {
	k := testKeys()
	client := registeredClient(t)
	v := newVerifier()
	ctx := context.Background()
	assertion := sign(t, jose.RS384, k.rsa2048, rsaKID, validClaims(t), nil)
	req := smart.Request{Assertion: assertion, Scope: "system/Patient.read"}

	if _, err := v.Verify(ctx, req, lookupOf(client)); err != nil {
		t.Fatalf("first use: %v", err)
	}
	_, err := v.Verify(ctx, req, lookupOf(client))
	if err == nil {
		t.Fatal("second use of the same assertion was accepted")
	}
	if e := asOAuthError(t, err); e.Code != smart.CodeInvalidClient || e.Description != "assertion replayed" {
		t.Fatalf("second use: got %v", e)
	}

	// A fresh assertion with the same jti is a replay too: the jti, not the
	// token string, identifies the assertion.
	c := validClaims(t)
	c["jti"] = "fixed-jti"
	if _, err := v.Verify(ctx, smart.Request{Assertion: sign(t, jose.RS384, k.rsa2048, rsaKID, c, nil)}, lookupOf(client)); err != nil {
		t.Fatalf("first fixed-jti: %v", err)
	}
	c["iat"] = t0.Add(time.Second).Unix()
	if _, err := v.Verify(ctx, smart.Request{Assertion: sign(t, jose.ES384, k.p384, ecKID, c, nil)}, lookupOf(client)); err == nil {
		t.Fatal("second assertion reusing a jti was accepted")
	}

	// jti is per client: another client may use the same value.
	other := registeredClient(t)
	other.ID = "other-client"
	oc := validClaims(t)
	oc["iss"], oc["sub"], oc["jti"] = other.ID, other.ID, "fixed-jti"
	if _, err := v.Verify(ctx, smart.Request{Assertion: sign(t, jose.RS384, k.rsa2048, rsaKID, oc, nil)}, lookupOf(client, other)); err != nil {
		t.Fatalf("other client with the same jti: %v", err)
	}
}

// An assertion refused for another reason must not use up its jti: Seen is
// called last, so an attacker cannot burn a client's jti values with forged
// assertions, and only valid assertions take room in the store.
func TestVerifyRecordsOnlyValidAssertions(t *testing.T) {
	k := testKeys()
	client := registeredClient(t)
	v := newVerifier()
	replay := &countingReplay{inner: v.Replay}
	v.Replay = replay
	ctx := context.Background()

	c := validClaims(t)
	forged := sign(t, jose.RS384, k.rsaOther, rsaKID, c, nil)
	if _, err := v.Verify(ctx, smart.Request{Assertion: forged}, lookupOf(client)); err == nil {
		t.Fatal("forged assertion accepted")
	}
	wrongAud := sign(t, jose.RS384, k.rsa2048, rsaKID, with(t, func(m map[string]any) { m["aud"] = "x"; m["jti"] = c["jti"] }), nil)
	if _, err := v.Verify(ctx, smart.Request{Assertion: wrongAud}, lookupOf(client)); err == nil {
		t.Fatal("wrong aud accepted")
	}
	if replay.calls != 0 {
		t.Fatalf("Seen called %d times for refused assertions", replay.calls)
	}
	if _, err := v.Verify(ctx, smart.Request{Assertion: sign(t, jose.RS384, k.rsa2048, rsaKID, c, nil)}, lookupOf(client)); err != nil {
		t.Fatalf("genuine assertion after forgeries with its jti: %v", err)
	}
	if replay.calls != 1 {
		t.Fatalf("Seen called %d times, want 1", replay.calls)
	}
}

type countingReplay struct {
	inner smart.Replay
	calls int
}

func (r *countingReplay) Seen(clientID, jti string, exp time.Time) (bool, error) {
	r.calls++
	return r.inner.Seen(clientID, jti, exp)
}

type failingReplay struct{}

func (failingReplay) Seen(string, string, time.Time) (bool, error) {
	return false, errors.New("store down")
}

// Store failures and misconfiguration are server errors, never *Error, and
// never an acceptance.
func TestVerifyServerErrors(t *testing.T) {
	k := testKeys()
	client := registeredClient(t)
	ctx := context.Background()
	assertion := func() smart.Request {
		return smart.Request{Assertion: sign(t, jose.RS384, k.rsa2048, rsaKID, validClaims(t), nil)}
	}
	storeDown := errors.New("database unavailable")

	tests := []struct {
		name   string
		v      *smart.Verifier
		lookup smart.LookupFunc
		is     error
	}{
		{
			name: "lookup fails",
			v:    newVerifier(),
			lookup: func(context.Context, string) (smart.Client, bool, error) {
				return smart.Client{}, false, storeDown
			},
			is: storeDown,
		},
		{
			name: "lookup returns a different client",
			v:    newVerifier(),
			lookup: func(context.Context, string) (smart.Client, bool, error) {
				c := client
				c.ID = "someone-else"
				return c, true, nil
			},
		},
		{name: "replay store fails", v: func() *smart.Verifier { v := newVerifier(); v.Replay = failingReplay{}; return v }(), lookup: lookupOf(client)},
		{name: "no TokenURL", v: func() *smart.Verifier { v := newVerifier(); v.TokenURL = ""; return v }(), lookup: lookupOf(client)},
		{name: "no Replay", v: func() *smart.Verifier { v := newVerifier(); v.Replay = nil; return v }(), lookup: lookupOf(client)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Verify(ctx, assertion(), tc.lookup)
			if err == nil {
				t.Fatal("Verify accepted")
			}
			var e *smart.Error
			if errors.As(err, &e) {
				t.Fatalf("got OAuth error %v, want a server error", e)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v does not wrap %v", err, tc.is)
			}
		})
	}
}

// A key set that did not come through ParseJWKS is checked again when used.
func TestVerifyRechecksRegisteredKey(t *testing.T) {
	k := testKeys()
	weak := smart.Client{ID: clientID, Keys: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &k.rsa1024.PublicKey, KeyID: "weak"},
		{Key: &k.rsa2048.PublicKey, KeyID: "dup"},
		{Key: &k.rsa2048.PublicKey, KeyID: "dup"},
		{Key: k.rsa2048, KeyID: "private"},
	}}}
	for kid, want := range map[string]string{
		"weak":    "registered key is not usable",
		"private": "registered key is not usable",
		"dup":     "ambiguous key id",
	} {
		signer := k.rsa2048
		if kid == "weak" {
			signer = k.rsa1024
		}
		_, err := newVerifier().Verify(context.Background(),
			smart.Request{Assertion: sign(t, jose.RS384, signer, kid, validClaims(t), nil)}, lookupOf(weak))
		if err == nil {
			t.Fatalf("kid %s: accepted", kid)
		}
		if e := asOAuthError(t, err); e.Description != want {
			t.Errorf("kid %s: got %q, want %q", kid, e.Description, want)
		}
	}
}

func TestVerifyMaxAssertionLife(t *testing.T) {
	k := testKeys()
	v := newVerifier()
	v.MaxAssertionLife = 2 * time.Minute
	c := validClaims(t)
	c["exp"] = t0.Add(3 * time.Minute).Unix()
	_, err := v.Verify(context.Background(), smart.Request{Assertion: sign(t, jose.RS384, k.rsa2048, rsaKID, c, nil)}, lookupOf(registeredClient(t)))
	if err == nil || !strings.Contains(asOAuthError(t, err).Description, "more than 2m0s ahead") {
		t.Fatalf("exp 3m ahead with a 2m limit: got %v", err)
	}
}

func TestAlgorithms(t *testing.T) {
	if strings.Join(smart.Algorithms, ",") != "RS384,ES384" {
		t.Fatalf("Algorithms = %v", smart.Algorithms)
	}
}
