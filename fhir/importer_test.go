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
	"github.com/havencare/haven/care"
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

// NDJSON refers to the source's Type/id. A patient matched on their NHS
// number keeps the id they have in Haven, and what is about them, in a
// later file, follows them there.
func TestNDJSONReferencesFollowMatchedPatient(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	tok := a.token(t, authtest.North, "system/*.cruds")
	created := a.do(t, "POST", "/fhir/Patient", tok, newPatient)
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	person := created.body["id"].(string)
	pid := "5a5a5a5a-0000-4000-8000-000000000001"
	im := testImporter(a)
	if err := im.NDJSON(ctx, "Patient.ndjson", strings.NewReader(ndjsonLine(newPatient, pid)+"\n"), nil); err != nil {
		t.Fatal(err)
	}
	if err := im.NDJSON(ctx, "Condition.ndjson", strings.NewReader(ndjsonLine(sprintf(condition, pid), "5a5a5a5a-0000-4000-8000-000000000002")+"\n"), nil); err != nil {
		t.Fatal(err)
	}
	if r := im.Report(); len(r.Rejected) != 0 || r.Unchanged+r.Updated != 1 || r.Created != 1 {
		t.Fatalf("created %d updated %d unchanged %d rejected %+v; want the patient matched and the Condition created", r.Created, r.Updated, r.Unchanged, r.Rejected)
	}
	got := a.do(t, "GET", "/fhir/Condition?patient="+person, tok, "")
	if !strings.Contains(got.raw, "5a5a5a5a-0000-4000-8000-000000000002") {
		t.Errorf("the Condition is not the matched patient's: %s", got.raw)
	}
}

// Ids that are not UUIDs, as many servers give ("123"): references to
// them reach what they name, and a second import finds what the first
// wrote.
func TestNDJSONIdsNotUUIDs(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	patient := importedPatient("123", fhir.SyntheticNHSNumber("not-uuid"), "Hapi") + "\n"
	cond := ndjsonLine(sprintf(condition, "123"), "456") + "\n"
	for i := range 2 {
		im := testImporter(a)
		if err := im.NDJSON(ctx, "Patient.ndjson", strings.NewReader(patient), nil); err != nil {
			t.Fatal(err)
		}
		if err := im.NDJSON(ctx, "Condition.ndjson", strings.NewReader(cond), nil); err != nil {
			t.Fatal(err)
		}
		r := im.Report()
		if len(r.Rejected) != 0 {
			t.Fatalf("import %d rejected %+v", i+1, r.Rejected)
		}
		if i == 1 && (r.Created != 0 || r.Unchanged != 2) {
			t.Errorf("second import: created %d updated %d unchanged %d; want both found unchanged", r.Created, r.Updated, r.Unchanged)
		}
	}
}

// A Bundle whose full URLs are not urn:uuid, imported twice: the second
// import finds what the first wrote.
func TestImportAgainWithoutUUIDs(t *testing.T) {
	a := newAPI(t)
	body := []byte(strings.NewReplacer("urn:uuid:"+importedPatientID, "http://example.org/fhir/Patient/p1",
		`"transaction"`, `"collection"`).Replace(string(importBundle(fhir.SyntheticNHSNumber("again"), "http://example.org/fhir/Condition/c1"))))
	for i := range 2 {
		im := testImporter(a)
		if _, err := im.Bundle(context.Background(), "again", body); err != nil {
			t.Fatal(err)
		}
		r := im.Report()
		want := [3]int{2, 0, 0} // created, updated, unchanged
		if i == 1 {
			want = [3]int{0, 0, 2}
		}
		if got := [3]int{r.Created, r.Updated, r.Unchanged}; got != want || len(r.Rejected) != 0 {
			t.Errorf("import %d: created, updated, unchanged %v, rejected %+v; want %v", i+1, got, r.Rejected, want)
		}
	}
}

// Two sources may both have a Patient/1: they are two people, not one
// filed over the other, and what is about each stays theirs.
func TestNDJSONSameIdsFromTwoSources(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	for i, nhs := range []string{fhir.SyntheticNHSNumber("source-a"), fhir.SyntheticNHSNumber("source-b")} {
		im := testImporter(a)
		if err := im.NDJSON(ctx, "Patient.ndjson", strings.NewReader(importedPatient("1", nhs, fmt.Sprint("Source", i))+"\n"), nil); err != nil {
			t.Fatal(err)
		}
		if r := im.Report(); r.Created != 1 {
			t.Errorf("source %d: created %d updated %d unchanged %d rejected %+v; want a person created", i, r.Created, r.Updated, r.Unchanged, r.Rejected)
		}
	}
}

