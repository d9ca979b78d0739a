package fhir_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/fhir"
)

const nhsCondition = "identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919"

// patientEntry is a transaction entry creating newPatient (with the NHS
// number nhs) under fullUrl, conditionally when cond is given.
func patientEntry(fullURL, nhs, cond string) string {
	req := `{"method":"POST","url":"Patient"}`
	if cond != "" {
		req = `{"method":"POST","url":"Patient","ifNoneExist":"` + cond + `"}`
	}
	return `{"fullUrl":"` + fullURL + `","resource":` + strings.Replace(newPatient, "9434765919", nhs, 1) + `,"request":` + req + `}`
}

// weightEntry is an Observation entry about the patient subject names.
func weightEntry(subject string) string {
	return `{"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}]},"effectiveDateTime":"2026-01-05T09:00:00Z","valueQuantity":{"value":71.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"},"subject":{"reference":"` + subject + `"}},"request":{"method":"POST","url":"Observation"}}`
}

func bundleOf(typ string, entries ...string) string {
	return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`
}

// patientsWith is how many patients carry the NHS number.
func patientsWith(t *testing.T, a *api, tok, nhs string) any {
	t.Helper()
	return a.do(t, "GET", "/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|"+nhs, tok, "").body["total"]
}

// If-None-Exist names an identifier by system and value, as a search
// does: the value alone matches nothing the index holds, so it would
// create a copy every time.
func TestConditionalCreateNeedsSystemAndValue(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/*.cruds")
	enc := strings.Replace(sprintf(encounter, realPerson(t, a, authtest.North)), `"status"`, `"identifier":[{"system":"https://example.org/enc","value":"E1"}],"status"`, 1)
	for _, cond := range []string{"identifier=E1", "identifier=|E1", "identifier=https://example.org/enc|"} {
		r := a.do(t, "POST", "/fhir/Encounter", tok, enc, "If-None-Exist", cond)
		r.outcome(t, http.StatusBadRequest)
		if !strings.Contains(r.raw, "system") {
			t.Errorf("%s: the refusal does not say what is needed: %s", cond, r.raw)
		}
	}
	for i, want := range []int{201, 200} {
		if r := a.do(t, "POST", "/fhir/Encounter", tok, enc, "If-None-Exist", "identifier=https://example.org/enc|E1"); r.status != want {
			t.Errorf("conditional create %d: %d %s, want %d", i+1, r.status, r.raw, want)
		}
	}
}

// Concurrent conditional creates of one patient create one: each looks
// before the other has written, so the record service looks again as it
// writes. The rest are answered with the one created.
func TestConcurrentConditionalCreate(t *testing.T) {
	onBothStores(t, func(t *testing.T, a *api) {
		tok := a.token(t, authtest.North, "system/*.cruds")
		const n = 8
		statuses := make([]int, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Half alone, half in transactions.
				path, body, header := "/fhir/Patient", newPatient, nhsCondition
				if i%2 == 1 {
					path, body, header = "/fhir", bundleOf("transaction", patientEntry("urn:uuid:"+fmt.Sprintf("00000000-0000-4000-8000-%012d", i), "9434765919", nhsCondition)), ""
				}
				req, err := http.NewRequest("POST", a.base+path, strings.NewReader(body))
				if err != nil {
					errs[i] = err
					return
				}
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", fhir.ContentType)
				if header != "" {
					req.Header.Set("If-None-Exist", header)
				}
				res, err := a.client.Do(req)
				if err != nil {
					errs[i] = err
					return
				}
				res.Body.Close()
				statuses[i] = res.StatusCode
			}()
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if statuses[i] != 200 && statuses[i] != 201 {
				t.Errorf("request %d: %d", i, statuses[i])
			}
		}
		if got := patientsWith(t, a, tok, "9434765919"); got != float64(1) {
			t.Errorf("patients with the NHS number: %v, want 1", got)
		}
	})
}

// Two entries of one transaction conditionally creating the same patient
// are refused: both would look before either is written.
func TestTransactionRepeatedCondition(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/*.cruds")
	r := a.do(t, "POST", "/fhir", tok, bundleOf("transaction",
		patientEntry("urn:uuid:11111111-1111-4111-8111-111111111111", "9434765919", nhsCondition),
		patientEntry("urn:uuid:22222222-2222-4222-8222-222222222222", "9434765919", nhsCondition)))
	r.outcome(t, http.StatusBadRequest)
	if !strings.Contains(r.raw, "Bundle.entry[1]") || !strings.Contains(r.raw, "Bundle.entry[0]") {
		t.Errorf("the refusal does not name both entries: %s", r.raw)
	}
	if got := patientsWith(t, a, tok, "9434765919"); got != float64(0) {
		t.Errorf("patients with the NHS number: %v, want 0", got)
	}
}

// A fullUrl names one entry (bdl-7): a Bundle repeating one would file
// what references it on whichever entry came last.
func TestBundleRepeatedFullURL(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/*.cruds")
	u := "urn:uuid:44444444-4444-4444-8444-444444444444"
	entries := []string{patientEntry(u, "4010232137", ""), weightEntry(u), patientEntry(u, "9000000009", "")}

	r := a.do(t, "POST", "/fhir", tok, bundleOf("transaction", entries...))
	r.outcome(t, http.StatusBadRequest)
	if !strings.Contains(r.raw, "Bundle.entry[2].fullUrl") || !strings.Contains(r.raw, "Bundle.entry[0]") {
		t.Errorf("the refusal does not name both entries: %s", r.raw)
	}
	if got := patientsWith(t, a, tok, "4010232137"); got != float64(0) {
		t.Errorf("a refused transaction created a patient: %v", got)
	}

	// A batch: the repeat, and what references it, are refused.
	r = a.do(t, "POST", "/fhir", tok, bundleOf("batch", entries...))
	if r.status != 200 {
		t.Fatalf("batch: %d %s", r.status, r.raw)
	}
	got := r.body["entry"].([]any)
	for i, want := range []string{"201", "400", "400"} {
		res := got[i].(map[string]any)["response"].(map[string]any)
		if !strings.HasPrefix(res["status"].(string), want) {
			t.Errorf("batch entry %d: %v, want %s", i, res, want)
		}
	}
	if s := fmt.Sprint(got[2]); !strings.Contains(s, "Bundle.entry[0]") {
		t.Errorf("batch entry 2 does not name entry 0: %s", s)
	}
	if s := fmt.Sprint(got[1]); !strings.Contains(s, "more than one entry") {
		t.Errorf("batch entry 1 is not refused as ambiguous: %s", s)
	}
}

// An import reports a repeated fullUrl by the entries, and files nothing
// by it.
func TestImportRepeatedFullURL(t *testing.T) {
	a := newAPI(t)
	u := "urn:uuid:44444444-4444-4444-8444-444444444444"
	im := testImporter(a)
	if _, err := im.Bundle(context.Background(), "b", []byte(bundleOf("transaction", patientEntry(u, "4010232137", ""), weightEntry(u), patientEntry(u, "9000000009", "")))); err != nil {
		t.Fatal(err)
	}
	r := im.Report()
	if r.Created != 1 || len(r.Rejected) != 2 {
		t.Fatalf("created %d, rejected %+v; want the first patient created, the other two entries rejected", r.Created, r.Rejected)
	}
	for _, rj := range r.Rejected {
		switch rj.Source {
		case "b entry 1":
			if !strings.Contains(rj.Reason, "more than one entry") {
				t.Errorf("the Observation: %s", rj.Reason)
			}
		case "b entry 2":
			if !strings.Contains(rj.Reason, "Bundle.entry[0]") {
				t.Errorf("the second patient does not name the first: %s", rj.Reason)
			}
		default:
			t.Errorf("rejected %+v", rj)
		}
	}
}

// request.url may be absolute on this server's base (R4 http.html#trules),
// or start with "/"; one on another server is refused, saying why.
func TestBundleRequestURLForms(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/*.cruds")
	person := realPerson(t, a, authtest.North)
	entry := func(url string) string {
		return strings.Replace(weightEntry("Patient/"+person), `"url":"Observation"`, `"url":"`+url+`"`, 1)
	}
	r := a.do(t, "POST", "/fhir", tok, bundleOf("batch", entry(a.base+"/fhir/Observation"), entry("/Observation"), entry("https://elsewhere.example/fhir/Observation")))
	if r.status != 200 {
		t.Fatalf("batch: %d %s", r.status, r.raw)
	}
	for i, want := range []string{"201", "201", "400"} {
		res := r.body["entry"].([]any)[i].(map[string]any)["response"].(map[string]any)
		if !strings.HasPrefix(res["status"].(string), want) {
			t.Errorf("entry %d: %v, want %s", i, res, want)
		}
	}
	if !strings.Contains(r.raw, "not on this server") {
		t.Errorf("the refusal does not say why: %s", r.raw)
	}
}

// A Patient's delete is refused as the same request alone is: 422.
func TestBundlePatientDelete(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/*.cruds")
	person := realPerson(t, a, authtest.North)
	del := `{"request":{"method":"DELETE","url":"Patient/` + person + `"}}`
	a.do(t, "DELETE", "/fhir/Patient/"+person, tok, "").outcome(t, http.StatusUnprocessableEntity)
	a.do(t, "POST", "/fhir", tok, bundleOf("transaction", del)).outcome(t, http.StatusUnprocessableEntity)
	r := a.do(t, "POST", "/fhir", tok, bundleOf("batch", del))
	if !strings.Contains(r.raw, `"422 Unprocessable Entity"`) {
		t.Errorf("batch: %d %s", r.status, r.raw)
	}
}
