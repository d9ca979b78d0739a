package fhir_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/guard"
)

// exportFiles runs an export of query to the end and returns its manifest
// and its files by type.
func exportFiles(t *testing.T, a *api, tok, query string) (map[string]any, map[string]string) {
	t.Helper()
	r := a.do(t, "GET", "/fhir/$export"+query, tok, "", "Prefer", "respond-async")
	if r.status != http.StatusAccepted {
		t.Fatalf("kick-off %s: %d %s", query, r.status, r.raw)
	}
	manifest := waitExport(t, a, tok, r.header.Get("Content-Location"))
	manifest["statusURL"] = strings.TrimPrefix(r.header.Get("Content-Location"), a.base)
	files := map[string]string{}
	for _, o := range manifest["output"].([]any) {
		out := o.(map[string]any)
		f := a.do(t, "GET", strings.TrimPrefix(out["url"].(string), a.base), tok, "")
		if f.status != http.StatusOK {
			t.Fatalf("file %s: %d %s", out["url"], f.status, f.raw)
		}
		files[out["type"].(string)] = f.raw
	}
	return manifest, files
}

// An export's status and files are gone an hour after it finished, as the
// manifest's Expires says: they answer 404, as after a delete.
func TestExportExpires(t *testing.T) {
	a := newAPI(t)
	scopes := []string{"system/Patient.rs"}
	client := a.register(t, authtest.North, scopes...)
	manifest, _ := exportFiles(t, a, a.clientToken(t, client, scopes...), "?_type=Patient")
	status := manifest["statusURL"].(string)
	file := strings.TrimPrefix(manifest["output"].([]any)[0].(map[string]any)["url"].(string), a.base)

	// Access tokens last minutes, so a new one for the same client each
	// time the clock moves on.
	a.Clock.Advance(time.Hour - time.Minute)
	tok := a.clientToken(t, client, scopes...)
	if r := a.do(t, "GET", file, tok, ""); r.status != http.StatusOK {
		t.Fatalf("file within the hour: %d %s", r.status, r.raw)
	}
	st := a.do(t, "GET", status, tok, "")
	if st.status != http.StatusOK {
		t.Fatalf("status within the hour: %d %s", st.status, st.raw)
	}
	expires, err := http.ParseTime(st.header.Get("Expires"))
	if err != nil || expires.After(a.Clock.Now().Add(time.Minute)) {
		t.Errorf("Expires %q, want at most a minute from now (%v)", st.header.Get("Expires"), a.Clock.Now())
	}

	a.Clock.Advance(2 * time.Minute)
	tok = a.clientToken(t, client, scopes...)
	a.do(t, "GET", file, tok, "").outcome(t, http.StatusNotFound)
	a.do(t, "GET", status, tok, "").outcome(t, http.StatusNotFound)
}

// A client with all its exports at once is told when to try again: when
// the first of them is gone, an hour after it finished.
func TestExportBusyRetryAfter(t *testing.T) {
	a := newAPI(t)
	client := a.register(t, authtest.North, "system/Patient.rs")
	exportFiles(t, a, a.clientToken(t, client, "system/Patient.rs"), "?_type=Patient")
	a.Clock.Advance(10 * time.Minute)
	tok := a.clientToken(t, client, "system/Patient.rs")
	exportFiles(t, a, tok, "?_type=Patient")
	r := a.do(t, "GET", "/fhir/$export?_type=Patient", tok, "", "Prefer", "respond-async")
	r.outcome(t, http.StatusTooManyRequests)
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s <= 49*60 || s > 50*60 {
		t.Errorf("Retry-After %q, want the 50 minutes left to the client's first export", r.header.Get("Retry-After"))
	}
}

