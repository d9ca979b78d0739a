package fhir

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/havencare/haven"
)

// TestSyntheticNHSNumbersNeverShared: two source patients whose ids derive
// the same test-range number get different numbers in one import, each
// valid, and a patient seen again keeps the number it was given, as a
// second import of the same data needs.
func TestSyntheticNHSNumbersNeverShared(t *testing.T) {
	// Find two seeds that derive the same number (the range is small
	// enough that a few thousand seeds hold a pair).
	first := map[string]string{}
	var a, b string
	for i := 0; a == ""; i++ {
		seed := fmt.Sprintf("urn:uuid:synthetic-%d", i)
		n := SyntheticNHSNumber(seed)
		if other, ok := first[n]; ok {
			a, b = other, seed
		}
		first[n] = seed
		if i > 1_000_000 {
			t.Fatal("no two seeds share a number")
		}
	}
	// The derivation is fixed: a second import of the same data must give
	// the same numbers as the first, whatever version of Haven ran it.
	for seed, want := range map[string]string{
		"urn:uuid:synthetic-0":                          "9999588948",
		"urn:uuid:2f5a8f4e-6c1b-4d7a-9a3e-0b1c2d3e4f50": "9992973595",
		"Patient/1": "9999591639",
	} {
		if got := SyntheticNHSNumber(seed); got != want {
			t.Errorf("%s derives %s, want %s", seed, got, want)
		}
	}
	im := &Importer{SyntheticNHSNumbers: true}
	number := func(seed string) string {
		res := object{"resourceType": "Patient"}
		if err := im.addSyntheticNHSNumber(context.Background(), res, seed); err != nil {
			t.Fatal(err)
		}
		for _, ident := range identifiers(res) {
			if v, ok := strings.CutPrefix(ident, NHSNumberSystem+"|"); ok {
				if !haven.ValidNHSNumber(v) {
					t.Errorf("%s was given %s, not a valid NHS number", seed, v)
				}
				return v
			}
		}
		t.Fatalf("%s was given no NHS number: %v", seed, res)
		return ""
	}
	na, nb := number(a), number(b)
	if na != SyntheticNHSNumber(a) {
		t.Errorf("the first of the pair was given %s, not its own number %s", na, SyntheticNHSNumber(a))
	}
	if na == nb {
		t.Fatalf("%s and %s were both given %s", a, b, na)
	}
	if again := number(a); again != na {
		t.Errorf("%s seen again was given %s, first %s", a, again, na)
	}
	if again := number(b); again != nb {
		t.Errorf("%s seen again was given %s, first %s", b, again, nb)
	}

	// A patient who has an NHS number keeps it and takes no other.
	res := object{"resourceType": "Patient", "identifier": []any{object{"system": NHSNumberSystem, "value": "9434765919"}}}
	if err := im.addSyntheticNHSNumber(context.Background(), res, a); err != nil {
		t.Fatal(err)
	}
	if ids := identifiers(res); len(ids) != 1 {
		t.Errorf("a patient with an NHS number now has identifiers %v", ids)
	}
}
