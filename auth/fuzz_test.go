package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth"
	"github.com/havencare/haven/auth/authtest"
)

// FuzzBearerValues: any cookie, access token or invitation token a client
// sends is either a live one or refused with the service's own error;
// never a panic, never another tenant's session.
func FuzzBearerValues(f *testing.F) {
	e := authtest.New(f, authtest.Options{People: 1})
	a := e.EnrolTOTP(f, authtest.North, "pat@north.example", haven.RoleCarer)
	live := e.SignIn(f, a)
	for _, s := range []string{"", ".", "north.", "north." + live, live, live[:len(live)-1] + "A", "_supplier.x", "../..", "north.north.AAAA", "\x00.\xff"} {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, tok string) {
		sess, err := e.Auth.Authenticate(ctx, tok, auth.ClientInfo{})
		if err == nil {
			if tok != live || sess.Account.ID != a.ID {
				t.Fatalf("token %q authenticated as %s", tok, sess.Account.ID)
			}
		} else if !errors.Is(err, auth.ErrSession) {
			t.Fatalf("token %q: %v", tok, err)
		}
		if _, err := e.Auth.AuthenticateToken(ctx, tok, ""); !errors.Is(err, auth.ErrSession) {
			t.Fatalf("access token %q: %v", tok, err)
		}
		if _, err := e.Auth.OpenInvite(ctx, tok); !errors.Is(err, auth.ErrInvite) {
			t.Fatalf("invitation %q: %v", tok, err)
		}
	})
}

// BenchmarkAuthenticate measures resolving a session cookie, which every
// signed-in page request does (a sealed row read and opened, and the
// account's).
func BenchmarkAuthenticate(b *testing.B) {
	e := authtest.New(b, authtest.Options{People: 1})
	a := e.EnrolTOTP(b, authtest.North, "pat@north.example", haven.RoleCarer)
	tok := e.SignIn(b, a)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Auth.Authenticate(ctx, tok, auth.ClientInfo{Addr: "192.0.2.1"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// FuzzPasskeyAnswers: whatever a browser (or anyone) posts as a passkey
// answer is refused as a bad passkey or throttled; never a panic, an
// internal error or a session.
func FuzzPasskeyAnswers(f *testing.F) {
	e := authtest.New(f, authtest.Options{People: 1})
	key := authtest.NewSoftKey("http://localhost:8080")
	e.EnrolPasskey(f, authtest.North, "admin@north.example", haven.RoleTenantAdmin, key)
	ctx := context.Background()
	assertion, _, err := e.Auth.BeginPasskeySignIn(ctx, auth.ClientInfo{Addr: "192.0.2.200"})
	if err != nil {
		f.Fatal(err)
	}
	genuine, err := key.Assert(assertion)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "{}", "null", `{"id":"x","rawId":"x","type":"public-key","response":{}}`, string(genuine), string(genuine[:len(genuine)/2])} {
		f.Add([]byte(s))
	}
	i := 0
	f.Fuzz(func(t *testing.T, body []byte) {
		i++
		c := auth.ClientInfo{Addr: "198.51.100." + string(rune('0'+i%10))}
		_, id, err := e.Auth.BeginPasskeySignIn(ctx, c)
		if err != nil {
			return // this address has too many open: throttled, as designed
		}
		sess, err := e.Auth.FinishPasskeySignIn(ctx, id, body, c)
		var th *auth.ThrottledError
		if sess != nil || err == nil || !(errors.Is(err, auth.ErrPasskey) || errors.As(err, &th)) {
			t.Fatalf("body %q: session %v, error %v", body, sess != nil, err)
		}
	})
}
