package fhir

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
)

// VRead answers GET /fhir/{type}/{id}/_history/{version}.
func (s *Server) VRead(w http.ResponseWriter, r *http.Request) {
	t, p, _, ok := s.typed(w, r, false)
	if !ok {
		return
	}
	n, err := strconv.ParseInt(r.PathValue("version"), 10, 64)
	if err != nil || n < 1 {
		writeOutcome(w, http.StatusBadRequest, "invalid", "a version is a whole number from 1")
		return
	}
	v, err := inKinds(t, func(k haven.Kind) (care.Version, error) {
		return s.care.VersionOf(r.Context(), p, k, r.PathValue("id"), n)
	})
	if err != nil {
		s.fail(w, err)
		return
	}
	if v.Deleted {
		gone(w, t, r.PathValue("id"), v)
		return
	}
	s.answer(w, v.Found, http.StatusOK)
}

// gone answers 410 for a resource's deletion version, with its ETag.
func gone(w http.ResponseWriter, t *typeInfo, id string, v care.Version) {
	setMeta(w, v.Meta)
	writeOutcome(w, http.StatusGone, "deleted", t.name+" "+id+" was deleted at version "+strconv.FormatInt(v.Meta.Version, 10))
}

// historyParams are the parameters of instance history Haven supports.
// R4 defines _at and _list too; they are reported as any unsupported
// search parameter is.
var historyParams = []string{"_count", "_since", "_cursor"}

// History answers GET /fhir/{type}/{id}/_history: the versions Haven kept,
// newest first, _count at a time with next links, from _since on. Versions
// are numbered from 1 with none missing (the store keeps every one, and
// the deletion as the last), so the newest one's number is how many there
// are, and a version number is the paging cursor. Only the newest
// care.MaxListResults are listed, as the record service reads no more in
// one go; vread reaches every version by its number.
func (s *Server) History(w http.ResponseWriter, r *http.Request) {
	t, p, _, ok := s.typed(w, r, false)
	if !ok {
		return
	}
	q := r.URL.Query()
	id := r.PathValue("id")
	// A history Bundle has no entry for an outcome to go in: what was
	// ignored is reported by its absence from the self link, which names
	// the parameters applied (R4 search.html#errors).
	if _, ok := unsupportedParams(w, r, q, t.name+"/_history", historyParams); !ok {
		return
	}
	count, err := historyCount(q)
	if err != nil {
		s.fail(w, err)
		return
	}
	before, err := historyCursor(q)
	if err != nil {
		s.fail(w, err)
		return
	}
	since, err := sinceParam(q)
	if err != nil {
		s.fail(w, err)
		return
	}
	vs, err := inKinds(t, func(k haven.Kind) ([]care.Version, error) {
		return s.care.History(r.Context(), p, k, id, care.MaxListResults)
	})
	if err != nil {
		s.fail(w, err)
		return
	}
	var total *int
	if since.IsZero() {
		n := int(vs[0].Meta.Version)
		total = &n
	}
	whole := vs[len(vs)-1].Meta.Version == 1
	vs = slices.DeleteFunc(vs, func(v care.Version) bool { return !changedSince(v.Found, since) })
	if !since.IsZero() && (whole || len(vs) < care.MaxListResults) {
		// Versions are newest first: once one older than _since was
		// read, every matching one was.
		n := len(vs)
		total = &n
	}
	self := s.origin + "/fhir/" + t.name + "/" + id + "/_history"
	b := Bundle{ResourceType: "Bundle", Type: "history", Total: total,
		Link: []BundleLink{{Relation: "self", URL: withQuery(self, q)}}}
	if before > 0 {
		vs = slices.DeleteFunc(vs, func(v care.Version) bool { return v.Meta.Version >= before })
	}
	if len(vs) > count {
		vs = vs[:count]
		next := cloneValues(q)
		next.Set("_cursor", strconv.FormatInt(vs[len(vs)-1].Meta.Version, 10))
		b.Link = append(b.Link, BundleLink{Relation: "next", URL: withQuery(self, next)})
	}
	for _, v := range vs {
		e := BundleEntry{FullURL: s.origin + "/fhir/" + t.name + "/" + id,
			Response: &BundleResponse{Status: "200 OK", Etag: `W/"` + strconv.FormatInt(v.Meta.Version, 10) + `"`, LastModified: v.Meta.Updated}}
		method := "PUT"
		switch {
		case v.Deleted:
			method, e.Response.Status = "DELETE", "204 No Content"
		case v.Meta.Version == 1:
			method, e.Response.Status = "POST", "201 Created"
		}
		e.Request = &BundleRequest{Method: method, URL: t.name + "/" + id}
		if v.Record != nil {
			res, err := render(v.Found)
			if err != nil {
				s.fail(w, err)
				return
			}
			e.Resource = res
		}
		b.Entry = append(b.Entry, e)
	}
	writeResource(w, http.StatusOK, b)
}

// historyCount reads _count of history: at most care.MaxListResults, which
// is also what no _count means.
func historyCount(q url.Values) (int, error) {
	c := q.Get("_count")
	if c == "" {
		return care.MaxListResults, nil
	}
	n, err := strconv.Atoi(c)
	if err != nil || n < 1 {
		return 0, haven.Invalid("_count", "must be a whole number of at least 1")
	}
	return min(n, care.MaxListResults), nil
}

// historyCursor reads _cursor of history, as its next link gives it: the
// version the previous page ended at, so the page holds older ones. Zero
// when absent.
func historyCursor(q url.Values) (int64, error) {
	c := q.Get("_cursor")
	if c == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(c, 10, 64)
	if err != nil || n < 1 {
		return 0, haven.Invalid("_cursor", "is not a paging position this server gave; follow the next link")
	}
	return n, nil
}

// withQuery is u with q as its query, if q has any.
func withQuery(u string, q url.Values) string {
	if enc := q.Encode(); enc != "" {
		return u + "?" + enc
	}
	return u
}
