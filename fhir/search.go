package fhir

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
)

// Bundle is a FHIR Bundle: a searchset, a history, or a batch or
// transaction response.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	Type         string        `json:"type"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// BundleLink is a Bundle's self or paging link.
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleEntry is one entry of a Bundle.
type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource any             `json:"resource,omitempty"`
	Search   *BundleSearch   `json:"search,omitempty"`
	Request  *BundleRequest  `json:"request,omitempty"`
	Response *BundleResponse `json:"response,omitempty"`
}

// BundleSearch says why an entry is in a searchset.
type BundleSearch struct {
	Mode string `json:"mode"` // match, include, outcome
}

// BundleRequest is the interaction of a history entry.
type BundleRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// BundleResponse is the result of one entry of a batch or transaction.
type BundleResponse struct {
	Status       string `json:"status"`
	Location     string `json:"location,omitempty"`
	Etag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Outcome      any    `json:"outcome,omitempty"`
}

// Search parameters. Every one is answered through a blind index, a
// person's compartment, or the records the principal may list; none makes
// Haven decrypt the organisation to look.
var (
	commonParams  = []string{"_id", "_count", "_lastUpdated", "_include", "_cursor"}
	patientParams = []string{"identifier", "family", "given", "name", "birthdate", "phone"}
	clinicalParam = []string{"patient", "subject", "identifier", "date"}
	orgParams     = []string{"identifier"}
)

// paramsFor lists the search parameters type t supports.
func paramsFor(t *typeInfo) []string {
	switch {
	case t.kind == haven.KindPerson:
		return append(slices.Clone(commonParams), patientParams...)
	case t.subject == "":
		return append(slices.Clone(commonParams), orgParams...)
	}
	return append(slices.Clone(commonParams), clinicalParam...)
}

// defaultCount and maxCount bound one page of results.
const (
	defaultCount = 50
	maxCount     = care.MaxListResults
)

// Search answers GET /fhir/{type}?... A parameter Haven does not support is
// reported: refused with 400 under Prefer: handling=strict, and otherwise
// listed in an OperationOutcome entry of the result.
func (s *Server) Search(w http.ResponseWriter, r *http.Request) {
	t, p, _, ok := s.typed(w, r, false)
	if !ok {
		return
	}
	q := r.URL.Query()
	supported := paramsFor(t)
	var ignored []string
	for name := range q {
		if !slices.Contains(supported, name) {
			ignored = append(ignored, name)
		}
	}
	slices.Sort(ignored)
	if len(ignored) > 0 && strings.Contains(r.Header.Get("Prefer"), "handling=strict") {
		writeOutcome(w, http.StatusBadRequest, "not-supported", "unsupported search parameters: "+strings.Join(ignored, ", ")+"; "+t.name+" supports: "+strings.Join(supported, ", "))
		return
	}
	for _, name := range ignored {
		q.Del(name)
	}
	b, err := s.search(r.Context(), p, t, q)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.answerSearch(w, b, t.name, q, ignored)
}

// answerSearch sends a search's Bundle with its self link and, when
// parameters were ignored, an outcome entry that names them.
func (s *Server) answerSearch(w http.ResponseWriter, b *Bundle, typ string, q url.Values, ignored []string) {
	self := s.origin + "/fhir/" + typ
	if enc := q.Encode(); enc != "" {
		self += "?" + enc
	}
	b.Link = append([]BundleLink{{Relation: "self", URL: self}}, b.Link...)
	if len(ignored) > 0 {
		b.Entry = append(b.Entry, BundleEntry{Search: &BundleSearch{Mode: "outcome"}, Resource: OperationOutcome{ResourceType: "OperationOutcome",
			Issue: []Issue{{Severity: "warning", Code: "not-supported", Diagnostics: "ignored unsupported search parameters: " + strings.Join(ignored, ", ")}}}})
	}
	writeResource(w, http.StatusOK, b)
}

