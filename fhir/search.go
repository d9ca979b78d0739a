package fhir

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
)

// Bundle is a FHIR searchset.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	Type         string        `json:"type"`
	Total        int           `json:"total"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// BundleLink is a Bundle's self (or paging) link.
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleEntry is one search result or the outcome of the search itself.
type BundleEntry struct {
	FullURL  string        `json:"fullUrl,omitempty"`
	Resource any           `json:"resource"`
	Search   *BundleSearch `json:"search,omitempty"`
}

// BundleSearch says why an entry is in a searchset.
type BundleSearch struct {
	Mode string `json:"mode"` // match, outcome
}

// patientParams are the Patient search parameters Haven supports. Each
// is answered through a blind index (exact match), never by decrypting the
// tenant.
var patientParams = []string{"_id", "identifier", "family", "birthdate", "phone", "_count"}

// SearchPatient answers GET /fhir/Patient?... A parameter Haven does not
// support is reported: refused with 400 under Prefer: handling=strict, and
// otherwise listed in an OperationOutcome entry of the result.
func (s *Server) SearchPatient(w http.ResponseWriter, r *http.Request) {
	if !acceptable(w, r) {
		return
	}
	p, ok := s.principal(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var ignored []string
	for name := range q {
		if !slices.Contains(patientParams, name) {
			ignored = append(ignored, name)
		}
	}
	slices.Sort(ignored)
	if len(ignored) > 0 && strings.Contains(r.Header.Get("Prefer"), "handling=strict") {
		writeOutcome(w, http.StatusBadRequest, "not-supported", "unsupported search parameters: "+strings.Join(ignored, ", ")+"; supported: "+strings.Join(patientParams, ", "))
		return
	}
	var people []haven.Person
	var metas []care.Meta
	if id := q.Get("_id"); id != "" {
		rec, m, err := s.care.Get(r.Context(), p, haven.KindPerson, id)
		switch {
		case err == nil:
			people, metas = append(people, *rec.(*haven.Person)), append(metas, m)
		case !errors.Is(err, haven.ErrNotFound):
			outcome(w, s.log, err)
			return
		}
	} else {
		query := care.Query{Family: q.Get("family"), BirthDate: q.Get("birthdate"), Phone: q.Get("phone")}
		if id := q.Get("identifier"); id != "" {
			system, value, hasSystem := strings.Cut(id, "|")
			if !hasSystem {
				value, system = id, NHSNumberSystem
			}
			if system != NHSNumberSystem {
				writeOutcome(w, http.StatusBadRequest, "not-supported", "Haven searches identifiers of "+NHSNumberSystem+" only", "Patient.identifier")
				return
			}
			query.NHSNumber = value
		}
		if n := q.Get("_count"); n != "" {
			c, err := strconv.Atoi(n)
			if err != nil || c < 1 {
				writeOutcome(w, http.StatusBadRequest, "invalid", "_count must be a whole number of at least 1")
				return
			}
			query.Limit = c
		}
		found, err := s.care.Search(r.Context(), p, query)
		if err != nil {
			outcome(w, s.log, err)
			return
		}
		people = found
	}
	b := Bundle{ResourceType: "Bundle", Type: "searchset", Total: len(people),
		Link: []BundleLink{{Relation: "self", URL: s.origin + r.URL.RequestURI()}}}
	for i, person := range people {
		var version int64
		var updated string
		if i < len(metas) {
			version, updated = metas[i].Version, metas[i].Updated
		}
		b.Entry = append(b.Entry, BundleEntry{FullURL: s.origin + "/fhir/Patient/" + person.ID,
			Resource: PatientFromPerson(person, version, updated), Search: &BundleSearch{Mode: "match"}})
	}
	if len(ignored) > 0 {
		b.Entry = append(b.Entry, BundleEntry{Search: &BundleSearch{Mode: "outcome"}, Resource: OperationOutcome{ResourceType: "OperationOutcome",
			Issue: []Issue{{Severity: "warning", Code: "not-supported", Diagnostics: "ignored unsupported search parameters: " + strings.Join(ignored, ", ")}}}})
	}
	writeResource(w, http.StatusOK, b)
}
