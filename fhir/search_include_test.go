package fhir_test

import (
	"slices"
	"testing"

	"github.com/havencare/haven/auth/authtest"
)

// An included Patient is a search result: a canary among them appears as
// it does when Patients are listed, and the client is not stopped; opening
// the canary's record still is.
func TestSearchIncludeCanary(t *testing.T) {
	a := newAPIWith(t, authtest.Options{People: 6})
	var canary, person string
	for _, p := range a.Data[authtest.North].People {
		if p.Person.Canary {
			canary = p.Person.ID
		} else {
			person = p.Person.ID
		}
	}
	if canary == "" {
		t.Fatal("no canary among the people")
	}
	tok := a.token(t, authtest.North, "system/*.rs")
	all, _ := getAll(t, a, tok, "/fhir/Condition?_count=100")
	r := a.do(t, "GET", "/fhir/Condition?_count=100&_include=Condition:subject", tok, "")
	if r.status != 200 {
		t.Fatalf("_include of the conditions' patients: %d %.300s", r.status, r.raw)
	}
	p := readSearchPage(a, r)
	if len(p.ids) != len(all) || !slices.Contains(p.included, canary) || !slices.Contains(p.included, person) {
		t.Errorf("want the %d conditions and their patients, canary included; got %d and %v", len(all), len(p.ids), p.included)
	}
	if r := a.do(t, "GET", "/fhir/Patient/"+person, tok, ""); r.status != 200 {
		t.Errorf("a client that included patients is stopped: %d %.200s", r.status, r.raw)
	}
	if r := a.do(t, "GET", "/fhir/Patient/"+canary, tok, ""); r.status != 429 {
		t.Errorf("reading the canary's record: want 429 (contained), got %d", r.status)
	}
	if r := a.do(t, "GET", "/fhir/Patient/"+person, tok, ""); r.status != 401 && r.status != 429 {
		t.Errorf("after opening a canary the client goes on: %d", r.status)
	}
}

// A client that may search Conditions but not Patients gets the
// Conditions, and is told the patients are left out.
func TestSearchIncludeOutsideScope(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/Condition.rs")
	r := a.do(t, "GET", "/fhir/Condition?_include=Condition:patient", tok, "")
	p := readSearchPage(a, r)
	if r.status != 200 || len(p.ids) == 0 || len(p.included) != 0 || p.outcomes != 1 {
		t.Errorf("want the conditions, no patient and an outcome; got %d: %d matches, %v included, %d outcomes", r.status, len(p.ids), p.included, p.outcomes)
	}
}
