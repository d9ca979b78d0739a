package fhir

// Batch and transaction Bundles, and the plan of writes that both, and
// imports, are turned into: ids assigned, urn:uuid references resolved,
// conditional creates matched, every resource turned into the record
// Haven keeps before anything is written.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
)

// entry is one write of a Bundle, as planned.
type entry struct {
	index   int
	method  string // POST, PUT, DELETE
	t       *typeInfo
	id      string
	fullURL string
	res     object
	cond    string // If-None-Exist
	key     string // what cond matches on (condition)
	expect  int64  // PUT: If-Match version
	match   *care.Found
	rec     haven.Record
	err     error // why this entry was refused
}

// planOptions say how a Bundle's entries become writes.
type planOptions struct {
	// keepIDs keeps a created resource under the id its source gives it
	// (see importID), and resolves references to the source's Type/id
	// of an entry to the id it is kept under: an import, run again, finds
	// what it wrote instead of making copies.
	keepIDs bool
	// kept finds where a reference Type/id to no entry of the Bundle
	// goes: to a resource an import wrote earlier (nil: it stays as is).
	kept func(ref string) (string, bool)
	// skipRefused refuses entries one by one (their err is set) instead
	// of failing the whole plan: for imports, which report what was left
	// behind.
	skipRefused bool
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// entryError names the Bundle entry a problem is in.
func entryError(i int, err error) error {
	var inv *haven.InvalidError
	if errors.As(err, &inv) {
		field := fmt.Sprintf("Bundle.entry[%d]", i)
		if inv.Field != "" {
			field += "." + inv.Field
		}
		return &haven.InvalidError{Field: field, Reason: inv.Reason}
	}
	var re *ruleError
	if errors.As(err, &re) {
		return &ruleError{re.code, fmt.Sprintf("Bundle.entry[%d]: %s", i, re.reason)}
	}
	return err
}

// decodeBundle reads a Bundle of the given types.
func decodeBundle(b []byte, allowed ...string) (object, []any, error) {
	bundle, err := decodeObject(b, "Bundle")
	if err != nil {
		return nil, nil, err
	}
	if rt, _ := bundle["resourceType"].(string); rt != "Bundle" {
		return nil, nil, haven.Invalid("Bundle.resourceType", `must be "Bundle"; found %s`, quoteShort(rt))
	}
	if typ, _ := bundle["type"].(string); !slices.Contains(allowed, typ) {
		return nil, nil, haven.Invalid("Bundle.type", "must be %s; found %s", strings.Join(allowed, " or "), quoteShort(typ))
	}
	entries, ok := bundle["entry"].([]any)
	if _, present := bundle["entry"]; present && !ok {
		return nil, nil, haven.Invalid("Bundle.entry", "must be an array")
	}
	if len(entries) > care.MaxOps {
		return nil, nil, haven.Invalid("Bundle.entry", "has %d entries; the limit is %d", len(entries), care.MaxOps)
	}
	return bundle, entries, nil
}

// plan turns a Bundle's entries into writes. It fails on the first
// refused entry unless o.skipRefused.
func (s *Server) plan(ctx context.Context, p haven.Principal, entries []any, o planOptions) ([]*entry, error) {
	plan := make([]*entry, 0, len(entries))
	refuse := func(e *entry, err error) error {
		e.err = entryError(e.index, err)
		if o.skipRefused {
			return nil
		}
		return e.err
	}
	targets := map[string]string{} // fullUrl → Type/id
	// A fullUrl or a conditional create's identifier given by more than
	// one entry: what references the fullUrl would be filed on whichever
	// came last, and two creates looking for one identifier both look
	// before either is written, so both create.
	fullURLs := map[string]int{}   // fullUrl → the first entry with it
	conds := map[string]int{}      // type and identifier → the first entry
	ambiguous := map[string]bool{} // fullUrls of more than one entry
	for i, raw := range entries {
		e := &entry{index: i}
		plan = append(plan, e)
		eo, ok := raw.(object)
		if !ok {
			if err := refuse(e, haven.Invalid("", "must be an object")); err != nil {
				return nil, err
			}
			continue
		}
		e.fullURL, _ = eo["fullUrl"].(string)
		if first, ok := fullURLs[e.fullURL]; ok {
			ambiguous[e.fullURL] = true
			if err := refuse(e, haven.Invalid("fullUrl", "%s is also the fullUrl of Bundle.entry[%d]; a fullUrl names one entry of a Bundle (bdl-7)", quoteShort(e.fullURL), first)); err != nil {
				return nil, err
			}
			continue
		} else if e.fullURL != "" {
			fullURLs[e.fullURL] = i
		}
		req, _ := eo["request"].(object)
		e.method, _ = req["method"].(string)
		e.res, _ = eo["resource"].(object)
		reqURL, _ := req["url"].(string)
		path, err := s.relativeURL(strings.SplitN(reqURL, "?", 2)[0])
		if err != nil {
			if err := refuse(e, err); err != nil {
				return nil, err
			}
			continue
		}
		typ, id, _ := strings.Cut(path, "/")
		if e.res != nil {
			if rt, _ := e.res["resourceType"].(string); rt != typ && e.method != "DELETE" {
				if err := refuse(e, haven.Invalid("request.url", "names %s but the resource is %s", quoteShort(typ), quoteShort(rt))); err != nil {
					return nil, err
				}
				continue
			}
		}
		t, ok := types[typ]
		switch {
		case e.method == "":
			err := haven.Invalid("request.method", "is required (POST, PUT or DELETE)")
			if err := refuse(e, err); err != nil {
				return nil, err
			}
			continue
		case !ok:
			if err := refuse(e, unknownType(typ)); err != nil {
				return nil, err
			}
			continue
		}
		e.t = t
		switch e.method {
		case "POST":
			if id != "" {
				if err := refuse(e, haven.Invalid("request.url", "a create is POSTed to the type (%s), not to an id", t.name)); err != nil {
					return nil, err
				}
				continue
			}
			e.cond, _ = req["ifNoneExist"].(string)
			e.id = care.NewID()
		case "PUT":
			if id == "" || strings.Contains(id, "/") {
				if err := refuse(e, haven.Invalid("request.url", "an update names the resource: %s/<id>", t.name)); err != nil {
					return nil, err
				}
				continue
			}
			e.id = id
			im, _ := req["ifMatch"].(string)
			v, ok := parseETag(im)
			if !ok {
				if err := refuse(e, haven.Invalid("request.ifMatch", `is required: the version the update replaces (W/"N")`)); err != nil {
					return nil, err
				}
				continue
			}
			e.expect = v
		case "DELETE":
			if id == "" || strings.Contains(id, "/") {
				if err := refuse(e, haven.Invalid("request.url", "a delete names the resource: %s/<id>", t.name)); err != nil {
					return nil, err
				}
				continue
			}
			if t.kind == haven.KindPerson {
				if err := refuse(e, errPatientDelete); err != nil {
					return nil, err
				}
				continue
			}
			e.id = id
		default:
			if err := refuse(e, haven.Invalid("request.method", "%s is not supported in a Bundle; Haven applies POST, PUT and DELETE", quoteShort(e.method))); err != nil {
				return nil, err
			}
			continue
		}
		if e.method != "DELETE" && e.res == nil {
			if err := refuse(e, haven.Invalid("resource", "is required for %s", e.method)); err != nil {
				return nil, err
			}
			continue
		}
		nhs := ""
		if o.keepIDs && t.kind == haven.KindPerson {
			nhs = nhsIdentifier(e.res)
		}
		sourceID, _ := e.res["id"].(string)
		if o.keepIDs && e.method == "POST" {
			e.id = importID(t.name, e.fullURL, sourceID, nhs)
		}
		// Conditional create: an existing match is the target. An import
		// matches patients on their NHS number.
		if e.cond == "" && nhs != "" {
			e.cond = "identifier=" + url.QueryEscape(nhs)
		}
		if e.cond != "" {
			var found []care.Found
			key, err := condition(t, e.cond)
			if first, ok := conds[t.name+" "+key]; ok && err == nil {
				err = haven.Invalid("", "creates the same %s as Bundle.entry[%d]: both look for one identifier; send it once, and reference that entry's fullUrl", t.name, first)
			} else if err == nil {
				conds[t.name+" "+key] = i
				found, err = s.conditional(ctx, p, t, key)
			}
			e.key = key
			if err != nil {
				if err := refuse(e, err); err != nil {
					return nil, err
				}
				continue
			}
			if len(found) == 1 {
				e.match = &found[0]
				e.id = found[0].Record.RecordID()
			}
		}
		if e.fullURL != "" {
			targets[e.fullURL] = t.name + "/" + e.id
		}
		if o.keepIDs && e.method == "POST" && sourceID != "" {
			targets[t.name+"/"+sourceID] = t.name + "/" + e.id
		}
	}
	find := func(ref string) (string, bool, error) {
		if ambiguous[ref] {
			return "", false, haven.Invalid("resource", "references %s, the fullUrl of more than one entry of this Bundle", quoteShort(ref))
		}
		if to, ok := targets[ref]; ok {
			return to, true, nil
		}
		if o.kept != nil {
			to, ok := o.kept(ref)
			return to, ok, nil
		}
		return "", false, nil
	}
	// Resolve references to other entries, then make the records.
	for _, e := range plan {
		if e.err != nil || e.res == nil || e.method == "DELETE" {
			continue
		}
		if err := resolve(e.res, find); err != nil {
			if err := refuse(e, err); err != nil {
				return nil, err
			}
			continue
		}
		if e.method == "PUT" {
			if bid, _ := e.res["id"].(string); bid != e.id {
				if err := refuse(e, haven.Invalid("resource.id", "is %s but the request is for %s", quoteShort(bid), quoteShort(e.id))); err != nil {
					return nil, err
				}
				continue
			}
		}
		if e.match != nil && !o.keepIDs {
			continue // a conditional create that found its match writes nothing
		}
		rec, err := toRecord(e.t, e.res, e.id)
		if err != nil {
			if err := refuse(e, err); err != nil {
				return nil, err
			}
			continue
		}
		e.rec = rec
	}
	return plan, nil
}

// relativeURL is the path of a Bundle entry's request.url relative to the
// FHIR base (Patient, Patient/<id>). R4 lets it be absolute too: one on
// this server's base is taken, as is a leading "/"; any other names
// another server, whose resources Haven does not write.
func (s *Server) relativeURL(path string) (string, error) {
	if rest, ok := strings.CutPrefix(path, s.origin+"/fhir/"); ok && s.origin != "" {
		return rest, nil
	}
	if strings.Contains(path, "://") {
		return "", haven.Invalid("request.url", "%s is not on this server's FHIR base (%s/fhir); give it relative to the base, as Patient or Patient/<id>", quoteShort(path), s.origin)
	}
	return strings.TrimPrefix(path, "/"), nil
}

// resolve rewrites references that find knows (to other entries of the
// Bundle, by fullUrl, usually urn:uuid:...) to the Type/id they were given.
// A urn:uuid reference to no entry of the Bundle cannot be resolved.
func resolve(v any, find func(ref string) (string, bool, error)) error {
	switch x := v.(type) {
	case object:
		for k, c := range x {
			if ref, ok := c.(string); ok && k == "reference" {
				if to, ok, err := find(ref); err != nil {
					return err
				} else if ok {
					x[k] = to
				} else if strings.HasPrefix(ref, "urn:uuid:") {
					return haven.Invalid("resource", "references %s, which is no entry of this Bundle", quoteShort(ref))
				}
				continue
			}
			if err := resolve(c, find); err != nil {
				return err
			}
		}
	case []any:
		for _, c := range x {
			if err := resolve(c, find); err != nil {
				return err
			}
		}
	}
	return nil
}

// importID is the id an import keeps a created resource under: the
// source's own where it is a UUID (a urn:uuid fullUrl, or the resource's
// id), else one derived from what names it in the source (its fullUrl, or
// Type/id), so that importing the same source again finds the same record.
// A person's is derived from their NHS number (nhs, system|value) too:
// two sources may both have a Patient/1, and they must not be filed as
// one person. A resource its source names in no way gets a new id.
func importID(typ, fullURL, sourceID, nhs string) string {
	if u := strings.TrimPrefix(fullURL, "urn:uuid:"); u != fullURL && uuidPattern.MatchString(u) {
		return strings.ToLower(u)
	}
	name := fullURL
	if name == "" {
		switch {
		case uuidPattern.MatchString(sourceID):
			return strings.ToLower(sourceID)
		case sourceID == "":
			return care.NewID()
		}
		name = typ + "/" + sourceID
	}
	if nhs != "" {
		name += " " + nhs
	}
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(name)).String()
}

