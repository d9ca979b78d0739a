package fhir

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
)

var servedMeta = care.Meta{Version: 3, Updated: "2026-01-01T00:00:00.000001Z"}

// encodedLongWay is what render and writeResource make of a kept Patient:
// decoded, given id and meta, encoded again.
func encodedLongWay(t testing.TB, kept []byte, id string, m care.Meta) []byte {
	t.Helper()
	o, err := storedObject(kept)
	if err != nil {
		t.Fatal(err)
	}
	o["resourceType"] = "Patient"
	o["id"] = id
	o["meta"] = object{"versionId": "3", "lastUpdated": m.Updated}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// keptAs is body as Haven keeps it (stored).
func keptAs(t testing.TB, body string) []byte {
	t.Helper()
	o, err := decodeObject([]byte(body), "Patient")
	if err != nil {
		t.Fatal(err)
	}
	kept, err := stored(o)
	if err != nil {
		t.Fatal(err)
	}
	return kept
}

// goldenPerson is the person the golden Patient makes, with it kept.
func goldenPerson(t testing.TB) *haven.Person {
	t.Helper()
	sent, err := decodeObject([]byte(patientGolden), "Patient")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := toRecord(types["Patient"], sent, "p-0001")
	if err != nil {
		t.Fatal(err)
	}
	return rec.(*haven.Person)
}

// TestKeptPatientServedAsEncoded checks that the Patients Haven keeps are
// served byte for byte as decoding and encoding them would serve them.
func TestKeptPatientServedAsEncoded(t *testing.T) {
	bodies := []string{patientGolden,
		patientEdit(`"gender"`, `"text":{"div":"<div>a & b</div>","status":"generated"},"gender"`),
		patientEdit(`"gender"`, `"multipleBirthInteger":2,"deceasedBoolean":false,"gender"`),
		patientEdit(`"gender"`, `"zzz":"\u2028 é 漢","gender"`)}
	for _, c := range patientKeptAsSent {
		bodies = append(bodies, c.body)
	}
	for i, body := range bodies {
		kept := keptAs(t, body)
		got, ok := keptPatientJSON(kept, "p-0001", servedMeta)
		if !ok {
			t.Errorf("body %d: not served from the kept bytes: %s", i, kept)
			continue
		}
		if want := encodedLongWay(t, kept, "p-0001", servedMeta); !bytes.Equal(got, want) {
			t.Errorf("body %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestKeptPatientOddBytes checks that what Haven would not have kept goes
// the long way rather than being served wrongly.
func TestKeptPatientOddBytes(t *testing.T) {
	for name, kept := range map[string]string{
		"names out of order":  `{"resourceType":"Patient","active":true}`,
		"repeated name":       `{"active":true,"active":false,"resourceType":"Patient"}`,
		"id already there":    `{"active":true,"id":"other","resourceType":"Patient"}`,
		"meta already there":  `{"meta":{},"resourceType":"Patient"}`,
		"escaped name":        `{"\u0061ctive":true,"resourceType":"Patient"}`,
		"another type":        `{"active":true,"resourceType":"Practitioner"}`,
		"no type":             `{"active":true}`,
		"not an object":       `["resourceType","Patient"]`,
		"trailing data":       `{"resourceType":"Patient"} {}`,
		"truncated":           `{"active":true,"resourceType":"Patient"`,
		"invalid UTF-8 value": "{\"active\":\"\xff\",\"resourceType\":\"Patient\"}",
	} {
		if got, ok := keptPatientJSON([]byte(kept), "p-0001", servedMeta); ok {
			t.Errorf("%s: served as %s", name, got)
		}
	}
}

// FuzzKeptPatientJSON checks, for any resource a client could have sent,
// that serving it from the kept bytes either declines or gives exactly
// what decoding and encoding it gives.
//
//	go test -run '^$' -fuzz FuzzKeptPatientJSON -fuzztime 30s ./fhir/
func FuzzKeptPatientJSON(f *testing.F) {
	for _, b := range []string{patientGolden, `{"a":"<&>","b":[1.50,-0,1e400],"c":{"z":1,"a":{}}}`, `{"":1,"id":2}`} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := decodeObject(body, "Patient")
		if err != nil {
			return
		}
		o["resourceType"] = "Patient"
		kept, err := stored(o)
		if err != nil {
			return
		}
		got, ok := keptPatientJSON(kept, "p-0001", servedMeta)
		if !ok {
			return
		}
		if want := encodedLongWay(t, kept, "p-0001", servedMeta); !bytes.Equal(got, want) {
			t.Fatalf("kept %s\n got %s\nwant %s", kept, got, want)
		}
	})
}

// TestHeldAnswersFollowTheRecord checks that a remembered answer is never
// given for a record that has changed since.
func TestHeldAnswersFollowTheRecord(t *testing.T) {
	p := goldenPerson(t)
	if !held(p) {
		t.Fatal("a person as sent does not hold what was sent")
	}
	if !held(p) {
		t.Fatal("a person as sent does not hold what was sent, when remembered")
	}
	family := p.Family
	p.Family = "Changed-in-Haven"
	if held(p) {
		t.Error("a person renamed in Haven still holds what was sent")
	}
	p.Family = family
	p.Address.Lines = append(p.Address.Lines, "Flat 2")
	if held(p) {
		t.Error("a person whose address changed in Haven still holds what was sent")
	}
	p.Address.Lines = p.Address.Lines[:len(p.Address.Lines)-1]
	if !held(p) {
		t.Error("a person changed back does not hold what was sent")
	}
	// The same person with another Patient kept: another question.
	other := keptAs(t, strings.Replace(patientGolden, `"family":"`, `"family":"Other-`, 1))
	was := p.FHIR
	p.FHIR = other
	if held(p) {
		t.Error("a person holds a kept Patient with another family name")
	}
	p.FHIR = was
	// Served the long way once changed, with Haven's elements.
	p.Family = "Changed-in-Haven"
	body, typ, err := renderJSON(care.Found{Record: p, Meta: servedMeta})
	if err != nil || typ != "Patient" || !strings.Contains(string(body), "Changed-in-Haven") {
		t.Errorf("changed person served as %s %s (%v)", typ, body, err)
	}
}

// TestHeldAnswersBounded checks that the remembered answers stay within
// their bound.
func TestHeldAnswersBounded(t *testing.T) {
	a := newAnswers(3)
	for i := range 10 {
		a.put(a.digest([]byte{byte(i)}), true)
		if len(a.m) > 3 {
			t.Fatalf("%d answers kept, bound 3", len(a.m))
		}
	}
	if _, ok := a.get(a.digest([]byte{9})); !ok {
		t.Error("the latest answer was not kept")
	}
}

// BenchmarkKeptPatient compares serving a kept Patient the long way
// (render, then encoding the object) with renderJSON.
func BenchmarkKeptPatient(b *testing.B) {
	f := care.Found{Record: goldenPerson(b), Meta: servedMeta}
	b.Run("long-way", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			res, err := render(f)
			if err != nil {
				b.Fatal(err)
			}
			if err := json.NewEncoder(io.Discard).Encode(res); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("renderJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := renderJSON(f); err != nil {
				b.Fatal(err)
			}
		}
	})
}