// search runs a search whose parameters are all supported.
func (s *Server) search(ctx context.Context, p haven.Principal, t *typeInfo, q url.Values) (*Bundle, error) {
	count := defaultCount
	if n := q.Get("_count"); n != "" {
		c, err := strconv.Atoi(n)
		if err != nil || c < 1 {
			return nil, haven.Invalid("_count", "must be a whole number of at least 1")
		}
		count = min(c, maxCount)
	}
	after := q.Get("_cursor")
	var filters []func(care.Found) (bool, error)
	if v := q["_lastUpdated"]; len(v) > 0 {
		for _, cond := range v {
			match, err := dateFilter("_lastUpdated", cond)
			if err != nil {
				return nil, err
			}
			filters = append(filters, func(f care.Found) (bool, error) { return match(f.Meta.Updated), nil })
		}
	}
	if v := q["date"]; len(v) > 0 {
		for _, cond := range v {
			match, err := dateFilter("date", cond)
			if err != nil {
				return nil, err
			}
			filters = append(filters, func(f care.Found) (bool, error) {
				res, err := render(f)
				if err != nil {
					return false, err
				}
				return match(dateOf(t, res)), nil
			})
		}
	}

	var found []care.Found
	var err error
	paged := false // whether found is already one page from the store
	switch {
	case q.Get("_id") != "":
		f, err := s.get(ctx, p, t, q.Get("_id"))
		if err == nil {
			found = append(found, f)
		} else if !errors.Is(err, haven.ErrNotFound) {
			return nil, err
		}
	case t.kind == haven.KindPerson && anyOf(q, patientParams...):
		found, err = s.searchPeople(ctx, p, q)
	case t.subject != "" && anyOf(q, "patient", "subject"):
		ref := q.Get("patient")
		if ref == "" {
			ref = q.Get("subject")
		}
		person := strings.TrimPrefix(ref, "Patient/")
		if person == "" || strings.Contains(person, "/") {
			return nil, haven.Invalid("patient", "must be a Patient id or Patient/<id>")
		}
		found, err = s.care.Compartment(ctx, p, person, t.kind)
		if errors.Is(err, haven.ErrNotFound) {
			found, err = nil, nil
		}
	case q.Get("identifier") != "":
		found, err = s.care.FindByIdentifier(ctx, p, t.kind, q.Get("identifier"), maxCount)
	default:
		paged = true
		for _, k := range append([]haven.Kind{t.kind}, t.alsoKinds...) {
			more, err := s.care.ListFound(ctx, p, k, after, count)
			if err != nil {
				return nil, err
			}
			found = append(found, more...)
		}
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Record.RecordID() < found[j].Record.RecordID() })
	var page []care.Found
	more := false
	for _, f := range found {
		if f.Record.RecordID() <= after {
			continue
		}
		keep := true
		for _, fl := range filters {
			ok, err := fl(f)
			if err != nil {
				return nil, err
			}
			keep = keep && ok
		}
		if !keep {
			continue
		}
		if len(page) == count {
			more = true
			break
		}
		page = append(page, f)
	}
	if paged && len(found) >= count {
		more = true
	}
	b := &Bundle{ResourceType: "Bundle", Type: "searchset"}
	if !paged && !more {
		n := len(page)
		b.Total = &n
	}
	for _, f := range page {
		res, err := render(f)
		if err != nil {
			return nil, err
		}
		b.Entry = append(b.Entry, BundleEntry{FullURL: s.origin + "/fhir/" + t.name + "/" + f.Record.RecordID(), Resource: res, Search: &BundleSearch{Mode: "match"}})
	}
	if more && len(page) > 0 {
		next := cloneValues(q)
		next.Set("_cursor", page[len(page)-1].Record.RecordID())
		b.Link = append(b.Link, BundleLink{Relation: "next", URL: s.origin + "/fhir/" + t.name + "?" + next.Encode()})
	}
	if inc := q["_include"]; len(inc) > 0 {
		if err := s.include(ctx, p, t, inc, b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func anyOf(q url.Values, names ...string) bool {
	for _, n := range names {
		if q.Get(n) != "" {
			return true
		}
	}
	return false
}

func cloneValues(q url.Values) url.Values {
	c := url.Values{}
	for k, v := range q {
		c[k] = slices.Clone(v)
	}
	return c
}

// searchPeople answers the Patient parameters through the blind indexes.
func (s *Server) searchPeople(ctx context.Context, p haven.Principal, q url.Values) ([]care.Found, error) {
	query := care.Query{Family: q.Get("family"), Given: q.Get("given"), Name: q.Get("name"), BirthDate: q.Get("birthdate"), Phone: q.Get("phone"), Limit: care.MaxSearchResults}
	if id := q.Get("identifier"); id != "" {
		system, value, hasSystem := strings.Cut(id, "|")
		if !hasSystem {
			value, system = id, NHSNumberSystem
		}
		if system != NHSNumberSystem {
			return nil, &ruleError{"not-supported", "Haven searches patients by NHS number only (identifier=" + NHSNumberSystem + "|<number>)"}
		}
		query.NHSNumber = value
	}
	if d := q.Get("birthdate"); d != "" {
		if _, err := haven.ParseDate(strings.TrimPrefix(d, "eq")); err != nil {
			return nil, haven.Invalid("birthdate", "must be a full date (YYYY-MM-DD); Haven matches birth dates exactly")
		}
		query.BirthDate = strings.TrimPrefix(d, "eq")
	}
	return s.care.SearchFound(ctx, p, query)
}

// include adds the Patients the matches reference (_include=X:patient or
// X:subject, or *), once each.
func (s *Server) include(ctx context.Context, p haven.Principal, t *typeInfo, inc []string, b *Bundle) error {
	for _, v := range inc {
		src, param, _ := strings.Cut(v, ":")
		param, _, _ = strings.Cut(param, ":")
		if v != "*" && (src != t.name || (param != "patient" && param != "subject")) {
			return haven.Invalid("_include", "Haven includes the patient of the matches: %s:patient or %s:subject; found %s", t.name, t.name, quoteShort(v))
		}
	}
	if t.subject == "" || t.kind == haven.KindPerson {
		return nil
	}
	seen := map[string]bool{}
	for _, e := range b.Entry {
		if e.Search == nil || e.Search.Mode != "match" {
			continue
		}
		res := e.Resource.(object)
		person, err := personOf(t, res)
		if err != nil || seen[person] {
			continue
		}
		seen[person] = true
		f, err := s.get(ctx, p, types["Patient"], person)
		if err != nil {
			if errors.Is(err, haven.ErrNotFound) {
				continue
			}
			return err
		}
		pr, err := render(f)
		if err != nil {
			return err
		}
		b.Entry = append(b.Entry, BundleEntry{FullURL: s.origin + "/fhir/Patient/" + person, Resource: pr, Search: &BundleSearch{Mode: "include"}})
	}
	return nil
}

// dateFilter parses a FHIR date search value (a prefix eq, gt, ge, lt or
// le, then a date or date-time of any precision) into a test of a
// resource's date. A resource's date is compared by the instant it starts.
func dateFilter(param, cond string) (func(string) bool, error) {
	prefix := "eq"
	if len(cond) > 2 && cond[0] >= 'a' && cond[0] <= 'z' {
		prefix, cond = cond[:2], cond[2:]
	}
	start, end, ok := dateRange(cond)
	if !ok {
		return nil, haven.Invalid(param, "%s is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a date-time)", quoteShort(cond))
	}
	var test func(time.Time) bool
	switch prefix {
	case "eq":
		test = func(t time.Time) bool { return !t.Before(start) && t.Before(end) }
	case "gt":
		test = func(t time.Time) bool { return !t.Before(end) }
	case "ge":
		test = func(t time.Time) bool { return !t.Before(start) }
	case "lt":
		test = func(t time.Time) bool { return t.Before(start) }
	case "le":
		test = func(t time.Time) bool { return t.Before(end) }
	default:
		return nil, haven.Invalid(param, "prefix %s is not supported; use eq, gt, ge, lt or le", quoteShort(prefix))
	}
	return func(v string) bool {
		s, _, ok := dateRange(v)
		return ok && test(s)
	}, nil
}

// dateRange is the span of time a FHIR date or date-time covers.
func dateRange(v string) (time.Time, time.Time, bool) {
	for _, f := range []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
	} {
		if len(v) == len(f.layout) {
			t, err := time.Parse(f.layout, v)
			if err != nil {
				return time.Time{}, time.Time{}, false
			}
			return t, f.next(t), true
		}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	return t, t.Add(time.Nanosecond), true
}
