package fhir

import (
	"net/http"
	"slices"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
)

// everythingParams are the parameters of Patient/$everything Haven
// supports. R4 defines start, end and _count too: Haven keeps no single
// care date to compare start and end with, and answers in one page, so
// those are reported as any unsupported search parameter is.
var everythingParams = []string{"_since", "_type"}

// Everything answers GET /fhir/Patient/{id}/$everything: the person's whole
// record (all but how to enter their home) as a searchset, for a subject
// access request or a transfer of care, narrowed by _type and _since. It is
// one unit: one audit entry on the person, counted by the guard as one
// person read.
func (s *Server) Everything(w http.ResponseWriter, r *http.Request) {
	p, _, ok := s.begin(w, r, false)
	if !ok {
		return
	}
	id := r.PathValue("id")
	q := r.URL.Query()
	ignored, ok := unsupportedParams(w, r, q, "Patient/$everything", everythingParams)
	if !ok {
		return
	}
	since, typeNames, err := sinceAndTypes(q)
	if err != nil {
		s.fail(w, err)
		return
	}
	var kinds []haven.Kind // every kind
	wantPerson := true
	if typeNames != nil {
		kinds, wantPerson = compartmentKinds(typeNames)
	}
	found, err := s.care.Compartment(r.Context(), p, id, kinds...)
	if err != nil {
		s.fail(w, err)
		return
	}
	found = slices.DeleteFunc(found, func(f care.Found) bool {
		return !changedSince(f, since) || !wantPerson && f.Record.Kind() == haven.KindPerson
	})
	b, err := s.searchset(found)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.answerSearch(w, b, "Patient/"+id+"/$everything", q, ignored)
}

// compartmentKinds are the kinds to read from a person's compartment for
// the types typeNames: the person's own record first whether or not it
// was asked for (wantPerson), since reading it is what finds and
// authorises the rest.
func compartmentKinds(typeNames []string) (kinds []haven.Kind, wantPerson bool) {
	kinds = []haven.Kind{haven.KindPerson}
	for _, name := range typeNames {
		if t := types[name]; t.kind == haven.KindPerson {
			wantPerson = true
		} else if t.subject != "" {
			kinds = append(kinds, t.kind)
		}
	}
	return kinds, wantPerson
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