// --synthetic-nhs-numbers, with ids that are not UUIDs: two patients
// whose ids derive the same number, imported one at a time, are two
// people; and importing them again gives each the number they had.
func TestSyntheticNHSNumbersNotUUIDs(t *testing.T) {
	x, y := collidingSeeds(t, "pat-%d")
	a := newAPI(t)
	p := haven.SystemPrincipal(authtest.North, "test")
	run := func(id, family string) fhir.ImportReport {
		t.Helper()
		im := testImporter(a)
		im.SyntheticNHSNumbers = true
		line := `{"resourceType":"Patient","id":"` + id + `","name":[{"family":"` + family + `","given":["T"]}],"gender":"female","birthDate":"1950-02-03"}` + "\n"
		if err := im.NDJSON(context.Background(), "Patient.ndjson", strings.NewReader(line), nil); err != nil {
			t.Fatal(err)
		}
		return im.Report()
	}
	numbers := func() map[string]string {
		t.Helper()
		people, err := a.Care.Search(context.Background(), p, care.Query{Given: "T", BirthDate: "1950-02-03", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, person := range people {
			out[person.Family] = person.NHSNumber
		}
		return out
	}
	if r := run(x, "Firstperson"); r.Created != 1 {
		t.Fatalf("first: %+v", r)
	}
	if r := run(y, "Secondperson"); r.Created != 1 {
		t.Fatalf("second: created %d updated %d: a different patient was filed as an existing person", r.Created, r.Updated)
	}
	first := numbers()
	if first["Firstperson"] == "" || first["Firstperson"] == first["Secondperson"] {
		t.Fatalf("numbers %v", first)
	}
	if r := run(y, "Secondperson"); r.Unchanged != 1 {
		t.Errorf("again, the other way round: %+v", r)
	}
	if r := run(x, "Firstperson"); r.Unchanged != 1 {
		t.Errorf("again: %+v", r)
	}
}

// TestSyntheticNHSNumbersNeverShared: two patients whose seeds derive the
// same test-range number get different numbers in one import, the first
// its own; seen again, each keeps the number it was given; and a patient
// who has an NHS number keeps it and takes no other.
func TestSyntheticNHSNumbersNeverShared(t *testing.T) {
	x, y := collidingSeeds(t, "urn:uuid:synthetic-%d")
	bundle := func(fullURL, family, identifier string) []byte {
		return []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"` + fullURL + `",
			"resource":{"resourceType":"Patient",` + identifier + `"name":[{"family":"` + family + `","given":["Test"]}],
			"gender":"female","birthDate":"1950-02-03"}}]}`)
	}
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/Patient.rs")
	numberOf := func(family string) []any {
		t.Helper()
		r := a.do(t, "GET", "/fhir/Patient?family="+family, tok, "")
		var idents []any
		for _, e := range r.body["entry"].([]any) {
			idents = append(idents, e.(map[string]any)["resource"].(map[string]any)["identifier"].([]any)...)
		}
		return idents
	}
	im := testImporter(a)
	im.SyntheticNHSNumbers = true
	for range 2 {
		for _, u := range []string{x, y} {
			if _, err := im.Bundle(context.Background(), u, bundle(u, map[string]string{x: "Firstcomer", y: "Secondcomer"}[u], "")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if r := im.Report(); r.Created != 2 || r.Unchanged != 2 || len(r.Rejected) != 0 {
		t.Fatalf("created %d updated %d unchanged %d rejected %+v; want two people, found again unchanged", r.Created, r.Updated, r.Unchanged, r.Rejected)
	}
	nx, ny := numberOf("Firstcomer"), numberOf("Secondcomer")
	if len(nx) != 1 || len(ny) != 1 {
		t.Fatalf("identifiers %v and %v", nx, ny)
	}
	vx, vy := nx[0].(map[string]any)["value"], ny[0].(map[string]any)["value"]
	if vx != fhir.SyntheticNHSNumber(x) || vx == vy {
		t.Errorf("given %v and %v; want %s, its own, and another", vx, vy, fhir.SyntheticNHSNumber(x))
	}

	real := `"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],`
	if _, err := im.Bundle(context.Background(), "real", bundle("urn:uuid:"+importedPatientID, "Realnumber", real)); err != nil {
		t.Fatal(err)
	}
	if ids := numberOf("Realnumber"); len(ids) != 1 || ids[0].(map[string]any)["value"] != "9434765919" {
		t.Errorf("a patient with an NHS number now has identifiers %v", ids)
	}
}

