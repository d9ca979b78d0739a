package fhir_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/fhir"
)

const importedPatientID = "0b7d3b1e-1f2a-4c3d-8e4f-5a6b7c8d9e01"

// importBundle is a transaction Bundle of one Patient (urn:uuid fullUrl
// importedPatientID, with the NHS number nhs unless it is empty) and a
// Condition about them for each fullUrl in conds.
func importBundle(nhs string, conds ...string) []byte {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:` + importedPatientID + `","resource":{"resourceType":"Patient",`)
	if nhs != "" {
		b.WriteString(`"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + nhs + `"}],`)
	}
	b.WriteString(`"name":[{"use":"official","family":"Importer","given":["Zed"]}],"gender":"male","birthDate":"1940-01-02"},"request":{"method":"POST","url":"Patient"}}`)
	for _, c := range conds {
		b.WriteString(`,{"fullUrl":"` + c + `","resource":` + sprintf(condition, "X") + `,"request":{"method":"POST","url":"Condition"}}`)
	}
	b.WriteString(`]}`)
	return []byte(strings.ReplaceAll(b.String(), `"Patient/X"`, `"urn:uuid:`+importedPatientID+`"`))
}

func testImporter(a *api) *fhir.Importer {
	return fhir.NewImporter(a.Care, haven.SystemPrincipal(authtest.North, "test import"), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// onBothStores runs test on SQLite and, when HAVEN_TEST_POSTGRES_URL is
// set, on PostgreSQL.
func onBothStores(t *testing.T, test func(t *testing.T, a *api)) {
	t.Run("sqlite", func(t *testing.T) { test(t, newAPIWith(t, authtest.Options{People: 1})) })
	t.Run("postgres", func(t *testing.T) { test(t, newAPIWith(t, authtest.Options{People: 1, Postgres: true})) })
}

// A record deleted in Haven is not brought back by importing its source
// again, and the rest of the Bundle is still kept.
func TestImportAfterDelete(t *testing.T) {
	onBothStores(t, func(t *testing.T, a *api) {
		ctx := context.Background()
		c1 := "urn:uuid:1c1c1c1c-0000-4000-8000-000000000001"
		c2 := "urn:uuid:1c1c1c1c-0000-4000-8000-000000000002"
		body := importBundle(fhir.SyntheticNHSNumber("deleted"), c1, c2)
		im := testImporter(a)
		if _, err := im.Bundle(ctx, "first", body); err != nil {
			t.Fatal(err)
		}
		if r := im.Report(); r.Created != 3 {
			t.Fatalf("first import: %+v", r)
		}
		tok := a.token(t, authtest.North, "system/*.cruds")
		deleted := strings.TrimPrefix(c1, "urn:uuid:")
		if d := a.do(t, "DELETE", "/fhir/Condition/"+deleted, tok, ""); d.status != 204 {
			t.Fatalf("delete: %d %s", d.status, d.raw)
		}
		// The patient changed in the source: the change is kept although
		// the Bundle also holds the deleted Condition.
		changed := []byte(strings.Replace(string(body), `"Importer"`, `"Importer-Smith"`, 1))
		again := testImporter(a)
		if _, err := again.Bundle(ctx, "again", changed); err != nil {
			t.Fatal(err)
		}
		r := again.Report()
		if r.Updated != 1 || r.Unchanged != 1 || r.Created != 0 || len(r.Rejected) != 1 {
			t.Fatalf("re-import: created %d updated %d unchanged %d rejected %+v; want the patient updated, one Condition unchanged, the deleted one rejected",
				r.Created, r.Updated, r.Unchanged, r.Rejected)
		}
		if rj := r.Rejected[0]; rj.Type != "Condition" || rj.Source != "again entry 1" || !strings.Contains(rj.Reason, "deleted") {
			t.Errorf("rejected %+v; want the deleted Condition (entry 1), saying it was deleted", rj)
		}
		if g := a.do(t, "GET", "/fhir/Condition/"+deleted, tok, ""); g.status != 404 {
			t.Errorf("the deleted Condition after the re-import: %d %s", g.status, g.raw)
		}
		if g := a.do(t, "GET", "/fhir/Patient/"+importedPatientID, tok, ""); !strings.Contains(g.raw, "Importer-Smith") {
			t.Errorf("the patient's change was not kept: %d %s", g.status, g.raw)
		}
	})
}

// A patient refused while planning (no NHS number) takes what is about
// them along before anything is written: one unit, not one attempt per
// dependant, each auditing every op left.
func TestImportRefusedPatientTakesDependants(t *testing.T) {
	a := newAPI(t)
	var conds []string
	for i := range 40 {
		conds = append(conds, fmt.Sprintf("urn:uuid:2d2d2d2d-0000-4000-8000-%012d", i))
	}
	auditSize := func() (n int) {
		t.Helper()
		if err := a.DB.SQL().QueryRow(`SELECT count(*) FROM audit_entries WHERE tenant_id = ?`, authtest.North).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := auditSize()
	im := testImporter(a)
	if _, err := im.Bundle(context.Background(), "no-nhs", importBundle("", conds...)); err != nil {
		t.Fatal(err)
	}
	r := im.Report()
	if len(r.Rejected) != 41 || r.ByType["Patient"].Rejected != 1 || r.ByType["Condition"].Rejected != 40 {
		t.Fatalf("rejected %d: %+v", len(r.Rejected), r.ByType)
	}
	patient := r.Rejected[0].Reason
	for _, rj := range r.Rejected[1:] {
		if rj.Reason != "its patient was refused: "+patient {
			t.Errorf("%s: %q; want its patient's refusal (%q)", rj.Source, rj.Reason, patient)
			break
		}
	}
	if n := auditSize() - before; n != 0 {
		t.Errorf("%d audit entries for an import that tried to write nothing", n)
	}
}

// ndjsonLine is resource on one line, with the id given.
func ndjsonLine(resource, id string) string {
	typ := resource[strings.Index(resource, `"resourceType":"`)+len(`"resourceType":"`):]
	typ = typ[:strings.Index(typ, `"`)]
	withID := strings.Replace(resource, `{"resourceType":"`+typ+`",`, `{"resourceType":"`+typ+`","id":"`+id+`",`, 1)
	return strings.ReplaceAll(withID, "\n", "")
}

// importedPatient is a Patient with the NHS number nhs, on one line.
func importedPatient(id, nhs, family string) string {
	return `{"resourceType":"Patient","id":"` + id + `","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + nhs +
		`"}],"name":[{"family":"` + family + `","given":["Test"]}],"gender":"female","birthDate":"1950-01-01"}`
}

// An NDJSON line longer than a resource may be is left out alone: the
// lines before and after it are written.
func TestNDJSONOverlongLine(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	pid := "3e3e3e3e-0000-4000-8000-000000000001"
	big := strings.Replace(sprintf(condition, pid), `"onsetDateTime"`, `"note":[{"text":"`+strings.Repeat("x", 1<<20)+`"}],"onsetDateTime"`, 1)
	in := strings.Join([]string{
		importedPatient(pid, fhir.SyntheticNHSNumber("overlong"), "Huge"),
		ndjsonLine(sprintf(condition, pid), "3e3e3e3e-0000-4000-8000-000000000002"),
		ndjsonLine(big, "3e3e3e3e-0000-4000-8000-000000000003"),
		ndjsonLine(sprintf(condition, pid), "3e3e3e3e-0000-4000-8000-000000000004"),
	}, "\n")
	im := testImporter(a)
	if err := im.NDJSON(ctx, "huge.ndjson", strings.NewReader(in), nil); err != nil {
		t.Fatal(err)
	}
	r := im.Report()
	if r.Resources != 4 || r.Created != 3 || len(r.Rejected) != 1 {
		t.Fatalf("read %d, created %d, rejected %+v; want 4 read, the over-long line rejected and the other 3 created", r.Resources, r.Created, r.Rejected)
	}
	if rj := r.Rejected[0]; rj.Source != "huge.ndjson line 3" || !strings.Contains(rj.Reason, "longer than") {
		t.Errorf("rejected %+v; want line 3, as too long", rj)
	}
}

// A byte order mark before the first line is not part of it, and each
// entry is reported on the line it is on, blank lines counted.
func TestNDJSONByteOrderMarkAndLineNumbers(t *testing.T) {
	a := newAPI(t)
	pid := "4f4f4f4f-0000-4000-8000-000000000001"
	bad := ndjsonLine(strings.Replace(sprintf(condition, pid), `"2019-05-01"`, `"yesterday"`, 1), "4f4f4f4f-0000-4000-8000-000000000002")
	in := "\ufeff" + importedPatient(pid, fhir.SyntheticNHSNumber("bom"), "Bom") + "\r\n\r\n\r\n" + bad + "\r\n"
	im := testImporter(a)
	if err := im.NDJSON(context.Background(), "bom.ndjson", strings.NewReader(in), nil); err != nil {
		t.Fatal(err)
	}
	r := im.Report()
	if r.ByType["Patient"] == nil || r.ByType["Patient"].Created != 1 {
		t.Errorf("the Patient on line 1 was not kept: %+v", r.Rejected)
	}
	if len(r.Rejected) != 1 || r.Rejected[0].Source != "bom.ndjson line 4" || r.Rejected[0].Type != "Condition" {
		t.Fatalf("rejected %+v; want the Condition on bom.ndjson line 4", r.Rejected)
	}
	// The source says where it is: the reason need not, least of all as
	// an entry of a Bundle there is none of.
	if reason := r.Rejected[0].Reason; !strings.HasPrefix(reason, "invalid Condition.onsetDateTime: ") {
		t.Errorf("reason %q", reason)
	}
}
