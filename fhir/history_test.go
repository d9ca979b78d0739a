package fhir_test

import (
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