// An export of a patient's records finds them through the patients, so it
// needs the Patient scope too: without it the kick-off is refused, naming
// the scope, rather than finishing empty. With it, Patients are exported
// only when asked for.
func TestExportCompartmentNeedsPatientScope(t *testing.T) {
	a := newAPI(t)
	writer := a.token(t, authtest.North, "system/*.cruds")
	person := realPerson(t, a, authtest.North)
	if c := a.do(t, "POST", "/fhir/Condition", writer, sprintf(condition, person)); c.status != http.StatusCreated {
		t.Fatalf("create: %d %s", c.status, c.raw)
	}
	conditionsOnly := a.token(t, authtest.North, "system/Condition.rs")
	for _, q := range []string{"?_type=Condition", ""} {
		r := a.do(t, "GET", "/fhir/$export"+q, conditionsOnly, "", "Prefer", "respond-async")
		r.outcome(t, http.StatusForbidden)
		if !strings.Contains(r.raw, "system/Patient.rs") {
			t.Errorf("$export%s: the refusal does not name the scope missing: %s", q, r.raw)
		}
	}
	_, files := exportFiles(t, a, a.token(t, authtest.North, "system/Patient.rs", "system/Condition.rs"), "?_type=Condition")
	if _, ok := files["Patient"]; ok || !strings.Contains(files["Condition"], "38341003") {
		t.Errorf("_type=Condition exported %v", files)
	}
}

// A repeated _type is one list, as if its values were separated by commas;
// the parameters that take one value refuse a second.
func TestExportRepeatedParameters(t *testing.T) {
	a := newAPI(t)
	writer := a.token(t, authtest.North, "system/*.cruds")
	person := realPerson(t, a, authtest.North)
	if c := a.do(t, "POST", "/fhir/Condition", writer, sprintf(condition, person)); c.status != http.StatusCreated {
		t.Fatalf("create: %d %s", c.status, c.raw)
	}
	tok := a.token(t, authtest.North, "system/Patient.rs", "system/Condition.rs")
	if _, files := exportFiles(t, a, tok, "?_type=Patient&_type=Condition"); files["Patient"] == "" || files["Condition"] == "" {
		t.Errorf("_type=Patient&_type=Condition exported %d types, want both", len(files))
	}
	for _, q := range []string{"?_since=2026-01-01T00:00:00Z&_since=2026-06-01T00:00:00Z", "?_outputFormat=ndjson&_outputFormat=ndjson"} {
		a.do(t, "GET", "/fhir/$export"+q, tok, "", "Prefer", "respond-async").outcome(t, http.StatusBadRequest)
	}
	a.do(t, "GET", "/fhir/$export?_type=Patient,Claim", tok, "", "Prefer", "respond-async").outcome(t, http.StatusBadRequest)
}

// An export the guard stopped has ended: its status is a refusal (403)
// that does not read as "poll again", neither 429 nor a transient issue
// code, which the Bulk Data specification reserves for a status request
// worth retrying.
func TestExportStoppedByGuard(t *testing.T) {
	a := newAPIWith(t, authtest.Options{People: 3, Canaries: -1})
	setClientBudget(t, a.Env, guard.Budget{PerHour: 1, PerDay: 1})
	client := a.register(t, authtest.North, "system/Patient.rs")
	kick := a.do(t, "GET", "/fhir/$export?_type=Patient", a.clientToken(t, client, "system/Patient.rs"), "", "Prefer", "respond-async")
	if kick.status != http.StatusAccepted {
		t.Fatalf("kick-off: %d %s", kick.status, kick.raw)
	}
	// Stopping the export revoked the client's tokens; its key gets it a
	// new one.
	r := pollExport(t, a, kick.header.Get("Content-Location"), func() string { return a.clientToken(t, client, "system/Patient.rs") })
	r.outcome(t, http.StatusForbidden)
	if issues, _ := r.body["issue"].([]any); len(issues) == 0 || issues[0].(map[string]any)["code"] != "forbidden" {
		t.Errorf("issue %v, want code forbidden", r.body["issue"])
	}
}
