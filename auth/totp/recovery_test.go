package totp

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func TestRecoveryCodes(t *testing.T) {
	codes, hashes, err := NewRecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != RecoveryCodes || len(hashes) != RecoveryCodes {
		t.Fatalf("%d codes, %d hashes; want %d", len(codes), len(hashes), RecoveryCodes)
	}
	format := regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$`)
	seen := map[string]bool{}
	for i, c := range codes {
		if !format.MatchString(c) {
			t.Errorf("code %q: want xxxx-xxxx-xxxx-xxxx from the unambiguous alphabet", c)
		}
		if seen[c] {
			t.Errorf("code %q twice", c)
		}
		seen[c] = true
		if !bytes.Equal(hashes[i], HashRecoveryCode(c)) {
			t.Errorf("hash %d is not the hash of code %d", i, i)
		}
	}
	// Each code matches its own index, also as typed by a person; and
	// once its hash is deleted (single use), it matches nothing.
	for i, c := range codes {
		typed := []string{
			c,
			strings.ToUpper(c),
			strings.ReplaceAll(c, "-", ""),
			strings.ReplaceAll(strings.ToUpper(c), "-", " "),
			" " + strings.ReplaceAll(c, "-", "\u2013") + "\n",  // en dash, from autocorrect
			strings.NewReplacer("0", "O", "1", "l").Replace(c), // look-alikes
		}
		for _, ty := range typed {
			if got := MatchRecoveryCode(hashes, ty); got != i {
				t.Errorf("MatchRecoveryCode(%q) = %d, want %d", ty, got, i)
			}
		}
	}
	used := append([][]byte(nil), hashes...)
	used[3] = nil
	if got := MatchRecoveryCode(used, codes[3]); got != -1 {
		t.Errorf("used code matched %d", got)
	}
	if got := MatchRecoveryCode(used, codes[4]); got != 4 {
		t.Errorf("code 4 matched %d after code 3 was used", got)
	}

	for _, wrong := range []string{"", "0000-0000-0000-0000", codes[0][:18], codes[0] + "x", strings.Replace(codes[0], codes[0][:1], flip(codes[0][:1]), 1)} {
		if got := MatchRecoveryCode(hashes, wrong); got != -1 {
			t.Errorf("MatchRecoveryCode(%q) = %d, want -1", wrong, got)
		}
	}
	if got := MatchRecoveryCode(nil, codes[0]); got != -1 {
		t.Errorf("no hashes: %d", got)
	}

	other, _, err := NewRecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range other {
		if seen[c] {
			t.Fatalf("code %q in two sets: not random", c)
		}
	}
}

// flip returns a different character of the alphabet than c.
func flip(c string) string {
	if c == "a" {
		return "b"
	}
	return "a"
}
