package smart

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	// DefaultAssertionLife is how far ahead of now an assertion's exp may
	// be: SMART says "no more than five minutes in the future".
	DefaultAssertionLife = 5 * time.Minute
	// clockSkew is how far in the future nbf and iat may be. It only ever
	// accepts an assertion a little early; see the package documentation.
	clockSkew = 60 * time.Second
	// maxJTIBytes bounds what one assertion can make the replay store keep.
	maxJTIBytes = 256
)

// Client is a registered backend client as the verifier needs it.
type Client struct {
	ID     string
	Tenant string
	// Keys is the client's registered key set, normally from ParseJWKS.
	Keys jose.JSONWebKeySet
	// Scopes the tenant admin allowed, e.g. "system/Patient.read",
	// "system/*.rs". See GrantScopes.
	Scopes []string
}

// Replay remembers assertion ids. Seen records (clientID, jti) until exp and
// reports whether it had already been recorded (then the assertion must be
// refused). Must be safe for concurrent use. Recording and checking must be
// one atomic step, or two copies of an assertion sent at once could both pass.
type Replay interface {
	Seen(clientID, jti string, exp time.Time) (bool, error)
}

// Verifier authenticates token requests by their client assertion.
type Verifier struct {
	// TokenURL is the exact aud expected: the token endpoint's absolute URL
	// as published in Configuration.TokenEndpoint.
	TokenURL string
	// Replay must judge expiry by the same clock as Now (see MemoryReplay.Now).
	Replay Replay
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxAssertionLife bounds exp - now; 0 means DefaultAssertionLife.
	MaxAssertionLife time.Duration
}

// LookupFunc finds a registered client by id. found is false for a client
// that does not exist (or is disabled); err is for a store that failed.
type LookupFunc func(ctx context.Context, clientID string) (c Client, found bool, err error)

// Verify checks the assertion in req and returns the client it authenticates.
//
// The assertion is parsed with RS384 and ES384 as the only algorithms; its
// unverified iss names the client to look up; the signature is verified with
// the client's key chosen by kid; then the claims are checked (iss == sub ==
// client id, aud, exp window, nbf, iat, jti) and, last, the jti is recorded so
// that only assertions otherwise valid take room in the replay store.
//
// Client-caused failures are *Error with code invalid_client, as SMART
// requires. Any other error comes from lookup, the replay store or the
// Verifier's configuration and should be answered with a 500.
func (v *Verifier) Verify(ctx context.Context, req Request, lookup LookupFunc) (Client, error) {
	// A misconfigured verifier must refuse everything, not skip a check.
	if v.TokenURL == "" {
		return Client{}, errors.New("smart: Verifier.TokenURL is not set")
	}
	if v.Replay == nil {
		return Client{}, errors.New("smart: Verifier.Replay is not set")
	}
	if req.Assertion == "" {
		return Client{}, invalidClient("client_assertion is required")
	}
	if len(req.Assertion) > maxAssertionBytes {
		return Client{}, invalidClient("malformed client assertion")
	}

	tok, err := jwt.ParseSigned(req.Assertion, allowedAlgorithms)
	if err != nil {
		var algErr *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &algErr) {
			return Client{}, invalidClient("algorithm not allowed; use RS384 or ES384")
		}
		return Client{}, invalidClient("malformed client assertion")
	}
	// Compact serialization always carries exactly one signature; anything
	// else is not the token this code was written for.
	if len(tok.Headers) != 1 {
		return Client{}, invalidClient("malformed client assertion")
	}
	header := tok.Headers[0]
	if err := checkHeader(header); err != nil {
		return Client{}, err
	}

	// The client is found by the claims before they are verified: which
	// keys to verify with depends on who the assertion claims to be from.
	// Nothing read here is trusted until the signature has been checked.
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return Client{}, invalidClient("malformed client assertion")
	}
	if unverified.Issuer == "" {
		return Client{}, invalidClient("assertion iss is required")
	}
	client, found, err := lookup(ctx, unverified.Issuer)
	if err != nil {
		return Client{}, fmt.Errorf("smart: looking up client: %w", err)
	}
	if !found {
		return Client{}, invalidClient("unknown client")
	}
	if client.ID != unverified.Issuer {
		return Client{}, fmt.Errorf("smart: lookup for client %q returned client %q", unverified.Issuer, client.ID)
	}

	key, err := selectKey(client.Keys, header)
	if err != nil {
		return Client{}, err
	}
	var claims jwt.Claims
	if err := tok.Claims(key.Key, &claims); err != nil {
		return Client{}, invalidClient("invalid assertion signature")
	}
	if err := v.checkClaims(claims, client.ID, req.ClientID); err != nil {
		return Client{}, err
	}

	seen, err := v.Replay.Seen(client.ID, claims.ID, claims.Expiry.Time())
	if err != nil {
		return Client{}, fmt.Errorf("smart: replay check: %w", err)
	}
	if seen {
		return Client{}, invalidClient("assertion replayed")
	}
	return client, nil
}

