package password

import (
	"fmt"
	"strings"
	"testing"
)

// cheap are small parameters for tests that need many hashes; they are also
// "old parameters" as far as Current is concerned.
var cheap = Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestCurrentIsValid(t *testing.T) {
	if err := Current.validate(); err != nil {
		t.Fatal(err)
	}
}

func TestHashFormat(t *testing.T) {
	h, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(h, prefix) {
		t.Fatalf("Hash = %q, want prefix %q", h, prefix)
	}
	f := strings.Split(h, "$")
	// 16 bytes of salt and 32 of hash, unpadded base64.
	if len(f) != 6 || len(f[4]) != 22 || len(f[5]) != 43 || strings.Contains(h, "=,") || strings.HasSuffix(h, "=") {
		t.Fatalf("Hash = %q: salt or hash not 16/32 bytes of unpadded base64", h)
	}
	h2, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if h2 == h {
		t.Fatal("two hashes of the same password are equal: salt not random")
	}
}

func TestVerify(t *testing.T) {
	const pw = "tumbling ochre giraffe"
	h, err := Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	ok, rehash, err := Verify(h, pw)
	if !ok || rehash || err != nil {
		t.Fatalf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	for _, wrong := range []string{"", "tumbling ochre giraff", "Tumbling ochre giraffe", pw + " "} {
		ok, rehash, err := Verify(h, wrong)
		if ok || rehash || err != nil {
			t.Errorf("Verify(%q) = %v, %v, %v; want false, false, nil", wrong, ok, rehash, err)
		}
	}
}

// TestVerifyKnownHash checks interoperability with other Argon2id
// implementations: the hashes below were made by the reference
// implementation's command-line tool (Debian's argon2 package):
//
//	echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 24 -e
//	echo -n 'pässwörd 🐈' | argon2 saltsaltsalt -id -t 3 -k 4096 -p 1 -l 32 -e
func TestVerifyKnownHash(t *testing.T) {
	for _, c := range []struct{ hash, pw, wrong string }{
		{"$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$F1jG2CV3/Nr+yRuIsPKw0J9r4s7cJHBU", "password", "passwore"},
		{"$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHRzYWx0$EcVACzSlCCmbe0I8N7WYhvrlBtVd2acye3wNkb59lYk", "p\u00e4ssw\u00f6rd \U0001F408", "passwoerd \U0001F408"},
	} {
		ok, rehash, err := Verify(c.hash, c.pw)
		if !ok || !rehash || err != nil {
			t.Errorf("Verify(%q, %q) = %v, %v, %v; want true, true, nil", c.hash, c.pw, ok, rehash, err)
		}
		if ok, _, _ := Verify(c.hash, c.wrong); ok {
			t.Errorf("Verify(%q, %q): wrong password accepted", c.hash, c.wrong)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	const pw = "an old and faithful passphrase"
	for _, p := range []Params{
		cheap,
		{Time: 1, MemoryKiB: Current.MemoryKiB, Threads: 1, KeyLen: 32, SaltLen: 16},
		{Time: 2, MemoryKiB: Current.MemoryKiB, Threads: 1, KeyLen: 32, SaltLen: 8},
		{Time: 2, MemoryKiB: Current.MemoryKiB, Threads: 2, KeyLen: 32, SaltLen: 16},
		{Time: 2, MemoryKiB: Current.MemoryKiB, Threads: 1, KeyLen: 16, SaltLen: 16},
	} {
		h, err := HashWith(p, pw)
		if err != nil {
			t.Fatalf("HashWith(%+v): %v", p, err)
		}
		ok, rehash, err := Verify(h, pw)
		if !ok || !rehash || err != nil {
			t.Errorf("%+v: Verify = %v, %v, %v; want true, true, nil", p, ok, rehash, err)
		}
		// A wrong password never asks for a rehash.
		if ok, rehash, _ := Verify(h, "something else entirely"); ok || rehash {
			t.Errorf("%+v: wrong password: Verify = %v, %v", p, ok, rehash)
		}
	}
}

func TestNormalisation(t *testing.T) {
	// "é" composed (U+00E9) and decomposed (e + U+0301), and full-width forms:
	// NFKC makes each pair the same password.
	pairs := [][2]string{
		{"caf\u00e9 au lait s'il vous pla\u00eet", "cafe\u0301 au lait s'il vous plai\u0302t"},
		{"ｈｏｓｐｉｔａｌ　ｗａｒｄ　７", "hospital ward 7"},
	}
	for _, p := range pairs {
		h, err := HashWith(cheap, p[0])
		if err != nil {
			t.Fatal(err)
		}
		if ok, _, err := Verify(h, p[1]); !ok || err != nil {
			t.Errorf("hash of %q does not verify %q: %v %v", p[0], p[1], ok, err)
		}
	}
}

func TestHashTooLong(t *testing.T) {
	if _, err := HashWith(cheap, strings.Repeat("é", MaxLength)); err != nil {
		t.Fatalf("MaxLength characters refused: %v", err)
	}
	if _, err := HashWith(cheap, strings.Repeat("a", MaxLength+1)); err == nil {
		t.Fatal("MaxLength+1 characters hashed")
	}
	h, err := HashWith(cheap, "short and sweet password")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := Verify(h, strings.Repeat("a", 1<<20)); ok || err != nil {
		t.Fatalf("Verify(1 MiB password) = %v, %v", ok, err)
	}
}

func TestHashWithBadParams(t *testing.T) {
	for _, p := range []Params{
		{Time: 0, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16},
		{Time: 11, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16},
		{Time: 1, MemoryKiB: 64, Threads: 0, KeyLen: 32, SaltLen: 16},
		{Time: 1, MemoryKiB: 15, Threads: 2, KeyLen: 32, SaltLen: 16},
		{Time: 1, MemoryKiB: 1<<20 + 1, Threads: 1, KeyLen: 32, SaltLen: 16},
		{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 8, SaltLen: 16},
		{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 4},
	} {
		if h, err := HashWith(p, "whatever it may be"); err == nil {
			t.Errorf("HashWith(%+v) = %q, want an error", p, h)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	const pw = "the right password"
	good, err := HashWith(cheap, pw)
	if err != nil {
		t.Fatal(err)
	}
	// The good hash works, so each failure below is the mutation's doing.
	if ok, _, err := Verify(good, pw); !ok || err != nil {
		t.Fatalf("Verify(good) = %v, %v", ok, err)
	}
	f := strings.Split(good, "$")
	salt, key := f[4], f[5]
	with := func(alg, ver, params, s, k string) string {
		return strings.Join([]string{"", alg, ver, params, s, k}, "$")
	}
	cases := map[string]string{
		"empty":             "",
		"bcrypt":            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
		"argon2i":           with("argon2i", "v=19", "m=64,t=1,p=1", salt, key),
		"argon2d":           with("argon2d", "v=19", "m=64,t=1,p=1", salt, key),
		"version 16":        with("argon2id", "v=16", "m=64,t=1,p=1", salt, key),
		"no version":        "$argon2id$m=64,t=1,p=1$" + salt + "$" + key,
		"missing hash":      "$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"extra field":       good + "$",
		"no leading $":      strings.TrimPrefix(good, "$"),
		"params reordered":  with("argon2id", "v=19", "t=1,m=64,p=1", salt, key),
		"missing p":         with("argon2id", "v=19", "m=64,t=1", salt, key),
		"extra param":       with("argon2id", "v=19", "m=64,t=1,p=1,k=1", salt, key),
		"empty m":           with("argon2id", "v=19", "m=,t=1,p=1", salt, key),
		"negative t":        with("argon2id", "v=19", "m=64,t=-1,p=1", salt, key),
		"plus sign":         with("argon2id", "v=19", "m=+64,t=1,p=1", salt, key),
		"leading zero":      with("argon2id", "v=19", "m=064,t=1,p=1", salt, key),
		"t=0":               with("argon2id", "v=19", "m=64,t=0,p=1", salt, key),
		"p=0":               with("argon2id", "v=19", "m=64,t=1,p=0", salt, key),
		"p=256":             with("argon2id", "v=19", "m=4096,t=1,p=256", salt, key),
		"m below 8p":        with("argon2id", "v=19", "m=8,t=1,p=2", salt, key),
		"huge m (4 GiB)":    with("argon2id", "v=19", "m=4194304,t=1,p=1", salt, key),
		"m over uint32":     with("argon2id", "v=19", "m=4294967296,t=1,p=1", salt, key),
		"m just over 1 GiB": with("argon2id", "v=19", fmt.Sprintf("m=%d,t=1,p=1", 1<<20+1), salt, key),
		"huge t":            with("argon2id", "v=19", "m=64,t=4294967295,p=1", salt, key),
		"t=11":              with("argon2id", "v=19", "m=64,t=11,p=1", salt, key),
		"salt not base64":   with("argon2id", "v=19", "m=64,t=1,p=1", "!!!!"+salt, key),
		"hash not base64":   with("argon2id", "v=19", "m=64,t=1,p=1", salt, key[:len(key)-1]+"*"),
		"padded hash":       with("argon2id", "v=19", "m=64,t=1,p=1", salt, key+"="),
		"empty salt":        with("argon2id", "v=19", "m=64,t=1,p=1", "", key),
		"short salt":        with("argon2id", "v=19", "m=64,t=1,p=1", "c2FsdA", key),
		"empty hash":        with("argon2id", "v=19", "m=64,t=1,p=1", salt, ""),
		"short hash":        with("argon2id", "v=19", "m=64,t=1,p=1", salt, key[:8]),
	}
	for name, enc := range cases {
		ok, rehash, err := Verify(enc, pw)
		if err == nil || ok || rehash {
			t.Errorf("%s: Verify(%q) = %v, %v, %v; want an error", name, enc, ok, rehash, err)
		}
	}
}

func TestDummy(t *testing.T) {
	d := Dummy()
	if d != Dummy() {
		t.Fatal("Dummy changes between calls")
	}
	p, _, _, err := decode(d)
	if err != nil {
		t.Fatal(err)
	}
	// Same parameters as a real hash, so verifying it costs the same.
	if p != Current {
		t.Fatalf("Dummy params %+v, want %+v", p, Current)
	}
	if ok, _, err := Verify(d, ""); ok || err != nil {
		t.Fatalf("Verify(Dummy(), \"\") = %v, %v", ok, err)
	}
}

func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("benchmark password, long enough"); err != nil {
			b.Fatal(err)
		}
	}
}
