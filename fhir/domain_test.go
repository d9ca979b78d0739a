package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven"
)

// domainDecode decodes a resource body as the engine does.
func domainDecode(t *testing.T, body []byte) (json.RawMessage, map[string]any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var res map[string]any
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("test resource is not JSON: %v\n%s", err, body)
	}
	return json.RawMessage(body), res
}

// domainJSON is a record as JSON without the original resource inside it:
// what Haven maps.
func domainJSON(t *testing.T, rec haven.Record) string {
	t.Helper()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "fhir")
	b, _ = json.Marshal(m)
	return string(b)
}

// domainCopy copies a record, without its original resource when bare.
func domainCopy(t *testing.T, rec haven.Record, bare bool) haven.Record {
	t.Helper()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := haven.New(rec.Kind())
	if err := json.Unmarshal(b, c); err != nil {
		t.Fatal(err)
	}
	if bare {
		reflect.ValueOf(c).Elem().FieldByName("FHIR").SetZero()
	}
	return c
}

// domainSubject is the reference fromDomain writes to the person.
func domainSubject(typ string, out map[string]any) string {
	switch typ {
	case "AllergyIntolerance":
		patient, _ := out["patient"].(map[string]any)
		ref, _ := patient["reference"].(string)
		return ref
	case "Appointment":
		ps, _ := out["participant"].([]any)
		for _, p := range ps {
			p, _ := p.(map[string]any)
			actor, _ := p["actor"].(map[string]any)
			if ref, _ := actor["reference"].(string); strings.HasPrefix(ref, "Patient/") {
				return ref
			}
		}
		return ""
	}
	subject, _ := out["subject"].(map[string]any)
	ref, _ := subject["reference"].(string)
	return ref
}

// domainRoundTrip checks that fromDomain(rec) reads back as rec: as Haven
// serves it with the original kept inside it, and as it would serve a
// record made in Haven, without one.
func domainRoundTrip(t *testing.T, typ string, rec haven.Record) {
	t.Helper()
	m := mappedTypes[typ]
	want := domainJSON(t, rec)
	for _, bare := range []bool{false, true} {
		r := domainCopy(t, rec, bare)
		out := m.fromDomain(r)
		for k := range out {
			if !slices.Contains(mappedElements[typ], k) {
				t.Errorf("%s %s (bare %v): fromDomain wrote %q, which mappedElements does not list", typ, rec.RecordID(), bare, k)
			}
		}
		if got := domainSubject(typ, out); got != "Patient/"+rec.Subject() {
			t.Errorf("%s %s (bare %v): subject is %q, want Patient/%s", typ, rec.RecordID(), bare, got, rec.Subject())
		}
		out["resourceType"] = typ
		body, err := json.Marshal(out)
		if err != nil {
			t.Fatalf("%s %s (bare %v): fromDomain output does not encode: %v", typ, rec.RecordID(), bare, err)
		}
		raw, res := domainDecode(t, body)
		back, err := m.toDomain(raw, res, rec.RecordID(), rec.Subject())
		if err != nil {
			t.Errorf("%s %s (bare %v): fromDomain's output is refused: %v\n%s", typ, rec.RecordID(), bare, err, body)
			continue
		}
		if got := domainJSON(t, back); got != want {
			t.Errorf("%s %s (bare %v): round trip changed the record\n got %s\nwant %s\nvia %s", typ, rec.RecordID(), bare, got, want, body)
		}
	}
}

// TestDomainSynthea maps every Condition, AllergyIntolerance, Observation
// and CarePlan of 100 Synthea patients (US Core, written by others), and
// round-trips each one.
func TestDomainSynthea(t *testing.T) {
	required := []string{"Condition", "AllergyIntolerance", "Observation", "CarePlan"}
	counts := map[string]int{}
	statuses := map[string]int{}
	bundles, bp, bpText := 0, 0, 0
	bpPattern := regexp.MustCompile(`^[0-9.]+/[0-9.]+ mm\[Hg\]$`)
	for name, body := range SyntheaBundles(t) {
		var bundle struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(body, &bundle); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		bundles++
		for _, e := range bundle.Entry {
			raw, res := domainDecode(t, e.Resource)
			typ, _ := res["resourceType"].(string)
			m, ok := mappedTypes[typ]
			if !ok {
				continue
			}
			id, _ := res["id"].(string)
			subject := "subject"
			if typ == "AllergyIntolerance" {
				subject = "patient"
			}
			ref, _ := res[subject].(map[string]any)["reference"].(string)
			person := strings.TrimPrefix(ref, "urn:uuid:")
			rec, err := m.toDomain(raw, res, id, person)
			if err != nil {
				t.Errorf("%s %s/%s is refused: %v", name, typ, id, err)
				continue
			}
			counts[typ]++
			switch {
			case rec.Kind() != m.kind:
				t.Errorf("%s/%s: kind %s, want %s", typ, id, rec.Kind(), m.kind)
			case rec.RecordID() != id || rec.Subject() != person:
				t.Errorf("%s/%s: record %s of %s, want %s of %s", typ, id, rec.RecordID(), rec.Subject(), id, person)
			case !bytes.Equal(reflect.ValueOf(rec).Elem().FieldByName("FHIR").Bytes(), raw):
				t.Errorf("%s/%s: the record does not hold the resource as sent", typ, id)
			}
			if err := rec.Validate(); err != nil {
				t.Errorf("%s/%s: %v", typ, id, err)
			}
			switch r := rec.(type) {
			case *haven.Condition:
				statuses[r.Status]++
			case *haven.Observation:
				if r.Code == "55284-4" {
					bp++
					if bpPattern.MatchString(r.ValueText) {
						bpText++
					}
				}
			}
			domainRoundTrip(t, typ, rec)
		}
	}
	t.Logf("%d bundles: mapped %v; condition statuses %v; %d blood pressures", bundles, counts, statuses, bp)
	if bundles != 100 {
		t.Errorf("read %d bundles, want 100", bundles)
	}
	for _, typ := range required {
		if counts[typ] == 0 {
			t.Errorf("no %s mapped", typ)
		}
	}
	if bp == 0 || bpText != bp {
		t.Errorf("%d of %d blood pressures read as systolic/diastolic text", bpText, bp)
	}
}

