package smart_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/havencare/haven/auth/smart"
)

const (
	tokenURL = "https://haven.example/fhir/auth/token"
	clientID = "bulk-export-1"
	rsaKID   = "rsa-2048"
	rsa3KID  = "rsa-3072"
	ecKID    = "ec-p384"
)

// t0 is the verifier's clock in every test, so time checks are exact.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type keySet struct {
	rsa2048, rsa3072, rsaOther *rsa.PrivateKey
	p384, p384Other            *ecdsa.PrivateKey
	p256                       *ecdsa.PrivateKey
	rsa1024                    *rsa.PrivateKey
}

// testKeys generates the keys once per test binary: RSA generation is slow
// and the fuzz target needs them too.
var testKeys = sync.OnceValue(func() keySet {
	mustRSA := func(bits int) *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		return k
	}
	mustEC := func(c elliptic.Curve) *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	}
	return keySet{
		rsa2048:   mustRSA(2048),
		rsa3072:   mustRSA(3072),
		rsaOther:  mustRSA(2048),
		p384:      mustEC(elliptic.P384()),
		p384Other: mustEC(elliptic.P384()),
		p256:      mustEC(elliptic.P256()),
		rsa1024:   mustRSA(1024),
	}
})

// jwksJSON marshals keys as a JWK Set the way a client would register it.
func jwksJSON(tb testing.TB, keys ...jose.JSONWebKey) []byte {
	tb.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// registeredClient is the client every Verify test authenticates as. Its
// keys go through ParseJWKS, as a real registration would.
func registeredClient(tb testing.TB) smart.Client {
	tb.Helper()
	k := testKeys()
	set, err := smart.ParseJWKS(jwksJSON(tb,
		jose.JSONWebKey{Key: &k.rsa2048.PublicKey, KeyID: rsaKID, Algorithm: "RS384", Use: "sig"},
		jose.JSONWebKey{Key: &k.rsa3072.PublicKey, KeyID: rsa3KID},
		jose.JSONWebKey{Key: &k.p384.PublicKey, KeyID: ecKID, Algorithm: "ES384"},
	))
	if err != nil {
		tb.Fatal(err)
	}
	return smart.Client{ID: clientID, Tenant: "tenant-1", Keys: set, Scopes: []string{"system/*.read"}}
}

// lookupOf serves the given clients.
func lookupOf(clients ...smart.Client) smart.LookupFunc {
	return func(_ context.Context, id string) (smart.Client, bool, error) {
		for _, c := range clients {
			if c.ID == id {
				return c, true, nil
			}
		}
		return smart.Client{}, false, nil
	}
}

func newVerifier() *smart.Verifier {
	clock := func() time.Time { return t0 }
	replay := smart.NewMemoryReplay()
	replay.Now = clock
	return &smart.Verifier{TokenURL: tokenURL, Replay: replay, Now: clock}
}

func newJTI(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// validClaims are the claims of an assertion Verify accepts at t0. Tests
// change or delete members to break exactly one rule.
func validClaims(tb testing.TB) map[string]any {
	return map[string]any{
		"iss": clientID,
		"sub": clientID,
		"aud": tokenURL,
		"exp": t0.Add(4 * time.Minute).Unix(),
		"iat": t0.Unix(),
		"jti": newJTI(tb),
	}
}

// sign makes a compact JWS with go-jose. headers are added to the protected
// header; an empty kid leaves kid out.
func sign(tb testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any, headers map[jose.HeaderKey]any) string {
	tb.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	for k, v := range headers {
		opts = opts.WithHeader(k, v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// rawJWS assembles a compact JWS from parts, for tokens go-jose refuses to
// produce (alg "none").
func rawJWS(header, payload any, sig []byte) string {
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(payload)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(p) + "." + enc(sig)
}

// asOAuthError fails the test unless err is an *smart.Error.
func asOAuthError(tb testing.TB, err error) *smart.Error {
	tb.Helper()
	var e *smart.Error
	if !errors.As(err, &e) {
		tb.Fatalf("error %v (%T) is not *smart.Error", err, err)
	}
	return e
}

// checkDescription fails the test if e's description has a character RFC 6749
// section 5.2 forbids in error_description (%x20-21 / %x23-5B / %x5D-7E).
func checkDescription(tb testing.TB, e *smart.Error) {
	tb.Helper()
	for _, c := range []byte(e.Description) {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			tb.Fatalf("description %q has a character OAuth forbids", e.Description)
		}
	}
}
