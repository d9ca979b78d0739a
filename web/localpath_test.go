package web

import (
	"testing"

	"github.com/havencare/haven/auth"
)

// TestLocalPath: only paths on this site are followed after sign-in or
// step-up, whatever a crafted next= parameter holds.
func TestLocalPath(t *testing.T) {
	for _, p := range []string{"/", "/people", "/people/p-1?x=1", "/account#sessions"} {
		if localPath(p, "DEF") != p {
			t.Errorf("%q refused", p)
		}
	}
	for _, p := range []string{"", "people", "//evil.example", "/\\evil.example", "/\t/evil.example", "/\n/evil.example",
		"/\r\n/evil", "/\x00", "/\x7f", "https://evil.example/", "javascript:alert(1)", "/%2F%2Fevil"[:0] + "//"} {
		if got := localPath(p, "DEF"); got != "DEF" {
			t.Errorf("%q accepted as a local path", p)
		}
	}
}

// TestAccountSummary: the staff page's head counts what an admin must
// see at a glance, above all any active account without a second factor.
func TestAccountSummary(t *testing.T) {
	s := summarise([]auth.AccountInfo{
		{Status: auth.StatusActive, Factors: []string{"authenticator app"}},
		{Status: auth.StatusActive, Factors: []string{"passkey: laptop"}, Locked: true},
		{Status: auth.StatusActive},
		{Status: auth.StatusInvited},
		{Status: auth.StatusDisabled, Factors: []string{"passkey: old"}},
	})
	want := accountSummary{Active: 3, Invited: 1, Locked: 1, Disabled: 1, ActiveWithoutFactor: 1}
	if s != want {
		t.Fatalf("got %+v, want %+v", s, want)
	}
}