// domainAccepts are resources as UK systems might send them, with the
// record each maps to.
var domainAccepts = []struct {
	name string
	body string
	want haven.Record
}{
	{"condition: SNOMED CT preferred over an earlier ICD-10 coding", `{"resourceType":"Condition",
		"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
		"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]}],
		"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"I10","display":"Essential (primary) hypertension"},
			{"system":"http://snomed.info/sct","code":"38341003","display":"Hypertensive disorder"}]},
		"subject":{"reference":"Patient/p1"},"onsetDateTime":"2015-03-02T23:30:00-05:00"}`,
		&haven.Condition{Code: "38341003", Display: "Hypertensive disorder", Status: "active", Onset: haven.MustDate("2015-03-02")}},
	{"condition: abated without a status is resolved; display from text; onset period", `{"resourceType":"Condition",
		"code":{"coding":[{"system":"http://snomed.info/sct","code":"68566005"}],"text":"Urinary tract infection"},
		"subject":{"reference":"Patient/p1"},"onsetPeriod":{"start":"2024-02-01"},"abatementDateTime":"2024-02-09"}`,
		&haven.Condition{Code: "68566005", Display: "Urinary tract infection", Status: "resolved", Onset: haven.MustDate("2024-02-01")}},
	{"condition: a year of onset is left in the original", `{"resourceType":"Condition",
		"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"remission"}]},
		"code":{"coding":[{"system":"http://snomed.info/sct","code":"35489007","display":"Depressive disorder"}]},
		"subject":{"reference":"Patient/p1"},"onsetDateTime":"1998"}`,
		&haven.Condition{Code: "35489007", Display: "Depressive disorder", Status: "remission"}},
	{"allergy: manifestations joined, severity", `{"resourceType":"AllergyIntolerance",
		"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]},
		"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification","code":"confirmed"}]},
		"code":{"coding":[{"system":"http://snomed.info/sct","code":"764146007","display":"Penicillin"}]},
		"patient":{"reference":"Patient/p1"},"criticality":"high",
		"reaction":[{"manifestation":[{"coding":[{"system":"http://snomed.info/sct","code":"126485001","display":"Urticaria"}]},{"text":"Swelling of lips and face"}],"severity":"severe"},
			{"manifestation":[{"text":"Rash"}],"severity":"mild"}]}`,
		&haven.Allergy{Substance: "Penicillin", Reaction: "Urticaria, Swelling of lips and face", Severity: "severe"}},
	{"allergy: substance only", `{"resourceType":"AllergyIntolerance","code":{"text":"Latex"},"patient":{"reference":"Patient/p1"}}`,
		&haven.Allergy{Substance: "Latex"}},
	{"medication: dm+d coded, dose quantity, daily repeat, route display", `{"resourceType":"MedicationStatement","status":"active",
		"medicationCodeableConcept":{"coding":[{"system":"https://dmd.nhs.uk","code":"318136002","display":"Ramipril 5mg capsules"}]},
		"subject":{"reference":"Patient/p1"},"effectivePeriod":{"start":"2023-01-10"},
		"dosage":[{"text":"One capsule once daily","timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"d"}},
			"route":{"coding":[{"system":"http://snomed.info/sct","code":"26643006","display":"Oral route"}]},
			"doseAndRate":[{"doseQuantity":{"value":5,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}]}]}`,
		&haven.Medication{Name: "Ramipril 5mg capsules", Dose: "5 mg", Frequency: "once daily", Route: "Oral route", Start: haven.MustDate("2023-01-10")}},
	{"medication: dose range, every 4 to 6 hours when required", `{"resourceType":"MedicationStatement","status":"active",
		"medicationCodeableConcept":{"text":"Paracetamol 500mg tablets"},"subject":{"reference":"Patient/p1"},
		"dosage":[{"timing":{"repeat":{"frequency":1,"period":4,"periodMax":6,"periodUnit":"h"}},"asNeededBoolean":true,
			"doseAndRate":[{"doseRange":{"low":{"value":1,"unit":"tablet"},"high":{"value":2,"unit":"tablet"}}}]}]}`,
		&haven.Medication{Name: "Paracetamol 500mg tablets", Dose: "1 to 2 tablet", Frequency: "every 4 to 6 hours, when required"}},
	{"medication: times of day, dose as text, a finished course", `{"resourceType":"MedicationStatement","status":"completed",
		"medicationCodeableConcept":{"text":"Insulin aspart"},"subject":{"reference":"Patient/p1"},
		"effectivePeriod":{"start":"2020-05-01","end":"2020-05-31"},
		"dosage":[{"text":"4-8 units according to chart","timing":{"repeat":{"frequency":2,"period":1,"periodUnit":"d","timeOfDay":["08:00:00","18:00:00"]}},
			"route":{"text":"subcutaneous"}}]}`,
		&haven.Medication{Name: "Insulin aspart", Dose: "4-8 units according to chart", Frequency: "twice daily at 08:00 and 18:00",
			Route: "subcutaneous", Start: haven.MustDate("2020-05-01"), End: haven.MustDate("2020-05-31")}},
	{"medication: morning, weekly on Monday, timing code text preferred", `{"resourceType":"MedicationStatement","status":"active",
		"medicationReference":{"reference":"Medication/m1","display":"Alendronic acid 70mg tablets"},"subject":{"reference":"Patient/p1"},
		"dosage":[{"timing":{"code":{"text":"Once a week on Monday morning"},"repeat":{"frequency":1,"period":1,"periodUnit":"wk","dayOfWeek":["mon"],"when":["MORN"]}},
			"doseAndRate":[{"doseQuantity":{"value":1,"unit":"tablet"}}]}]}`,
		&haven.Medication{Name: "Alendronic acid 70mg tablets", Dose: "1 tablet", Frequency: "Once a week on Monday morning"}},
	{"medication: repeat in words with events", `{"resourceType":"MedicationStatement","status":"active",
		"medicationCodeableConcept":{"text":"Alendronic acid 70mg tablets"},"subject":{"reference":"Patient/p1"},
		"dosage":[{"timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"wk","dayOfWeek":["mon"],"when":["MORN","ACM"]}},
			"doseAndRate":[{"doseQuantity":{"value":1,"unit":"tablet"}}]}]}`,
		&haven.Medication{Name: "Alendronic acid 70mg tablets", Dose: "1 tablet", Frequency: "once weekly on Monday in the morning and before breakfast"}},
	{"observation: weight, UCUM code as unit, date-only effective is midnight UTC", `{"resourceType":"Observation","status":"final",
		"code":{"coding":[{"system":"http://snomed.info/sct","code":"27113001","display":"Body weight"}]},"subject":{"reference":"Patient/p1"},
		"effectiveDateTime":"2024-04-02","valueQuantity":{"value":72.5,"system":"http://unitsofmeasure.org","code":"kg"}}`,
		&haven.Observation{Code: "27113001", Display: "Body weight", Value: 72.5, Unit: "kg", At: time.Date(2024, 4, 2, 0, 0, 0, 0, time.UTC)}},
	{"observation: UK Core blood pressure, SNOMED CT components", `{"resourceType":"Observation","status":"final",
		"code":{"coding":[{"system":"http://snomed.info/sct","code":"75367002","display":"Blood pressure"},{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel"}]},
		"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2024-04-02T09:15:00+01:00",
		"component":[{"code":{"coding":[{"system":"http://snomed.info/sct","code":"271649006","display":"Systolic blood pressure"}]},"valueQuantity":{"value":128,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
			{"code":{"coding":[{"system":"http://snomed.info/sct","code":"271650006","display":"Diastolic blood pressure"}]},"valueQuantity":{"value":82,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`,
		&haven.Observation{Code: "75367002", Display: "Blood pressure", ValueText: "128/82 mmHg", At: time.Date(2024, 4, 2, 9, 15, 0, 0, time.FixedZone("", 3600))}},
	{"observation: other components are listed", `{"resourceType":"Observation","status":"final",
		"code":{"text":"Pain score","coding":[{"system":"http://loinc.org","code":"72514-3"}]},"subject":{"reference":"Patient/p1"},
		"effectiveInstant":"2024-04-02T09:15:00Z",
		"component":[{"code":{"text":"At rest"},"valueInteger":2},{"code":{"text":"On movement"},"valueInteger":6}]}`,
		&haven.Observation{Code: "72514-3", Display: "Pain score", ValueText: "At rest 2; On movement 6", At: time.Date(2024, 4, 2, 9, 15, 0, 0, time.UTC)}},
	{"observation: coded value, issued", `{"resourceType":"Observation","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"72166-2","display":"Tobacco smoking status"}]},"subject":{"reference":"Patient/p1"},
		"issued":"2024-04-02T09:15:00.123Z","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"266919005","display":"Never smoked tobacco"}]}}`,
		&haven.Observation{Code: "72166-2", Display: "Tobacco smoking status", ValueText: "Never smoked tobacco", At: time.Date(2024, 4, 2, 9, 15, 0, 123e6, time.UTC)}},
	{"observation: comparator, boolean, absent", `{"resourceType":"Observation","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"15074-8","display":"Glucose [Moles/volume] in Blood"}]},"subject":{"reference":"Patient/p1"},
		"effectivePeriod":{"start":"2024-04-02T09:15:00Z"},"valueQuantity":{"value":2.2,"comparator":"<","unit":"mmol/L"}}`,
		&haven.Observation{Code: "15074-8", Display: "Glucose [Moles/volume] in Blood", ValueText: "<2.2 mmol/L", At: time.Date(2024, 4, 2, 9, 15, 0, 0, time.UTC)}},
	{"observation: no value, with the reason", `{"resourceType":"Observation","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}]},"subject":{"reference":"Patient/p1"},
		"effectiveDateTime":"2024-04-02T09:15:00Z","dataAbsentReason":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/data-absent-reason","code":"asked-declined","display":"Asked But Declined"}]}}`,
		&haven.Observation{Code: "29463-7", Display: "Body weight", ValueText: "No value: Asked But Declined", At: time.Date(2024, 4, 2, 9, 15, 0, 0, time.UTC)}},
	{"note: the text/plain content, the Practitioner author", `{"resourceType":"DocumentReference","status":"current",
		"type":{"coding":[{"system":"http://snomed.info/sct","code":"371531000","display":"Report of clinical encounter"}]},
		"subject":{"reference":"Patient/p1"},"date":"2024-05-01T10:15:00+01:00",
		"author":[{"reference":"Organization/o1"},{"reference":"Practitioner/staff-1/_history/3"}],
		"content":[{"attachment":{"contentType":"application/pdf","url":"https://example.org/letter.pdf"}},
			{"attachment":{"contentType":"text/plain; charset=UTF-8","data":"TW9ybmluZyBjYWxsLiBObyBjb25jZXJucy4="}}]}`,
		&haven.Note{AuthorID: "staff-1", Text: "Morning call. No concerns.", At: time.Date(2024, 5, 1, 10, 15, 0, 0, time.FixedZone("", 3600))}},
	{"care plan: title from category, goals by display and contained, review from period end", `{"resourceType":"CarePlan","status":"active","intent":"plan",
		"contained":[{"resourceType":"Goal","id":"g2","lifecycleStatus":"active","description":{"text":"Keep to a familiar daily routine"},"subject":{"reference":"Patient/p1"}}],
		"category":[{"coding":[{"system":"http://snomed.info/sct","code":"734163000","display":"Care plan"}],"text":"Home care plan"}],
		"subject":{"reference":"Patient/p1"},"period":{"start":"2024-01-08","end":"2024-07-08"},
		"goal":[{"reference":"Goal/g1","display":"Stay living safely at home"},{"reference":"#g2"},{"reference":"Goal/g3"}],
		"activity":[{"detail":{"status":"in-progress","code":{"text":"Assist with washing and dressing"}}},
			{"detail":{"status":"in-progress","description":"Prompt medication from the blister pack"}},
			{"reference":{"reference":"ServiceRequest/s1","display":"Weekly shopping"}},
			{"outcomeReference":[{"reference":"Procedure/x"}]}]}`,
		&haven.CarePlan{Title: "Home care plan", Goals: []string{"Stay living safely at home", "Keep to a familiar daily routine"},
			Activities: []string{"Assist with washing and dressing", "Prompt medication from the blister pack", "Weekly shopping"},
			Start:      haven.MustDate("2024-01-08"), Review: haven.MustDate("2024-07-08")}},
	{"care plan: title, no goals or activities", `{"resourceType":"CarePlan","status":"active","intent":"plan","title":"Falls prevention",
		"subject":{"reference":"Patient/p1"},"period":{"start":"2024-01-08T10:00:00Z"}}`,
		&haven.CarePlan{Title: "Falls prevention", Goals: []string{}, Activities: []string{}, Start: haven.MustDate("2024-01-08")}},
	{"care team: staff members, service from the category", `{"resourceType":"CareTeam","status":"active","name":"Leeds North home care",
		"category":[{"text":"Home care","coding":[{"system":"http://loinc.org","code":"LA27976-2","display":"Encounter-focused care team"}]}],
		"subject":{"reference":"Patient/p1"},"managingOrganization":[{"display":"Haven Home Care Ltd"}],
		"participant":[{"role":[{"text":"Carer"}],"member":{"reference":"Practitioner/s1","display":"Jo Bloggs"},"period":{"start":"2024-01-01"}},
			{"member":{"reference":"Practitioner/s2"}}]}`,
		&haven.CareTeam{Name: "Leeds North home care", StaffIDs: []string{"s1", "s2"}, Service: "Home care"}},
	{"care team: awaiting allocation", `{"resourceType":"CareTeam","name":"Community nursing (awaiting allocation)","subject":{"reference":"Patient/p1"}}`,
		&haven.CareTeam{Name: "Community nursing (awaiting allocation)", StaffIDs: []string{}}},
	{"appointment: a booked home visit", `{"resourceType":"Appointment","status":"booked","description":"Morning call",
		"serviceType":[{"text":"Assist with washing and dressing"},{"coding":[{"system":"http://example.org","code":"pm","display":"Prompt medication"}]}],
		"start":"2024-05-01T07:30:00+01:00","end":"2024-05-01T08:15:00+01:00",
		"participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"},{"actor":{"reference":"Practitioner/s1"},"status":"accepted"},
			{"actor":{"reference":"Location/home"},"status":"accepted"}]}`,
		&haven.Visit{StaffID: "s1", Status: "planned", Tasks: []string{"Assist with washing and dressing", "Prompt medication"},
			Start: time.Date(2024, 5, 1, 7, 30, 0, 0, time.FixedZone("", 3600)), End: time.Date(2024, 5, 1, 8, 15, 0, 0, time.FixedZone("", 3600))}},
	{"appointment: a missed visit", `{"resourceType":"Appointment","status":"noshow",
		"start":"2024-05-01T20:00:00Z","end":"2024-05-01T20:30:00Z",
		"participant":[{"actor":{"reference":"Practitioner/s1"},"status":"accepted"},{"actor":{"reference":"Patient/p1"},"status":"accepted"}]}`,
		&haven.Visit{StaffID: "s1", Status: "missed", Start: time.Date(2024, 5, 1, 20, 0, 0, 0, time.UTC), End: time.Date(2024, 5, 1, 20, 30, 0, 0, time.UTC)}},
}

