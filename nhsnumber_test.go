package haven

import (
	"fmt"
	"testing"
)

func TestValidNHSNumber(t *testing.T) {
	tests := []struct {
		in   string
		want bool
		why  string
	}{
		{"9434765919", true, "published example"},
		{"9434765870", true, "published example; check digit 0 from a result of 11"},
		{"4010232137", true, "published example"},
		{"9990000018", true, "999 test range"},
		{"0000000000", true, "all zeros sums to 0, check 11 means 0"},

		{"9434765918", false, "wrong check digit"},
		{"9434765910", false, "wrong check digit"},
		{"4010232138", false, "wrong check digit"},
		{"943476591", false, "9 digits"},
		{"94347659190", false, "11 digits"},
		{"", false, "empty"},
		{"943476591X", false, "letter as check digit"},
		{"94347A5919", false, "letter in the body"},
		{"abcdefghij", false, "letters"},
		{"943 476 5919", false, "not normalised: spaces"},
		{"943-476-5919", false, "not normalised: dashes"},
		{" 9434765919", false, "leading space"},
		{"+434765919", false, "sign"},
		{"９４３４７６５９１９", false, "full-width digits"},
		{"9991234560", false, "remainder gives 10: no check digit exists"},
		{"9991234569", false, "remainder gives 10: no check digit exists"},
		{"0000200000", false, "remainder gives 10: no check digit exists"},
		{"000020000\x00", false, "NUL as check digit"},
		{"943476591:", false, "':' is '9'+1 and must not count as a digit"},
		{"943476591/", false, "'/' is '0'-1"},
	}
	for _, tc := range tests {
		if got := ValidNHSNumber(tc.in); got != tc.want {
			t.Errorf("ValidNHSNumber(%q) = %v, want %v (%s)", tc.in, got, tc.want, tc.why)
		}
	}
}

// No check digit exists for any number whose weighted sum leaves remainder
// 1: every completion of such a prefix is invalid.
func TestValidNHSNumberRemainderTen(t *testing.T) {
	for _, nine := range []string{"999123456", "000020000"} {
		if d := NHSCheckDigit(nine); d != -1 {
			t.Fatalf("NHSCheckDigit(%q) = %d, want -1", nine, d)
		}
		for c := '0'; c <= '9'; c++ {
			if n := nine + string(c); ValidNHSNumber(n) {
				t.Errorf("ValidNHSNumber(%q) = true", n)
			}
		}
	}
}

func TestNHSCheckDigit(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"943476591", 9},
		{"943476587", 0},
		{"401023213", 7},
		{"999000001", 8},
		{"000000000", 0},
		{"999123456", -1}, // remainder 10
		{"000020000", -1}, // remainder 10
		{"94347659", -1},  // 8 digits
		{"9434765919", -1},
		{"", -1},
		{"94347659a", -1},
		{"94347659 ", -1},
	}
	for _, tc := range tests {
		if got := NHSCheckDigit(tc.in); got != tc.want {
			t.Errorf("NHSCheckDigit(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// The modulus 11 scheme detects every single-digit error and every
// transposition of two adjacent, different digits. Check that the
// implementation keeps that promise for every position of a few numbers.
func TestNHSNumberDetectsTypos(t *testing.T) {
	for _, n := range []string{"9434765919", "9434765870", "4010232137", "9990000018"} {
		for i := 0; i < 10; i++ {
			for c := byte('0'); c <= '9'; c++ {
				if c == n[i] {
					continue
				}
				typo := n[:i] + string(c) + n[i+1:]
				if ValidNHSNumber(typo) {
					t.Errorf("%s with digit %d changed to %c (%s) is accepted", n, i, c, typo)
				}
			}
			if i < 9 && n[i] != n[i+1] {
				swap := n[:i] + string(n[i+1]) + string(n[i]) + n[i+2:]
				if ValidNHSNumber(swap) {
					t.Errorf("%s with digits %d and %d swapped (%s) is accepted", n, i, i+1, swap)
				}
			}
		}
	}
}

// Every nine-digit prefix either has no check digit or exactly one valid
// completion, and NHSCheckDigit names it.
func TestNHSCheckDigitAgreesWithValid(t *testing.T) {
	for p := 0; p < 1_000_000_000; p += 9_973 { // a spread of prefixes
		nine := fmt.Sprintf("%09d", p)
		want := NHSCheckDigit(nine)
		valid := 0
		for c := '0'; c <= '9'; c++ {
			if ValidNHSNumber(nine + string(c)) {
				valid++
				if int(c-'0') != want {
					t.Fatalf("%s%c is valid but NHSCheckDigit(%s) = %d", nine, c, nine, want)
				}
			}
		}
		if (want == -1) != (valid == 0) || valid > 1 {
			t.Fatalf("prefix %s: NHSCheckDigit %d, %d valid completions", nine, want, valid)
		}
	}
}

func TestNormalizeNHSNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"943 476 5919", "9434765919"},
		{"943-476-5919", "9434765919"},
		{"  9434765919\n", "9434765919"},
		{"9434765919", "9434765919"},
		{"943 - 476 - 5919", "9434765919"},
		{"", ""},
		{"943\t476\t5919", "943\t476\t5919"}, // only spaces and dashes inside
	}
	for _, tc := range tests {
		if got := NormalizeNHSNumber(tc.in); got != tc.want {
			t.Errorf("NormalizeNHSNumber(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if !ValidNHSNumber(NormalizeNHSNumber("943 476 5919")) {
		t.Error("a typed NHS number is not valid once normalised")
	}
}
