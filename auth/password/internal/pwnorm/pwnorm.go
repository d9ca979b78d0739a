// Package pwnorm holds the password normalisation shared by package password
// and the tool that builds its common-password list. It is separate so that
// both sides use the very same code: if the list were normalised one way and
// look-ups another, entries would silently stop matching.
package pwnorm

import (
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Password returns pw in Unicode normalisation form NFKC, as NIST SP 800-63B
// (5.1.1.2) recommends before hashing: the same password typed on different
// devices (composed or decomposed accents, full-width digits from an East
// Asian keyboard) then hashes to the same value.
func Password(pw string) string {
	return norm.NFKC.String(pw)
}

// ListKey returns the form in which passwords are compared with the
// common-password list and with context words: NFKC, then lower-case. Case is
// folded because "Password1234" is no stronger than "password1234" against an
// attacker who tries the list with simple variations.
func ListKey(pw string) string {
	return strings.ToLower(norm.NFKC.String(pw))
}