// domainSetIDs sets a wanted record's id and person, as toDomain should.
func domainSetIDs(rec haven.Record, id, person string) {
	v := reflect.ValueOf(rec).Elem()
	v.FieldByName("ID").SetString(id)
	v.FieldByName("PersonID").SetString(person)
}

func TestDomainAccepts(t *testing.T) {
	for _, tc := range domainAccepts {
		t.Run(tc.name, func(t *testing.T) {
			raw, res := domainDecode(t, []byte(tc.body))
			typ := res["resourceType"].(string)
			m := mappedTypes[typ]
			rec, err := m.toDomain(raw, res, "r-1", "p1")
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !bytes.Equal(reflect.ValueOf(rec).Elem().FieldByName("FHIR").Bytes(), raw) {
				t.Error("the record does not hold the resource as sent")
			}
			domainSetIDs(tc.want, "r-1", "p1")
			if got, want := domainJSON(t, rec), domainJSON(t, tc.want); got != want {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
			domainRoundTrip(t, typ, rec)
		})
	}
}

// TestDomainFromHaven renders records made in Haven (as the demo makes
// them, with no FHIR original) and reads them back.
func TestDomainFromHaven(t *testing.T) {
	at := time.Date(2024, 5, 1, 9, 30, 0, 0, time.UTC)
	recs := []haven.Record{
		&haven.Condition{ID: "c1", PersonID: "p1", Code: "44054006", Display: "Type 2 diabetes mellitus", Status: "active", Onset: haven.MustDate("2011-06-01")},
		&haven.Condition{ID: "c2", PersonID: "p1", Code: "X-LOCAL-1", Display: "Local code", Status: "inactive"},
		&haven.Allergy{ID: "a1", PersonID: "p1", Substance: "Codeine", Reaction: "Nausea and vomiting", Severity: "moderate"},
		&haven.Allergy{ID: "a2", PersonID: "p1", Substance: "Peanuts", Severity: "severe"},
		&haven.Allergy{ID: "a3", PersonID: "p1", Substance: "Eggs"},
		&haven.Medication{ID: "m1", PersonID: "p1", Name: "Metformin", Dose: "500 mg", Frequency: "twice daily with meals", Route: "oral", Start: haven.MustDate("2012-01-01")},
		&haven.Medication{ID: "m2", PersonID: "p1", Name: "Ramipril", Dose: "2.5 mg", Frequency: "once daily", Route: "oral"},
		&haven.Medication{ID: "m3", PersonID: "p1", Name: "Insulin aspart", Dose: "4–8 units according to chart", Frequency: "three times daily with meals", Route: "subcutaneous"},
		&haven.Medication{ID: "m4", PersonID: "p1", Name: "Salbutamol 100 micrograms/dose inhaler", Dose: "2 puffs", Frequency: "when required, up to four times daily", Route: "inhaled"},
		&haven.Medication{ID: "m5", PersonID: "p1", Name: "Oramorph", Dose: "5 mg", Frequency: "every 4 hours, when required"},
		&haven.Medication{ID: "m6", PersonID: "p1", Name: "Lactulose", Dose: "10 ml", Frequency: "when required"},
		&haven.Medication{ID: "m7", PersonID: "p1", Name: "Amoxicillin", Dose: "500 mg", Frequency: "3 times daily",
			Start: haven.MustDate("2020-01-01"), End: haven.MustDate("2020-01-07")},
		&haven.Observation{ID: "o1", PersonID: "p1", Code: "8480-6", Display: "Systolic blood pressure", Value: 128, Unit: "mm[Hg]", At: at},
		&haven.Observation{ID: "o2", PersonID: "p1", Code: "8310-5", Display: "Body temperature", Value: 37.9, Unit: "Cel", At: at},
		&haven.Observation{ID: "o3", PersonID: "p1", Code: "85354-9", Display: "Blood pressure panel", ValueText: "128/82 mm[Hg]", At: at},
		&haven.Observation{ID: "o4", PersonID: "p1", Code: "365980008", Display: "Tobacco use and exposure", ValueText: "Never smoker", At: at},
		&haven.Observation{ID: "o5", PersonID: "p1", Code: "local", Display: "Mood", ValueText: "Cheerful", At: at.In(time.FixedZone("", 3600))},
		&haven.Observation{ID: "o6", PersonID: "p1", Code: "9279-1", Display: "Respiratory rate", Value: 0, At: at},
		&haven.Note{ID: "n1", PersonID: "p1", AuthorID: "staff-1", At: at, Text: "Tea call. <b>All eaten</b> & curtains closed.\nNo concerns."},
		&haven.CarePlan{ID: "cp1", PersonID: "p1", Title: "Home care plan", Goals: []string{"Stay living safely at home"},
			Activities: []string{"Offer regular meals"}, Start: haven.MustDate("2024-01-08"), Review: haven.MustDate("2024-07-08")},
		&haven.CarePlan{ID: "cp2", PersonID: "p1", Title: "Nursing plan", Goals: []string{}, Activities: []string{}, Start: haven.MustDate("2024-01-08")},
		&haven.CareTeam{ID: "ct1", PersonID: "p1", Name: "Home care team", StaffIDs: []string{"s1", "s2"}, Service: "Home care"},
		&haven.CareTeam{ID: "ct2", PersonID: "p1", Name: "Community nursing (awaiting allocation)", StaffIDs: []string{}, Service: "Community nursing"},
	}
	for _, st := range []string{"planned", "in-progress", "completed", "cancelled", "missed"} {
		recs = append(recs, &haven.Visit{ID: "v-" + st, PersonID: "p1", StaffID: "s1", Start: at, End: at.Add(30 * time.Minute),
			Status: st, Tasks: []string{"Prepare lunch", "Prompt medication"}})
	}
	types := map[haven.Kind]string{}
	for name, m := range mappedTypes {
		types[m.kind] = name
	}
	for _, rec := range recs {
		if err := rec.Validate(); err != nil {
			t.Fatalf("%s: %v", rec.RecordID(), err)
		}
		domainRoundTrip(t, types[rec.Kind()], rec)
	}

	// Some renderings, checked element by element.
	out := mappedTypes["Observation"].fromDomain(recs[14])
	comps, _ := json.Marshal(out["component"])
	if want := `[{"code":{"coding":[{"code":"8480-6","display":"Systolic blood pressure","system":"http://loinc.org"}]},"valueQuantity":{"unit":"mm[Hg]","value":128}},` +
		`{"code":{"coding":[{"code":"8462-4","display":"Diastolic blood pressure","system":"http://loinc.org"}]},"valueQuantity":{"unit":"mm[Hg]","value":82}}]`; string(comps) != want {
		t.Errorf("blood pressure components\n got %s\nwant %s", comps, want)
	}
	out = mappedTypes["MedicationStatement"].fromDomain(recs[9])
	if got, _ := json.Marshal(out["dosage"]); string(got) != `[{"asNeededBoolean":true,"doseAndRate":[{"doseQuantity":{"unit":"mg","value":5}}],"timing":{"repeat":{"frequency":1,"period":4,"periodUnit":"h"}}}]` {
		t.Errorf("dosage of %s: %s", recs[9].RecordID(), got)
	}
	if out["status"] != "active" {
		t.Errorf("status of a medicine with no end: %v", out["status"])
	}
	if out = mappedTypes["MedicationStatement"].fromDomain(recs[11]); out["status"] != "completed" {
		t.Errorf("status of a finished course: %v", out["status"])
	}
	if out = mappedTypes["Condition"].fromDomain(recs[0]); !strings.Contains(fmt.Sprint(out["code"]), domSNOMED) {
		t.Errorf("a SNOMED CT concept id is written without its system: %v", out["code"])
	}
	if out = mappedTypes["Condition"].fromDomain(recs[1]); strings.Contains(fmt.Sprint(out["code"]), "system") {
		t.Errorf("a local code is written with a system: %v", out["code"])
	}
}

// TestDomainChangedInHaven edits records that came through FHIR, as a
// carer would in Haven, and serves them as the engine does: the original
// with fromDomain's elements over it. What changed reads back changed;
// what did not keeps the original's elements as sent.
func TestDomainChangedInHaven(t *testing.T) {
	cases := []struct {
		typ, body string
		edit      func(haven.Record)
		kept      []string // elements that must be the original's, unchanged
		gone      []string // elements of the original the change supersedes
	}{
		{"Condition", `{"resourceType":"Condition",
			"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
			"code":{"coding":[{"system":"http://snomed.info/sct","code":"399912005","display":"Pressure ulcer"}],"text":"Pressure sore, left heel"},
			"subject":{"reference":"urn:uuid:0b6c8a2e-2a47-4f0c-9d7a-3c1f4b2f9a10"},"onsetPeriod":{"start":"2024-03-01","end":"2024-03-02"}}`,
			func(r haven.Record) {
				c := r.(*haven.Condition)
				c.Status, c.Onset = "resolved", haven.MustDate("2024-02-28")
			}, []string{"code"}, []string{"onsetPeriod"}},
		{"Observation", `{"resourceType":"Observation","status":"amended",
			"code":{"coding":[{"system":"http://loinc.org","code":"55284-4","display":"Blood Pressure"}]},"subject":{"reference":"Patient/p1"},
			"effectiveDateTime":"2024-04-02T09:15:00+01:00",
			"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic"}]},"valueQuantity":{"value":150,"unit":"mm[Hg]"}},
				{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4","display":"Diastolic"}]},"valueQuantity":{"value":95,"unit":"mm[Hg]"}}]}`,
			func(r haven.Record) { r.(*haven.Observation).ValueText = "Not measured: cuff too small" },
			[]string{"code", "status", "effectiveDateTime"}, []string{"component"}},
		{"MedicationStatement", `{"resourceType":"MedicationStatement","status":"active",
			"medicationCodeableConcept":{"coding":[{"system":"https://dmd.nhs.uk","code":"318136002","display":"Ramipril 5mg capsules"}]},
			"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2023-01-10",
			"dosage":[{"timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"d"}},"doseAndRate":[{"doseQuantity":{"value":5,"unit":"mg"}}]}]}`,
			func(r haven.Record) {
				m := r.(*haven.Medication)
				m.Frequency, m.End = "twice daily", haven.MustDate("2023-06-01")
			}, []string{"medicationCodeableConcept"}, []string{"effectiveDateTime"}},
		{"Appointment", `{"resourceType":"Appointment","status":"booked",
			"start":"2024-05-01T07:30:00+01:00","end":"2024-05-01T08:15:00+01:00",
			"participant":[{"actor":{"reference":"Patient/p1","display":"Mrs Patel"},"status":"accepted"},{"actor":{"reference":"Practitioner/s1"},"status":"accepted"}]}`,
			func(r haven.Record) { r.(*haven.Visit).Status = "completed" }, []string{"participant", "start", "end"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			m := mappedTypes[tc.typ]
			raw, res := domainDecode(t, []byte(tc.body))
			rec, err := m.toDomain(raw, res, "r-1", "p1")
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(rec)
			if err := rec.Validate(); err != nil {
				t.Fatal(err)
			}
			out := m.fromDomain(rec)
			_, served := domainDecode(t, raw)
			for _, k := range mappedElements[tc.typ] {
				delete(served, k)
			}
			maps.Copy(served, out)
			for _, k := range tc.kept {
				a, _ := json.Marshal(served[k])
				b, _ := json.Marshal(res[k])
				if !bytes.Equal(a, b) {
					t.Errorf("%s was changed though Haven's value is not: %s, sent %s", k, a, b)
				}
			}
			for _, k := range tc.gone {
				if _, ok := served[k]; ok {
					t.Errorf("%s is still served after the change: %v", k, served[k])
				}
			}
			body, _ := json.Marshal(served)
			raw2, res2 := domainDecode(t, body)
			back, err := m.toDomain(raw2, res2, "r-1", "p1")
			if err != nil {
				t.Fatalf("served resource refused: %v\n%s", err, body)
			}
			if got, want := domainJSON(t, back), domainJSON(t, rec); got != want {
				t.Errorf("\n got %s\nwant %s\nvia %s", got, want, body)
			}
		})
	}
}

// domainRefusals are resources Haven refuses, with the path of the element
// the error must name and words its reason must contain.
var domainRefusals = []struct {
	body, path, reason string
	personID           string
}{
	// Condition.
	{body: `{"resourceType":"Condition","subject":{"reference":"Patient/p1"}}`, path: "Condition.code", reason: "is required"},
	{body: `{"resourceType":"Condition","code":"Asthma"}`, path: "Condition.code", reason: "must be an object; found a string"},
	{body: `{"resourceType":"Condition","code":{"text":"Asthma"}}`, path: "Condition.code.coding", reason: "text alone"},
	{body: `{"resourceType":"Condition","code":{"coding":[{"system":"http://snomed.info/sct","display":"Asthma"}]}}`, path: "Condition.code.coding[0].code", reason: "is required"},
	{body: `{"resourceType":"Condition","code":{"coding":[{"system":"http://snomed.info/sct","code":"195967001"}]}}`, path: "Condition.code.coding[0].display", reason: "by name"},
	{body: `{"resourceType":"Condition","code":{"coding":[{"system":"http://snomed.info/sct","code":"195967001","display":""}]}}`, path: "Condition.code.coding[0].display", reason: "must not be empty"},
	{body: `{"resourceType":"Condition","code":{"coding":[{"code":"195967001","display":"` + strings.Repeat("x", 201) + `"}]}}`, path: "Condition.code.coding[0].display", reason: "the limit is 200"},
	{body: `{"resourceType":"Condition","code":{"coding":[{"code":"195967001","display":"Asthma"}]},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"cured"}]}}`,
		path: "Condition.clinicalStatus.coding[0].code", reason: "must be one of active, recurrence"},
	{body: `{"resourceType":"Condition","code":{"coding":[{"code":"195967001","display":"Asthma"}]},"clinicalStatus":{"text":"active"}}`,
		path: "Condition.clinicalStatus.coding", reason: "is required"},
	{body: `{"resourceType":"Condition","code":{"coding":[{"code":"195967001","display":"Asthma"}]},"verificationStatus":{"coding":[{"system":"x","code":"y"},{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"entered-in-error"}]}}`,
		path: "Condition.verificationStatus.coding[1].code", reason: "entered-in-error"},
	{body: `{"resourceType":"Condition","code":{"coding":[{"code":"195967001","display":"Asthma"}]},"onsetDateTime":"2019-07-17T11:19"}`,
		path: "Condition.onsetDateTime", reason: "not a FHIR date or dateTime"},
	{body: `{"resourceType":"Condition","code":{"coding":[{"code":"195967001","display":"Asthma"}]},"implicitRules":"http://example.org/rules"}`,
		path: "Condition.implicitRules", reason: "implicit rules"},
	{body: `{"resourceType":"Condition","code":{"coding":[{"code":"195967001","display":"Asthma"}]},"evidence":[{"modifierExtension":[{"url":"http://example.org/x","valueBoolean":true}]}]}`,
		path: "Condition.evidence[0].modifierExtension", reason: "modifier extensions"},
	{body: `{"resourceType":"Condition","code":{"coding":[{"code":"195967001","display":"Asthma"}]}}`, personID: "", path: "Condition.subject", reason: "is required"},
	// AllergyIntolerance.
	{body: `{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/p1"}}`, path: "AllergyIntolerance.code", reason: "the substance"},
	{body: `{"resourceType":"AllergyIntolerance","code":{"coding":[{"system":"http://snomed.info/sct","code":"764146007"}]}}`, path: "AllergyIntolerance.code", reason: "by name"},
	{body: `{"resourceType":"AllergyIntolerance","code":{"text":"Penicillin"},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"resolved"}]}}`,
		path: "AllergyIntolerance.clinicalStatus.coding[0].code", reason: "current allergies"},
	{body: `{"resourceType":"AllergyIntolerance","code":{"text":"Penicillin"},"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification","code":"refuted"}]}}`,
		path: "AllergyIntolerance.verificationStatus.coding[0].code", reason: "refuted"},
	{body: `{"resourceType":"AllergyIntolerance","code":{"text":"Penicillin"},"reaction":[{"manifestation":[{"text":"Rash"}],"severity":"fatal"}]}`,
		path: "AllergyIntolerance.reaction[0].severity", reason: "must be one of mild, moderate, severe"},
	{body: `{"resourceType":"AllergyIntolerance","code":{"text":"Penicillin"},"reaction":[{"manifestation":[{"text":"Rash"}],"modifierExtension":[{"url":"http://example.org/x","valueBoolean":true}]}]}`,
		path: "AllergyIntolerance.reaction[0].modifierExtension", reason: "modifier extensions"},
	{body: `{"resourceType":"AllergyIntolerance","code":{"text":"Penicillin"},"reaction":{"manifestation":[{"text":"Rash"}]}}`,
		path: "AllergyIntolerance.reaction", reason: "must be an array; found an object"},
	// MedicationStatement.
	{body: `{"resourceType":"MedicationStatement","status":"active","medicationCodeableConcept":{"text":"Ramipril"}}`,
		path: "MedicationStatement.dosage", reason: "the dose and how often"},
	{body: `{"resourceType":"MedicationStatement","status":"active","dosage":[{"text":"5 mg"}]}`,
		path: "MedicationStatement.medicationCodeableConcept", reason: "by name"},
	{body: `{"resourceType":"MedicationStatement","status":"active","medicationReference":{"reference":"Medication/m1"},"dosage":[{"text":"5 mg"}]}`,
		path: "MedicationStatement.medicationReference.display", reason: "does not read a referenced Medication"},
	{body: `{"resourceType":"MedicationStatement","status":"active","medicationCodeableConcept":{"text":"Ramipril"},"dosage":[{"timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"d"}}}]}`,
		path: "MedicationStatement.dosage[0].doseAndRate", reason: "a dose is required"},
	{body: `{"resourceType":"MedicationStatement","status":"active","medicationCodeableConcept":{"text":"Ramipril"},"dosage":[{"doseAndRate":[{"doseQuantity":{"value":5,"unit":"mg"}}]}]}`,
		path: "MedicationStatement.dosage[0].timing", reason: "how often"},
	{body: `{"resourceType":"MedicationStatement","status":"active","medicationCodeableConcept":{"text":"Ramipril"},"dosage":[{"doseAndRate":[{"doseQuantity":{"unit":"mg"}}],"timing":{"code":{"text":"daily"}}}]}`,
		path: "MedicationStatement.dosage[0].doseAndRate[0].doseQuantity.value", reason: "is required"},
	{body: `{"resourceType":"MedicationStatement","status":"active","medicationCodeableConcept":{"text":"Ramipril"},"dosage":[{"text":"5 mg","timing":{"repeat":{"boundsDuration":{"value":7,"unit":"d"}}}}]}`,
		path: "MedicationStatement.dosage[0].timing", reason: "nothing Haven can read"},
	{body: `{"resourceType":"MedicationStatement","status":"active","medicationCodeableConcept":{"text":"Ramipril"},"dosage":[{"text":"5 mg","timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"day"}}}]}`,
		path: "MedicationStatement.dosage[0].timing.repeat.periodUnit", reason: "must be one of s, min, h, d, wk, mo, a"},
	{body: `{"resourceType":"MedicationStatement","status":"not-taken","medicationCodeableConcept":{"text":"Ramipril"},"dosage":[{"text":"5 mg","timing":{"code":{"text":"daily"}}}]}`,
		path: "MedicationStatement.status", reason: "not taken"},
	{body: `{"resourceType":"MedicationStatement","status":"active","medicationCodeableConcept":{"text":"Ramipril"},"dosage":[{"text":"5 mg","timing":{"code":{"text":"daily"}}}],"effectivePeriod":{"start":"2024-02-01","end":"2024-01-01"}}`,
		path: "MedicationStatement.effectivePeriod.end", reason: "before start"},
	// Observation.
	{body: `{"resourceType":"Observation","status":"final","code":{"coding":[{"code":"29463-7","display":"Body weight"}]},"valueQuantity":{"value":72,"unit":"kg"}}`,
		path: "Observation.effectiveDateTime", reason: "when the observation was made"},
	{body: `{"resourceType":"Observation","status":"final","code":{"coding":[{"code":"29463-7","display":"Body weight"}]},"valueQuantity":{"value":72,"unit":"kg"},"effectiveDateTime":"2019"}`,
		path: "Observation.effectiveDateTime", reason: "full date"},
	{body: `{"resourceType":"Observation","status":"final","code":{"coding":[{"code":"29463-7","display":"Body weight"}]},"valueQuantity":{"value":72,"unit":"kg"},"effectiveDateTime":"2019-07-17T11:19:33"}`,
		path: "Observation.effectiveDateTime", reason: "time-zone offset"},
	{body: `{"resourceType":"Observation","status":"final","code":{"coding":[{"code":"29463-7","display":"Body weight"}]},"valueQuantity":{"value":72,"unit":"kg"},"effectiveDateTime":"2019-07-17T11:19:33+24:00"}`,
		path: "Observation.effectiveDateTime", reason: "not a FHIR date"},
	{body: `{"resourceType":"Observation","status":"final","code":{"coding":[{"code":"29463-7","display":"Body weight"}]},"valueQuantity":{"value":72,"unit":"kg"},"effectiveDateTime":"1850-07-17"}`,
		path: "Observation.effectiveDateTime", reason: "outside the years 1880 to 2200"},
	{body: `{"resourceType":"Observation","status":"final","code":{"coding":[{"code":"29463-7","display":"Body weight"}]},"effectiveDateTime":"2019-07-17"}`,
		path: "Observation.value[x]", reason: "dataAbsentReason"},
	{body: `{"resourceType":"Observation","status":"final","code":{"coding":[{"code":"29463-7","display":"Body weight"}]},"effectiveDateTime":"2019-07-17","valueQuantity":{"value":72,"unit":"kg"},"valueString":"72 kg"}`,
		path: "Observation.valueString", reason: "second value[x]"},
	{body: `{"resourceType":"Observation","status":"final","code":{"coding":[{"code":"29463-7","display":"Body weight"}]},"effectiveDateTime":"2019-07-17","valueQuantity":{"value":"72","unit":"kg"}}`,
		path: "Observation.valueQuantity.value", reason: "must be a number; found a string"},
	{body: `{"resourceType":"Observation","status":"final","code":{"coding":[{"code":"131328","display":"ECG"}]},"effectiveDateTime":"2019-07-17","valueSampledData":{"origin":{"value":0},"period":10,"dimensions":1,"data":"1 2 3"}}`,
		path: "Observation.valueSampledData", reason: "not sampled data"},
	{body: `{"resourceType":"Observation","status":"entered-in-error","code":{"coding":[{"code":"29463-7","display":"Body weight"}]},"effectiveDateTime":"2019-07-17","valueQuantity":{"value":72,"unit":"kg"}}`,
		path: "Observation.status", reason: "entered-in-error"},
	{body: `{"resourceType":"Observation","status":"done","code":{"coding":[{"code":"29463-7","display":"Body weight"}]},"effectiveDateTime":"2019-07-17","valueQuantity":{"value":72,"unit":"kg"}}`,
		path: "Observation.status", reason: "must be one of registered"},
	{body: `{"resourceType":"Observation","status":"final","code":{"coding":[{"code":"29463-7","display":"Body weight"}]},"effectiveDateTime":"2019-07-17","valueQuantity":{"value":72,"unit":"` + strings.Repeat("k", 201) + `"}}`,
		path: "Observation.valueQuantity.unit", reason: "the limit is 200"},
	// DocumentReference.
	{body: `{"resourceType":"DocumentReference","status":"current","date":"2024-05-01T10:15:00Z","author":[{"reference":"Practitioner/s1"}],"content":[{"attachment":{"contentType":"text/plain","url":"https://example.org/n.txt"}}]}`,
		path: "DocumentReference.content[0].attachment.url", reason: "send it base64 in attachment.data"},
	{body: `{"resourceType":"DocumentReference","status":"current","date":"2024-05-01T10:15:00Z","author":[{"reference":"Practitioner/s1"}],"content":[{"attachment":{"contentType":"text/html","data":"PGI+aGk8L2I+"}}]}`,
		path: "DocumentReference.content[0].attachment.contentType", reason: `is "text/html"`},
	{body: `{"resourceType":"DocumentReference","status":"current","date":"2024-05-01T10:15:00Z","author":[{"reference":"Practitioner/s1"}],"content":[{"attachment":{"contentType":"text/plain","data":"not base64!"}}]}`,
		path: "DocumentReference.content[0].attachment.data", reason: "not base64"},
	{body: `{"resourceType":"DocumentReference","status":"current","date":"2024-05-01T10:15:00Z","author":[{"reference":"Practitioner/s1"}],"content":[{"attachment":{"contentType":"text/plain; charset=iso-8859-1","data":"aGk="}}]}`,
		path: "DocumentReference.content[0].attachment.contentType", reason: "UTF-8"},
	{body: `{"resourceType":"DocumentReference","status":"current","date":"2024-05-01T10:15:00Z","author":[{"reference":"Practitioner/s1"}],"content":[{"attachment":{"contentType":"text/plain","data":"/w=="}}]}`,
		path: "DocumentReference.content[0].attachment.data", reason: "not UTF-8"},
	{body: `{"resourceType":"DocumentReference","status":"current","date":"2024-05-01T10:15:00Z","author":[{"reference":"Organization/o1"}],"content":[{"attachment":{"contentType":"text/plain","data":"aGk="}}]}`,
		path: "DocumentReference.author", reason: "Practitioner/<staff id>"},
	{body: `{"resourceType":"DocumentReference","status":"current","author":[{"reference":"Practitioner/s1"}],"content":[{"attachment":{"contentType":"text/plain","data":"aGk="}}]}`,
		path: "DocumentReference.date", reason: "when the note was written"},
	{body: `{"resourceType":"DocumentReference","status":"current","date":"2024-05-01T10:15:00Z","author":[{"reference":"Practitioner/s1"}]}`,
		path: "DocumentReference.content", reason: "is required"},
	{body: `{"resourceType":"DocumentReference","status":"entered-in-error","date":"2024-05-01T10:15:00Z","author":[{"reference":"Practitioner/s1"}],"content":[{"attachment":{"contentType":"text/plain","data":"aGk="}}]}`,
		path: "DocumentReference.status", reason: "written in error"},
	{body: `{"resourceType":"DocumentReference","status":"current","date":"2024-05-01T10:15:00Z","author":[{"reference":"Practitioner/s1"}],"content":[{"attachment":{"contentType":"text/plain","data":"ICA="}}]}`,
		path: "DocumentReference.content[0].attachment.data", reason: "is required"},
	// CarePlan.
	{body: `{"resourceType":"CarePlan","status":"active","intent":"plan","period":{"start":"2024-01-08"}}`,
		path: "CarePlan.title", reason: "title (or, without one, its first category or its description)"},
	{body: `{"resourceType":"CarePlan","status":"active","intent":"plan","title":"Plan"}`,
		path: "CarePlan.period.start", reason: "when the care plan began"},
	{body: `{"resourceType":"CarePlan","status":"active","intent":"plan","title":"Plan","period":{"start":"2024-01"}}`,
		path: "CarePlan.period.start", reason: "full date"},
	{body: `{"resourceType":"CarePlan","status":"active","intent":"plan","title":"Plan","period":{"start":"2024-01-08","end":"2023-01-08"}}`,
		path: "CarePlan.period.end", reason: "before period.start"},
	{body: `{"resourceType":"CarePlan","status":"entered-in-error","intent":"plan","title":"Plan","period":{"start":"2024-01-08"}}`,
		path: "CarePlan.status", reason: "written in error"},
	{body: `{"resourceType":"CarePlan","status":"active","intent":"plan","title":"Plan","period":{"start":"2024-01-08"},"activity":[{"detail":{"status":"in-progress","description":"a\u0007b"}}]}`,
		path: "CarePlan.activity[0].detail.description", reason: "control characters"},
	// CareTeam.
	{body: `{"resourceType":"CareTeam","participant":[{"member":{"reference":"Practitioner/s1"}}]}`, path: "CareTeam.name", reason: "names every care team"},
	{body: `{"resourceType":"CareTeam","name":"Team","participant":[{"member":{"reference":"Practitioner/s1"}},{"member":{"reference":"RelatedPerson/r1"}}]}`,
		path: "CareTeam.participant[1].member.reference", reason: "must be Practitioner/<staff id>"},
	{body: `{"resourceType":"CareTeam","name":"Team","participant":[{"member":{"reference":"Practitioner/s1"}},{"member":{"reference":"Practitioner/s1"}}]}`,
		path: "CareTeam.participant[1].member.reference", reason: "a second time"},
	{body: `{"resourceType":"CareTeam","name":"Team","participant":[{"member":{"reference":"Practitioner/s1"},"period":{"start":"2023-01-01","end":"2024-01-01"}}]}`,
		path: "CareTeam.participant[0].period.end", reason: "current members only"},
	{body: `{"resourceType":"CareTeam","name":"Team","participant":[{"role":[{"text":"GP"}]}]}`,
		path: "CareTeam.participant[0].member", reason: "is required"},
	{body: `{"resourceType":"CareTeam","name":"Team","participant":[{"member":{"reference":"Practitioner/s 1"}}]}`,
		path: "CareTeam.participant[0].member.reference", reason: "may contain only letters"},
	{body: `{"resourceType":"CareTeam","name":"Team","status":"inactive"}`, path: "CareTeam.status", reason: "membership"},
	// Appointment.
	{body: `{"resourceType":"Appointment","status":"proposed","start":"2024-05-01T07:30:00Z","end":"2024-05-01T08:00:00Z","participant":[{"actor":{"reference":"Practitioner/s1"},"status":"accepted"}]}`,
		path: "Appointment.status", reason: "booked, arrived, fulfilled, cancelled or noshow"},
	{body: `{"resourceType":"Appointment","start":"2024-05-01T07:30:00Z","end":"2024-05-01T08:00:00Z","participant":[{"actor":{"reference":"Practitioner/s1"},"status":"accepted"}]}`,
		path: "Appointment.status", reason: "is required"},
	{body: `{"resourceType":"Appointment","status":"booked","start":"2024-05-01T07:30:00Z","end":"2024-05-01T08:00:00Z","participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]}`,
		path: "Appointment.participant", reason: "a Practitioner participant is required"},
	{body: `{"resourceType":"Appointment","status":"booked","start":"2024-05-01T07:30:00Z","end":"2024-05-01T08:00:00Z","participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"},{"actor":{"reference":"Practitioner/s1"},"status":"accepted"},{"actor":{"reference":"Practitioner/s2"},"status":"accepted"}]}`,
		path: "Appointment.participant[2].actor.reference", reason: "double-up call is two visits"},
	{body: `{"resourceType":"Appointment","status":"booked","start":"2024-05-01T07:30:00Z","end":"2024-05-01T08:00:00Z","participant":[{"actor":{"reference":"Practitioner/s1"},"status":"declined"}]}`,
		path: "Appointment.participant[0].status", reason: "declined"},
	{body: `{"resourceType":"Appointment","status":"booked","start":"2024-05-01T07:30:00Z","participant":[{"actor":{"reference":"Practitioner/s1"},"status":"accepted"}]}`,
		path: "Appointment.end", reason: "is required"},
	{body: `{"resourceType":"Appointment","status":"booked","start":"2024-05-01T07:30:00Z","end":"2024-05-01T07:00:00Z","participant":[{"actor":{"reference":"Practitioner/s1"},"status":"accepted"}]}`,
		path: "Appointment.end", reason: "must be after start"},
	{body: `{"resourceType":"Appointment","status":"booked","start":"2024-05-01T07:30:00Z","end":"2024-05-03T07:00:00Z","participant":[{"actor":{"reference":"Practitioner/s1"},"status":"accepted"}]}`,
		path: "Appointment.end", reason: "more than 24 hours"},
	{body: `{"resourceType":"Appointment","status":"booked","start":"2024-05-01T07:30:00Z","end":"2024-05-01T08:00:00Z","participant":[{"actor":{"reference":"Practitioner/s1"},"status":"accepted"}]}`,
		personID: "bad id", path: "Appointment.participant", reason: "may contain only letters"},
}

func TestDomainRefusals(t *testing.T) {
	for _, tc := range domainRefusals {
		raw, res := domainDecode(t, []byte(tc.body))
		typ := res["resourceType"].(string)
		person := tc.personID
		if person == "" && !strings.Contains(tc.path, "subject") {
			person = "p1"
		}
		_, err := mappedTypes[typ].toDomain(raw, res, "r-1", person)
		var inv *haven.InvalidError
		switch {
		case err == nil:
			t.Errorf("accepted %s", tc.body)
		case !errors.As(err, &inv):
			t.Errorf("%v is not a *haven.InvalidError (%s)", err, tc.body)
		case inv.Field != tc.path || !strings.Contains(inv.Reason, tc.reason):
			t.Errorf("refused as %q: %s\nwant %q: ...%s...\n(%s)", inv.Field, inv.Reason, tc.path, tc.reason, tc.body)
		}
	}
	// The record's own id is checked too.
	raw, res := domainDecode(t, []byte(`{"resourceType":"CareTeam","name":"Team"}`))
	_, err := mappedTypes["CareTeam"].toDomain(raw, res, "bad id", "p1")
	if inv := (*haven.InvalidError)(nil); !errors.As(err, &inv) || inv.Field != "CareTeam.id" {
		t.Errorf("a bad id is refused as %v", err)
	}
	// A resource too big to keep names the resource.
	big := `{"resourceType":"Condition","code":{"coding":[{"code":"195967001","display":"Asthma"}]},"note":[{"text":"` + strings.Repeat("x", haven.MaxRecordBytes) + `"}]}`
	raw, res = domainDecode(t, []byte(big))
	if _, err := mappedTypes["Condition"].toDomain(raw, res, "r-1", "p1"); err == nil || err.(*haven.InvalidError).Field != "Condition" {
		t.Errorf("an oversize resource is refused as %v", err)
	}
}

func TestMappedTypes(t *testing.T) {
	want := map[string]haven.Kind{
		"Condition": haven.KindCondition, "AllergyIntolerance": haven.KindAllergy, "MedicationStatement": haven.KindMedication,
		"Observation": haven.KindObservation, "DocumentReference": haven.KindNote, "CarePlan": haven.KindCarePlan,
		"CareTeam": haven.KindCareTeam, "Appointment": haven.KindVisit,
	}
	got := map[string]haven.Kind{}
	for name, m := range mappedTypes {
		got[name] = m.kind
		if m.toDomain == nil || m.fromDomain == nil {
			t.Errorf("%s has no mapping function", name)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("mappedTypes: %v, want %v", got, want)
	}
	names := slices.Sorted(maps.Keys(mappedElements))
	if want := slices.Sorted(maps.Keys(want)); !slices.Equal(names, want) {
		t.Errorf("mappedElements covers %v, want %v", names, want)
	}
	for name, els := range mappedElements {
		for _, e := range []string{"resourceType", "id", "meta"} {
			if slices.Contains(els, e) {
				t.Errorf("mappedElements[%s] has %s, which the engine writes", name, e)
			}
		}
		sorted := slices.Clone(els)
		sort.Strings(sorted)
		if len(slices.Compact(sorted)) != len(els) {
			t.Errorf("mappedElements[%s] repeats an element", name)
		}
	}
}
