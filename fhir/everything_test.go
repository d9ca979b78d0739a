package fhir_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven/auth/authtest"
)

// everythingTypes are the resource types of an $everything answer, in
// order, outcome entries included.
func everythingTypes(t *testing.T, r reply) []string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("$everything: %d %s", r.status, r.raw)
	}
	entries, _ := r.body["entry"].([]any)
	var out []string
	for _, e := range entries {
		out = append(out, e.(map[string]any)["resource"].(map[string]any)["resourceType"].(string))
	}
	return out
}

// Patient/$everything narrows the record by _type and _since, and reports
// any other parameter as search does: refused under Prefer:
// handling=strict, otherwise named in an outcome entry.
func TestEverythingParameters(t *testing.T) {
	a := newAPI(t)
	person := realPerson(t, a, authtest.North)
	a.Clock.Advance(time.Hour)
	tok := a.token(t, authtest.North, "system/*.cruds")
	if c := a.do(t, "POST", "/fhir/Condition", tok, sprintf(condition, person)); c.status != http.StatusCreated {
		t.Fatalf("create: %d %s", c.status, c.raw)
	}
	everything := "/fhir/Patient/" + person + "/$everything"
	get := func(query string, headers ...string) reply {
		return a.do(t, "GET", everything+query, tok, "", headers...)
	}
	has := func(got []string, typ string) bool { return slices.Contains(got, typ) }
	only := func(got []string, typ string) bool {
		return len(got) > 0 && !slices.ContainsFunc(got, func(g string) bool { return g != typ })
	}

	if got := everythingTypes(t, get("?_type=Patient", "Prefer", "handling=strict")); len(got) != 1 || got[0] != "Patient" {
		t.Errorf("_type=Patient: %v", got)
	}
	if got := everythingTypes(t, get("?_type=Condition&_type=Organization")); !only(got, "Condition") {
		t.Errorf("_type=Condition&_type=Organization: %v", got)
	}
	// The person was written before the clock moved on, the condition after.
	since := url.QueryEscape(a.Clock.Now().Add(-time.Minute).Format(time.RFC3339))
	if got := everythingTypes(t, get("?_since="+since)); len(got) != 1 || got[0] != "Condition" {
		t.Errorf("_since=%s: %v", since, got)
	}
	if got := everythingTypes(t, get("?_since=2999-01-01T00:00:00Z")); len(got) != 0 {
		t.Errorf("_since in the future: %v", got)
	}

	for _, q := range []string{"?colour=blue", "?_count=10", "?start=2020-01-01"} {
		r := get(q, "Prefer", "handling=strict")
		r.outcome(t, http.StatusBadRequest)
		if name, _, _ := strings.Cut(q[1:], "="); !strings.Contains(r.raw, name) {
			t.Errorf("%s (strict): the refusal does not name %s: %s", q, name, r.raw)
		}
	}
	lenient := get("?colour=blue")
	if got := everythingTypes(t, lenient); !has(got, "Patient") || !has(got, "Condition") || !has(got, "OperationOutcome") || !strings.Contains(lenient.raw, "colour") {
		t.Errorf("?colour=blue: %v, want the whole record and an outcome naming colour: %s", got, lenient.raw)
	}
	for _, q := range []string{"?_type=Claim", "?_since=yesterday", "?_since=2026-01-01T00:00:00Z&_since=2026-06-01T00:00:00Z"} {
		get(q).outcome(t, http.StatusBadRequest)
	}
}
