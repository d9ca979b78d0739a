package totp

import (
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"
)

// rfcSecret is RFC 6238 appendix B's SHA-1 key, the ASCII "12345678901234567890".
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// TestRFC6238 checks the HOTP/TOTP arithmetic against RFC 6238 appendix B
// (SHA-1 rows; the RFC's codes have 8 digits) and, for the same times, that
// Code gives their last 6 digits, since the truncation is mod 10^digits.
func TestRFC6238(t *testing.T) {
	for _, c := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		at := time.Unix(c.unix, 0)
		got, err := pqtotp.GenerateCodeCustom(rfcSecret, at, pqtotp.ValidateOpts{
			Period: Period, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1,
		})
		if err != nil || got != c.want {
			t.Errorf("8 digits at %d: %q, %v; want %q", c.unix, got, err, c.want)
		}
		got, err = Code(rfcSecret, at)
		if err != nil || got != c.want[2:] {
			t.Errorf("Code at %d: %q, %v; want %q", c.unix, got, err, c.want[2:])
		}
	}
}

// TestOathtool cross-checks Code with an independent implementation, the OATH
// Toolkit's oathtool (Debian package oathtool; scripts/install-deps installs
// it). It skips when oathtool is missing unless HAVEN_REQUIRE_OATHTOOL=1.
func TestOathtool(t *testing.T) {
	oathtool, err := exec.LookPath("oathtool")
	if err != nil {
		if os.Getenv("HAVEN_REQUIRE_OATHTOOL") == "1" {
			t.Fatal("oathtool not found and HAVEN_REQUIRE_OATHTOOL=1: run scripts/install-deps")
		}
		t.Skip("oathtool not found (apt-get install oathtool, or scripts/install-deps); set HAVEN_REQUIRE_OATHTOOL=1 to fail instead")
	}
	secrets := []string{rfcSecret, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}
	for range 3 {
		s, _, err := NewSecret("Haven", "test@example.org")
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, s)
	}
	times := []int64{59, 1111111109, 1234567890, 2000000000, time.Now().Unix()}
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	for range 4 {
		times = append(times, rng.Int64N(4102444800)) // up to 2100
	}
	for _, secret := range secrets {
		for _, unix := range times {
			at := time.Unix(unix, 0).UTC()
			out, err := exec.Command(oathtool, "--totp", "-b", "-d", "6", "-s", "30",
				"--now", at.Format("2006-01-02 15:04:05 UTC"), secret).Output()
			if err != nil {
				t.Fatalf("oathtool %s at %d: %v", secret, unix, err)
			}
			want := strings.TrimSpace(string(out))
			got, err := Code(secret, at)
			if err != nil || got != want {
				t.Errorf("Code(%s, %d) = %q, %v; oathtool says %q", secret, unix, got, err, want)
			}
		}
	}
}

func TestNewSecret(t *testing.T) {
	secret, uri, err := NewSecret("Haven", "jo.bloggs@example.org")
	if err != nil {
		t.Fatal(err)
	}
	// 160 bits is 32 base32 characters, no padding.
	if len(secret) != 32 || strings.ContainsAny(secret, "=") {
		t.Fatalf("secret %q: want 32 base32 characters without padding", secret)
	}
	if _, err := b32.DecodeString(secret); err != nil {
		t.Fatal(err)
	}
	other, _, err := NewSecret("Haven", "jo.bloggs@example.org")
	if err != nil || other == secret {
		t.Fatalf("second secret %q, %v: not random", other, err)
	}
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Haven:jo.bloggs@example.org" ||
		q.Get("secret") != secret || q.Get("issuer") != "Haven" || q.Get("digits") != "6" ||
		q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Fatalf("URI %q", uri)
	}
	if _, _, err := NewSecret("Haven", ""); err == nil {
		t.Fatal("NewSecret with no account name succeeded")
	}
}

func TestCodeBadSecret(t *testing.T) {
	at := time.Unix(1234567890, 0)
	for _, s := range []string{"", "GEZDGNBV", "not base32!", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1"} {
		if c, err := Code(s, at); err == nil {
			t.Errorf("Code(%q) = %q, want an error", s, c)
		}
	}
	// Lower case and padding are accepted, as apps and people write them.
	want, _ := Code(rfcSecret, at)
	for _, s := range []string{strings.ToLower(rfcSecret), rfcSecret + "========"} {
		if got, err := Code(s, at); err != nil || got != want {
			t.Errorf("Code(%q) = %q, %v; want %q", s, got, err, want)
		}
	}
}

