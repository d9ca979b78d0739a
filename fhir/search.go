package fhir

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
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
	ignored, ok := unsupportedParams(w, r, q, t.name, paramsFor(t))
	if !ok {
		return
	}
	b, err := s.search(r.Context(), p, t, q)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.answerSearch(w, b, t.name, q, ignored)
}

// generalParams are the parameters of every interaction (R4 http.html
// #parameters) Haven serves: acceptable has judged them before a search
// or operation sees the request, so they are never reported as ignored.
var generalParams = []string{"_format"}

// unsupportedParams returns the parameters of q outside supported, sorted,
// and removes them from q, so that what was ignored is reported, never
// silent. Under Prefer: handling=strict it refuses them itself (400,
// naming what what supports) and returns false.
func unsupportedParams(w http.ResponseWriter, r *http.Request, q url.Values, what string, supported []string) ([]string, bool) {
	var ignored []string
	for name := range q {
		if !slices.Contains(supported, name) && !slices.Contains(generalParams, name) {
			ignored = append(ignored, name)
		}
	}
	slices.Sort(ignored)
	if len(ignored) > 0 && strings.Contains(r.Header.Get("Prefer"), "handling=strict") {
		writeOutcome(w, http.StatusBadRequest, "not-supported", "unsupported search parameters: "+strings.Join(ignored, ", ")+"; "+what+" supports: "+strings.Join(supported, ", "))
		return nil, false
	}
	for _, name := range ignored {
		q.Del(name)
	}
	return ignored, true
}

// SearchForm answers POST /fhir/{type}/_search: the search GET would run
// with the form's parameters (and any in the URL). Its self and next links
// are GET links, as a page is fetched.
func (s *Server) SearchForm(w http.ResponseWriter, r *http.Request) {
	if formAsQuery(w, r) {
		s.Search(w, r)
	}
}

// formAsQuery reads a POST _search form into the request's query, so that
// the GET search handler answers it with the same checks as an address: a
// form only, within the body limit, every name and value text. It answers
// the request itself and returns false when the form is refused.
func formAsQuery(w http.ResponseWriter, r *http.Request) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		writeOutcome(w, http.StatusUnsupportedMediaType, "not-supported", "POST _search takes its parameters as a form (application/x-www-form-urlencoded)")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		WriteInvalid(w, "the form could not be read: "+err.Error())
		return false
	}
	for name, values := range r.Form {
		if !haven.StoredText(name) || slices.ContainsFunc(values, func(v string) bool { return !haven.StoredText(v) }) {
			WriteInvalid(w, "a form parameter is not UTF-8 text, or holds a NUL")
			return false
		}
	}
	r.URL.RawQuery = r.Form.Encode()
	return true
}

// answerSearch sends a search's Bundle with its self link and, when
// parameters were ignored, an outcome entry that names them.
func (s *Server) answerSearch(w http.ResponseWriter, b *Bundle, typ string, q url.Values, ignored []string) {
	b.Link = append([]BundleLink{{Relation: "self", URL: withQuery(s.origin+"/fhir/"+typ, q)}}, b.Link...)
	if len(ignored) > 0 {
		b.Entry = append(b.Entry, BundleEntry{Search: &BundleSearch{Mode: "outcome"}, Resource: OperationOutcome{ResourceType: "OperationOutcome",
			Issue: []Issue{{Severity: "warning", Code: "not-supported", Diagnostics: "ignored unsupported search parameters: " + strings.Join(ignored, ", ")}}}})
	}
	writeResource(w, http.StatusOK, b)
}

