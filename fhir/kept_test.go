package fhir

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/havencare/haven/care"
)

// patientKeptAsSent are Patients with elements Haven does not map. They
// are accepted, and what Haven does not map is kept with the record, sealed,
// and served back as it was sent.
var patientKeptAsSent = []struct{ name, body string }{
	{"unknown element", patientEdit(`"gender"`, `"maritalStatus":{"text":"Married"},"gender"`)},
	{"unknown nested element", patientEdit(`"family"`, `"prefix":["Mrs"],"family"`)},
	{"unknown elements listed", patientEdit(`"gender"`, `"deceasedBoolean":true,"contact":[{}],"gender"`, `"city"`, `"district":"West Yorkshire","city"`)},
	{"identifier type", patientEdit(`{"system":"https://fhir`, `{"type":{"text":"NHS"},"system":"https://fhir`)},
	{"reference by identifier", patientEdit(`{"display"`, `{"identifier":{"value":"B86001"},"display"`)},
	{"extension", patientEdit(`"gender"`, `"extension":[{"url":"https://example.org/x","valueString":"y"}],"gender"`)},
	{"UK Core NHS number verification status", patientEdit(`{"system":"https://fhir`, `{"extension":[{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"}],"system":"https://fhir`)},
	{"modifierExtension", patientEdit(`"gender"`, `"modifierExtension":[{"url":"https://example.org/x"}],"gender"`)},
	{"primitive extension", patientEdit(`"gender"`, `"_birthDate":{"extension":[]},"gender"`)},
	{"extensions named before unknown elements", patientEdit(`"gender"`, `"photo":[],"extension":[],"gender"`)},
	{"foreign identifier system", patientEdit(`"identifier":[`, `"identifier":[{"system":"https://example.org/mrn","value":"123"},`)},
	{"foreign identifier after the NHS number", patientEdit(`"value":"9434765919"}`, `"value":"9434765919"},{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"B86001"}`)},
	{"two official names", patientEdit(`"name":[`, `"name":[{"use":"usual","family":"Smith","given":["Molly"]},`)},
	{"email", patientEdit(`"value":"0113 496 0000"}`, `"value":"0113 496 0000"},{"system":"email","value":"mary@example.org"}`)},
	{"two phones", patientEdit(`"value":"0113 496 0000"}`, `"value":"0113 496 0000"},{"system":"phone","value":"07700 900123"}`)},
	{"telecom without system", patientEdit(`{"system":"phone",`, `{`)},
	{"old phone", patientEdit(`"value":"0113 496 0000"`, `"value":"0113 496 0000","use":"old"`)},
	{"foreign country", patientEdit(`"postalCode":"LS6 2AB"`, `"postalCode":"LS6 2AB","country":"FR"`)},
	{"GP reference", patientEdit(`{"display"`, `{"reference":"Organization/B86001","display"`)},
	{"two GPs", patientEdit(`"generalPractitioner":[`, `"generalPractitioner":[{"display":"Y0001 Other"},`)},
}

func TestPatientElementsKeptAsSent(t *testing.T) {
	for _, c := range patientKeptAsSent {
		t.Run(c.name, func(t *testing.T) {
			sent, err := decodeObject([]byte(c.body), "Patient")
			if err != nil {
				t.Fatal(err)
			}
			rec, err := toRecord(types["Patient"], sent, "p-0001")
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			got, err := render(care.Found{Record: rec, Meta: care.Meta{Version: 1, Updated: "2026-01-01T00:00:00.000000Z"}})
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range sent {
				if k == "id" || k == "meta" {
					continue
				}
				a, _ := json.Marshal(v)
				b, _ := json.Marshal(got[k])
				if !reflect.DeepEqual(a, b) {
					t.Errorf("%s served as %s, sent as %s", k, b, a)
				}
			}
		})
	}
}
