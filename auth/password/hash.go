// Package password stores and checks passwords the way NIST SP 800-63B asks:
// long passwords of any characters, no composition rules, a block list of
// common and breached passwords, and a slow, salted, memory-hard hash
// (Argon2id) for storage.
//
// Passwords are normalised to Unicode NFKC before they are checked or hashed
// (SP 800-63B 5.1.1.2), so the same password typed on different devices
// always matches.
//
// The bundled block list, its source and licence are described in README.md
// beside this file; scripts/update-password-list rebuilds it.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/havencare/haven/auth/password/internal/pwnorm"
)

// Params are the Argon2id cost parameters and sizes.
type Params struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory, in KiB
	Threads   uint8  // lanes (parallelism)
	KeyLen    uint32 // hash length, bytes
	SaltLen   uint32 // salt length, bytes
}

// Current are the parameters new hashes are made with: the OWASP Password
// Storage Cheat Sheet's minimum for Argon2id (19 MiB, 2 passes, 1 lane).
// Raising them later is safe: Verify reports hashes made with other parameters
// so that the caller re-hashes them at the next successful sign-in.
var Current = Params{Time: 2, MemoryKiB: 19 * 1024, Threads: 1, KeyLen: 32, SaltLen: 16}

// Bounds on parameters, for hashes we make and, more importantly, for hashes
// we are asked to verify: an encoded hash is data (read from a database, a
// backup, an import), and without a cap a tampered "m=4294967295" would make
// one sign-in allocate 4 TiB. They are wide enough for any sensible policy.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 10
	minSaltLen   = 8 // RFC 9106 3.1: at least 8 bytes; 16 recommended
	maxSaltLen   = 64
	minKeyLen    = 16 // shorter tags would make guessing a matching hash easier
	maxKeyLen    = 64
)

// validate reports whether p is within the bounds above and what Argon2
// itself requires (argon2.IDKey panics on zero passes or lanes, and silently
// raises memory below 8 KiB a lane, which would not match other
// implementations).
func (p Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("password: argon2 t=%d outside 1..%d", p.Time, maxTime)
	case p.Threads < 1:
		return errors.New("password: argon2 p=0")
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("password: argon2 m=%d outside %d..%d", p.MemoryKiB, 8*uint32(p.Threads), maxMemoryKiB)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("password: salt length %d outside %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("password: hash length %d outside %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// b64 is the PHC string format's base64: standard alphabet, no padding, as the
// Argon2 reference implementation writes it. Strict refuses encodings with
// stray low bits, so each salt and hash has exactly one spelling.
var b64 = base64.RawStdEncoding.Strict()

// errTooLong is returned by Hash for passwords longer than MaxLength. Check
// refuses them first with a message for people; this is the backstop.
var errTooLong = fmt.Errorf("password: longer than %d characters", MaxLength)

// Hash hashes pw with the Current parameters and a new random salt, returning
// a PHC-format string such as
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// It applies no policy (see Check), but refuses passwords longer than
// MaxLength characters.
func Hash(pw string) (string, error) {
	return HashWith(Current, pw)
}

// HashWith is Hash with explicit parameters.
func HashWith(p Params, pw string) (string, error) {
	if err := p.validate(); err != nil {
		return "", err
	}
	npw := pwnorm.Password(pw)
	if utf8.RuneCountInString(npw) > MaxLength {
		return "", errTooLong
	}
	salt := make([]byte, p.SaltLen)
	rand.Read(salt) // never fails (crypto/rand, Go 1.24+)
	key := argon2.IDKey([]byte(npw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pw matches encoded, a hash made by Hash or HashWith
// (or any Argon2id implementation writing the PHC format), comparing in
// constant time.
//
// needsRehash is true only when ok is true and encoded was made with
// parameters other than Current: the caller should then store Hash(pw) in its
// place. (It is never true for a wrong password, so a caller that forgets to
// check ok cannot be tricked into storing an attacker's password.)
//
// err is non-nil only when encoded is malformed or asks for parameters
// outside this package's bounds; a wrong password is ok == false, err == nil.
func Verify(encoded, pw string) (ok, needsRehash bool, err error) {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	npw := pwnorm.Password(pw)
	if utf8.RuneCountInString(npw) > MaxLength {
		// Hash never stores such a password, so it cannot match; refusing
		// early keeps a huge request body from costing more than a normal one.
		return false, false, nil
	}
	got := argon2.IDKey([]byte(npw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, ok && p != Current, nil
}

// decode parses a PHC-format Argon2id string. It accepts exactly what the
// reference implementation writes (version 19, parameters m, t, p in that
// order, unpadded base64) and checks the parameters' bounds before anything
// is allocated for them.
func decode(encoded string) (p Params, salt, key []byte, err error) {
	malformed := func(what string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("password: malformed hash: %s", what)
	}
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	f := strings.Split(encoded, "$")
	if len(f) != 6 || f[0] != "" {
		return malformed("not a PHC string")
	}
	if f[1] != "argon2id" {
		return malformed("algorithm is not argon2id")
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return malformed("not argon2 version 19")
	}
	ps := strings.Split(f[3], ",")
	if len(ps) != 3 {
		return malformed("parameters are not m,t,p")
	}
	m, okm := param(ps[0], "m=", 32)
	t, okt := param(ps[1], "t=", 32)
	th, okp := param(ps[2], "p=", 8)
	if !okm || !okt || !okp {
		return malformed("parameters are not m,t,p")
	}
	if salt, err = b64.DecodeString(f[4]); err != nil {
		return malformed("salt is not base64")
	}
	if key, err = b64.DecodeString(f[5]); err != nil {
		return malformed("hash is not base64")
	}
	p = Params{Time: uint32(t), MemoryKiB: uint32(m), Threads: uint8(th),
		KeyLen: uint32(len(key)), SaltLen: uint32(len(salt))}
	if err := p.validate(); err != nil {
		return Params{}, nil, nil, err
	}
	return p, salt, key, nil
}

// param parses "<name><decimal>" with no sign and no leading zeros (one
// spelling for each value), fitting in bits.
func param(s, name string, bits int) (uint64, bool) {
	d, ok := strings.CutPrefix(s, name)
	if !ok || d == "" || (len(d) > 1 && d[0] == '0') {
		return 0, false
	}
	v, err := strconv.ParseUint(d, 10, bits)
	return v, err == nil
}

// Dummy returns the hash of a random password, made once per process with
// the Current parameters. Verifying against it costs the same as verifying a
// real account's hash, so a sign-in for an unknown account can be made to
// take as long as one for a known account with a wrong password: response
// times then do not tell an attacker which accounts exist.
func Dummy() string {
	return dummy()
}

var dummy = sync.OnceValue(func() string {
	h, err := Hash(rand.Text())
	if err != nil {
		// Only reachable if Current were out of bounds, which the tests check.
		panic(err)
	}
	return h
})
