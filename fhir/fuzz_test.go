package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/havencare/haven"
)

// patientFuzzID is the id every fuzzed body is read for.
const patientFuzzID = "p-0001"

// FuzzPersonFromPatient, seeded with the golden Patient and every good and
// bad body of the tests, checks that PersonFromPatient never panics, that
// every failure is an *haven.InvalidError naming an element path, and that
// whatever it accepts is a valid Person that survives the way back:
// PatientFromPerson, json.Marshal, PersonFromPatient again gives the same
// Person and the same bytes. The Person must also be one Haven's own
// record decoder accepts unchanged, since that is how it is kept.
//
//	go test -run '^$' -fuzz FuzzPersonFromPatient -fuzztime 30s ./fhir/
func FuzzPersonFromPatient(f *testing.F) {
	f.Add([]byte(patientGolden))
	for _, tc := range patientBadInputs {
		f.Add([]byte(tc.body))
	}
	for _, tc := range patientGoodInputs {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := PersonFromPatient(body, patientFuzzID)
		if err != nil {
			var inv *haven.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("error %v is a %T, not an *haven.InvalidError", err, err)
			}
			if inv.Field != "Patient" && !strings.HasPrefix(inv.Field, "Patient.") {
				t.Fatalf("error %v does not name an element path", err)
			}
			if !reflect.DeepEqual(p, haven.Person{}) {
				t.Fatalf("a Person came back with the error %v: %+v", err, p)
			}
			return
		}
		if p.ID != patientFuzzID || p.Canary {
			t.Fatalf("accepted Person has id %q, canary %v", p.ID, p.Canary)
		}
		q := p
		if err := q.Validate(); err != nil {
			t.Fatalf("accepted Person fails Validate: %v\ninput: %q", err, body)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("Validate changed the accepted Person (it was not normalised)\n%+v\n%+v", p, q)
		}

		out, err := json.Marshal(PatientFromPerson(p, 7, "2025-06-01T10:00:00Z"))
		if err != nil {
			t.Fatalf("Patient does not encode: %v", err)
		}
		if len(out) > MaxPatientBytes {
			t.Fatalf("Patient is %d bytes, more than PersonFromPatient reads", len(out))
		}
		p2, err := PersonFromPatient(out, p.ID)
		if err != nil {
			t.Fatalf("Haven refuses the Patient it wrote: %v\ninput: %q\nwritten: %s", err, body, out)
		}
		if !reflect.DeepEqual(p, p2) {
			t.Fatalf("round trip changed the Person\nfirst:  %+v\nsecond: %+v\ninput: %q\nwritten: %s", p, p2, body, out)
		}
		out2, _ := json.Marshal(PatientFromPerson(p2, 7, "2025-06-01T10:00:00Z"))
		if !bytes.Equal(out, out2) {
			t.Fatalf("Patient is not stable:\n%s\n%s", out, out2)
		}

		// Create reads the same body the same way, but leaves the id to Haven.
		created, err := PersonFromPatient(body, "")
		if err != nil {
			t.Fatalf("create refuses a body update accepts: %v", err)
		}
		created.ID = p.ID
		if !reflect.DeepEqual(p, created) {
			t.Fatalf("create reads the body differently\nupdate: %+v\ncreate: %+v", p, created)
		}

		// Haven keeps the Person as its JSON; its own decoder must agree.
		kept, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := haven.Decode(haven.KindPerson, kept)
		if err != nil {
			t.Fatalf("haven.Decode refuses the Person: %v\n%s", err, kept)
		}
		if !reflect.DeepEqual(*r.(*haven.Person), p) {
			t.Fatalf("haven.Decode reads the Person differently\n%+v\n%+v", *r.(*haven.Person), p)
		}
	})
}
