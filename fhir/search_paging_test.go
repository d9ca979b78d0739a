package fhir_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven/auth/authtest"
	"github.com/havencare/haven/guard"
)

// searchPage is one searchset as a client sees it.
type searchPage struct {
	ids      []string // the matches
	included []string // the included resources
	outcomes int      // OperationOutcome entries
	total    any
	next     string
	raw      string
}

func getPage(t *testing.T, a *api, tok, path string) (searchPage, int) {
	t.Helper()
	r := a.do(t, "GET", path, tok, "")
	return readSearchPage(a, r), r.status
}

func readSearchPage(a *api, r reply) searchPage {
	p := searchPage{raw: r.raw, total: r.body["total"]}
	links, _ := r.body["link"].([]any)
	for _, l := range links {
		if m := l.(map[string]any); m["relation"] == "next" {
			p.next = strings.TrimPrefix(m["url"].(string), a.base)
		}
	}
	entries, _ := r.body["entry"].([]any)
	for _, e := range entries {
		m := e.(map[string]any)
		res, _ := m["resource"].(map[string]any)
		switch m["search"].(map[string]any)["mode"] {
		case "match":
			p.ids = append(p.ids, res["id"].(string))
		case "include":
			p.included = append(p.included, res["id"].(string))
		case "outcome":
			p.outcomes++
		}
	}
	return p
}

// getAll follows next links and returns every match and the last page.
func getAll(t *testing.T, a *api, tok, path string) ([]string, searchPage) {
	t.Helper()
	var ids []string
	var last searchPage
	for pages := 0; path != ""; pages++ {
		if pages == 100 {
			t.Fatalf("more than 100 pages: %s", path)
		}
		p, status := getPage(t, a, tok, path)
		if status != 200 {
			t.Fatalf("%s: %d %s", path, status, p.raw)
		}
		ids = append(ids, p.ids...)
		last, path = p, p.next
	}
	return ids, last
}

func conditionOf(person, onset string) string {
	return `{"resourceType":"Condition","subject":{"reference":"Patient/` + person + `"},
 "code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003","display":"Hypertensive disorder"}]},"onsetDateTime":"` + onset + `"}`
}

func create(t *testing.T, a *api, tok, typ, body string) string {
	t.Helper()
	r := a.do(t, "POST", "/fhir/"+typ, tok, body)
	if r.status != 201 {
		t.Fatalf("create %s: %d %s", typ, r.status, r.raw)
	}
	return r.body["id"].(string)
}

func TestSearchPagingSQLite(t *testing.T) { testSearchPaging(t, authtest.Options{People: 6}) }
func TestSearchPagingPostgres(t *testing.T) {
	testSearchPaging(t, authtest.Options{People: 6, Postgres: true})
}

