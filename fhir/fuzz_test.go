package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
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

// FuzzResource feeds any body to the path every write takes: decode, make
// the record of each type, render it back. Nothing may panic; every refusal
// is an InvalidError or a ruleError (a 4xx, never a 500); whatever is
// accepted renders, and renders the same after a second pass.
//
//	go test -run '^$' -fuzz FuzzResource -fuzztime 30s ./fhir/
func FuzzResource(f *testing.F) {
	f.Add("Patient", []byte(patientGolden))
	f.Add("Condition", []byte(`{"resourceType":"Condition","subject":{"reference":"Patient/p1"},"code":{"coding":[{"code":"1","display":"x"}]}}`))
	f.Add("Encounter", []byte(`{"resourceType":"Encounter","subject":{"reference":"Patient/p1"},"period":{"start":"2020"}}`))
	f.Add("Observation", []byte(`{"resourceType":"Observation","subject":{"reference":"Patient/p1"},"code":{"coding":[{"code":"1","display":"x"}]},"effectiveDateTime":"2020-01-01T00:00:00Z","valueQuantity":{"value":1e400}}`))
	f.Add("Organization", []byte(`{"resourceType":"Organization","name":"x","identifier":[{"system":"s","value":"v"}]}`))
	f.Fuzz(func(t *testing.T, typ string, body []byte) {
		ti, ok := types[typ]
		if !ok {
			return
		}
		res, err := resourceFromBody(ti, body)
		if err == nil {
			var rec haven.Record
			if rec, err = toRecord(ti, res, "r-1"); err == nil {
				out, err := render(care.Found{Record: rec, Meta: care.Meta{Version: 1, Updated: "2026-01-01T00:00:00.000000Z"}})
				if err != nil {
					t.Fatalf("accepted %s does not render: %v", typ, err)
				}
				b, _ := json.Marshal(out)
				if _, err := decodeObject(b, typ); err != nil {
					t.Fatalf("rendered %s is not one object: %v", typ, err)
				}
				return
			}
		}
		if pr := classify(err); pr.status >= 500 || pr.status < 400 {
			t.Fatalf("%s body refused with %d: %v", typ, pr.status, err)
		}
	})
}

// FuzzBundle decodes any body as a Bundle and plans it (with no record
// service behind it, conditional entries aside): refusals are 4xx.
//
//	go test -run '^$' -fuzz FuzzBundle -fuzztime 30s ./fhir/
func FuzzBundle(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a","resource":` + patientGolden + `,"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Condition","subject":{"reference":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"},"code":{"text":"x"}},"request":{"method":"POST","url":"Condition"}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"DELETE","url":"Condition/1"}},{"resource":{"resourceType":"Claim"},"request":{"method":"POST","url":"Claim"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, entries, err := decodeBundle(body, "transaction", "batch")
		if err == nil {
			// Entries with ifNoneExist would ask the record service; the
			// rest is planned entirely from the body.
			for _, e := range entries {
				if strings.Contains(jsonString(e), "ifNoneExist") {
					return
				}
			}
			s := &Server{}
			var plan []*entry
			plan, err = s.plan(t.Context(), haven.Principal{}, entries, planOptions{skipRefused: true})
			if err == nil {
				for _, e := range plan {
					if e.err != nil {
						if pr := classify(e.err); pr.status >= 500 || pr.status < 400 {
							t.Fatalf("entry refused with %d: %v", pr.status, e.err)
						}
					}
				}
				return
			}
		}
		if pr := classify(err); pr.status >= 500 || pr.status < 400 {
			t.Fatalf("Bundle refused with %d: %v", pr.status, err)
		}
	})
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// FuzzDecodeObject holds decodeObject's fast path to the careful one: any
// body the fast path accepts, the token-by-token walk accepts too, with the
// same result. (The fast path may give up on a body the walk accepts; that
// costs only time.)
//
//	go test -run '^$' -fuzz FuzzDecodeObject -fuzztime 30s ./fhir/
func FuzzDecodeObject(f *testing.F) {
	f.Add([]byte(patientGolden))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`{"a":{"b":[1,2,{"c":null}]},"d":1e400,"e":"\u00e9"}`))
	f.Add([]byte(`{"a":"\xff"}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`[{}]`))
	f.Add([]byte(strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 70)))
	f.Add([]byte(strings.Repeat(`{"a":`, 64) + `[1]` + strings.Repeat(`}`, 64)))
	f.Add([]byte(`{"a":[],"b":{},"c":-0,"d":0.10,"e":"\u0000","f":"\ud83d\ude00","g":true,"h":false}`))
	f.Add([]byte(`{"a":"\ud800"}`))
	f.Add([]byte(`{"\u0061":1,"a":2}`))
	f.Add([]byte(`{"a":1]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := decodeWellFormed(body)
		if !ok {
			return
		}
		slow, err := decodeByTokens(body, "x")
		if err != nil {
			t.Fatalf("fast path accepted what the walk refuses (%v): %q", err, body)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast path read %#v, the walk %#v, from %q", fast, slow, body)
		}
	})
}

// TestDecodeObjectSynthea holds the fast path to the careful one on data
// nobody here wrote: every Synthea Bundle takes the fast path, and reads
// exactly as the token-by-token walk reads it.
func TestDecodeObjectSynthea(t *testing.T) {
	for name, body := range SyntheaBundles(t) {
		fast, ok := decodeWellFormed(body)
		if !ok {
			t.Errorf("%s: the fast path gave up on a well-formed Bundle", name)
			continue
		}
		slow, err := decodeByTokens(body, "Bundle")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s: the fast path reads it differently from the walk", name)
		}
	}
}

// BenchmarkDecodeObject decodes Synthea Bundles as an import does.
//
//	go test ./fhir -run '^$' -bench DecodeObject -benchmem
func BenchmarkDecodeObject(b *testing.B) {
	var bodies [][]byte
	var size int64
	for _, body := range SyntheaBundles(b) {
		bodies = append(bodies, body)
		size += int64(len(body))
	}
	b.SetBytes(size / int64(len(bodies)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := decodeObject(bodies[i%len(bodies)], "Bundle"); err != nil {
			b.Fatal(err)
		}
	}
}
