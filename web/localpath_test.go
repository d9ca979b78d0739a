package web

import "testing"

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