func testSearchPaging(t *testing.T, opt authtest.Options) {
	a := newAPIWith(t, opt)
	var real []string
	for _, p := range a.Data[authtest.North].People {
		if !p.Person.Canary {
			real = append(real, p.Person.ID)
		}
	}
	A, B := real[0], real[1]

	t.Run("a filter that turns most records away still finds the match on a later page", func(t *testing.T) {
		a.Clock.Advance(48 * time.Hour)
		tok := a.token(t, authtest.North, "system/*.cruds")
		since := a.Clock.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		id := create(t, a, tok, "Condition", conditionOf(A, "2020-01-01"))
		all, _ := getAll(t, a, tok, "/fhir/Condition?_count=100")
		if len(all) < 5 {
			t.Fatalf("want older conditions around the new one, have %d", len(all))
		}
		got, last := getAll(t, a, tok, "/fhir/Condition?_count=1&_lastUpdated=gt"+url.QueryEscape(since))
		if !slices.Equal(got, []string{id}) {
			t.Errorf("_lastUpdated=gt%s paged by 1: want [%s], got %v (last page %.300s)", since, id, got, last.raw)
		}
		got, _ = getAll(t, a, tok, "/fhir/Condition?_count=1&date=eq2020-01-01")
		if !slices.Contains(got, id) {
			t.Errorf("date=eq2020-01-01 paged by 1 misses %s: %v", id, got)
		}
	})

	tok := a.token(t, authtest.North, "system/*.cruds")
	t.Run("total is the number of matches or absent", func(t *testing.T) {
		for range 3 {
			create(t, a, tok, "Condition", conditionOf(B, "2021-01-01"))
		}
		all, first := getAll(t, a, tok, "/fhir/Condition?patient="+B+"&_count=100")
		if first.total != float64(len(all)) {
			t.Errorf("one page of %d: total %v", len(all), first.total)
		}
		p, _ := getPage(t, a, tok, "/fhir/Condition?patient="+B+"&_count=2")
		if p.total != nil && p.total != float64(len(all)) {
			t.Errorf("first of several pages says total %v; %d match", p.total, len(all))
		}
		got, last := getAll(t, a, tok, "/fhir/Condition?patient="+B+"&_count=2")
		if len(got) != len(all) || last.total != nil && last.total != float64(len(all)) {
			t.Errorf("paging by 2 found %d of %d; last page says total %v", len(got), len(all), last.total)
		}
	})

	t.Run("every parameter narrows the result", func(t *testing.T) {
		ofA := create(t, a, tok, "Condition", conditionOf(A, "2019-01-01"))
		ofB := create(t, a, tok, "Condition", conditionOf(B, "2019-01-01"))
		for _, c := range []struct {
			query string
			want  []string // nil: nothing
		}{
			{"_id=" + ofA + "&patient=" + B, nil},
			{"_id=" + ofA + "&patient=" + A, []string{ofA}},
			{"patient=" + A + "&identifier=" + url.QueryEscape("urn:x|nothing"), nil},
			{"patient=" + A + "&patient=" + B, nil},
			{"_id=" + ofA + "&_id=" + ofB, nil},
			{"_id=" + ofA + "," + ofB, []string{ofA, ofB}},
			{"_id=" + ofA + "," + ofB + "&subject=Patient/" + B, []string{ofB}},
			{"_id=" + ofA + "," + ofA, []string{ofA}},
			{"_id=" + ofA + "&date=lt2019", nil},
		} {
			p, status := getPage(t, a, tok, "/fhir/Condition?"+c.query)
			slices.Sort(p.ids)
			slices.Sort(c.want)
			if status != 200 || !slices.Equal(p.ids, c.want) || p.total != float64(len(c.want)) {
				t.Errorf("%s: want %v, got %d %v total %v", c.query, c.want, status, p.ids, p.total)
			}
		}
		both, _ := getAll(t, a, tok, "/fhir/Condition?patient="+A+","+B+"&_count=3")
		onlyA, _ := getAll(t, a, tok, "/fhir/Condition?patient="+A)
		onlyB, _ := getAll(t, a, tok, "/fhir/Condition?patient="+B)
		if len(both) != len(onlyA)+len(onlyB) || !slices.Contains(both, ofA) || !slices.Contains(both, ofB) {
			t.Errorf("patient=A,B found %d; A has %d, B %d", len(both), len(onlyA), len(onlyB))
		}
	})

	t.Run("what cannot be honoured is refused", func(t *testing.T) {
		for _, q := range []string{
			"Condition?patient=", "Condition?_id=", "Condition?date=", "Patient?family=",
			"Condition?_count=2&_count=3", "Patient?family=a&family=b", "Patient?family=a,b",
			"Condition?identifier=" + url.QueryEscape("urn:a|1,urn:b|2"),
			"Condition?patient=" + strings.Repeat(A+",", 30) + A,
			// A blind index holds system|value: a part of it finds nothing.
			"Encounter?identifier=E1", "Encounter?identifier=" + url.QueryEscape("urn:sys|"),
			"Encounter?identifier=" + url.QueryEscape("|E1"),
		} {
			r := a.do(t, "GET", "/fhir/"+q, tok, "")
			r.outcome(t, 400)
		}
	})

	t.Run("identifier finds only by system and value", func(t *testing.T) {
		id := create(t, a, tok, "Encounter", `{"resourceType":"Encounter","status":"finished","class":{"code":"HH"},
 "identifier":[{"system":"urn:sys","value":"E1"}],"subject":{"reference":"Patient/`+A+`"},"period":{"start":"2024-03-01T10:00:00Z"}}`)
		p, status := getPage(t, a, tok, "/fhir/Encounter?identifier="+url.QueryEscape("urn:sys|E1"))
		if status != 200 || !slices.Equal(p.ids, []string{id}) {
			t.Errorf("identifier=urn:sys|E1: %d %v", status, p.ids)
		}
	})
}

