// Package totp implements time-based one-time passwords (RFC 6238) for
// second-factor sign-in, with the settings every authenticator app supports:
// HMAC-SHA-1, 6 digits, a 30-second period. The HOTP arithmetic is
// github.com/pquerna/otp's; this package adds the policy around it: one step
// of clock drift either way, each code accepted once, constant-time
// comparison. It also makes single-use recovery codes (recovery.go).
package totp

import (
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

const (
	// Period is the time step, in seconds.
	Period = 30
	// digits is fixed: 6 is what authenticator apps show by default, and
	// with one code accepted per step an attacker's guesses are limited by
	// the caller's rate limiting, not by the code length.
	digits = otp.DigitsSix
	// secretSize is 160 bits, RFC 4226's recommended length (section 4,
	// R6) and the HMAC-SHA-1 block-friendly size apps expect.
	secretSize = 20
	// minSecretSize is RFC 4226's minimum (128 bits); shorter secrets are
	// refused rather than silently accepted.
	minSecretSize = 16
	// skew is how many steps either side of the current one are accepted, to
	// allow for the phone's clock drifting and for the time a person takes
	// to type the code.
	skew = 1
)

// b32 is the secret encoding authenticator apps use: RFC 4648 base32, which
// people may type in lower case or with the padding dropped.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

var errSecret = errors.New("totp: secret is not base32 of at least 128 bits")

// NewSecret makes a new random 160-bit secret, base32 without padding, and
// the otpauth:// URI that authenticator apps read (usually from a QR code)
// for issuer (Haven's is "Haven") and accountName (what the app shows, e.g.
// the user's email address). Store the secret, sealed, with the account.
func NewSecret(issuer, accountName string) (secret, uri string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: accountName,
		Period:      Period,
		SecretSize:  secretSize,
		Digits:      digits,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", "", err
	}
	return key.Secret(), key.URL(), nil
}

// URI is the otpauth:// URI of an existing secret, as NewSecret made it:
// for showing the QR code again while set-up is not yet confirmed.
func URI(issuer, accountName, secret string) (string, error) {
	canon, err := canonicalSecret(secret)
	if err != nil {
		return "", err
	}
	raw, _ := b32.DecodeString(canon)
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: accountName, Period: Period,
		Secret: raw, Digits: digits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", err
	}
	return key.URL(), nil
}

// canonicalSecret returns secret as upper-case, unpadded base32 after
// checking that it decodes to at least minSecretSize bytes. pquerna's HOTP is
// given only secrets that passed: on its own it would happily use an empty
// key.
func canonicalSecret(secret string) (string, error) {
	b, err := b32.DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil || len(b) < minSecretSize {
		return "", errSecret
	}
	return b32.EncodeToString(b), nil
}

// step returns the RFC 6238 time step of t: floor(unix seconds / Period).
func step(t time.Time) int64 {
	u := t.Unix()
	s := u / Period
	if u < 0 && u%Period != 0 {
		s-- // round towards minus infinity, not zero
	}
	return s
}

// codeAt returns the code for time step s >= 0; secret must come from
// canonicalSecret.
func codeAt(secret string, s int64) (string, error) {
	return hotp.GenerateCodeCustom(secret, uint64(s), hotp.ValidateOpts{
		Digits:    digits,
		Algorithm: otp.AlgorithmSHA1,
	})
}

// Code returns the 6-digit code for secret at time t.
func Code(secret string, t time.Time) (string, error) {
	secret, err := canonicalSecret(secret)
	if err != nil {
		return "", err
	}
	s := step(t)
	if s < 0 {
		return "", errors.New("totp: time before 1970")
	}
	return codeAt(secret, s)
}

// Verify checks code, as typed by a person, against secret at time t,
// accepting the codes of the current step and of one step either side.
//
// lastStep is the step of the last code accepted for this secret (or -1 if
// none has been): codes for that step or earlier are refused, so each code
// can be used only once and an intercepted code is worthless once the user
// has signed in with it or a later one. On success Verify returns the step
// the code matched, which the caller must store as the new lastStep (in the
// same transaction as the sign-in, so two concurrent requests cannot both
// use one code).
//
// Codes that are not exactly 6 ASCII digits, wrong codes, replays and
// invalid secrets all give ok == false.
func Verify(secret, code string, t time.Time, lastStep int64) (matched int64, ok bool) {
	if len(code) != digits.Length() || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	secret, err := canonicalSecret(secret)
	if err != nil {
		return 0, false
	}
	now := step(t)
	for s := now - skew; s <= now+skew; s++ {
		if s < 0 || s <= lastStep {
			continue
		}
		want, err := codeAt(secret, s)
		if err != nil {
			return 0, false
		}
		// Every candidate is compared, without stopping at a match, in
		// constant time: timing tells nothing about how close a guess was.
		// If two steps both match (a one-in-a-million coincidence), the
		// later wins: storing the earlier would let the same code be
		// replayed for the later step.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched, ok = s, true
		}
	}
	if !ok {
		return 0, false
	}
	return matched, true
}
