package fhir

import (
	"context"
	"net/http"
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

// deletion returns the version at which a resource that is not found was
// deleted, if it was. It reads the newest version as history does, so
// only within the caller's organisation (the store answers for no other)
// and only when the caller may read the record: whoever may not learns
// nothing more than "not found". ok is false for any failure, and the
// caller keeps its own not-found answer.
func (s *Server) deletion(ctx context.Context, p haven.Principal, t *typeInfo, id string) (v care.Version, ok bool) {
	vs, err := inKinds(t, func(k haven.Kind) ([]care.Version, error) {
		return s.care.History(ctx, p, k, id, 1)
	})
	if err != nil || len(vs) == 0 || !vs[0].Deleted {
		return care.Version{}, false
	}
	return vs[0], true
}

// History answers GET /fhir/{type}/{id}/_history: the versions Haven kept,
// newest first.
func (s *Server) History(w http.ResponseWriter, r *http.Request) {
	t, p, _, ok := s.typed(w, r, false)
	if !ok {
		return
	}
	count := care.MaxListResults
	if c := r.URL.Query().Get("_count"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 {
			writeOutcome(w, http.StatusBadRequest, "invalid", "_count must be a whole number of at least 1")
			return
		}
		count = min(n, care.MaxListResults)
	}
	id := r.PathValue("id")
	vs, err := inKinds(t, func(k haven.Kind) ([]care.Version, error) {
		return s.care.History(r.Context(), p, k, id, count)
	})
	if err != nil {
		s.fail(w, err)
		return
	}
	n := len(vs)
	b := Bundle{ResourceType: "Bundle", Type: "history", Total: &n,
		Link: []BundleLink{{Relation: "self", URL: s.origin + "/fhir/" + t.name + "/" + id + "/_history"}}}
	for i, v := range vs {
		e := BundleEntry{FullURL: s.origin + "/fhir/" + t.name + "/" + id,
			Response: &BundleResponse{Status: "200 OK", Etag: `W/"` + strconv.FormatInt(v.Meta.Version, 10) + `"`, LastModified: v.Meta.Updated}}
		method := "PUT"
		switch {
		case v.Deleted:
			method, e.Response.Status = "DELETE", "204 No Content"
		case i == len(vs)-1 && v.Meta.Version == 1:
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
