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

// patientSample is the person of the golden Patient.
var patientSample = haven.Person{
	ID:         "p-0001",
	NHSNumber:  "9434765919",
	Given:      "Mary Ann",
	Family:     "Smith",
	BirthDate:  haven.MustDate("1938-04-11"),
	Gender:     "female",
	Address:    haven.Address{Lines: []string{"12 Acacia Avenue", "Headingley"}, City: "Leeds", Postcode: "LS6 2AB"},
	Phone:      "0113 496 0000",
	GPPractice: "B86001 Example Medical Practice",
}

// patientGoldenIndented is patientSample at version 3, exactly as
// json.MarshalIndent writes it.
const patientGoldenIndented = `{
  "resourceType": "Patient",
  "id": "p-0001",
  "meta": {
    "versionId": "3",
    "lastUpdated": "2025-06-01T10:00:00Z"
  },
  "identifier": [
    {
      "system": "https://fhir.nhs.uk/Id/nhs-number",
      "value": "9434765919"
    }
  ],
  "name": [
    {
      "use": "official",
      "family": "Smith",
      "given": [
        "Mary",
        "Ann"
      ]
    }
  ],
  "telecom": [
    {
      "system": "phone",
      "value": "0113 496 0000"
    }
  ],
  "gender": "female",
  "birthDate": "1938-04-11",
  "address": [
    {
      "use": "home",
      "line": [
        "12 Acacia Avenue",
        "Headingley"
      ],
      "city": "Leeds",
      "postalCode": "LS6 2AB"
    }
  ],
  "generalPractitioner": [
    {
      "display": "B86001 Example Medical Practice"
    }
  ]
}`

// patientGolden is the golden Patient as json.Marshal writes it.
var patientGolden = func() string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(patientGoldenIndented)); err != nil {
		panic(err)
	}
	return b.String()
}()

// patientEdit returns the golden Patient with each old string replaced by
// the new one that follows it. It panics if an old string is missing, so a
// test cannot silently test the golden body instead.
func patientEdit(oldNew ...string) string {
	s := patientGolden
	for i := 0; i < len(oldNew); i += 2 {
		if !strings.Contains(s, oldNew[i]) {
			panic("patientEdit: no " + oldNew[i])
		}
		s = strings.Replace(s, oldNew[i], oldNew[i+1], 1)
	}
	return s
}

func TestPatientGolden(t *testing.T) {
	pt := PatientFromPerson(patientSample, 3, "2025-06-01T10:00:00Z")
	got, err := json.MarshalIndent(pt, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != patientGoldenIndented {
		t.Errorf("PatientFromPerson wrote\n%s\nwant\n%s", got, patientGoldenIndented)
	}
	if compact, _ := json.Marshal(pt); string(compact) != patientGolden {
		t.Errorf("json.Marshal wrote\n%s\nwant\n%s", compact, patientGolden)
	}
	p, err := PersonFromPatient([]byte(patientGolden), "p-0001")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, patientSample) {
		t.Errorf("golden Patient read as\n%+v\nwant\n%+v", p, patientSample)
	}
}

func TestPatientMeta(t *testing.T) {
	for _, tc := range []struct {
		version int64
		updated string
		want    *Meta
	}{
		{0, "", nil},
		{1, "", &Meta{VersionID: "1"}},
		{0, "2025-01-01T00:00:00Z", &Meta{LastUpdated: "2025-01-01T00:00:00Z"}},
		{9007199254740993, "x", &Meta{VersionID: "9007199254740993", LastUpdated: "x"}},
	} {
		if got := PatientFromPerson(patientSample, tc.version, tc.updated).Meta; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("meta for version %d, %q: %+v, want %+v", tc.version, tc.updated, got, tc.want)
		}
	}
}

