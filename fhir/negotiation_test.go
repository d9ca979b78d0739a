package fhir_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/havencare/haven/auth/authtest"
)

// TestFormatParameter: _format overrides Accept, and anything but JSON is
// refused (406) rather than answered with JSON; JSON by any of its names
// is served, and is not reported as an ignored search parameter.
func TestFormatParameter(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/*.cruds")
	person := "/fhir/Patient/" + realPerson(t, a, authtest.North)
	for _, f := range []string{"xml", "application/fhir+xml", "text/html", "ttl"} {
		a.do(t, "GET", person+"?_format="+url.QueryEscape(f), tok, "").outcome(t, http.StatusNotAcceptable)
	}
	a.do(t, "GET", person+"?_format=xml", tok, "", "Accept", "application/fhir+json").outcome(t, http.StatusNotAcceptable)
	a.do(t, "GET", "/fhir/metadata?_format=xml", "", "").outcome(t, http.StatusNotAcceptable)
	for _, f := range []string{"json", "application/json", "application/fhir+json", "application/fhir json"} {
		if r := a.do(t, "GET", person+"?_format="+url.QueryEscape(f), tok, "", "Accept", "text/html"); r.status != 200 {
			t.Errorf("_format=%s over Accept: text/html: %d %.200s", f, r.status, r.raw)
		}
	}
	s := a.do(t, "GET", "/fhir/Patient?_format=json", tok, "", "Prefer", "handling=strict")
	if s.status != 200 || strings.Contains(s.raw, "_format") && strings.Contains(s.raw, "ignored") {
		t.Errorf("search with _format=json: %d %.300s", s.status, s.raw)
	}
}

// TestAcceptQualityZero: a media range with q=0 is one the client refuses.
func TestAcceptQualityZero(t *testing.T) {
	a := newAPI(t)
	for _, accept := range []string{"application/fhir+json;q=0", "application/fhir+json; q=0.0, text/html", "*/*;q=0"} {
		a.do(t, "GET", "/fhir/metadata", "", "", "Accept", accept).outcome(t, http.StatusNotAcceptable)
	}
	if r := a.do(t, "GET", "/fhir/metadata", "", "", "Accept", "text/html;q=0, application/fhir+json;q=0.5"); r.status != 200 {
		t.Errorf("q=0.5: %d", r.status)
	}
}
