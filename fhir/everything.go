package fhir

import (
	"net/http"

	"github.com/havencare/haven/care"
)

// Everything answers GET /fhir/Patient/{id}/$everything: the person's whole
// record (all but how to enter their home) as a searchset, for a subject
// access request or a transfer of care. It is one unit: one audit entry on
// the person, counted by the guard as one person read.
func (s *Server) Everything(w http.ResponseWriter, r *http.Request) {
	p, _, ok := s.begin(w, r, false)
	if !ok {
		return
	}
	id := r.PathValue("id")
	found, err := s.care.Compartment(r.Context(), p, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	b, err := s.searchset(found)
	if err != nil {
		s.fail(w, err)
		return
	}
	b.Link = []BundleLink{{Relation: "self", URL: s.origin + "/fhir/Patient/" + id + "/$everything"}}
	writeResource(w, http.StatusOK, b)
}

// searchset renders records as a complete searchset Bundle.
func (s *Server) searchset(found []care.Found) (*Bundle, error) {
	n := len(found)
	b := &Bundle{ResourceType: "Bundle", Type: "searchset", Total: &n}
	for _, f := range found {
		res, err := render(f)
		if err != nil {
			return nil, err
		}
		b.Entry = append(b.Entry, BundleEntry{FullURL: s.origin + "/fhir/" + res["resourceType"].(string) + "/" + f.Record.RecordID(),
			Resource: res, Search: &BundleSearch{Mode: "match"}})
	}
	return b, nil
}
