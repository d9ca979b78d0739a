package fhir_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/fhir"
)

func TestSyntheaImportSQLite(t *testing.T) { testSyntheaImport(t, authtest.Options{People: 1}) }
func TestSyntheaImportPostgres(t *testing.T) {
	testSyntheaImport(t, authtest.Options{People: 1, Postgres: true})
}

// testSyntheaImport imports every Synthea Bundle, checks that every
// clinical resource was kept and only billing was refused, imports them
// again to check nothing is copied, then reads every patient's record back
// through the API ($everything) and compares it with the source, element
// by element.
func testSyntheaImport(t *testing.T, opt authtest.Options) {
	bundles := fhir.SyntheaBundles(t)
	a := newAPIWith(t, opt)
	ctx := context.Background()
	p := haven.SystemPrincipal(authtest.North, "test import")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	im := fhir.NewImporter(a.Care, p, log)
	im.SyntheticNHSNumbers = true
	for name, b := range bundles {
		if _, err := im.Bundle(ctx, name, b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	rep := im.Report()
	if rep.Resources != 11659 {
		t.Errorf("read %d resources, want 11659", rep.Resources)
	}
	for _, r := range rep.Rejected {
		if r.Type != "Claim" && r.Type != "ExplanationOfBenefit" {
			t.Errorf("%s %s refused: %s", r.Source, r.Type, r.Reason)
		} else if !strings.Contains(r.Reason, "billing") {
			t.Errorf("%s refused without saying why: %s", r.Type, r.Reason)
		}
	}
	if got := rep.ByType["Claim"].Rejected + rep.ByType["ExplanationOfBenefit"].Rejected; got != 2158 {
		t.Errorf("%d billing resources refused, want 2158", got)
	}
	if rep.Created+rep.Unchanged != 11659-2158 {
		t.Errorf("kept %d created + %d unchanged, want %d", rep.Created, rep.Unchanged, 11659-2158)
	}

	again := fhir.NewImporter(a.Care, p, log)
	again.SyntheticNHSNumbers = true
	for name, b := range bundles {
		if _, err := again.Bundle(ctx, name, b); err != nil {
			t.Fatalf("again %s: %v", name, err)
		}
	}
	if r := again.Report(); r.Created != 0 || r.Updated != 0 || r.Unchanged != 11659-2158 {
		t.Errorf("a second import created %d and updated %d (unchanged %d): it must find what the first wrote", r.Created, r.Updated, r.Unchanged)
	}

	tok := a.token(t, authtest.North, "system/*.rs")
	compared := 0
	for name, b := range bundles {
		var bundle struct {
			Entry []struct {
				FullURL  string         `json:"fullUrl"`
				Resource map[string]any `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(b, &bundle); err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]any{} // Type/id → resource as sent
		var patient string
		for _, e := range bundle.Entry {
			rt := e.Resource["resourceType"].(string)
			if rt == "Claim" || rt == "ExplanationOfBenefit" || rt == "Organization" || rt == "Practitioner" {
				continue
			}
			id := strings.TrimPrefix(e.FullURL, "urn:uuid:")
			want[rt+"/"+id] = rewriteRefs(e.Resource).(map[string]any)
			if rt == "Patient" {
				patient = id
			}
		}
		ev := a.do(t, "GET", "/fhir/Patient/"+patient+"/$everything", tok, "")
		if ev.status != 200 {
			t.Fatalf("%s: $everything %d %s", name, ev.status, ev.raw)
		}
		got := map[string]map[string]any{}
		for _, e := range ev.body["entry"].([]any) {
			res := e.(map[string]any)["resource"].(map[string]any)
			got[res["resourceType"].(string)+"/"+res["id"].(string)] = res
		}
		if len(got) != len(want) {
			t.Errorf("%s: $everything has %d resources, the bundle %d", name, len(got), len(want))
		}
		for key, w := range want {
			g, ok := got[key]
			if !ok {
				t.Errorf("%s: %s missing", name, key)
				continue
			}
			for k, v := range w {
				if k == "id" || k == "meta" {
					continue
				}
				if k == "identifier" && key[:8] == "Patient/" {
					// The import added a synthetic NHS number after the
					// identifiers the source had.
					gi, _ := g[k].([]any)
					if len(gi) != len(v.([]any))+1 || !reflect.DeepEqual(gi[:len(gi)-1], v) ||
						!strings.Contains(jsonOf(gi[len(gi)-1]), fhir.NHSNumberSystem) {
						t.Errorf("%s %s.identifier: got %s", name, key, jsonOf(g[k]))
					}
					continue
				}
				if !reflect.DeepEqual(g[k], v) {
					t.Errorf("%s %s.%s: got %.200s, want %.200s", name, key, k, jsonOf(g[k]), jsonOf(v))
				}
			}
			for k := range g {
				if _, sent := w[k]; !sent && k != "id" && k != "meta" && k != "resourceType" {
					t.Errorf("%s %s: element %s was not sent", name, key, k)
				}
			}
			compared++
		}
	}
	if compared != 11659-2158-260 {
		t.Errorf("compared %d resources, want %d", compared, 11659-2158-260)
	}
	// Directory resources (Organization, Practitioner) read back one by one.
	for name, b := range bundles {
		var bundle struct {
			Entry []struct {
				FullURL  string         `json:"fullUrl"`
				Resource map[string]any `json:"resource"`
			} `json:"entry"`
		}
		_ = json.Unmarshal(b, &bundle)
		for _, e := range bundle.Entry {
			rt := e.Resource["resourceType"].(string)
			if rt != "Organization" && rt != "Practitioner" {
				continue
			}
			r := a.do(t, "GET", "/fhir/"+rt+"/"+strings.TrimPrefix(e.FullURL, "urn:uuid:"), tok, "")
			if r.status != 200 || r.body["name"] == nil || !reflect.DeepEqual(r.body["identifier"], e.Resource["identifier"]) {
				t.Errorf("%s %s: %d %.300s", name, rt, r.status, r.raw)
			}
		}
		break // one bundle's directory is enough; the rest are the same shape
	}
}

// rewriteRefs is a Synthea resource as Haven serves it: urn:uuid:
// references become Type/id, the ids the import kept.
func rewriteRefs(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, c := range x {
			if s, ok := c.(string); ok && k == "reference" && strings.HasPrefix(s, "urn:uuid:") {
				out[k] = refTypes[strings.TrimPrefix(s, "urn:uuid:")] + "/" + strings.TrimPrefix(s, "urn:uuid:")
				continue
			}
			out[k] = rewriteRefs(c)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, c := range x {
			out[i] = rewriteRefs(c)
		}
		return out
	}
	return v
}

// refTypes maps every Synthea fullUrl uuid to its resource type; filled by
// init from the archive when present.
var refTypes = map[string]string{}

func init() {
	f, err := os.Open(fhir.SyntheaArchive)
	if err != nil {
		return
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return
	}
	tr := tar.NewReader(gz)
	for {
		if _, err := tr.Next(); err != nil {
			return
		}
		var b struct {
			Entry []struct {
				FullURL  string `json:"fullUrl"`
				Resource struct {
					ResourceType string `json:"resourceType"`
				} `json:"resource"`
			} `json:"entry"`
		}
		if json.NewDecoder(tr).Decode(&b) == nil {
			for _, e := range b.Entry {
				refTypes[strings.TrimPrefix(e.FullURL, "urn:uuid:")] = e.Resource.ResourceType
			}
		}
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestSyntheticNHSNumbersAcrossImports: two patients whose kept ids derive
// the same test-range number are imported, then imported again in the
// other order (parallel import workers take Bundles in any order). Each
// keeps the number it was first given, and neither is filed as the other.
func TestSyntheticNHSNumbersAcrossImports(t *testing.T) {
	// Two uuid-shaped fullUrls that derive the same number.
	a, b := collidingSeeds(t, "urn:uuid:00000000-0000-4000-8000-%012d")
	bundle := func(fullURL, family string) []byte {
		return []byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"` + fullURL + `",
			"resource":{"resourceType":"Patient","name":[{"family":"` + family + `","given":["Test"]}],
			"gender":"female","birthDate":"1950-02-03"},"request":{"method":"POST","url":"Patient"}}]}`)
	}
	a2 := newAPIWith(t, authtest.Options{People: 1})
	ctx := context.Background()
	p := haven.SystemPrincipal(authtest.North, "test import")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	run := func(order ...string) fhir.ImportReport {
		t.Helper()
		im := fhir.NewImporter(a2.Care, p, log)
		im.SyntheticNHSNumbers = true
		for _, u := range order {
			family := map[string]string{a: "Firstcomer", b: "Secondcomer"}[u]
			if _, err := im.Bundle(ctx, u, bundle(u, family)); err != nil {
				t.Fatalf("%s: %v", u, err)
			}
		}
		return im.Report()
	}
	numberOf := func(u string) string {
		t.Helper()
		id := strings.TrimPrefix(u, "urn:uuid:")
		rec, _, err := a2.Care.Get(ctx, p, haven.KindPerson, id)
		if err != nil {
			t.Fatalf("person %s: %v", id, err)
		}
		return rec.(*haven.Person).NHSNumber
	}
	if r := run(a, b); r.Created != 2 || r.Updated != 0 {
		t.Fatalf("first import: %+v, want two people created", r)
	}
	na, nb := numberOf(a), numberOf(b)
	if na == nb {
		t.Fatalf("both people were given %s", na)
	}
	if r := run(b, a); r.Created != 0 || r.Updated != 0 || r.Unchanged != 2 {
		t.Errorf("second import in the other order: %+v, want both unchanged", r)
	}
	if numberOf(a) != na || numberOf(b) != nb {
		t.Errorf("numbers moved: %s and %s, first %s and %s", numberOf(a), numberOf(b), na, nb)
	}
}
