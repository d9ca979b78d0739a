package password

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/havencare/haven/auth/password/internal/pwnorm"
)

// fuzzCostKiB bounds the Argon2 work (memory × passes) FuzzVerify lets one
// input cost. Inputs over it are still decoded, which is where malformed
// input is handled; only the (correct, but slow) hashing is skipped.
const fuzzCostKiB = 64 * 1024

func FuzzVerify(f *testing.F) {
	good, err := HashWith(cheap, "fuzzing password")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, "fuzzing password")
	f.Add(good, "")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$c29tZWhhc2hzb21laGFzaA", "x")
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$$", "x")
	f.Add("$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$c29tZWhhc2hzb21laGFzaA", "x")
	f.Add("$$$$$", "")
	f.Add(strings.Replace(good, "m=64", "m=8", 1), "fuzzing password")
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		p, _, _, derr := decode(encoded)
		if derr == nil && uint64(p.MemoryKiB)*uint64(p.Time) > fuzzCostKiB {
			t.Skip("valid but too slow to hash while fuzzing")
		}
		ok, rehash, err := Verify(encoded, pw)
		if (err != nil) != (derr != nil) {
			t.Fatalf("Verify err = %v, decode err = %v", err, derr)
		}
		if err != nil && (ok || rehash) {
			t.Fatalf("Verify = %v, %v with error %v", ok, rehash, err)
		}
		if rehash && !ok {
			t.Fatal("needsRehash for a wrong password")
		}
	})
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"", "password1234", "quasar-tulip", "🐈🐈🐈🐈🐈🐈🐈🐈🐈🐈🐈🐈", "haven-is-my-home", "\xff\xfe\x00", "e\u0301e\u0301"} {
		f.Add(s, "haven")
	}
	f.Fuzz(func(t *testing.T, pw, word string) {
		err := Check(pw, word)
		n := utf8.RuneCountInString(pwnorm.Password(pw))
		if err == nil {
			if n < MinLength || n > MaxLength {
				t.Fatalf("accepted a password of %d characters", n)
			}
			if Common(pw) {
				t.Fatal("accepted a common password")
			}
			return
		}
		var pe *PolicyError
		if !errors.As(err, &pe) || pe.Reason == "" {
			t.Fatalf("Check error %#v is not a *PolicyError with a reason", err)
		}
	})
}
