package smart_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/havencare/haven/auth/smart"
)

func TestParseJWKS(t *testing.T) {
	k := testKeys()
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaJWK := func(kid string) jose.JSONWebKey { return jose.JSONWebKey{Key: &k.rsa2048.PublicKey, KeyID: kid} }
	ecJWK := func(kid string) jose.JSONWebKey { return jose.JSONWebKey{Key: &k.p384.PublicKey, KeyID: kid} }

	tests := []struct {
		name string
		raw  []byte
		want string // "" to accept, else part of the error
	}{
		{name: "RSA 2048 and EC P-384 accepted", raw: jwksJSON(t, rsaJWK("a"), ecJWK("b"))},
		{name: "RSA 3072 with alg and use accepted", raw: jwksJSON(t, jose.JSONWebKey{Key: &k.rsa3072.PublicKey, KeyID: "a", Algorithm: "RS384", Use: "sig"})},
		{name: "EC with alg ES384 accepted", raw: jwksJSON(t, jose.JSONWebKey{Key: &k.p384.PublicKey, KeyID: "a", Algorithm: "ES384"})},

		{name: "RSA private key refused", raw: jwksJSON(t, jose.JSONWebKey{Key: k.rsa2048, KeyID: "a"}), want: "private key material"},
		{name: "EC private key refused", raw: jwksJSON(t, jose.JSONWebKey{Key: k.p384, KeyID: "a"}), want: "private key material"},
		{name: "symmetric key refused", raw: jwksJSON(t, jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "a"}), want: "private key material"},
		{name: "public key with a stray private member refused", raw: []byte(`{"keys":[` + strings.TrimSuffix(string(mustJSON(t, rsaJWK("a"))), "}") + `,"p":"AQAB"}]}`), want: "private key material"},
		{name: "RSA 1024 refused", raw: jwksJSON(t, jose.JSONWebKey{Key: &k.rsa1024.PublicKey, KeyID: "a"}), want: "1024 bits"},
		{name: "EC P-256 refused", raw: jwksJSON(t, jose.JSONWebKey{Key: &k.p256.PublicKey, KeyID: "a"}), want: "P-384"},
		{name: "EC P-521 refused", raw: jwksJSON(t, jose.JSONWebKey{Key: &p521.PublicKey, KeyID: "a"}), want: "P-384"},
		{name: "Ed25519 refused", raw: jwksJSON(t, jose.JSONWebKey{Key: edPub, KeyID: "a"}), want: "not supported"},
		{name: "duplicate kid refused", raw: jwksJSON(t, rsaJWK("same"), ecJWK("same")), want: "duplicate kid"},
		{name: "missing kid refused", raw: jwksJSON(t, rsaJWK("")), want: "kid is required"},
		{name: "RSA key with alg RS256 refused", raw: jwksJSON(t, jose.JSONWebKey{Key: &k.rsa2048.PublicKey, KeyID: "a", Algorithm: "RS256"}), want: "does not fit"},
		{name: "RSA key with alg ES384 refused", raw: jwksJSON(t, jose.JSONWebKey{Key: &k.rsa2048.PublicKey, KeyID: "a", Algorithm: "ES384"}), want: "does not fit"},
		{name: "EC key with alg RS384 refused", raw: jwksJSON(t, jose.JSONWebKey{Key: &k.p384.PublicKey, KeyID: "a", Algorithm: "RS384"}), want: "does not fit"},
		{name: "encryption key refused", raw: jwksJSON(t, jose.JSONWebKey{Key: &k.rsa2048.PublicKey, KeyID: "a", Use: "enc"}), want: "use"},
		{name: "empty set refused", raw: []byte(`{"keys":[]}`), want: "no keys"},
		{name: "no keys member refused", raw: []byte(`{}`), want: "no keys"},
		{name: "single JWK instead of a set refused", raw: mustJSON(t, rsaJWK("a")), want: "no keys"},
		{name: "not JSON refused", raw: []byte(`keys`), want: "not a JWK Set"},
		{name: "missing kty refused", raw: []byte(`{"keys":[{"kid":"a","n":"AQAB","e":"AQAB"}]}`), want: "key type"},
		{name: "duplicate member refused", raw: []byte(`{"keys":[{"kty":"RSA","kty":"EC","kid":"a"}]}`), want: "duplicate"},
		{name: "too many keys refused", raw: jwksJSON(t, manyKeys(k.p384, 17)...), want: "at most 16"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := smart.ParseJWKS(tc.raw)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("ParseJWKS: %v", err)
				}
				for _, key := range set.Keys {
					if !key.IsPublic() {
						t.Fatalf("key %s is not public", key.KeyID)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if len(set.Keys) != 0 {
				t.Fatal("error returned with keys")
			}
		})
	}
}

// The parsed set is what Verify selects from: kid and key must survive.
func TestParseJWKSKeepsKeys(t *testing.T) {
	k := testKeys()
	set, err := smart.ParseJWKS(jwksJSON(t,
		jose.JSONWebKey{Key: &k.rsa2048.PublicKey, KeyID: "r"},
		jose.JSONWebKey{Key: &k.p384.PublicKey, KeyID: "e"},
	))
	if err != nil {
		t.Fatal(err)
	}
	r := set.Key("r")
	if len(r) != 1 || !r[0].Key.(*rsa.PublicKey).Equal(&k.rsa2048.PublicKey) {
		t.Fatal("RSA key lost")
	}
	e := set.Key("e")
	if len(e) != 1 || !e[0].Key.(*ecdsa.PublicKey).Equal(&k.p384.PublicKey) {
		t.Fatal("EC key lost")
	}
}

func manyKeys(priv *ecdsa.PrivateKey, n int) []jose.JSONWebKey {
	keys := make([]jose.JSONWebKey, n)
	for i := range keys {
		keys[i] = jose.JSONWebKey{Key: &priv.PublicKey, KeyID: string(rune('a' + i))}
	}
	return keys
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
