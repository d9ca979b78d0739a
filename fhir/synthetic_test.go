package fhir

import (
	"testing"

	"github.com/havencare/haven"
)

// TestSyntheticNHSNumberDerivation: the derivation is fixed, since a
// second import of the same data must give the same numbers as the first,
// whatever version of Haven ran it. (TestSyntheticNHSNumbersNeverShared
// checks how an import gives them.)
func TestSyntheticNHSNumberDerivation(t *testing.T) {
	for seed, want := range map[string]string{
		"urn:uuid:synthetic-0":                          "9999588948",
		"urn:uuid:2f5a8f4e-6c1b-4d7a-9a3e-0b1c2d3e4f50": "9992973595",
		"Patient/1": "9999591639",
	} {
		if got := SyntheticNHSNumber(seed); got != want {
			t.Errorf("%s derives %s, want %s", seed, got, want)
		}
		if !haven.ValidNHSNumber(SyntheticNHSNumber(seed)) {
			t.Errorf("%s derives %s, not a valid NHS number", seed, SyntheticNHSNumber(seed))
		}
	}
}
