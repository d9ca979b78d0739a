package totp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"strings"
	"unicode"
)

// RecoveryCodes is how many recovery codes NewRecoveryCodes makes.
const RecoveryCodes = 10

// recoveryBytes is each code's entropy: 10 random bytes, 80 bits, which is
// exactly 16 base32 characters.
const recoveryBytes = 10

// recoveryAlphabet is Crockford's base32 alphabet, lower-cased: digits and
// letters without i, l, o and u, so no two characters look alike in most
// fonts. Normalisation maps the look-alikes people may still type (o for 0;
// i and l for 1) back onto it.
const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

var recoveryEncoding = base32.NewEncoding(recoveryAlphabet).WithPadding(base32.NoPadding)

// recoveryTypos maps characters a person may type for one that looks alike.
var recoveryTypos = strings.NewReplacer("o", "0", "i", "1", "l", "1")

// NewRecoveryCodes returns RecoveryCodes new single-use recovery codes,
// formatted for people to write down ("k7qd-9m2x-p4tw-3hfz": 16 characters,
// 80 bits of entropy), and their hashes, which are what the caller stores.
// Show the codes once and keep only the hashes; when a code is used
// (MatchRecoveryCode), delete its hash.
func NewRecoveryCodes() (codes []string, hashes [][]byte, err error) {
	codes = make([]string, 0, RecoveryCodes)
	hashes = make([][]byte, 0, RecoveryCodes)
	seen := make(map[string]bool, RecoveryCodes)
	for len(codes) < RecoveryCodes {
		b := make([]byte, recoveryBytes)
		rand.Read(b) // never fails (crypto/rand, Go 1.24+)
		raw := recoveryEncoding.EncodeToString(b)
		if seen[raw] {
			continue // 2^-80: never, but codes must be distinct
		}
		seen[raw] = true
		codes = append(codes, raw[0:4]+"-"+raw[4:8]+"-"+raw[8:12]+"-"+raw[12:16])
		hashes = append(hashes, HashRecoveryCode(raw))
	}
	return codes, hashes, nil
}

// HashRecoveryCode returns the hash to store for code, or to look up a code a
// person typed: SHA-256 of the code in lower case, without spaces or dashes,
// with look-alike letters mapped to digits.
//
// A fast, unsalted hash is enough here, unlike for passwords: each code has
// 80 bits of entropy from crypto/rand, so guessing one from its hash takes
// about 2^79 SHA-256 evaluations, and because codes are random and never
// reused, precomputed tables gain nothing. A slow hash only protects secrets
// that people choose.
func HashRecoveryCode(code string) []byte {
	code = strings.Map(func(r rune) rune {
		// Spaces and dashes of any kind (phones turn "-" into "–").
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) {
			return -1
		}
		return unicode.ToLower(r)
	}, code)
	h := sha256.Sum256([]byte(recoveryTypos.Replace(code)))
	return h[:]
}

// MatchRecoveryCode returns the index in hashes of the hash that matches the
// code a person typed, or -1 if none does. It compares with every hash, in
// constant time, so timing does not tell which (or whether) one matched.
// Used codes may be left as nil entries, which never match.
func MatchRecoveryCode(hashes [][]byte, code string) int {
	h := HashRecoveryCode(code)
	match := -1
	for i, stored := range hashes {
		eq := subtle.ConstantTimeCompare(h, stored)
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	return match
}