// More people match than one page of a search holds: paging reaches them
// all, and no page claims a total it does not know.
func TestSearchPeoplePaging(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/Patient.cruds")
	const people = 60
	var made []string
	for i := 1; len(made) < people; i++ {
		nhs := validNHS(943400000 + i*7)
		if nhs == "" {
			continue
		}
		body := strings.NewReplacer("9434765919", nhs, "Quarrington", "Pagingfam").Replace(newPatient)
		made = append(made, create(t, a, tok, "Patient", body))
	}
	// Each page is a search matching all 60, which the guard counts as
	// wide (and freezes a client that makes several): a client for each.
	for _, count := range []int{100, 20} {
		reader := a.token(t, authtest.North, "system/Patient.rs")
		got, last := getAll(t, a, reader, fmt.Sprintf("/fhir/Patient?family=pagingfam&_count=%d", count))
		slices.Sort(got)
		slices.Sort(made)
		if !slices.Equal(got, made) {
			t.Errorf("_count=%d: %d of the %d people, last page total %v", count, len(got), people, last.total)
		}
		if last.total != nil && last.total != float64(people) {
			t.Errorf("_count=%d: total %v, but %d match", count, last.total, people)
		}
	}
}

// More records carry an identifier than one page holds.
func TestSearchIdentifierPaging(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/*.cruds")
	person := realPerson(t, a, authtest.North)
	var made []string
	for range 55 {
		made = append(made, create(t, a, tok, "Encounter", `{"resourceType":"Encounter","status":"finished","class":{"code":"HH"},
 "identifier":[{"system":"urn:visits","value":"shared"}],"subject":{"reference":"Patient/`+person+`"},"period":{"start":"2024-03-01T10:00:00Z"}}`))
	}
	got, last := getAll(t, a, tok, "/fhir/Encounter?identifier="+url.QueryEscape("urn:visits|shared")+"&_count=100")
	slices.Sort(got)
	slices.Sort(made)
	if !slices.Equal(got, made) || last.total != nil && last.total != float64(len(made)) {
		t.Errorf("%d of %d found; total %v", len(got), len(made), last.total)
	}
}

// validNHS returns a valid (modulus 11) NHS number from the 9 digits n,
// or "" when n has no check digit.
func validNHS(n int) string {
	d := fmt.Sprintf("%09d", n)
	sum := 0
	for i := range 9 {
		sum += int(d[i]-'0') * (10 - i)
	}
	c := 11 - sum%11
	switch c {
	case 11:
		c = 0
	case 10:
		return ""
	}
	return d + fmt.Sprint(c)
}

// Every record a page reads is listed, audited and counted by the guard,
// whether or not a filter keeps it. A filtered page that matches nobody
// reads at most ten times its _count, so a normal client asking for one
// result is not taken for one reading the organisation.
func TestSearchFilteredPageReadsBoundedByCount(t *testing.T) {
	a := newAPIWith(t, authtest.Options{People: 25, Canaries: -1})
	// More people than a page of one may read, fewer than the tenant holds.
	setClientBudget(t, a.Env, guard.Budget{PerHour: 15, PerDay: 100})
	audited := func() (n int) {
		if err := a.DB.SQL().QueryRow(`SELECT count(*) FROM audit_entries WHERE tenant_id = ?`, authtest.North).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tok := a.token(t, authtest.North, "system/Patient.rs")
	before := audited()
	p, status := getPage(t, a, tok, "/fhir/Patient?_lastUpdated=lt1990-01-01&_count=1")
	if status != 200 || len(p.ids) != 0 || p.next == "" {
		t.Fatalf("a filtered page of one matching nobody: %d, %d matches, next %q: %.300s", status, len(p.ids), p.next, p.raw)
	}
	if n := audited() - before; n > 10 {
		t.Errorf("a filtered page of one listed %d records; at most 10 reads of one", n)
	}
}
