package smart

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
	// go-jose's own JSON package matches member names case-sensitively and
	// refuses duplicate members, so the pre-scan below reads a key exactly
	// as go-jose will when it parses the same bytes.
	"github.com/go-jose/go-jose/v4/json"
)

// Algorithms accepted for client assertions, in the order they are
// advertised. It is informational: Verify's allow-list lives inside the
// package, so changing this slice cannot widen what is accepted.
var Algorithms = []string{"RS384", "ES384"}

// allowedAlgorithms is the allow-list handed to the JWT parser.
var allowedAlgorithms = []jose.SignatureAlgorithm{jose.RS384, jose.ES384}

const (
	// minRSABits follows NIST SP 800-131A, which has disallowed shorter RSA
	// keys for new signatures since 2014.
	minRSABits = 2048
	// maxJWKSBytes and maxKeys bound the work a registration can ask for;
	// a client needs its current key and perhaps its successor.
	maxJWKSBytes = 64 << 10
	maxKeys      = 16
)

// privateMembers are the JWK members that carry private or symmetric key
// material (RFC 7518 section 6, RFC 9964 "priv"). go-jose would happily parse
// an RSA or EC private key, so these are refused before it sees the key: a
// registered set is stored and shown to administrators and must never hold a
// secret.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}

// ParseJWKS validates a registered key set: public keys only, supported
// types/sizes/curves, unique non-empty kids, at least one key. The error says
// which key is wrong and why, for the administrator registering it.
func ParseJWKS(raw []byte) (jose.JSONWebKeySet, error) {
	if len(raw) > maxJWKSBytes {
		return jose.JSONWebKeySet{}, fmt.Errorf("smart: key set is larger than %d bytes", maxJWKSBytes)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("smart: key set is not a JWK Set: %w", err)
	}
	if len(set.Keys) == 0 {
		return jose.JSONWebKeySet{}, errors.New("smart: key set has no keys")
	}
	if len(set.Keys) > maxKeys {
		return jose.JSONWebKeySet{}, fmt.Errorf("smart: key set has %d keys; at most %d are allowed", len(set.Keys), maxKeys)
	}
	keys := make([]jose.JSONWebKey, 0, len(set.Keys))
	kids := make(map[string]bool, len(set.Keys))
	for i, rk := range set.Keys {
		k, err := parseJWK(rk)
		if err != nil {
			return jose.JSONWebKeySet{}, fmt.Errorf("smart: key %d: %w", i, err)
		}
		// SMART requires kid to be unique within the set: the kid in an
		// assertion's header must pick exactly one key.
		if kids[k.KeyID] {
			return jose.JSONWebKeySet{}, fmt.Errorf("smart: key %d: duplicate kid %q", i, k.KeyID)
		}
		kids[k.KeyID] = true
		keys = append(keys, k)
	}
	return jose.JSONWebKeySet{Keys: keys}, nil
}

func parseJWK(raw []byte) (jose.JSONWebKey, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("not a JSON object: %w", err)
	}
	for _, name := range privateMembers {
		if _, ok := members[name]; ok {
			return jose.JSONWebKey{}, fmt.Errorf("contains private key material (%q); register the public key only", name)
		}
	}
	var kty string
	if v, ok := members["kty"]; ok {
		if err := json.Unmarshal(v, &kty); err != nil {
			return jose.JSONWebKey{}, errors.New("kty is not a string")
		}
	}
	if kty != "RSA" && kty != "EC" {
		return jose.JSONWebKey{}, fmt.Errorf("key type %q is not supported; use RSA (RS384) or EC P-384 (ES384)", kty)
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(raw); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("invalid key: %w", err)
	}
	if err := checkKey(k); err != nil {
		return jose.JSONWebKey{}, err
	}
	return k, nil
}

// checkKey holds a key to the rules for a registered key. Verify runs it
// again on the key it selects, because a Client's key set may have been built
// some other way than by ParseJWKS.
func checkKey(k jose.JSONWebKey) error {
	if k.KeyID == "" {
		return errors.New("kid is required")
	}
	// IsPublic is false for private and symmetric keys, whatever the JSON
	// pre-scan saw.
	if !k.Valid() || !k.IsPublic() {
		return errors.New("not a public key")
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		if bits := pub.N.BitLen(); bits < minRSABits {
			return fmt.Errorf("RSA key has %d bits; at least %d are required", bits, minRSABits)
		}
	case *ecdsa.PublicKey:
		// ES384 is defined on P-384 only (RFC 7518 section 3.4).
		if pub.Curve != elliptic.P384() {
			return errors.New("EC key must use curve P-384")
		}
	default:
		return fmt.Errorf("key type %T is not supported", k.Key)
	}
	if want := keyAlgorithm(k); k.Algorithm != "" && k.Algorithm != string(want) {
		return fmt.Errorf("alg %q does not fit this key; use %s", k.Algorithm, want)
	}
	if k.Use != "" && k.Use != "sig" {
		return fmt.Errorf("use %q is not \"sig\"", k.Use)
	}
	return nil
}

// keyAlgorithm is the one assertion algorithm a key can verify, so that an
// RSA key cannot be made to check an ECDSA signature or the reverse.
func keyAlgorithm(k jose.JSONWebKey) jose.SignatureAlgorithm {
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		return jose.RS384
	case *ecdsa.PublicKey:
		if pub.Curve == elliptic.P384() {
			return jose.ES384
		}
	}
	return ""
}
