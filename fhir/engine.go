package fhir

// The RESTful interactions on every type Haven serves: read, vread,
// create (and conditional create), update with If-Match, delete, history
// and search. Each goes through the record service, so policy, the guard
// and the audit log see every one exactly as they see the web pages.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
)

// typeFrom resolves the {type} of a request path, answering 404 itself for
// types Haven does not serve.
func (s *Server) typeFrom(w http.ResponseWriter, r *http.Request) (*typeInfo, bool) {
	name := r.PathValue("type")
	t, ok := types[name]
	if !ok {
		s.fail(w, unknownType(name))
		return nil, false
	}
	return t, true
}

// fail answers with the OperationOutcome for err.
func (s *Server) fail(w http.ResponseWriter, err error) { outcome(w, s.log, err) }

// begin is the common start of a request: FHIR JSON accepted, a valid
// token, and (for writes) a FHIR JSON body.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, withBody bool) (haven.Principal, []byte, bool) {
	if !acceptable(w, r) {
		return haven.Principal{}, nil, false
	}
	var b []byte
	if withBody {
		var ok bool
		if b, ok = body(w, r); !ok {
			return haven.Principal{}, nil, false
		}
	}
	p, ok := s.principal(w, r)
	return p, b, ok
}

// typed is begin for the interactions on a type: the type must be one
// Haven serves.
func (s *Server) typed(w http.ResponseWriter, r *http.Request, withBody bool) (*typeInfo, haven.Principal, []byte, bool) {
	t, ok := s.typeFrom(w, r)
	if !ok {
		return nil, haven.Principal{}, nil, false
	}
	p, b, ok := s.begin(w, r, withBody)
	return t, p, b, ok
}

// inKinds answers from whichever of t's kinds holds the resource: it
// calls read with each in turn until one answers other than not found.
// Read, vread and history all go through it, so that a resource one of
// them serves (a member of staff as a Practitioner) the others serve too.
func inKinds[T any](t *typeInfo, read func(haven.Kind) (T, error)) (T, error) {
	v, err := read(t.kind)
	for _, k := range t.alsoKinds {
		if !errors.Is(err, haven.ErrNotFound) {
			break
		}
		v, err = read(k)
	}
	return v, err
}

// get reads a resource of type t by id, from whichever of t's kinds holds
// it.
func (s *Server) get(ctx context.Context, p haven.Principal, t *typeInfo, id string) (care.Found, error) {
	return inKinds(t, func(k haven.Kind) (care.Found, error) {
		rec, m, err := s.care.Get(ctx, p, k, id)
		return care.Found{Record: rec, Meta: m}, err
	})
}

// answer writes one resource with its ETag, Last-Modified and, for writes,
// Location.
func (s *Server) answer(w http.ResponseWriter, f care.Found, status int) {
	body, typ, err := renderJSON(f)
	if err != nil {
		s.fail(w, err)
		return
	}
	setMeta(w, f.Meta)
	if status == http.StatusCreated || status == http.StatusOK && w.Header().Get("Location") == "" && f.Meta.Version > 0 {
		w.Header().Set("Content-Location", s.origin+"/fhir/"+typ+"/"+f.Record.RecordID()+"/_history/"+strconv.FormatInt(f.Meta.Version, 10))
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", w.Header().Get("Content-Location"))
	}
	writeEncoded(w, status, body)
}

