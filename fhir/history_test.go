package fhir_test

import (
	"slices"
	"strings"
	"testing"

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

// TestDeletedOnlyToThoseWhoMayRead: a deleted resource is 410 to a read
// and a repeated delete is 204, but only for a client that may read it:
// another organisation's client, or one whose scopes do not cover the
// type, is told "not found" as for an id that never existed.
func TestDeletedOnlyToThoseWhoMayRead(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/*.cruds")
	c := a.do(t, "POST", "/fhir/Condition", tok, sprintf(condition, realPerson(t, a, authtest.North)))
	id := c.body["id"].(string)
	if r := a.do(t, "DELETE", "/fhir/Condition/"+id, tok, ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	a.do(t, "GET", "/fhir/Condition/"+id, tok, "").outcome(t, 410)
	for name, other := range map[string]string{
		"south":         a.token(t, authtest.South, "system/*.cruds"),
		"no Condition":  a.token(t, authtest.North, "system/Encounter.cruds"),
		"Condition.c/d": a.token(t, authtest.North, "system/Condition.cud"),
	} {
		for _, m := range []string{"GET", "DELETE"} {
			if r := a.do(t, m, "/fhir/Condition/"+id, other, ""); r.status != 404 || strings.Contains(r.raw, "deleted") {
				t.Errorf("%s %s: %d %s", name, m, r.status, r.raw)
			}
		}
	}
	if r := a.do(t, "GET", "/fhir/Condition/no-such-id", tok, ""); r.status != 404 {
		t.Errorf("an id that never existed: %d", r.status)
	}
}