// What is about a patient refused in an earlier NDJSON file goes with them.
func TestNDJSONRefusedPatientAcrossFiles(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	im := testImporter(a)
	noNumber := `{"resourceType":"Patient","id":"p9","name":[{"family":"Nonumber","given":["T"]}],"gender":"female","birthDate":"1950-01-01"}` + "\n"
	if err := im.NDJSON(ctx, "Patient.ndjson", strings.NewReader(noNumber), nil); err != nil {
		t.Fatal(err)
	}
	conds := ndjsonLine(sprintf(condition, "p9"), "c1") + "\n" + ndjsonLine(sprintf(condition, "p9"), "c2") + "\n"
	if err := im.NDJSON(ctx, "Condition.ndjson", strings.NewReader(conds), nil); err != nil {
		t.Fatal(err)
	}
	r := im.Report()
	if len(r.Rejected) != 3 {
		t.Fatalf("rejected %+v", r.Rejected)
	}
	for _, rj := range r.Rejected[1:] {
		if !strings.HasPrefix(rj.Reason, "its patient was refused: ") {
			t.Errorf("%s: %q", rj.Source, rj.Reason)
		}
	}
}

// Two exports in one import that both number their patients from 1: what
// each says about its Patient/1 goes to that patient, told apart by the
// folder each export is in. Within one folder the same Type/id given to two
// patients is ambiguous, and a Condition that refers to it is refused
// rather than filed on either.
func TestNDJSONExportsKeepTheirOwnReferences(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	tok := a.token(t, authtest.North, "system/*.rs")
	conditionsOf := func(family string) int {
		t.Helper()
		r := a.do(t, "GET", "/fhir/Patient?family="+family, tok, "")
		people := entries(r.body)
		if len(people) != 1 {
			t.Fatalf("%s: %d people", family, len(people))
		}
		id := people[0].(map[string]any)["resource"].(map[string]any)["id"].(string)
		return len(entries(a.do(t, "GET", "/fhir/Condition?patient="+id, tok, "").body))
	}
	importFile := func(im *fhir.Importer, name, line string) {
		t.Helper()
		if err := im.NDJSON(ctx, name, strings.NewReader(line+"\n"), nil); err != nil {
			t.Fatal(err)
		}
	}

	// The order the command line gives: every Patient file first.
	im := testImporter(a)
	importFile(im, "a/Patient.ndjson", importedPatient("1", fhir.SyntheticNHSNumber("export-a"), "Alphaexport"))
	importFile(im, "b/Patient.ndjson", importedPatient("1", fhir.SyntheticNHSNumber("export-b"), "Betaexport"))
	importFile(im, "a/Condition.ndjson", ndjsonLine(sprintf(condition, "1"), "cond-a"))
	importFile(im, "b/Condition.ndjson", ndjsonLine(sprintf(condition, "1"), "cond-b"))
	importFile(im, "b/Condition.ndjson", ndjsonLine(sprintf(condition, "1"), "cond-b2"))
	if r := im.Report(); r.Created != 5 || len(r.Rejected) != 0 {
		t.Fatalf("two exports: %+v", r)
	}
	if a, b := conditionsOf("Alphaexport"), conditionsOf("Betaexport"); a != 1 || b != 2 {
		t.Errorf("export a's patient has %d conditions (want 1), export b's %d (want 2)", a, b)
	}

	im = testImporter(a)
	importFile(im, "Patient.ndjson", importedPatient("1", fhir.SyntheticNHSNumber("same-folder-a"), "Gammaexport"))
	importFile(im, "Patient.ndjson", importedPatient("1", fhir.SyntheticNHSNumber("same-folder-b"), "Deltaexport"))
	importFile(im, "Condition.ndjson", ndjsonLine(sprintf(condition, "1"), "cond-c"))
	if r := im.Report(); r.Created != 2 || len(r.Rejected) != 1 || r.Rejected[0].Type != "Condition" {
		t.Fatalf("one folder: %+v", r)
	}
	if g, d := conditionsOf("Gammaexport"), conditionsOf("Deltaexport"); g != 0 || d != 0 {
		t.Errorf("an ambiguous reference was filed: %d and %d conditions", g, d)
	}
}

func entries(body map[string]any) []any { e, _ := body["entry"].([]any); return e }

// collidingSeeds finds two seeds, format filled with a number, from which
// fhir.SyntheticNHSNumber derives the same number.
func collidingSeeds(t *testing.T, format string) (first, second string) {
	t.Helper()
	seen := map[string]string{}
	for i := range 1_000_000 {
		seed := fmt.Sprintf(format, i)
		n := fhir.SyntheticNHSNumber(seed)
		if other, ok := seen[n]; ok {
			return other, seed
		}
		seen[n] = seed
	}
	t.Fatalf("no two of a million %q seeds share a number", format)
	return "", ""
}