// search runs a search whose parameters are all supported. Every parameter
// given narrows the result (they combine with AND): one of them chooses
// where the candidates are read from, and all of them are then tested on
// each candidate, so no parameter is ever set aside because another came
// first.
func (s *Server) search(ctx context.Context, p haven.Principal, t *typeInfo, q url.Values) (*Bundle, error) {
	if err := checkSearchValues(t, q); err != nil {
		return nil, err
	}
	count := defaultCount
	if n := q.Get("_count"); n != "" {
		c, err := strconv.Atoi(n)
		if err != nil || c < 1 {
			return nil, haven.Invalid("_count", "must be a whole number of at least 1")
		}
		count = min(c, maxCount)
	}
	after := q.Get("_cursor")
	keep, err := searchFilter(t, q)
	if err != nil {
		return nil, err
	}
	src, err := s.searchSource(ctx, p, t, q)
	if err != nil {
		return nil, err
	}
	page, next, err := readPage(src, keep, after, count)
	if err != nil {
		return nil, err
	}
	b := &Bundle{ResourceType: "Bundle", Type: "searchset"}
	if after == "" && next == "" {
		// The first page holds every match: its size is the true total.
		// Any other page cannot count the matches without reading them all.
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
	if next != "" {
		nq := cloneValues(q)
		nq.Set("_cursor", next)
		b.Link = append(b.Link, BundleLink{Relation: "next", URL: s.origin + "/fhir/" + t.name + "?" + nq.Encode()})
	}
	if inc := q["_include"]; len(inc) > 0 {
		if err := s.include(ctx, p, t, inc, b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// maxAlternatives bounds the values one comma-separated (OR) parameter
// names: each is a read of its own.
const maxAlternatives = 20

// checkSearchValues refuses values Haven cannot honour rather than answer
// something other than what was asked: an empty value, a parameter that
// takes one value given twice, and a comma-separated list (OR) where Haven
// does not support one.
func checkSearchValues(t *typeInfo, q url.Values) error {
	for name, values := range q {
		for _, v := range values {
			if v == "" {
				return haven.Invalid(name, "is empty: give a value, or leave the parameter out")
			}
		}
		once := name == "_count" || name == "_cursor" || t.kind == haven.KindPerson && slices.Contains(patientParams, name)
		if once && len(values) > 1 {
			return haven.Invalid(name, "may be given once")
		}
		switch name {
		case "_id", "patient", "subject":
			for _, v := range values {
				if n := len(strings.Split(v, ",")); n > maxAlternatives {
					return haven.Invalid(name, "names %d values; Haven searches for at most %d at once", n, maxAlternatives)
				}
			}
		case "_count", "_cursor", "_include", "date", "_lastUpdated":
		default:
			for _, v := range values {
				if strings.Contains(v, ",") {
					return haven.Invalid(name, "Haven does not search for several values of %s at once (a comma means OR); search once for each", name)
				}
			}
		}
	}
	return nil
}

// alternatives splits the values of a parameter into its comma-separated
// (OR) lists, one list for each time the parameter is given (AND).
func alternatives(values []string) [][]string {
	out := make([][]string, len(values))
	for i, v := range values {
		out[i] = strings.Split(v, ",")
	}
	return out
}

// patientsOf reads the patient or subject parameters: each value's
// patients, as ids.
func patientsOf(q url.Values) ([][]string, error) {
	var out [][]string
	for _, name := range []string{"patient", "subject"} {
		for _, list := range alternatives(q[name]) {
			ids := make([]string, len(list))
			for i, ref := range list {
				id := strings.TrimPrefix(ref, "Patient/")
				if id == "" || strings.Contains(id, "/") {
					return nil, haven.Invalid(name, "must be a Patient id or Patient/<id>, or several separated by commas")
				}
				ids[i] = id
			}
			out = append(out, ids)
		}
	}
	return out, nil
}

// checkIdentifier refuses an identifier a blind index cannot look up: the
// index holds system|value, exactly.
func checkIdentifier(v string) error {
	system, value, ok := strings.Cut(v, "|")
	if !ok || system == "" || value == "" {
		return haven.Invalid("identifier", "Haven finds records by the exact system and value of an identifier (identifier=<system>|<value>); found %s", quoteShort(v))
	}
	return nil
}

// searchFilter is the test every candidate must pass: each parameter given,
// each time it is given.
func searchFilter(t *typeInfo, q url.Values) (func(care.Found) (bool, error), error) {
	var tests []func(care.Found, object) bool
	for _, ids := range alternatives(q["_id"]) {
		tests = append(tests, func(f care.Found, _ object) bool { return slices.Contains(ids, f.Record.RecordID()) })
	}
	if t.subject != "" {
		people, err := patientsOf(q)
		if err != nil {
			return nil, err
		}
		for _, ids := range people {
			tests = append(tests, func(_ care.Found, res object) bool {
				person, err := personOf(t, res)
				return err == nil && slices.Contains(ids, person)
			})
		}
	}
	if t.kind != haven.KindPerson {
		for _, id := range q["identifier"] {
			if err := checkIdentifier(id); err != nil {
				return nil, err
			}
			tests = append(tests, func(_ care.Found, res object) bool { return slices.Contains(identifiers(res), id) })
		}
	}
	for _, cond := range q["_lastUpdated"] {
		match, err := dateFilter("_lastUpdated", cond)
		if err != nil {
			return nil, err
		}
		tests = append(tests, func(f care.Found, _ object) bool {
			from, to, ok := dateRange(f.Meta.Updated)
			return ok && match(from, to)
		})
	}
	for _, cond := range q["date"] {
		match, err := dateFilter("date", cond)
		if err != nil {
			return nil, err
		}
		tests = append(tests, func(_ care.Found, res object) bool {
			from, to, ok := dateSpan(t, res)
			return ok && match(from, to)
		})
	}
	keep := func(f care.Found) (bool, error) {
		if len(tests) == 0 {
			return true, nil
		}
		res, err := render(f)
		if err != nil {
			return false, err
		}
		for _, test := range tests {
			if !test(f, res) {
				return false, nil
			}
		}
		return true, nil
	}
	return keep, nil
}

// source reads the candidates of a search in id order.
type candidateSource struct {
	// read returns up to n of the candidates whose id sorts after after,
	// and the id the next read starts after, or "" when none is left.
	read func(after string, n int) ([]care.Found, string, error)
	// reads bounds the reads one page makes, and size the page.
	reads, size int
}

// maxReads bounds the reads of the store one page makes while filters turn
// candidates away: a page that would need more ends early, with a next
// link that carries on from the last candidate read. As no read asks for
// more than the page's _count, a page reads at most maxReads times _count
// records, which bounds what a search that matches little lists and audits.
const maxReads = 10

// fullPages is a source that pages by the page size the client asked for.
func fullPages(read func(after string, n int) ([]care.Found, string, error)) candidateSource {
	return candidateSource{read: read, reads: maxReads, size: maxCount}
}

// searchSource chooses where a search reads its candidates: the most
// precise of the parameters given. The others are tested on what it reads.
func (s *Server) searchSource(ctx context.Context, p haven.Principal, t *typeInfo, q url.Values) (candidateSource, error) {
	switch {
	case t.kind == haven.KindPerson && anyOf(q, patientParams...):
		return s.peopleSource(ctx, p, q)
	case len(q["_id"]) > 0:
		var found []care.Found
		for _, id := range alternatives(q["_id"])[0] {
			f, err := s.get(ctx, p, t, id)
			if errors.Is(err, haven.ErrNotFound) {
				continue
			} else if err != nil {
				return candidateSource{}, err
			}
			found = append(found, f)
		}
		return fullPages(sliceRead(found)), nil
	case t.subject != "" && anyOf(q, "patient", "subject"):
		people, err := patientsOf(q)
		if err != nil {
			return candidateSource{}, err
		}
		var found []care.Found
		for _, person := range people[0] {
			more, err := s.care.Compartment(ctx, p, person, append([]haven.Kind{t.kind}, t.alsoKinds...)...)
			if errors.Is(err, haven.ErrNotFound) {
				continue
			} else if err != nil {
				return candidateSource{}, err
			}
			found = append(found, more...)
		}
		return fullPages(sliceRead(found)), nil
	case q.Get("identifier") != "":
		ident := q.Get("identifier")
		if err := checkIdentifier(ident); err != nil {
			return candidateSource{}, err
		}
		return fullPages(func(after string, n int) ([]care.Found, string, error) {
			found, more, err := s.care.FindByIdentifier(ctx, p, t.kind, ident, after, n)
			return found, lastIf(found, more), err
		}), nil
	}
	return fullPages(s.listRead(ctx, p, t)), nil
}

// lastIf is the id the next read starts after: the last found, when more
// may follow.
func lastIf(found []care.Found, more bool) string {
	if !more || len(found) == 0 {
		return ""
	}
	return found[len(found)-1].Record.RecordID()
}

// sliceRead serves candidates already read.
func sliceRead(found []care.Found) func(after string, n int) ([]care.Found, string, error) {
	sort.Slice(found, func(i, j int) bool { return found[i].Record.RecordID() < found[j].Record.RecordID() })
	found = slices.CompactFunc(found, func(a, b care.Found) bool { return a.Record.RecordID() == b.Record.RecordID() })
	return func(after string, n int) ([]care.Found, string, error) {
		i := sort.Search(len(found), func(i int) bool { return found[i].Record.RecordID() > after })
		j := min(i+n, len(found))
		return found[i:j], lastIf(found[i:j], j < len(found)), nil
	}
}

// listRead lists the records of t's kinds the principal may see. Where a
// type is kept as several kinds, a read is complete only up to the
// smallest id where one of its kinds stopped; what lies beyond is read
// again next time.
func (s *Server) listRead(ctx context.Context, p haven.Principal, t *typeInfo) func(after string, n int) ([]care.Found, string, error) {
	return func(after string, n int) ([]care.Found, string, error) {
		var found []care.Found
		upTo := "" // "" while every kind is exhausted
		for _, k := range append([]haven.Kind{t.kind}, t.alsoKinds...) {
			more, last, err := s.care.ListPage(ctx, p, k, after, n)
			if err != nil {
				return nil, "", err
			}
			found = append(found, more...)
			if last != "" && (upTo == "" || last < upTo) {
				upTo = last
			}
		}
		sort.Slice(found, func(i, j int) bool { return found[i].Record.RecordID() < found[j].Record.RecordID() })
		if upTo != "" {
			i := sort.Search(len(found), func(i int) bool { return found[i].Record.RecordID() > upTo })
			found = found[:i]
		}
		return found, upTo, nil
	}
}

// readPage reads candidates after the cursor until count pass keep or none
// is left, and returns them with the cursor of the next page ("" when
// nothing can follow). Each read asks only for what the page still lacks:
// every record read is listed, audited and counted by the guard whether or
// not a filter keeps it, so a page reads at most src.reads times its count,
// however few of them match. A page that stops at that bound carries on,
// in its next link, from the last record read.
func readPage(src candidateSource, keep func(care.Found) (bool, error), after string, count int) ([]care.Found, string, error) {
	var page []care.Found
	cursor := after
	count = min(count, src.size)
	for range src.reads {
		found, last, err := src.read(cursor, count-len(page))
		if err != nil {
			return nil, "", err
		}
		for i, f := range found {
			ok, err := keep(f)
			if err != nil {
				return nil, "", err
			}
			if !ok {
				continue
			}
			page = append(page, f)
			if len(page) == count {
				if i == len(found)-1 && last == "" {
					return page, "", nil
				}
				return page, f.Record.RecordID(), nil
			}
		}
		if last == "" {
			return page, "", nil
		}
		cursor = last
	}
	return page, cursor, nil
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

// peopleSource answers the Patient parameters through the blind indexes,
// a page at a time.
func (s *Server) peopleSource(ctx context.Context, p haven.Principal, q url.Values) (candidateSource, error) {
	query := care.Query{Family: q.Get("family"), Given: q.Get("given"), Name: q.Get("name"), Phone: q.Get("phone")}
	if id := q.Get("identifier"); id != "" {
		system, value, hasSystem := strings.Cut(id, "|")
		if !hasSystem {
			value, system = id, NHSNumberSystem
		}
		if system != NHSNumberSystem {
			return candidateSource{}, &ruleError{"not-supported", "Haven searches patients by NHS number only (identifier=" + NHSNumberSystem + "|<number>)"}
		}
		if value == "" {
			return candidateSource{}, haven.Invalid("identifier", "needs the NHS number: identifier=%s|<number>", NHSNumberSystem)
		}
		query.NHSNumber = value
	}
	if d := q.Get("birthdate"); d != "" {
		if _, err := haven.ParseDate(strings.TrimPrefix(d, "eq")); err != nil {
			return candidateSource{}, haven.Invalid("birthdate", "must be a full date (YYYY-MM-DD); Haven matches birth dates exactly")
		}
		query.BirthDate = strings.TrimPrefix(d, "eq")
	}
	// Each read is a search the guard counts, wide searches included, so
	// a page is one read.
	return candidateSource{reads: 1, size: care.MaxSearchResults, read: func(after string, n int) ([]care.Found, string, error) {
		query.After, query.Limit = after, n
		found, more, err := s.care.SearchFound(ctx, p, query)
		return found, lastIf(found, more), err
	}}, nil
}

// include adds the Patients the matches reference (_include=X:patient or
// X:subject, or *), once each. An included Patient is a search result, not
// an opened record: the patients are read as a list of people shows them,
// so a canary appears as in any list, and patients the client may not list
// are left out, with an outcome entry that says so.
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
	var people []string
	for _, e := range b.Entry {
		if e.Search == nil || e.Search.Mode != "match" {
			continue
		}
		if person, err := personOf(t, e.Resource.(object)); err == nil && !slices.Contains(people, person) {
			people = append(people, person)
		}
	}
	if len(people) == 0 {
		return nil
	}
	found, err := s.care.ListPeople(ctx, p, people)
	if err != nil {
		return err
	}
	for _, f := range found {
		pr, err := render(f)
		if err != nil {
			return err
		}
		b.Entry = append(b.Entry, BundleEntry{FullURL: s.origin + "/fhir/Patient/" + f.Record.RecordID(), Resource: pr, Search: &BundleSearch{Mode: "include"}})
	}
	if left := len(people) - len(found); left > 0 {
		b.Entry = append(b.Entry, BundleEntry{Search: &BundleSearch{Mode: "outcome"}, Resource: OperationOutcome{ResourceType: "OperationOutcome",
			Issue: []Issue{{Severity: "warning", Code: "suppressed", Diagnostics: fmt.Sprintf("%d of the %d patients the matches reference are not included: an included Patient is a search result, which needs access to search Patient", left, len(people))}}}})
	}
	return nil
}

// dateFilter parses a FHIR date search value (a prefix, then a date or
// date-time of any precision) into a test of a resource's date, by the R4
// rules (http://hl7.org/fhir/R4/search.html#prefix): the value and the
// resource's date are both ranges, each as wide as its precision (a date is
// its whole day, 10:00 its whole minute), and a Period runs from its start
// to its end. ap is not supported: how near is near is for the client to
// say, with ge and le.
func dateFilter(param, cond string) (func(from, to time.Time) bool, error) {
	prefix := "eq"
	if len(cond) > 2 && cond[0] >= 'a' && cond[0] <= 'z' {
		prefix, cond = cond[:2], cond[2:]
	}
	start, end, ok := dateRange(cond)
	if !ok {
		return nil, haven.Invalid(param, "%s is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD, or a date-time to the minute, second or fraction of one, with or without a time zone)", quoteShort(cond))
	}
	within := func(from, to time.Time) bool { return !from.Before(start) && !to.After(end) }
	switch prefix {
	case "eq":
		return within, nil
	case "ne":
		return func(from, to time.Time) bool { return !within(from, to) }, nil
	case "gt":
		return func(_, to time.Time) bool { return to.After(end) }, nil
	case "lt":
		return func(from, _ time.Time) bool { return from.Before(start) }, nil
	case "ge":
		return func(from, to time.Time) bool { return to.After(end) || within(from, to) }, nil
	case "le":
		return func(from, to time.Time) bool { return from.Before(start) || within(from, to) }, nil
	case "sa":
		return func(from, _ time.Time) bool { return !from.Before(end) }, nil
	case "eb":
		return func(_, to time.Time) bool { return !to.After(start) }, nil
	}
	return nil, haven.Invalid(param, "prefix %s is not supported; use eq, ne, gt, ge, lt, le, sa or eb", quoteShort(prefix))
}

// dateTimeValue is a FHIR date or date-time: a year, a month or a day, or a
// time to the minute, the second or a fraction of one, with an optional
// time zone.
var dateTimeValue = regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$`)

// dateRange is the span of time [start, end) a FHIR date or date-time
// covers at its precision. A time without a time zone is read as UTC. A
// "+" of a time zone that arrives as a space (an unescaped query string)
// is read as the "+" it was.
func dateRange(v string) (time.Time, time.Time, bool) {
	v = strings.Replace(v, " ", "+", 1)
	m := dateTimeValue.FindStringSubmatch(v)
	if m == nil {
		return time.Time{}, time.Time{}, false
	}
	var layout string
	var width func(time.Time) time.Time
	switch {
	case m[1] == "":
		layout, width = "2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }
	case m[2] == "":
		layout, width = "2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	case m[3] == "":
		layout, width = "2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	case m[4] == "":
		layout, width = "2006-01-02T15:04Z07:00", func(t time.Time) time.Time { return t.Add(time.Minute) }
	default:
		// Go reads the fraction after the seconds without a layout for it.
		layout = "2006-01-02T15:04:05Z07:00"
		step := time.Second
		for range len(m[6]) {
			step /= 10
		}
		width = func(t time.Time) time.Time { return t.Add(step) }
	}
	if m[3] != "" && m[7] == "" {
		v += "Z"
	}
	t, err := time.Parse(layout, v)
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	return t, width(t), true
}

// forever stands for the end of a Period that has not ended.
var forever = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// dateSpan is the span of the resource's date: the first of t's date
// elements it has, and for a Period's start, to the Period's end.
func dateSpan(t *typeInfo, res object) (time.Time, time.Time, bool) {
	for _, d := range t.dates {
		v := str(res, d)
		if v == "" {
			continue
		}
		from, to, ok := dateRange(v)
		if period, isStart := strings.CutSuffix(d, ".start"); ok && isStart {
			to = forever
			if e := str(res, period+".end"); e != "" {
				if _, end, ok := dateRange(e); ok && end.After(from) {
					to = end
				}
			}
		}
		return from, to, ok
	}
	return time.Time{}, time.Time{}, false
}
