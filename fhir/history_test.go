package fhir_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/havencare/haven/auth/authtest"
)

// TestStaffPractitionerVersions: a member of staff is served as a
// Practitioner, and the version its read points to (Content-Location) is
// served by vread and history as well.
func TestStaffPractitionerVersions(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/*.cruds")
	staff := a.Data[authtest.North].Staff[0].ID
	r := a.do(t, "GET", "/fhir/Practitioner/"+staff, tok, "")
	cl := strings.TrimPrefix(r.header.Get("Content-Location"), a.base)
	if r.status != 200 || cl != "/fhir/Practitioner/"+staff+"/_history/1" {
		t.Fatalf("read: %d, Content-Location %q", r.status, cl)
	}
	if v := a.do(t, "GET", cl, tok, ""); v.status != 200 || v.body["id"] != staff {
		t.Errorf("vread %s: %d %.200s", cl, v.status, v.raw)
	}
	if h := a.do(t, "GET", "/fhir/Practitioner/"+staff+"/_history", tok, ""); h.status != 200 || h.body["total"] != float64(1) || !strings.Contains(h.raw, staff) {
		t.Errorf("history: %d %.200s", h.status, h.raw)
	}
}

// TestOrganisationTypesReadOnly: the CapabilityStatement lists exactly
// what an API client is served. The organisation's own types are never
// written by a token (policy keeps that to whoever manages staff), so no
// write of theirs is listed; every type whose create is listed accepts
// one.
func TestOrganisationTypesReadOnly(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/*.cruds")
	md := a.do(t, "GET", "/fhir/metadata", "", "")
	rest := md.body["rest"].([]any)[0].(map[string]any)
	for _, res := range rest["resource"].([]any) {
		c := res.(map[string]any)
		name := c["type"].(string)
		var codes []string
		for _, i := range c["interaction"].([]any) {
			codes = append(codes, i.(map[string]any)["code"].(string))
		}
		if slices.Contains(codes, "history-type") {
			t.Errorf("%s lists history-type, which is not served", name)
		}
		switch name {
		case "Organization", "Practitioner", "PractitionerRole":
			if slices.ContainsFunc(codes, func(c string) bool { return c == "create" || c == "update" || c == "delete" }) || c["conditionalCreate"] != false {
				t.Errorf("%s lists writes: %v, conditionalCreate %v", name, codes, c["conditionalCreate"])
			}
			if r := a.do(t, "POST", "/fhir/"+name, tok, `{"resourceType":"`+name+`"}`); r.status != 403 {
				t.Errorf("POST %s: %d %.200s", name, r.status, r.raw)
			}
		}
	}
	r := a.do(t, "GET", "/fhir/Patient/_history", tok, "")
	r.outcome(t, 404)
	if !strings.Contains(r.raw, "not-supported") || !strings.Contains(r.raw, "type-level history") {
		t.Errorf("type-level history: %s", r.raw)
	}
}

// TestHistoryPaging: history counts every version, pages _count at a time
// through next links to the first, and keeps to _since; a parameter it
// does not support is refused under strict handling and left out of the
// self link otherwise.
func TestHistoryPaging(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/*.cruds")
	person := realPerson(t, a, authtest.North)
	c := a.do(t, "POST", "/fhir/Condition", tok, sprintf(condition, person))
	id := c.body["id"].(string)
	body := strings.Replace(sprintf(condition, person), `{"resourceType":"Condition",`, `{"resourceType":"Condition","id":"`+id+`",`, 1)
	var second time.Time
	for v := 1; v <= 2; v++ {
		a.Clock.Advance(time.Minute)
		if v == 1 {
			second = a.Clock.Now()
		}
		if r := a.do(t, "PUT", "/fhir/Condition/"+id, tok, body, "If-Match", `W/"`+strconv.Itoa(v)+`"`); r.status != 200 {
			t.Fatalf("update %d: %d %s", v, r.status, r.raw)
		}
	}
	hist := "/fhir/Condition/" + id + "/_history"

	var versions []string
	next := hist + "?_count=2"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("next links do not end")
		}
		h := a.do(t, "GET", next, tok, "")
		if h.status != 200 || h.body["total"] != float64(3) {
			t.Fatalf("%s: %d total %v %.300s", next, h.status, h.body["total"], h.raw)
		}
		next = ""
		for _, l := range h.body["link"].([]any) {
			if l := l.(map[string]any); l["relation"] == "next" {
				next = strings.TrimPrefix(l["url"].(string), a.base)
			}
		}
		for _, e := range h.body["entry"].([]any) {
			versions = append(versions, e.(map[string]any)["response"].(map[string]any)["etag"].(string))
		}
	}
	if strings.Join(versions, " ") != `W/"3" W/"2" W/"1"` {
		t.Errorf("versions paged: %v", versions)
	}

	since := func(at time.Time) reply {
		return a.do(t, "GET", hist+"?_since="+url.QueryEscape(at.Format(time.RFC3339Nano)), tok, "")
	}
	if h := since(second); h.status != 200 || h.body["total"] != float64(2) || strings.Contains(h.raw, `W/\"1\"`) {
		t.Errorf("_since version 2: %d total %v %.300s", h.status, h.body["total"], h.raw)
	}
	if h := since(time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)); h.status != 200 || h.body["total"] != float64(0) || h.body["entry"] != nil {
		t.Errorf("_since in the future: %d %.300s", h.status, h.raw)
	}
	a.do(t, "GET", hist+"?_since=yesterday", tok, "").outcome(t, http.StatusBadRequest)
	a.do(t, "GET", hist+"?_cursor=x", tok, "").outcome(t, http.StatusBadRequest)

	a.do(t, "GET", hist+"?_at=2026", tok, "", "Prefer", "handling=strict").outcome(t, http.StatusBadRequest)
	if h := a.do(t, "GET", hist+"?_at=2026&_count=5", tok, ""); h.status != 200 || strings.Contains(h.raw, "_at") || !strings.Contains(h.raw, "_count=5") {
		t.Errorf("lenient _at: %d %.300s", h.status, h.raw)
	}
}