// Person → Patient → JSON → Person gives the same person, except Canary,
// which is never written.
func TestPatientRoundTrip(t *testing.T) {
	minimal := haven.Person{ID: "p.2_x", NHSNumber: "4010232137", Given: "Zebedee", Family: "Quarrington",
		BirthDate: haven.MustDate("1880-01-01"), Gender: "unknown"}
	withPostcodeOnly := minimal
	withPostcodeOnly.Address = haven.Address{Postcode: "LS21 9ZZ"}
	manyGiven := patientSample
	manyGiven.Given = "Anne-Marie Zoë Ó Dálaigh"
	manyGiven.Family = "O'Brien-Smith"
	manyGiven.Address.Lines = []string{"Flat 3, Beech Court <rear>", "14 Otley Road & Sons"}
	canary := patientSample
	canary.Canary = true
	for _, p := range []haven.Person{patientSample, minimal, withPostcodeOnly, manyGiven, canary} {
		b, err := json.Marshal(PatientFromPerson(p, 12, "2025-06-01T10:00:00.123Z"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := PersonFromPatient(b, p.ID)
		if err != nil {
			t.Errorf("%s: %v\n%s", p.ID, err, b)
			continue
		}
		want := p
		want.Canary = false
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip changed the person\ngot  %+v\nwant %+v\nvia %s", got, want, b)
		}
	}
}

// A decoy's Patient is byte for byte the Patient of the same person who is
// not one: nothing Haven keeps internally reaches the API.
func TestPatientNeverWritesCanary(t *testing.T) {
	canary := patientSample
	canary.Canary = true
	a, _ := json.Marshal(PatientFromPerson(canary, 3, "t"))
	b, _ := json.Marshal(PatientFromPerson(patientSample, 3, "t"))
	if !bytes.Equal(a, b) || bytes.Contains(bytes.ToLower(a), []byte("canary")) {
		t.Errorf("a decoy's Patient differs or mentions canary:\n%s\n%s", a, b)
	}
	// Patient's JSON names are exactly the elements Haven serves.
	var keys []string
	for name := range patientFields(patientType) {
		keys = append(keys, name)
	}
	for _, k := range keys {
		if strings.Contains(strings.ToLower(k), "canary") {
			t.Errorf("Patient has an element %q", k)
		}
	}
	if got, _ := PersonFromPatient([]byte(patientEdit(`"gender"`, `"canary":true,"gender"`)), "p-0001"); got.Canary {
		t.Error("a Patient body set Canary")
	}
}

// patientBadInput is a body PersonFromPatient must refuse, and the element
// its error must name.
type patientBadInput struct {
	name   string
	body   string
	id     string // "" means p-0001
	field  string
	reason string // a part of the reason, if it matters
}

var patientBadInputs = []patientBadInput{
	// The body as a whole.
	{name: "wrong resourceType", body: patientEdit(`"resourceType":"Patient"`, `"resourceType":"Observation"`), field: "Patient.resourceType", reason: `found "Observation"`},
	{name: "no resourceType", body: patientEdit(`"resourceType":"Patient",`, ``), field: "Patient.resourceType", reason: "found none"},
	{name: "resourceType not a string", body: patientEdit(`"resourceType":"Patient"`, `"resourceType":["Patient"]`), field: "Patient.resourceType", reason: "must be a string"},
	{name: "array instead of object", body: "[" + patientGolden + "]", field: "Patient", reason: "found an array"},
	{name: "string instead of object", body: `"Patient"`, field: "Patient", reason: "found a string"},
	{name: "null body", body: `null`, field: "Patient", reason: "found null"},
	{name: "empty body", body: ``, field: "Patient", reason: "empty"},
	{name: "blank body", body: " \n\t", field: "Patient", reason: "empty"},
	{name: "truncated", body: patientGolden[:60], field: "Patient", reason: "ends early"},
	{name: "malformed", body: `{"resourceType":"Patient",}`, field: "Patient", reason: "malformed"},
	{name: "missing comma", body: `{"resourceType":"Patient" "gender":"male"}`, field: "Patient", reason: "malformed"},
	{name: "trailing garbage", body: patientGolden + "x", field: "Patient", reason: "after the resource"},
	{name: "two resources", body: patientGolden + patientGolden, field: "Patient", reason: "after the resource"},
	{name: "huge body", body: patientGolden + strings.Repeat(" ", MaxPatientBytes), field: "Patient", reason: "limit"},
	{name: "deep nesting", body: patientEdit(`"gender"`, `"contained":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`,"gender"`), field: "Patient.contained", reason: "levels deep"},
	{name: "id mismatch", body: patientGolden, id: "p-0002", field: "Patient.id", reason: `"p-0001"`},
	{name: "bad id in the URL", body: patientEdit(`"id":"p-0001",`, ``), id: "p/1", field: "Patient.id"},

	// Repeated and case-variant keys.
	{name: "duplicate key", body: patientEdit(`"gender":"female"`, `"gender":"female","gender":"male"`), field: "Patient.gender", reason: "twice"},
	{name: "duplicate nested key", body: patientEdit(`"family":"Smith"`, `"family":"Smith","family":"Jones"`), field: "Patient.name[0].family", reason: "twice"},
	{name: "duplicate key spelt with an escape", body: patientEdit(`"gender":"female"`, `"gender":"female","gend\u0065r":"male"`), field: "Patient.gender", reason: "twice"},
	{name: "duplicate resourceType", body: patientEdit(`"resourceType":"Patient"`, `"resourceType":"Patient","resourceType":"Patient"`), field: "Patient.resourceType", reason: "twice"},
	{name: "case-variant key", body: patientEdit(`"gender":`, `"Gender":`), field: "Patient.Gender", reason: `did you mean "gender"`},
	{name: "case-variant key beside the real one", body: patientEdit(`"gender":"female"`, `"gender":"female","GENDER":"male"`), field: "Patient.GENDER", reason: "twice"},
	{name: "case-variant nested key", body: patientEdit(`"postalCode"`, `"postalcode"`), field: "Patient.address[0].postalcode", reason: `did you mean "postalCode"`},
	{name: "case-variant resourceType", body: patientEdit(`"resourceType"`, `"resourcetype"`), field: "Patient.resourcetype", reason: `did you mean "resourceType"`},
	{name: "key folded by Unicode", body: patientEdit(`{"system":"phone"`, `{"ſystem":"phone"`), field: `Patient.telecom[0]."ſystem"`, reason: `did you mean "system"`},
	{name: "case-variant ignored element", body: patientEdit(`"gender"`, `"Active":true,"gender"`), field: "Patient.Active", reason: `did you mean "active"`},

	// Ignored elements must still be what FHIR says.
	{name: "active false", body: patientEdit(`"gender"`, `"active":false,"gender"`), field: "Patient.active", reason: "in use"},
	{name: "active not a boolean", body: patientEdit(`"gender"`, `"active":"true","gender"`), field: "Patient.active", reason: "must be true or false"},
	{name: "text not an object", body: patientEdit(`"gender"`, `"text":"Mary","gender"`), field: "Patient.text", reason: "must be an object"},
	{name: "name text not a string", body: patientEdit(`"family"`, `"text":["Mary"],"family"`), field: "Patient.name[0].text", reason: "must be a string"},

	// JSON types.
	{name: "null value", body: patientEdit(`"gender":"female"`, `"gender":null`), field: "Patient.gender", reason: "found null"},
	{name: "number for a string", body: patientEdit(`"gender":"female"`, `"gender":1e999`), field: "Patient.gender", reason: "found a number"},
	{name: "empty string", body: patientEdit(`"city":"Leeds"`, `"city":""`), field: "Patient.address[0].city", reason: "empty"},
	{name: "empty array", body: patientEdit(`"gender"`, `"telecom":[],"gender"`, `"telecom":[{"system":"phone","value":"0113 496 0000"}],`, ``), field: "Patient.telecom", reason: "empty array"},
	{name: "empty object", body: patientEdit(`"name":[`, `"name":[{},`), field: "Patient.name[0]", reason: "empty object"},
	{name: "name not an array", body: patientEdit(`"name":[{"use":"official","family":"Smith","given":["Mary","Ann"]}]`, `"name":{"use":"official","family":"Smith","given":["Mary","Ann"]}`), field: "Patient.name", reason: "must be an array"},
	{name: "given not an array", body: patientEdit(`"given":["Mary","Ann"]`, `"given":"Mary Ann"`), field: "Patient.name[0].given", reason: "must be an array"},
	{name: "too many address lines", body: patientEdit(`"line":[`, `"line":[`+strings.Repeat(`"x",`, 100)), field: "Patient.address[0].line", reason: "limit is 100"},

	// identifier.
	{name: "bad NHS check digit", body: patientEdit(`9434765919`, `9434765918`), field: "Patient.identifier[0].value", reason: "modulus 11"},
	{name: "NHS number too short", body: patientEdit(`9434765919`, `943476591`), field: "Patient.identifier[0].value"},
	{name: "NHS number with letters", body: patientEdit(`9434765919`, `943476591O`), field: "Patient.identifier[0].value"},
	{name: "identifier without system", body: patientEdit(`"system":"https://fhir.nhs.uk/Id/nhs-number",`, ``), field: "Patient.identifier", reason: "an NHS number"},
	{name: "old NHS number", body: patientEdit(`{"system":"https://fhir`, `{"use":"old","system":"https://fhir`), field: "Patient.identifier", reason: "an NHS number"},
	{name: "no NHS number", body: patientEdit(`"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],`, ``), field: "Patient.identifier", reason: "required"},
	{name: "NHS number without value", body: patientEdit(`,"value":"9434765919"`, ``), field: "Patient.identifier[0].value", reason: "required"},
	{name: "two NHS numbers", body: patientEdit(`"value":"9434765919"}`, `"value":"9434765919"},{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"4010232137"}`), field: "Patient.identifier[1]", reason: "second"},
	{name: "bad identifier use", body: patientEdit(`{"system":"https://fhir`, `{"use":"primary","system":"https://fhir`), field: "Patient.identifier[0].use", reason: "must be one of"},

	// name.
	{name: "missing name", body: patientEdit(`"name":[{"use":"official","family":"Smith","given":["Mary","Ann"]}],`, ``), field: "Patient.name", reason: "required"},
	{name: "name without given", body: patientEdit(`,"given":["Mary","Ann"]`, ``), field: "Patient.name[0].given", reason: "given name is required"},
	{name: "name without family", body: patientEdit(`"family":"Smith",`, ``), field: "Patient.name[0].family", reason: "required"},
	{name: "blank family", body: patientEdit(`"family":"Smith"`, `"family":"  "`), field: "Patient.name[0].family", reason: "required"},
	{name: "blank given", body: patientEdit(`"given":["Mary","Ann"]`, `"given":["Mary"," "]`), field: "Patient.name[0].given[1]", reason: "blank"},
	{name: "control character in given", body: patientEdit(`"Ann"`, `"A\u0007nn"`), field: "Patient.name[0].given[1]", reason: "control"},
	{name: "control character in family", body: patientEdit(`"Smith"`, `"Smi\u0000th"`), field: "Patient.name[0].family", reason: "control"},
	{name: "family too long", body: patientEdit(`"Smith"`, `"`+strings.Repeat("S", 201)+`"`), field: "Patient.name[0].family", reason: "limit is 200"},
	{name: "given names too long together", body: patientEdit(`"given":["Mary","Ann"]`, `"given":["`+strings.Repeat("M", 100)+`","`+strings.Repeat("A", 100)+`"]`), field: "Patient.name[0].given", reason: "limit is 200"},
	{name: "only a nickname", body: patientEdit(`"use":"official"`, `"use":"nickname"`), field: "Patient.name", reason: "no official"},
	{name: "bad name use", body: patientEdit(`"use":"official"`, `"use":"formal"`), field: "Patient.name[0].use", reason: "must be one of"},

	// telecom.
	{name: "not a UK phone number", body: patientEdit(`0113 496 0000`, `12345`), field: "Patient.telecom[0].value", reason: "UK phone"},

	// gender and birthDate.
	{name: "bad gender", body: patientEdit(`"gender":"female"`, `"gender":"F"`), field: "Patient.gender", reason: "must be one of"},
	{name: "missing gender", body: patientEdit(`"gender":"female",`, ``), field: "Patient.gender", reason: "required"},
	{name: "birthDate 2023-02-30", body: patientEdit(`1938-04-11`, `2023-02-30`), field: "Patient.birthDate", reason: "YYYY-MM-DD"},
	{name: "birthDate 23-01-01", body: patientEdit(`1938-04-11`, `23-01-01`), field: "Patient.birthDate", reason: "YYYY-MM-DD"},
	{name: "partial birthDate", body: patientEdit(`1938-04-11`, `1938`), field: "Patient.birthDate"},
	{name: "birthDate with a time", body: patientEdit(`1938-04-11`, `1938-04-11T00:00:00Z`), field: "Patient.birthDate"},
	{name: "birthDate in the future", body: patientEdit(`1938-04-11`, `2999-01-01`), field: "Patient.birthDate", reason: "future"},
	{name: "birthDate before 1880", body: patientEdit(`1938-04-11`, `1879-12-31`), field: "Patient.birthDate", reason: "before"},
	{name: "missing birthDate", body: patientEdit(`"birthDate":"1938-04-11",`, ``), field: "Patient.birthDate", reason: "required"},

	// address.
	{name: "work address only", body: patientEdit(`"use":"home"`, `"use":"work"`), field: "Patient.address", reason: "no home address"},
	{name: "bad address use", body: patientEdit(`"use":"home"`, `"use":"house"`), field: "Patient.address[0].use", reason: "must be one of"},
	{name: "postcode too long", body: patientEdit(`"LS6 2AB"`, `"LS6 2AB LS6 2AB"`), field: "Patient.address[0].postalCode", reason: "limit is 10"},
	{name: "blank address line", body: patientEdit(`"Headingley"`, `" "`), field: "Patient.address[0].line[1]", reason: "required"},
	{name: "home address chosen for errors", body: patientEdit(`"address":[`, `"address":[{"use":"work","city":"York"},`, `"LS6 2AB"`, `"LS6 2AB LS6 2AB"`), field: "Patient.address[1].postalCode"},
	{name: "grows past MaxRecordBytes once kept", body: patientEdit(`"line":["12 Acacia Avenue","Headingley"]`,
		`"line":[`+strings.TrimSuffix(strings.Repeat(`"`+strings.Repeat("<", haven.MaxShortField)+`",`, haven.MaxListLength), ",")+`]`), field: "Patient", reason: "once kept"},

	// generalPractitioner.
	{name: "GP control character", body: patientEdit(`"B86001 Example`, `"B86001\u001bExample`), field: "Patient.generalPractitioner[0].display", reason: "control"},
}

func TestPersonFromPatientRejects(t *testing.T) {
	for _, tc := range patientBadInputs {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.id
			if id == "" {
				id = "p-0001"
			}
			p, err := PersonFromPatient([]byte(tc.body), id)
			if err == nil {
				t.Fatalf("accepted as %+v", p)
			}
			var inv *haven.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("error %v is a %T, not an *haven.InvalidError", err, err)
			}
			if inv.Field != tc.field {
				t.Errorf("error names %q, want %q (%v)", inv.Field, tc.field, err)
			}
			if !strings.Contains(inv.Reason, tc.reason) {
				t.Errorf("reason %q does not say %q", inv.Reason, tc.reason)
			}
			if len(inv.Error()) > 2000 {
				t.Errorf("error is %d bytes long", len(inv.Error()))
			}
			if !reflect.DeepEqual(p, haven.Person{}) {
				t.Errorf("a Person came back with the error: %+v", p)
			}
		})
	}
}

// patientWith returns patientSample changed by f.
func patientWith(f func(*haven.Person)) haven.Person {
	p := patientSample
	p.Address.Lines = append([]string(nil), p.Address.Lines...)
	f(&p)
	return p
}

// patientGoodInputs are bodies PersonFromPatient accepts, with the Person
// each must give.
var patientGoodInputs = []struct {
	name string
	body string
	id   string
	want haven.Person
}{
	{"golden", patientGolden, "p-0001", patientSample},
	{"no id, meta or optional elements", `{"resourceType":"Patient",
			"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],
			"name":[{"family":"Smith","given":["Mary"]}],"gender":"female","birthDate":"1938-04-11"}`, "p-9",
		haven.Person{ID: "p-9", NHSNumber: "9434765919", Given: "Mary", Family: "Smith", BirthDate: haven.MustDate("1938-04-11"), Gender: "female"}},
	{"create ignores the body's id", patientEdit(`"id":"p-0001"`, `"id":"client-chosen"`), "", patientWith(func(p *haven.Person) { p.ID = "" })},
	{"NHS number typed with spaces", patientEdit(`9434765919`, `943 476 5919`), "p-0001", patientSample},
	{"accepted and not kept: text, meta, active, name text", patientEdit(
		`"meta":{"versionId":"3","lastUpdated":"2025-06-01T10:00:00Z"}`,
		`"meta":{"versionId":99,"profile":["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"],"x":[[{}]]},"text":{"status":"generated","div":"<div>Mary</div>"},"active":true`,
		`"use":"official",`, `"use":"official","text":"Mrs Mary Ann Smith",`), "p-0001", patientSample},
	{"usual name", patientEdit(`"use":"official"`, `"use":"usual"`), "p-0001", patientSample},
	{"official name among others", patientEdit(`"name":[`, `"name":[{"use":"nickname","given":["Molly"]},{"use":"maiden","family":"Jones","given":["Mary"]},`), "p-0001", patientSample},
	{"first unmarked name when none is official", patientEdit(`"name":[{"use":"official",`, `"name":[{"use":"old","family":"Jones","given":["Mary"]},{`), "p-0001", patientSample},
	{"given names in one element", patientEdit(`["Mary","Ann"]`, `["Mary Ann"]`), "p-0001", patientSample},
	{"given names with extra spaces", patientEdit(`["Mary","Ann"]`, `[" Mary\u00a0 ","Ann  "]`), "p-0001", patientSample},
	{"home address among others", patientEdit(`"address":[`, `"address":[{"use":"work","line":["1 Park Row"],"city":"Leeds"},{"line":["2 Other St"]},`), "p-0001", patientSample},
	{"first unmarked address", patientEdit(`"use":"home",`, ``), "p-0001", patientSample},
	{"UK country", patientEdit(`"postalCode":"LS6 2AB"`, `"postalCode":"LS6 2AB","country":"United Kingdom"`), "p-0001", patientSample},
	{"phone use", patientEdit(`"value":"0113 496 0000"`, `"value":"0113 496 0000","use":"mobile"`), "p-0001", patientSample},
	{"NHS number marked official", patientEdit(`{"system":"https://fhir`, `{"use":"official","system":"https://fhir`), "p-0001", patientSample},
	{"keys in any order", `{"gender":"female","birthDate":"1938-04-11","name":[{"given":["Mary","Ann"],"family":"Smith","use":"official"}],
			"identifier":[{"value":"9434765919","system":"https://fhir.nhs.uk/Id/nhs-number"}],"id":"p-0001","resourceType":"Patient"}`, "p-0001",
		haven.Person{ID: "p-0001", NHSNumber: "9434765919", Given: "Mary Ann", Family: "Smith", BirthDate: haven.MustDate("1938-04-11"), Gender: "female"}},
	{"exactly MaxPatientBytes", patientGolden + strings.Repeat(" ", MaxPatientBytes-len(patientGolden)), "p-0001", patientSample},
	{"100 address lines", patientEdit(`"line":["12 Acacia Avenue","Headingley"]`, `"line":[`+strings.TrimSuffix(strings.Repeat(`"x",`, 100), ",")+`]`), "p-0001",
		patientWith(func(p *haven.Person) { p.Address.Lines = strings.Split(strings.Repeat("x", 100), "") })},
}

func TestPersonFromPatientAccepts(t *testing.T) {
	for _, tc := range patientGoodInputs {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PersonFromPatient([]byte(tc.body), tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