func TestVerify(t *testing.T) {
	secret, _, err := NewSecret("Haven", "test@example.org")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_750_000_015, 0) // mid-step
	s := step(now)
	code := func(step int64) string {
		c, err := Code(secret, time.Unix(step*Period, 0))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, d := range []int64{-1, 0, 1} {
		got, ok := Verify(secret, code(s+d), now, -1)
		if !ok || got != s+d {
			t.Errorf("step %+d: Verify = %d, %v; want %d, true", d, got, ok, s+d)
		}
	}
	for _, d := range []int64{-3, -2, 2, 3} {
		c := code(s + d)
		if c == code(s-1) || c == code(s) || c == code(s+1) {
			continue // a chance collision (one in ~300,000 runs) would be accepted, rightly
		}
		if got, ok := Verify(secret, c, now, -1); ok {
			t.Errorf("step %+d: Verify = %d, true; want refused", d, got)
		}
	}
}

func TestVerifyReplay(t *testing.T) {
	secret, _, err := NewSecret("Haven", "test@example.org")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_750_000_015, 0)
	c, _ := Code(secret, now)
	last, ok := Verify(secret, c, now, -1)
	if !ok {
		t.Fatal("first use refused")
	}
	if _, ok := Verify(secret, c, now, last); ok {
		t.Fatal("same code accepted twice")
	}
	if _, ok := Verify(secret, c, now.Add(Period*time.Second), last); ok {
		t.Fatal("same code accepted twice, one step later")
	}
	// After the next step's code, the earlier step's code is refused too.
	next, _ := Code(secret, now.Add(Period*time.Second))
	last2, ok := Verify(secret, next, now, last)
	if !ok || last2 != last+1 {
		t.Fatalf("next step's code: %d, %v", last2, ok)
	}
	prev, _ := Code(secret, now.Add(-Period*time.Second))
	if prev != c && prev != next {
		if _, ok := Verify(secret, prev, now, last2); ok {
			t.Fatal("older code accepted after a newer one")
		}
		// It would have been accepted without the newer one: the refusal
		// above is lastStep's doing.
		if _, ok := Verify(secret, prev, now, -1); !ok {
			t.Fatal("previous step's code refused with no last step")
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	secret, _, err := NewSecret("Haven", "a@example.org")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := NewSecret("Haven", "b@example.org")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_750_000_015, 0)
	good, _ := Code(secret, now)
	if _, ok := Verify(secret, good, now, -1); !ok {
		t.Fatal("good code refused")
	}
	mine, _ := Code(other, now)
	if mine != good {
		if _, ok := Verify(secret, mine, now, -1); ok {
			t.Error("another secret's code accepted")
		}
	}
	for _, c := range []string{"", "12345", "1234567", "abcdef", " 123456", "123456 ", "12345\n", "１２３４５６", "+12345", "-12345", good + "0", " " + good, good[:5]} {
		if _, ok := Verify(secret, c, now, -1); ok {
			t.Errorf("Verify(%q) accepted", c)
		}
	}
	if _, ok := Verify("", good, now, -1); ok {
		t.Error("empty secret accepted")
	}
	if _, ok := Verify(secret, good, time.Unix(-1e9, 0), -1); ok {
		t.Error("time before 1970 accepted")
	}
}

func TestStep(t *testing.T) {
	for _, c := range []struct{ unix, want int64 }{{0, 0}, {29, 0}, {30, 1}, {59, 1}, {-1, -1}, {-30, -1}, {-31, -2}} {
		if got := step(time.Unix(c.unix, 0)); got != c.want {
			t.Errorf("step(%d) = %d, want %d", c.unix, got, c.want)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(rfcSecret, "287082", int64(59), int64(-1))
	f.Add("", "", int64(0), int64(0))
	f.Add("gezdgnbvgy3tqojq====", "123456", int64(-31), int64(1<<62))
	f.Fuzz(func(t *testing.T, secret, code string, unix, last int64) {
		s, ok := Verify(secret, code, time.Unix(unix, 0), last)
		if !ok {
			return
		}
		// An accepted code: 6 digits, a step within one of now's and after
		// last, and really the code for that step.
		now := step(time.Unix(unix, 0))
		if s <= last || s < now-1 || s > now+1 {
			t.Fatalf("accepted step %d (now %d, last %d)", s, now, last)
		}
		if want, err := Code(secret, time.Unix(s*Period, 0)); err != nil || want != code {
			t.Fatalf("accepted %q, code for step %d is %q (%v)", code, s, want, err)
		}
	})
}

// TestURIOfExistingSecret: the URI rebuilt for a pending secret is the one
// NewSecret gave, so the QR code shown again enrols the same secret.
func TestURIOfExistingSecret(t *testing.T) {
	secret, uri, err := NewSecret("Haven", "pat@example.nhs.uk")
	if err != nil {
		t.Fatal(err)
	}
	again, err := URI("Haven", "pat@example.nhs.uk", secret)
	if err != nil || again != uri {
		t.Fatalf("URI = %q, %v; NewSecret gave %q", again, err, uri)
	}
	if _, err := URI("Haven", "x", "not base32!"); err == nil {
		t.Fatal("a malformed secret was accepted")
	}
}
