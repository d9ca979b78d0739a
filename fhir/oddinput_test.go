package fhir_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/havencare/haven/auth/authtest"
)

// Odd but well-formed requests, on both stores: every one is answered
// with a 2xx, or with a 4xx OperationOutcome, and never with a 5xx. The
// store is where SQLite and PostgreSQL differ (PostgreSQL refuses what
// SQLite quietly stores), so these run on both.
func TestOddInputSQLite(t *testing.T) { testOddInput(t, authtest.Options{People: 3}) }
func TestOddInputPostgres(t *testing.T) {
	testOddInput(t, authtest.Options{People: 3, Postgres: true})
}

func testOddInput(t *testing.T, opt authtest.Options) {
	a := newAPIWith(t, opt)
	// The guard freezes a client that keeps asking for what is not there
	// (and these requests do), after which every answer is a 401 that
	// never reaches the store: so a fresh client every few requests.
	var tok string
	calls := 0
	do := func(method, path, body string, headers ...string) reply {
		if calls%3 == 0 {
			tok = a.token(t, authtest.North, "system/*.cruds", "system/AuditEvent.rs")
		}
		calls++
		r := a.do(t, method, path, tok, body, headers...)
		if r.status == http.StatusUnauthorized || r.status == http.StatusTooManyRequests {
			t.Errorf("%s %.100s: the guard stopped the client (%d), so the request never reached the store", method, path, r.status)
		}
		return r
	}
	person := realPerson(t, a, authtest.North)
	long := strings.Repeat("a", 10000)
	esc := url.QueryEscape
	gets := []string{
		"/fhir/Patient/" + long, "/fhir/Patient/" + long + "/_history", "/fhir/Patient/" + person + "/_history/" + long,
		"/fhir/Patient/" + person + "/_history/99999999999999999999", "/fhir/Patient/" + person + "/_history/-1",
		"/fhir/Patient/" + esc("ü😀"), "/fhir/Patient/%2E%2E", "/fhir/Patient/a%2Fb", "/fhir/Patient/" + esc("a b"),
		"/fhir/Patient?_count=99999999999999999999", "/fhir/Patient?_count=1e3", "/fhir/Patient?_id=" + long,
		"/fhir/Patient?identifier=" + esc("|"), "/fhir/Patient?identifier=" + esc("https://fhir.nhs.uk/Id/nhs-number|"+long),
		"/fhir/Patient?family=" + long, "/fhir/Patient?name=" + esc("😀"), "/fhir/Patient?birthdate=ge0001-01-01",
		"/fhir/Patient?birthdate=lt9999-12-31", "/fhir/Patient?birthdate=eq99999", "/fhir/Patient?_lastUpdated=gt-0001",
		"/fhir/Patient?_lastUpdated=ge9999-12-31T23:59:59Z", "/fhir/Patient?phone=" + esc("+44 ☎"),
		"/fhir/Condition?patient=" + long, "/fhir/Condition?subject=" + esc("Patient/"+person+"/_history/1"),
		"/fhir/Condition?date=ge1-01-01", "/fhir/Observation?subject=Patient/" + esc("ü"),
		"/fhir/Patient?_include=" + long, "/fhir/Patient?_include=Patient:*", "/fhir/Condition?_include=Condition:subject:Patient&patient=" + person,
		"/fhir/AuditEvent?date=ge0001-01-01&date=lt9999-12-31", "/fhir/AuditEvent?_cursor=99999999999999999999",
		"/fhir/AuditEvent/99999999999999999999", "/fhir/AuditEvent/-1", "/fhir/AuditEvent?patient=" + long, "/fhir/AuditEvent?agent=" + long,
		"/fhir/Patient/" + person + "/$everything?_since=0001-01-01T00:00:00Z", "/fhir/Patient/" + long + "/$everything",
	}
	check := func(what string, r reply) {
		t.Helper()
		if r.status >= 500 || (r.status >= 400 && r.body["resourceType"] != "OperationOutcome") {
			t.Errorf("%.120s: %d %.300s", what, r.status, r.raw)
		}
	}
	for _, p := range gets {
		check("GET "+p, do("GET", p, ""))
	}
	// Versions and conditions in headers.
	for _, h := range []string{`W/"99999999999999999999"`, `W/"-1"`, `"1"`, `W/"` + long + `"`, `*`} {
		check("PUT If-Match "+h, do("PUT", "/fhir/Patient/"+person,
			`{"resourceType":"Patient","id":"`+person+`","name":[{"family":"Odd"}]}`, "If-Match", h))
	}
	for _, h := range []string{"identifier=" + esc("|"), "identifier=" + long, "family=x", "", "identifier=https://fhir.nhs.uk/Id/nhs-number|123"} {
		check("POST If-None-Exist "+h, do("POST", "/fhir/Patient", `{"resourceType":"Patient","name":[{"family":"Odd"}]}`, "If-None-Exist", h))
	}
	// Values at the edges of what a resource may hold, in resources that
	// are otherwise valid, so that they reach the store.
	nhs := func(n string) string {
		return `"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + n + `"}]`
	}
	name := `"name":[{"use":"official","family":"Odd","given":["Input"]}],"gender":"unknown"`
	born := `,"birthDate":"1970-01-01"`
	code := `"code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003","display":"Hypertensive disorder"}]}`
	obs := `"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"72514-3","display":"Pain score"}]},"subject":{"reference":"Patient/` + person + `"},"effectiveDateTime":"2024-01-01T00:00:00Z"`
	for _, body := range []string{
		`{"resourceType":"Patient",` + nhs("9990000107") + `,` + name + born + `,"id":"` + long + `"}`,
		`{"resourceType":"Patient",` + nhs("9990000115") + `,` + name + `,"birthDate":"0001-01-01"}`,
		`{"resourceType":"Patient",` + nhs("9990000123") + `,"name":[{"use":"official","family":"😀","given":["ü","ß"]}],"gender":"other","birthDate":"2000-02-29"}`,
		`{"resourceType":"Patient",` + nhs("9990000131") + `,"name":[{"use":"official","family":"` + long + `","given":["A"]}],"gender":"female"` + born + `,"telecom":[{"system":"phone","value":"` + long + `"}]}`,
		`{"resourceType":"Patient",` + nhs("9990000158") + `,` + name + born + `,"meta":{"versionId":"99999999999999999999","lastUpdated":"0001-01-01T00:00:00Z"}}`,
		`{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000166"},{"system":"` + long + `","value":"` + long + `"}],` + name + born + `}`,
		`{"resourceType":"Patient",` + nhs("9990000174") + `,` + name + born + `,"address":[{"line":["` + long + `"],"postalCode":"😀"}]}`,
		`{"resourceType":"Condition","subject":{"reference":"Patient/` + long + `"},` + code + `}`,
		`{"resourceType":"Condition","subject":{"reference":"Patient/` + person + `"},` + code + `,"onsetDateTime":"0001-01-01"}`,
		`{"resourceType":"Condition","subject":{"reference":"Patient/` + person + `"},` + code + `,"note":[{"text":"` + long + `"}]}`,
		`{` + obs + `,"valueQuantity":{"value":1e308}}`,
		`{` + obs + `,"valueQuantity":{"value":-1e-308}}`,
		`{` + obs + `,"valueString":"` + long + `"}`,
	} {
		typ := strings.Split(strings.Split(body, `"resourceType":"`)[1], `"`)[0]
		check("POST "+typ+" "+body, do("POST", "/fhir/"+typ, body))
	}
	// An update with odd values, at the version just read.
	read := do("GET", "/fhir/Patient/"+person, "")
	number := ""
	if ids, ok := read.body["identifier"].([]any); ok && len(ids) > 0 {
		number, _ = ids[0].(map[string]any)["value"].(string)
	}
	check("PUT odd values", do("PUT", "/fhir/Patient/"+person, `{"resourceType":"Patient","id":"`+person+`",`+nhs(number)+
		`,"name":[{"use":"official","family":"😀`+long+`","given":["ü"]}],"gender":"male","birthDate":"0001-01-01"}`, "If-Match", read.header.Get("ETag")))
	if t.Failed() {
		return
	}
	// And the reads still work.
	if r := do("GET", "/fhir/Patient/"+person, ""); r.status != http.StatusOK {
		t.Fatalf("read after the odd requests: %d %s", r.status, r.raw)
	}
}
