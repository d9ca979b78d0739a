package password

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/havencare/haven/auth/password/internal/pwnorm"
)

// Length bounds, in characters (Unicode code points of the NFKC form, which
// is what is hashed). 12 is above NIST's minimum of 8 because the accounts
// hold health records; 256 is well above NIST's "at least 64", so pass
// phrases fit, and bounds the work done per request.
const (
	MinLength = 12
	MaxLength = 256
)

// minContextWord is the shortest context word Check refuses inside a
// password: shorter ones ("jo", "ann") occur by chance in good passwords.
const minContextWord = 4

// PolicyError is a password that Check refuses. Reason is a complete sentence
// for the person choosing the password.
type PolicyError struct{ Reason string }

func (e *PolicyError) Error() string { return e.Reason }

// Check applies Haven's password policy, following NIST SP 800-63B 5.1.1.2:
//
//   - between MinLength and MaxLength characters, counted as Unicode
//     characters, not bytes;
//   - any characters: spaces, punctuation, accents, emoji, any script;
//   - no composition rules (no "one digit, one symbol"): they push people to
//     predictable patterns without making passwords stronger;
//   - not on the bundled list of common and breached passwords (see Common);
//   - not containing any of the context words of at least 4 characters, such
//     as the service's name or the account's user name or email local part,
//     compared case-insensitively.
//
// It returns nil or a *PolicyError.
func Check(pw string, context ...string) error {
	n := utf8.RuneCountInString(pwnorm.Password(pw))
	if n < MinLength {
		return &PolicyError{fmt.Sprintf("Your password must be at least %d characters long. It is %d.", MinLength, n)}
	}
	if n > MaxLength {
		return &PolicyError{fmt.Sprintf("Your password must be at most %d characters long. It is %d.", MaxLength, n)}
	}
	key := pwnorm.ListKey(pw)
	if inList(key) {
		return &PolicyError{"This password is on a list of common or breached passwords. Choose another one."}
	}
	for _, word := range context {
		word = strings.TrimSpace(word)
		w := pwnorm.ListKey(word)
		if utf8.RuneCountInString(w) >= minContextWord && strings.Contains(key, w) {
			return &PolicyError{fmt.Sprintf("Your password must not contain %q. Choose another one.", word)}
		}
	}
	return nil
}