// nhsIdentifier is a patient's NHS number as system|value, or "".
func nhsIdentifier(res object) string {
	for _, ident := range identifiers(res) {
		if strings.HasPrefix(ident, NHSNumberSystem+"|") {
			return ident
		}
	}
	return ""
}

// order is the order FHIR processes a transaction in: deletes, then
// creates (people before what is about them), then updates.
func order(plan []*entry) []*entry {
	rank := func(e *entry) int {
		switch {
		case e.method == "DELETE":
			return 0
		case e.method == "POST" && e.t.kind == haven.KindPerson:
			return 1
		case e.method == "POST" && e.t.subject == "":
			return 2
		case e.method == "POST":
			return 3
		}
		return 4
	}
	out := slices.Clone(plan)
	slices.SortStableFunc(out, func(a, b *entry) int { return rank(a) - rank(b) })
	return out
}

// op is the record-service write of a planned entry; ok is false when the
// entry writes nothing (a conditional create that matched).
func (e *entry) op(put bool) (care.Op, bool) {
	switch {
	case e.method == "DELETE":
		return care.Op{Method: care.OpDelete, Kind: e.t.kind, ID: e.id}, true
	case put:
		return care.Op{Method: care.OpPut, Record: e.rec}, true
	case e.match != nil:
		return care.Op{}, false
	case e.method == "POST":
		return care.Op{Method: care.OpCreate, Record: e.rec, IfNoneExist: e.key}, true
	}
	return care.Op{Method: care.OpUpdate, Record: e.rec, Expect: e.expect}, true
}

