package smart_test

import (
	"context"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/havencare/haven/auth/smart"
)

// alwaysSeen makes every assertion a replay, so that even the genuine seed
// below runs the whole of Verify and still must come back as *Error.
type alwaysSeen struct{}

func (alwaysSeen) Seen(string, string, time.Time) (bool, error) { return true, nil }

// FuzzVerify feeds arbitrary assertions to Verify. Nothing may panic, nothing
// may be accepted, and every refusal must be an invalid_client *Error whose
// description is legal as an OAuth error_description.
func FuzzVerify(f *testing.F) {
	k := testKeys()
	client := registeredClient(f)
	genuine := sign(f, jose.RS384, k.rsa2048, rsaKID, validClaims(f), nil)
	f.Add(genuine)
	f.Add(sign(f, jose.ES384, k.p384, ecKID, validClaims(f), nil))
	f.Add(sign(f, jose.RS256, k.rsa2048, rsaKID, validClaims(f), nil))
	f.Add(sign(f, jose.HS384, []byte("0123456789abcdef0123456789abcdef0123456789abcdef"), rsaKID, validClaims(f), nil))
	f.Add(rawJWS(map[string]string{"alg": "none", "kid": rsaKID}, validClaims(f), nil))
	f.Add(genuine[:len(genuine)/2])
	f.Add(strings.Replace(genuine, ".", "..", 1))
	f.Add("")
	f.Add("..")
	f.Add("e30.e30.")
	f.Add(`{"payload":"e30","signatures":[]}`)

	v := &smart.Verifier{TokenURL: tokenURL, Replay: alwaysSeen{}, Now: func() time.Time { return t0 }}
	f.Fuzz(func(t *testing.T, assertion string) {
		got, err := v.Verify(context.Background(), smart.Request{Assertion: assertion}, lookupOf(client))
		if err == nil {
			t.Fatalf("accepted %q as %q", assertion, got.ID)
		}
		e := asOAuthError(t, err)
		if e.Code != smart.CodeInvalidClient || e.Status != 401 {
			t.Fatalf("got %s/%d", e.Code, e.Status)
		}
		checkDescription(t, e)
		// The genuine seed must have passed every check but the last, or
		// this target would not be exercising the whole of Verify.
		if assertion == genuine && e.Description != "assertion replayed" {
			t.Fatalf("genuine assertion refused with %q", e.Description)
		}
	})
}
