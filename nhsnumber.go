package haven

import "strings"

// NHSNumberSystem is the FHIR identifier system for NHS numbers.
const NHSNumberSystem = "https://fhir.nhs.uk/Id/nhs-number"

// NormalizeNHSNumber removes the spaces and dashes people type in NHS numbers
// ("943 476 5919") and returns the ten digits.
func NormalizeNHSNumber(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// ValidNHSNumber reports whether s (already normalised) is ten digits whose
// last is the modulus 11 check digit of the first nine (NHS Data Dictionary,
// "NHS Number"): weights 10 down to 2, check = 11 - (sum mod 11); a result
// of 11 means 0 and a result of 10 means the number is invalid.
func ValidNHSNumber(s string) bool {
	if len(s) != 10 {
		return false
	}
	sum := 0
	for i := 0; i < 10; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		if i < 9 {
			sum += int(c-'0') * (10 - i)
		}
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return check != 10 && check == int(s[9]-'0')
}

// NHSCheckDigit returns the check digit for nine digits, or -1 if none
// exists (the remainder gives 10, so no valid number starts with them).
func NHSCheckDigit(nine string) int {
	if len(nine) != 9 {
		return -1
	}
	sum := 0
	for i := 0; i < 9; i++ {
		c := nine[i]
		if c < '0' || c > '9' {
			return -1
		}
		sum += int(c-'0') * (10 - i)
	}
	check := 11 - sum%11
	switch check {
	case 11:
		return 0
	case 10:
		return -1
	}
	return check
}
