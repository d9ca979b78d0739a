package fhir_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven/auth/authtest"
)

const condition = `{"resourceType":"Condition","subject":{"reference":"Patient/%s"},
 "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
 "code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003","display":"Hypertensive disorder"}]},
 "onsetDateTime":"2019-05-01"}`

const encounter = `{"resourceType":"Encounter","status":"finished","class":{"code":"HH"},
 "subject":{"reference":"Patient/%s"},"period":{"start":"2024-03-01T10:00:00Z","end":"2024-03-01T10:30:00Z"}}`

func sprintf(format, id string) string { return strings.ReplaceAll(format, "%s", id) }

// TestResourceLifecycle walks every interaction on a mapped type and a
// kept-whole type: create, read, update with If-Match, vread, history,
// search by patient and date, delete and the history after it.
func TestResourceLifecycle(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/*.cruds")
	person := realPerson(t, a, authtest.North)
	for _, c := range []struct{ typ, body, edit, editTo string }{
		{"Condition", sprintf(condition, person), `"code":"active"`, `"code":"resolved"`},
		{"Encounter", sprintf(encounter, person), `"status":"finished"`, `"status":"cancelled"`},
	} {
		t.Run(c.typ, func(t *testing.T) {
			created := a.do(t, "POST", "/fhir/"+c.typ, tok, c.body)
			if created.status != 201 || created.header.Get("ETag") != `W/"1"` {
				t.Fatalf("create: %d %s", created.status, created.raw)
			}
			id := created.body["id"].(string)
			if r := a.do(t, "GET", "/fhir/"+c.typ+"/"+id, tok, ""); r.status != 200 || r.header.Get("Last-Modified") == "" || !strings.Contains(r.raw, person) {
				t.Fatalf("read: %d %s", r.status, r.raw)
			}
			edited := strings.Replace(strings.Replace(c.body, c.edit, c.editTo, 1), `{"resourceType":"`+c.typ+`",`, `{"resourceType":"`+c.typ+`","id":"`+id+`",`, 1)
			if r := a.do(t, "PUT", "/fhir/"+c.typ+"/"+id, tok, edited, "If-Match", `W/"1"`); r.status != 200 || r.header.Get("ETag") != `W/"2"` {
				t.Fatalf("update: %d %s", r.status, r.raw)
			}
			a.do(t, "PUT", "/fhir/"+c.typ+"/"+id, tok, edited, "If-Match", `W/"1"`).outcome(t, http.StatusPreconditionFailed)
			if r := a.do(t, "GET", "/fhir/"+c.typ+"/"+id+"/_history/1", tok, ""); r.status != 200 || !strings.Contains(r.raw, c.edit) {
				t.Errorf("vread 1: %d %s", r.status, r.raw)
			}
			if r := a.do(t, "GET", "/fhir/"+c.typ+"/"+id+"/_history/2", tok, ""); r.status != 200 || !strings.Contains(r.raw, c.editTo) {
				t.Errorf("vread 2: %d %s", r.status, r.raw)
			}
			a.do(t, "GET", "/fhir/"+c.typ+"/"+id+"/_history/3", tok, "").outcome(t, http.StatusNotFound)
			if r := a.do(t, "GET", "/fhir/"+c.typ+"?patient="+person, tok, ""); r.status != 200 || !strings.Contains(r.raw, id) {
				t.Errorf("search by patient: %d %s", r.status, r.raw)
			}
			if r := a.do(t, "GET", "/fhir/"+c.typ+"?subject=Patient/"+person+"&date=ge2019-01-01&_include="+c.typ+":subject", tok, ""); r.status != 200 || !strings.Contains(r.raw, id) || !strings.Contains(r.raw, `"mode":"include"`) {
				t.Errorf("search by date with _include: %d %s", r.status, r.raw)
			}
			if r := a.do(t, "GET", "/fhir/"+c.typ+"?patient="+person+"&date=lt2000", tok, ""); r.status != 200 || strings.Contains(r.raw, id) {
				t.Errorf("date=lt2000 matched: %s", r.raw)
			}
			if r := a.do(t, "DELETE", "/fhir/"+c.typ+"/"+id, tok, ""); r.status != 204 {
				t.Fatalf("delete: %d %s", r.status, r.raw)
			}
			a.do(t, "GET", "/fhir/"+c.typ+"/"+id, tok, "").outcome(t, http.StatusNotFound)
			h := a.do(t, "GET", "/fhir/"+c.typ+"/"+id+"/_history", tok, "")
			if h.status != 200 || h.body["type"] != "history" || h.body["total"] != float64(3) || !strings.Contains(h.raw, `"DELETE"`) {
				t.Errorf("history: %d %s", h.status, h.raw)
			}
			a.do(t, "GET", "/fhir/"+c.typ+"/"+id+"/_history/3", tok, "").outcome(t, http.StatusGone)
		})
	}
}

const transaction = `{"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a","resource":` + newPatient + `,
  "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919"}},
 {"fullUrl":"urn:uuid:4a1f1ad3-5b8b-4d52-9a1c-3e1c6f2c9f10","resource":{"resourceType":"Observation","status":"final",
   "code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}]},
   "subject":{"reference":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"},
   "effectiveDateTime":"2026-01-05T09:00:00Z","valueQuantity":{"value":71.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}},
  "request":{"method":"POST","url":"Observation"}}]}`

func TestTransaction(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/*.cruds")
	r := a.do(t, "POST", "/fhir", tok, transaction)
	if r.status != 200 || r.body["type"] != "transaction-response" || strings.Count(r.raw, `"201 Created"`) != 2 {
		t.Fatalf("transaction: %d %s", r.status, r.raw)
	}
	entries := r.body["entry"].([]any)
	patient := entries[0].(map[string]any)["resource"].(map[string]any)["id"].(string)
	obs := entries[1].(map[string]any)["resource"].(map[string]any)
	if obs["subject"].(map[string]any)["reference"] != "Patient/"+patient {
		t.Errorf("urn:uuid not resolved: %v", obs["subject"])
	}
	// Again: the conditional create finds the patient; the observation is new.
	r = a.do(t, "POST", "/fhir", tok, transaction)
	if r.status != 200 || !strings.Contains(r.raw, `"200 OK"`) || !strings.Contains(r.raw, patient) {
		t.Fatalf("second transaction: %d %s", r.status, r.raw)
	}
	ev := a.do(t, "GET", "/fhir/Patient/"+patient+"/$everything", tok, "")
	if ev.status != 200 || ev.body["total"] != float64(3) {
		t.Errorf("$everything: %d %s", ev.status, ev.raw)
	}

	// All or nothing: a bad entry refuses the Bundle and writes nothing.
	bad := strings.Replace(strings.Replace(transaction, "9434765919", "4010232137", 2), `"effectiveDateTime":"2026-01-05T09:00:00Z",`, `"effectiveDateTime":"yesterday",`, 1)
	r = a.do(t, "POST", "/fhir", tok, bad)
	r.outcome(t, http.StatusBadRequest)
	if !strings.Contains(r.raw, "Bundle.entry[1]") {
		t.Errorf("the refusal does not name the entry: %s", r.raw)
	}
	if s := a.do(t, "GET", "/fhir/Patient?identifier=4010232137", tok, ""); s.body["total"] != float64(0) {
		t.Errorf("a refused transaction left its patient: %s", s.raw)
	}
	// A type Haven does not keep refuses the transaction with the reason.
	claim := strings.Replace(transaction, `"request":{"method":"POST","url":"Observation"}}]}`,
		`"request":{"method":"POST","url":"Observation"}},{"resource":{"resourceType":"Claim"},"request":{"method":"POST","url":"Claim"}}]}`, 1)
	if r := a.do(t, "POST", "/fhir", tok, claim); r.status < 400 || r.status >= 500 || !strings.Contains(r.raw, "billing") {
		t.Errorf("claim in a transaction: %d %s", r.status, r.raw)
	}
	// A batch applies what it can and reports each entry.
	batch := strings.Replace(claim, `"type":"transaction"`, `"type":"batch"`, 1)
	if r := a.do(t, "POST", "/fhir", tok, batch); r.status != 200 || r.body["type"] != "batch-response" || !strings.Contains(r.raw, `"404 Not Found"`) {
		t.Errorf("batch: %d %s", r.status, r.raw)
	}
}

// TestFHIRCrossTenant: every interaction with another organisation's ids
// answers exactly as for ids that do not exist.
func TestFHIRCrossTenant(t *testing.T) {
	a := newAPI(t)
	north := a.token(t, authtest.North, "system/*.cruds")
	south := a.token(t, authtest.South, "system/*.cruds", "system/Patient.rs", "system/Condition.rs")
	person := realPerson(t, a, authtest.North)
	c := a.do(t, "POST", "/fhir/Condition", north, sprintf(condition, person))
	if c.status != 201 {
		t.Fatalf("create: %d %s", c.status, c.raw)
	}
	id := c.body["id"].(string)
	for _, path := range []string{"/fhir/Condition/" + id, "/fhir/Condition/" + id + "/_history", "/fhir/Condition/" + id + "/_history/1",
		"/fhir/Patient/" + person, "/fhir/Patient/" + person + "/$everything"} {
		a.do(t, "GET", path, south, "").outcome(t, http.StatusNotFound)
	}
	for _, q := range []string{"/fhir/Condition?patient=" + person, "/fhir/Condition?_id=" + id} {
		if r := a.do(t, "GET", q, south, ""); r.status != 200 || r.body["total"] != float64(0) {
			t.Errorf("%s: %d %s", q, r.status, r.raw)
		}
	}
	a.do(t, "DELETE", "/fhir/Condition/"+id, south, "").outcome(t, http.StatusNotFound)
	edited := strings.Replace(sprintf(condition, person), `{"resourceType":"Condition",`, `{"resourceType":"Condition","id":"`+id+`",`, 1)
	a.do(t, "PUT", "/fhir/Condition/"+id, south, edited, "If-Match", `W/"1"`).outcome(t, http.StatusNotFound)
	// Filing into another organisation's patient is refused: no such person here.
	if r := a.do(t, "POST", "/fhir/Condition", south, sprintf(condition, person)); r.status != 400 || r.body["resourceType"] != "OperationOutcome" {
		t.Errorf("south filed a condition on north's patient: %d %s", r.status, r.raw)
	}
	// South's export holds none of north's people.
	if r := a.do(t, "GET", "/fhir/Patient/$export?_type=Patient,Condition", south, "", "Prefer", "respond-async"); r.status == 202 {
		status := waitExport(t, a, south, r.header.Get("Content-Location"))
		for _, o := range status["output"].([]any) {
			f := a.do(t, "GET", strings.TrimPrefix(o.(map[string]any)["url"].(string), a.base), south, "")
			if strings.Contains(f.raw, person) || strings.Contains(f.raw, id) {
				t.Errorf("south's export holds north's data: %.300s", f.raw)
			}
		}
	} else {
		t.Errorf("export kick-off: %d %s", r.status, r.raw)
	}
}

// TestFHIRScopes: a client reads only the types its scopes name; bulk export
// needs each type named, not a wildcard.
func TestFHIRScopes(t *testing.T) {
	a := newAPI(t)
	writer := a.token(t, authtest.North, "system/*.cruds")
	patientsOnly := a.token(t, authtest.North, "system/Patient.rs")
	person := realPerson(t, a, authtest.North)
	c := a.do(t, "POST", "/fhir/Condition", writer, sprintf(condition, person))
	id := c.body["id"].(string)
	a.do(t, "GET", "/fhir/Condition/"+id, patientsOnly, "").outcome(t, http.StatusForbidden)
	if r := a.do(t, "GET", "/fhir/Patient/"+person+"/$everything", patientsOnly, ""); r.status != 200 || strings.Contains(r.raw, id) {
		t.Errorf("$everything showed a type outside the scopes: %d %s", r.status, r.raw)
	}
	a.do(t, "GET", "/fhir/$export", writer, "", "Prefer", "respond-async").outcome(t, http.StatusForbidden)
	a.do(t, "GET", "/fhir/$export?_type=Condition", patientsOnly, "", "Prefer", "respond-async").outcome(t, http.StatusForbidden)
	a.do(t, "GET", "/fhir/$export", patientsOnly, "").outcome(t, http.StatusBadRequest) // not async
}

// TestBulkExport: kick-off, status, files; each person exported is an
// audit entry.
func TestBulkExport(t *testing.T) {
	a := newAPI(t)
	writer := a.token(t, authtest.North, "system/*.cruds")
	exporter := a.token(t, authtest.North, "system/Patient.rs", "system/Condition.rs")
	person := realPerson(t, a, authtest.North)
	a.do(t, "POST", "/fhir/Condition", writer, sprintf(condition, person))
	r := a.do(t, "GET", "/fhir/Patient/$export", exporter, "", "Prefer", "respond-async")
	if r.status != 202 || r.header.Get("Content-Location") == "" {
		t.Fatalf("kick-off: %d %s", r.status, r.raw)
	}
	status := waitExport(t, a, exporter, r.header.Get("Content-Location"))
	files := map[string]string{}
	for _, o := range status["output"].([]any) {
		out := o.(map[string]any)
		f := a.do(t, "GET", strings.TrimPrefix(out["url"].(string), a.base), exporter, "")
		if f.status != 200 || f.header.Get("Content-Type") != "application/fhir+ndjson" {
			t.Fatalf("file: %d %s", f.status, f.raw)
		}
		files[out["type"].(string)] = f.raw
	}
	real := 0
	for _, p := range a.Data[authtest.North].People {
		if !p.Person.Canary {
			real++
		}
	}
	if n := strings.Count(files["Patient"], "\n"); n != real {
		t.Errorf("exported %d patients, want %d (canaries are decoys, not people, and are left out)", n, real)
	}
	if !strings.Contains(files["Condition"], "38341003") {
		t.Errorf("condition not exported: %q", files["Condition"])
	}
	// Another client of the same organisation cannot fetch the files.
	other := a.token(t, authtest.North, "system/Patient.rs", "system/Condition.rs")
	a.do(t, "GET", strings.TrimPrefix(r.header.Get("Content-Location"), a.base), other, "").outcome(t, http.StatusNotFound)
	var n int
	if err := a.DB.SQL().QueryRow(`SELECT count(DISTINCT person_id) FROM audit_entries WHERE tenant_id = ? AND action = 'read' AND purpose LIKE 'bulk export %'`,
		authtest.North).Scan(&n); err != nil || n != real {
		t.Errorf("people audited as exported: %d (%v), want %d", n, err, real)
	}
}

func waitExport(t *testing.T, a *api, tok, statusURL string) map[string]any {
	t.Helper()
	s := pollExport(t, a, statusURL, func() string { return tok })
	if s.status != 200 {
		t.Fatalf("export status: %d %s", s.status, s.raw)
	}
	return s.body
}

// exportTimeout bounds how long a test waits for an export to end. It is
// not a claim about speed: on a loaded machine a small export has taken
// seconds.
const exportTimeout = 2 * time.Minute

// pollExport asks for an export's status, with a token from tok each
// time, until it is no longer 202 (in progress), and returns that answer.
func pollExport(t *testing.T, a *api, statusURL string, tok func() string) reply {
	t.Helper()
	for deadline := time.Now().Add(exportTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if s := a.do(t, "GET", strings.TrimPrefix(statusURL, a.base), tok(), ""); s.status != http.StatusAccepted {
			return s
		}
	}
	t.Fatalf("export did not end within %v", exportTimeout)
	return reply{}
}

// realPerson is a person of tenant who is not a canary: reading a canary
// ends the client's access, as it should.
func realPerson(t *testing.T, a *api, tenant string) string {
	t.Helper()
	for _, p := range a.Data[tenant].People {
		if !p.Person.Canary {
			return p.Person.ID
		}
	}
	t.Fatal("no real person")
	return ""
}