// checkHeader applies the rules on the JOSE header that go-jose leaves to
// the application.
//
// It and the other helpers return error rather than *Error so that a nil
// *Error can never turn into a non-nil error in Verify.
func checkHeader(h jose.Header) error {
	if h.KeyID == "" {
		return invalidClient("assertion header must include kid")
	}
	// typ is optional here although SMART lists it, since it is advisory in
	// RFC 7519; but a typ naming another kind of token (an access token,
	// "at+jwt") means this is not an assertion and is refused.
	if typ, ok := h.ExtraHeaders[jose.HeaderType]; ok {
		if s, _ := typ.(string); !strings.EqualFold(s, "JWT") {
			return invalidClient("assertion typ must be JWT")
		}
	}
	// SMART: a jku that is not the client's registered JWKS URL makes
	// verification fail. Clients here register a key set, not a URL, so no
	// jku can match.
	if _, ok := h.ExtraHeaders["jku"]; ok {
		return invalidClient("jku header not accepted; keys must be registered")
	}
	// crit and b64 change how the signature is computed (RFC 7797); an
	// assertion has no use for them, so they are refused rather than
	// interpreted.
	for _, name := range []jose.HeaderKey{"crit", "b64"} {
		if _, ok := h.ExtraHeaders[name]; ok {
			return invalidClient("unsupported header " + string(name))
		}
	}
	return nil
}

// selectKey picks the one registered key the assertion names and checks it
// can verify the assertion's algorithm. SMART: filter by kid and by a kty
// consistent with alg; no match, or more than one, fails.
func selectKey(set jose.JSONWebKeySet, h jose.Header) (jose.JSONWebKey, error) {
	candidates := set.Key(h.KeyID)
	switch len(candidates) {
	case 0:
		return jose.JSONWebKey{}, invalidClient("unknown key id")
	case 1:
	default:
		return jose.JSONWebKey{}, invalidClient("ambiguous key id")
	}
	key := candidates[0]
	if checkKey(key) != nil {
		return jose.JSONWebKey{}, invalidClient("registered key is not usable")
	}
	// Binding the algorithm to the key type is what stops algorithm
	// confusion: the header alg is attacker-chosen, the key is not.
	if keyAlgorithm(key) != jose.SignatureAlgorithm(h.Algorithm) {
		return jose.JSONWebKey{}, invalidClient("algorithm does not match the registered key")
	}
	return key, nil
}

// checkClaims checks verified claims against the client and the clock.
func (v *Verifier) checkClaims(c jwt.Claims, clientID, formClientID string) error {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	life := v.MaxAssertionLife
	if life <= 0 {
		life = DefaultAssertionLife
	}
	switch {
	case c.Issuer != clientID || c.Subject != clientID:
		return invalidClient("iss and sub must both be the client_id")
	case formClientID != "" && formClientID != clientID:
		return invalidClient("client_id does not match the assertion")
	case !c.Audience.Contains(v.TokenURL):
		return invalidClient("aud must be the token endpoint URL")
	case c.Expiry == nil:
		return invalidClient("assertion exp is required")
	case !c.Expiry.Time().After(now):
		return invalidClient("assertion expired")
	case c.Expiry.Time().After(now.Add(life)):
		return invalidClient(fmt.Sprintf("assertion exp is more than %s ahead", life))
	case c.NotBefore != nil && c.NotBefore.Time().After(now.Add(clockSkew)):
		return invalidClient("assertion not yet valid")
	case c.IssuedAt != nil && c.IssuedAt.Time().After(now.Add(clockSkew)):
		return invalidClient("assertion iat is in the future")
	case c.ID == "":
		return invalidClient("assertion jti is required")
	case len(c.ID) > maxJTIBytes:
		return invalidClient("assertion jti is too long")
	}
	return nil
}
