package fhir_test

import (
	"slices"
	"testing"

	"github.com/havencare/haven/auth/authtest"
)

// POST _search with a form runs the search GET would.
func TestSearchByPost(t *testing.T) {
	a := newAPI(t)
	person := realPerson(t, a, authtest.North)
	tok := a.token(t, authtest.North, "system/*.rs")
	get, _ := getPage(t, a, tok, "/fhir/Condition?patient="+person)
	form := "application/x-www-form-urlencoded"
	r := a.do(t, "POST", "/fhir/Condition/_search", tok, "patient="+person, "Content-Type", form)
	post := readSearchPage(a, r)
	if r.status != 200 || len(get.ids) == 0 || !slices.Equal(post.ids, get.ids) {
		t.Errorf("POST _search: %d %v, GET found %v", r.status, post.ids, get.ids)
	}
	if links, _ := r.body["link"].([]any); len(links) == 0 || links[0].(map[string]any)["url"] != a.base+"/fhir/Condition?patient="+person {
		t.Errorf("self link: %v", links)
	}
	a.do(t, "POST", "/fhir/Condition/_search", tok, `{"patient":"x"}`).outcome(t, 415)
	a.do(t, "POST", "/fhir/Condition/_search", tok, "patient=", "Content-Type", form).outcome(t, 400)
	// What the address check refuses in a URL is refused in a form too.
	for _, body := range []string{"patient=%00", "patient=%FF", "%00=1"} {
		a.do(t, "POST", "/fhir/Condition/_search", tok, body, "Content-Type", form).outcome(t, 400)
	}
}

// The audit log is searched by form as every searchable type is, through
// the same form checks.
func TestAuditEventSearchByPost(t *testing.T) {
	a := newAPI(t)
	tok := a.token(t, authtest.North, "system/AuditEvent.rs")
	form := "application/x-www-form-urlencoded"
	// Oldest first: the first entry is the same whatever each search
	// appends to the log.
	get, _ := getPage(t, a, tok, "/fhir/AuditEvent?_count=1")
	r := a.do(t, "POST", "/fhir/AuditEvent/_search", tok, "_count=1", "Content-Type", form)
	post := readSearchPage(a, r)
	if r.status != 200 || len(get.ids) != 1 || !slices.Equal(post.ids, get.ids) {
		t.Errorf("POST AuditEvent/_search: %d %v, GET found %v: %.300s", r.status, post.ids, get.ids, r.raw)
	}
	if links, _ := r.body["link"].([]any); len(links) == 0 || links[0].(map[string]any)["url"] != a.base+"/fhir/AuditEvent?_count=1" {
		t.Errorf("self link: %v", links)
	}
	a.do(t, "POST", "/fhir/AuditEvent/_search", tok, `{"_count":"1"}`).outcome(t, 415)
	a.do(t, "POST", "/fhir/AuditEvent/_search", tok, "_count=%00", "Content-Type", form).outcome(t, 400)
}