// Read answers GET /fhir/{type}/{id}.
func (s *Server) Read(w http.ResponseWriter, r *http.Request) {
	t, p, _, ok := s.typed(w, r, false)
	if !ok {
		return
	}
	if r.PathValue("id") == "_history" {
		// GET /fhir/T/_history would otherwise be a read of the id
		// "_history", and "no such resource" would hide that the
		// interaction itself is not served.
		writeOutcome(w, http.StatusNotFound, "not-supported", "Haven does not serve type-level history ("+t.name+"/_history); history is per resource: GET /fhir/"+t.name+"/<id>/_history")
		return
	}
	f, err := s.get(r.Context(), p, t, r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	s.answer(w, f, http.StatusOK)
}

// resourceFromBody decodes a write's body as a resource of type t.
func resourceFromBody(t *typeInfo, b []byte) (object, error) {
	res, err := decodeObject(b, t.name)
	if err != nil {
		return nil, err
	}
	rt, _ := res["resourceType"].(string)
	switch {
	case rt == "":
		return nil, haven.Invalid(t.name+".resourceType", "is required (%q)", t.name)
	case rt != t.name:
		return nil, haven.Invalid(t.name+".resourceType", "is %s but the request is for %s", quoteShort(rt), t.name)
	}
	return res, nil
}

// Create answers POST /fhir/{type}. The id is Haven's. With If-None-Exist
// (an identifier search: for Patient, the NHS number), an existing match
// is returned instead of creating a second record.
func (s *Server) Create(w http.ResponseWriter, r *http.Request) {
	t, p, b, ok := s.typed(w, r, true)
	if !ok {
		return
	}
	res, err := resourceFromBody(t, b)
	if err != nil {
		s.fail(w, err)
		return
	}
	var key string
	if cond := r.Header.Get("If-None-Exist"); cond != "" {
		if key, err = condition(t, cond); err != nil {
			s.fail(w, err)
			return
		}
		found, err := s.conditional(r.Context(), p, t, key)
		if err != nil {
			s.fail(w, err)
			return
		}
		if len(found) == 1 {
			s.answer(w, found[0], http.StatusOK)
			return
		}
	}
	rec, err := toRecord(t, res, care.NewID())
	if err != nil {
		s.fail(w, err)
		return
	}
	applied, err := s.care.Apply(r.Context(), p, []care.Op{{Method: care.OpCreate, Record: rec, IfNoneExist: key}})
	if errors.Is(err, care.ErrExists) {
		f, err := s.createdMeanwhile(r.Context(), p, t, key)
		if err != nil {
			s.fail(w, err)
			return
		}
		s.answer(w, f, http.StatusOK)
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	s.answer(w, care.Found{Record: rec, Meta: applied[0].Meta}, http.StatusCreated)
}

// condition reads an If-None-Exist (or a Bundle entry's ifNoneExist): one
// identifier, system and value both given, as a search needs them
// (checkIdentifier: the blind index holds them exactly); a patient's must
// be their NHS number. It returns the identifier as the record service
// matches it (conditional, care.Op.IfNoneExist): for a patient, the
// number alone.
func condition(t *typeInfo, cond string) (string, error) {
	q, err := url.ParseQuery(strings.TrimPrefix(cond, "?"))
	ident := q.Get("identifier")
	if err != nil || len(q) != 1 || len(q["identifier"]) != 1 {
		return "", haven.Invalid("If-None-Exist", "Haven supports conditional create on one identifier (identifier=system|value); found %s", quoteShort(cond))
	}
	if err := checkIdentifier(ident); err != nil {
		var inv *haven.InvalidError
		errors.As(err, &inv)
		return "", &haven.InvalidError{Field: "If-None-Exist", Reason: inv.Reason}
	}
	if t.kind != haven.KindPerson {
		return ident, nil
	}
	sys, val, _ := strings.Cut(ident, "|")
	if sys != NHSNumberSystem {
		return "", haven.Invalid("If-None-Exist", "patients are matched on their NHS number: identifier=%s|<number>", NHSNumberSystem)
	}
	return val, nil
}

// conditional finds the resources of type t a conditional create matches:
// key is as condition returns it. More than one is 412.
func (s *Server) conditional(ctx context.Context, p haven.Principal, t *typeInfo, key string) ([]care.Found, error) {
	var found []care.Found
	if t.kind == haven.KindPerson {
		people, err := s.care.Search(ctx, p, care.Query{NHSNumber: key, Limit: 2})
		if err != nil {
			return nil, err
		}
		for _, person := range people {
			f, err := s.get(ctx, p, t, person.ID)
			if err != nil {
				return nil, err
			}
			found = append(found, f)
		}
	} else {
		var err error
		if found, _, err = s.care.FindByIdentifier(ctx, p, t.kind, key, "", 2); err != nil {
			return nil, err
		}
	}
	if len(found) > 1 {
		return nil, &preconditionError{"more than one " + t.name + " matches " + key}
	}
	return found, nil
}

// createdMeanwhile answers a conditional create the record service refused
// (care.ErrExists) because another request created a match after this one
// looked: as if the match had been there to find, which it now is (one
// match is returned; more than one is 412).
func (s *Server) createdMeanwhile(ctx context.Context, p haven.Principal, t *typeInfo, key string) (care.Found, error) {
	found, err := s.conditional(ctx, p, t, key)
	if err == nil && len(found) != 1 {
		err = &preconditionError{"a " + t.name + " matching the condition was created by another request while this one was applied, and is no longer the one match"}
	}
	if err != nil {
		return care.Found{}, err
	}
	return found[0], nil
}

// preconditionError is a conditional interaction that matched more than
// one resource (412).
type preconditionError struct{ reason string }

func (e *preconditionError) Error() string { return e.reason }

// Update answers PUT /fhir/{type}/{id}, which must carry If-Match with the
// version it replaces: a lost update in a care record can hide a change
// someone else made for a reason. Creating through PUT is not supported:
// Haven chooses ids.
func (s *Server) Update(w http.ResponseWriter, r *http.Request) {
	t, p, b, ok := s.typed(w, r, true)
	if !ok {
		return
	}
	version, ok := ifMatch(r)
	if !ok {
		writeOutcome(w, http.StatusPreconditionRequired, "required", `send If-Match with the version you read (ETag W/"N")`)
		return
	}
	id := r.PathValue("id")
	res, err := resourceFromBody(t, b)
	if err != nil {
		s.fail(w, err)
		return
	}
	if bid, _ := res["id"].(string); bid != id {
		s.fail(w, haven.Invalid(t.name+".id", "is %s but the request is for %s; a resource's id cannot change", quoteShort(bid), quoteShort(id)))
		return
	}
	rec, err := toRecord(t, res, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	applied, err := s.care.Apply(r.Context(), p, []care.Op{{Method: care.OpUpdate, Record: rec, Expect: version}})
	if errors.Is(err, haven.ErrConflict) {
		writeOutcome(w, http.StatusPreconditionFailed, "conflict", "the "+t.name+" has changed since version "+strconv.FormatInt(version, 10)+"; read it again")
		return
	} else if err != nil {
		s.fail(w, err)
		return
	}
	s.answer(w, care.Found{Record: rec, Meta: applied[0].Meta}, http.StatusOK)
}

// errPatientDelete refuses a Patient's delete, alone or in a Bundle.
var errPatientDelete = &ruleError{"business-rule", "a Patient cannot be deleted through the API: erasing a person's record is done by the organisation in Haven's console (haven admin erase)"}

// Delete answers DELETE /fhir/{type}/{id}. People are not deleted: erasing
// a person is a decision for the organisation, made in the console.
func (s *Server) Delete(w http.ResponseWriter, r *http.Request) {
	t, p, _, ok := s.typed(w, r, false)
	if !ok {
		return
	}
	if t.kind == haven.KindPerson {
		s.fail(w, errPatientDelete)
		return
	}
	if _, err := s.care.Apply(r.Context(), p, []care.Op{{Method: care.OpDelete, Kind: t.kind, ID: r.PathValue("id")}}); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