// parseETag reads W/"N" or "N".
func parseETag(v string) (int64, bool) {
	v = strings.Trim(strings.TrimPrefix(strings.TrimSpace(v), "W/"), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n > 0
}

// Bundle answers POST /fhir with a batch or transaction Bundle. A
// transaction is all or nothing: one refused entry refuses the Bundle, and
// the OperationOutcome names the entry. A batch applies each entry on its
// own and reports each.
func (s *Server) Bundle(w http.ResponseWriter, r *http.Request) {
	p, b, ok := s.begin(w, r, true)
	if !ok {
		return
	}
	bundle, entries, err := decodeBundle(b, "transaction", "batch")
	if err != nil {
		s.fail(w, err)
		return
	}
	if bundle["type"] == "batch" {
		s.batch(r.Context(), w, p, entries)
		return
	}
	resp, err := s.transaction(r.Context(), p, entries)
	if errors.Is(err, care.ErrExists) {
		// Another request created what a conditional create looked for
		// after this one looked: planned again, the entry matches it. The
		// plan rewrote the entries' references, so they are read again.
		_, entries, _ = decodeBundle(b, "transaction")
		resp, err = s.transaction(r.Context(), p, entries)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	writeResource(w, http.StatusOK, resp)
}

// batch applies each entry of a batch Bundle on its own and answers with
// how each went.
func (s *Server) batch(ctx context.Context, w http.ResponseWriter, p haven.Principal, entries []any) {
	plan, err := s.plan(ctx, p, entries, planOptions{skipRefused: true})
	if err != nil {
		s.fail(w, err)
		return
	}
	resp := Bundle{ResourceType: "Bundle", Type: "batch-response", Entry: make([]BundleEntry, len(plan))}
	for _, e := range plan {
		if e.err == nil {
			var applied []care.Applied
			if op, ok := e.op(false); ok {
				applied, e.err = s.care.Apply(ctx, p, []care.Op{op})
			}
			if errors.Is(e.err, care.ErrExists) {
				var f care.Found
				if f, e.err = s.createdMeanwhile(ctx, p, e.t, e.key); e.err == nil {
					e.match, e.id = &f, f.Record.RecordID()
				}
			}
			if e.err == nil {
				resp.Entry[e.index] = s.entryResponse(e, applied)
				continue
			}
		}
		resp.Entry[e.index] = BundleEntry{Response: errorResponse(e.err)}
	}
	writeResource(w, http.StatusOK, resp)
}

// transaction plans and applies a transaction Bundle's entries as one
// unit, and returns the transaction-response.
func (s *Server) transaction(ctx context.Context, p haven.Principal, entries []any) (Bundle, error) {
	resp := Bundle{ResourceType: "Bundle", Type: "transaction-response"}
	plan, err := s.plan(ctx, p, entries, planOptions{})
	if err != nil {
		return resp, err
	}
	resp.Entry = make([]BundleEntry, len(plan))
	var ops []care.Op
	var writing []*entry
	for _, e := range order(plan) {
		if op, ok := e.op(false); ok {
			ops = append(ops, op)
			writing = append(writing, e)
		}
	}
	applied, err := s.care.Apply(ctx, p, ops)
	if err != nil {
		var oe *care.OpError
		if errors.As(err, &oe) {
			err = entryError(writing[oe.Index].index, oe.Err)
		}
		return resp, err
	}
	for i, e := range writing {
		resp.Entry[e.index] = s.entryResponse(e, applied[i:i+1])
	}
	for _, e := range plan {
		if resp.Entry[e.index].Response == nil {
			resp.Entry[e.index] = s.entryResponse(e, nil)
		}
	}
	return resp, nil
}

// entryResponse is the response entry of an applied (or matched) entry.
func (s *Server) entryResponse(e *entry, applied []care.Applied) BundleEntry {
	if e.method == "DELETE" {
		return BundleEntry{Response: &BundleResponse{Status: "204 No Content"}}
	}
	var f care.Found
	status := "201 Created"
	switch {
	case len(applied) == 1:
		f = care.Found{Record: e.rec, Meta: applied[0].Meta}
		if e.method == "PUT" {
			status = "200 OK"
		}
	case e.match != nil:
		f, status = *e.match, "200 OK"
	}
	out := BundleEntry{FullURL: s.origin + "/fhir/" + e.t.name + "/" + e.id}
	if res, err := render(f); err == nil {
		out.Resource = res
	}
	loc := e.t.name + "/" + e.id + "/_history/" + strconv.FormatInt(f.Meta.Version, 10)
	out.Response = &BundleResponse{Status: status, Location: loc, Etag: `W/"` + strconv.FormatInt(f.Meta.Version, 10) + `"`, LastModified: f.Meta.Updated}
	return out
}

// errorResponse is a batch entry's failure: its status and outcome.
func errorResponse(err error) *BundleResponse {
	pr := classify(err)
	return &BundleResponse{Status: strconv.Itoa(pr.status) + " " + http.StatusText(pr.status), Outcome: pr.outcome()}
}
