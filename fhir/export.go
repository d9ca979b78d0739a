package fhir

// Bulk Data $export (SMART Bulk Data Access, asynchronous request pattern):
// a kick-off answered 202 with a status URL, a status URL polled until the
// NDJSON files are ready, and the files, each fetched with the same
// client's token. Every person exported is read through the record
// service, so each is an audit entry and counts against the client's
// hourly budget: an export cannot take more people than reading them one
// by one could. The files are kept in memory only, never on disk, and
// are gone after an hour or when the client deletes the job.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/auth/smart"
	"github.com/havencare/haven/care"
)

// exportLife is how long a finished export's files are kept.
const exportLife = time.Hour

// maxExportsPerClient bounds the exports a client may have at once.
const maxExportsPerClient = 2

// exportJob is one $export request.
type exportJob struct {
	id      string
	owner   string // the API client's principal id
	tenant  string
	request string
	started time.Time

	mu       sync.Mutex
	done     bool
	finished time.Time
	people   int
	err      error
	files    map[string]*bytes.Buffer // by type
	counts   map[string]int
	cancel   context.CancelFunc
}

type exports struct {
	mu   sync.Mutex
	jobs map[string]*exportJob
}

// expired reports whether the job's files are past keeping at now. The
// caller holds j.mu.
func (j *exportJob) expired(now time.Time) bool {
	return j.done && !now.Before(j.finished.Add(exportLife))
}

// sweepLocked drops every job past keeping, so that the records it holds
// leave memory; files set to nil tells a handler already holding the job
// that it is gone. The caller holds e.mu.
func (e *exports) sweepLocked(now time.Time) {
	for id, j := range e.jobs {
		j.mu.Lock()
		gone := j.expired(now)
		if gone {
			j.files = nil
		}
		j.mu.Unlock()
		if gone {
			j.cancel()
			delete(e.jobs, id)
		}
	}
}

func (e *exports) sweep(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sweepLocked(now)
}

// exportableTypes are the types an export may hold: everything Haven
// serves.
func exportableTypes() []string {
	var out []string
	for name := range types {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// exportScopes checks that the token's named scopes (those its client was
// registered with by type: haven.Principal.NamedScopes) give read and
// search of every exported type. A wildcard (system/*.rs) lets a client
// read and search, but not take everything at once: a bulk export is
// granted deliberately, type by type, by the administrator who registers
// the client. A client allowed only the wildcard that asks for
// system/Patient.rs by name gets a token spelled so, which names nothing.
func exportScopes(named []string, typeNames []string) error {
	var missing []string
	for _, t := range typeNames {
		if !smart.Permits(named, t, "rs") {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return &forbiddenError{"a bulk export needs a read and search scope naming each type it exports, registered for the client by type (wildcards do not count); missing: system/" + strings.Join(missing, ".rs system/") + ".rs"}
	}
	return nil
}

// sinceAndTypes reads the two filters $export and $everything share.
func sinceAndTypes(q url.Values) (since time.Time, typeNames []string, err error) {
	if since, err = sinceParam(q); err != nil {
		return time.Time{}, nil, err
	}
	typeNames, err = typesParam(q)
	return since, typeNames, err
}

// typesParam reads _type, of $export and $everything: types separated by
// commas and, when the parameter is repeated, every value, read as one
// list as the Bulk Data specification asks. Nil when absent.
func typesParam(q url.Values) ([]string, error) {
	var out []string
	for _, v := range q["_type"] {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "" {
				continue
			}
			if _, ok := types[t]; !ok {
				return nil, haven.Invalid("_type", "%s", unknownType(t).Error())
			}
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// sinceParam reads _since, of $export and $everything: an instant, given
// once. Zero when absent.
func sinceParam(q url.Values) (time.Time, error) {
	switch v := q["_since"]; {
	case len(v) == 0 || len(v) == 1 && v[0] == "":
		return time.Time{}, nil
	case len(v) > 1:
		return time.Time{}, haven.Invalid("_since", "is given %d times; give one instant", len(v))
	}
	t, err := time.Parse(time.RFC3339Nano, q.Get("_since"))
	if err != nil {
		return time.Time{}, haven.Invalid("_since", "must be an instant (e.g. 2026-01-01T00:00:00Z)")
	}
	return t, nil
}

// changedSince reports whether a record was last updated at or after
// since (always, for a zero since).
func changedSince(f care.Found, since time.Time) bool {
	if since.IsZero() {
		return true
	}
	t, err := time.Parse(time.RFC3339Nano, f.Meta.Updated)
	return err != nil || !t.Before(since)
}

// inCompartment returns the types among typeNames that belong to a
// patient's compartment, other than Patient itself: an export finds them
// person by person.
func inCompartment(typeNames []string) []string {
	var out []string
	for _, t := range typeNames {
		if t != "Patient" && types[t].subject != "" {
			out = append(out, t)
		}
	}
	return out
}

// forbiddenError is a refusal the API itself makes (403).
type forbiddenError struct{ reason string }

func (e *forbiddenError) Error() string { return e.reason }

// ExportKickOff answers GET /fhir/$export and GET /fhir/Patient/$export.
func (s *Server) ExportKickOff(w http.ResponseWriter, r *http.Request) {
	p, _, ok := s.begin(w, r, false)
	if !ok {
		return
	}
	if !strings.Contains(r.Header.Get("Prefer"), "respond-async") {
		writeOutcome(w, http.StatusBadRequest, "invalid", "a bulk export is asynchronous: send Prefer: respond-async")
		return
	}
	q := r.URL.Query()
	for name, values := range q {
		if name != "_type" && name != "_outputFormat" && name != "_since" && !slices.Contains(generalParams, name) {
			writeOutcome(w, http.StatusBadRequest, "not-supported", "unsupported export parameter "+quoteShort(name)+"; Haven supports _type, _since and _outputFormat")
			return
		}
		if name == "_outputFormat" && len(values) > 1 {
			writeOutcome(w, http.StatusBadRequest, "invalid", "_outputFormat is given "+strconv.Itoa(len(values))+" times; give it once", name)
			return
		}
	}
	switch f := q.Get("_outputFormat"); f {
	case "", "application/fhir+ndjson", "application/ndjson", "ndjson":
	default:
		writeOutcome(w, http.StatusBadRequest, "not-supported", "Haven exports NDJSON only (_outputFormat=application/fhir+ndjson)")
		return
	}
	since, typeNames, err := sinceAndTypes(q)
	if err != nil {
		s.fail(w, err)
		return
	}
	if typeNames == nil {
		// Without _type, the types the token may export.
		var allowed []string
		for _, t := range exportableTypes() {
			if exportScopes(p.NamedScopes, []string{t}) == nil {
				allowed = append(allowed, t)
			}
		}
		typeNames = allowed
		if len(typeNames) == 0 {
			typeNames = []string{"Patient"} // so that the refusal names what is needed
		}
	}
	if err := exportScopes(p.NamedScopes, typeNames); err != nil {
		writeOutcome(w, http.StatusForbidden, "forbidden", err.Error())
		return
	}
	// Without the Patient scope the listing would find no one, and the
	// export would finish empty as if there were nothing to take.
	if byPatient := inCompartment(typeNames); len(byPatient) > 0 && exportScopes(p.NamedScopes, []string{"Patient"}) != nil {
		writeOutcome(w, http.StatusForbidden, "forbidden", "an export of "+strings.Join(byPatient, ", ")+" lists the patients to find their records, so it needs system/Patient.rs as well (Patients themselves are exported only when _type names them)")
		return
	}
	job, busy := s.startExport(p, typeNames, since, s.origin+r.URL.RequestURI())
	if busy != nil {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(math.Ceil(busy.retry.Seconds()), 1))))
		writeOutcome(w, http.StatusTooManyRequests, "throttled", busy.Error())
		return
	}
	w.Header().Set("Content-Location", s.origin+"/fhir/$export-status/"+job.id)
	w.WriteHeader(http.StatusAccepted)
}

// busyError refuses a kick-off while the client has all the exports it
// may have at once.
type busyError struct {
	n     int
	retry time.Duration // until the first of them is gone at the earliest
}

func (e *busyError) Error() string {
	return "this client already has " + strconv.Itoa(e.n) + " exports; delete one (DELETE its status URL) or wait until one is gone, an hour after it finished"
}

// startExport registers a job and runs it in the background, unless the
// client is busy.
func (s *Server) startExport(p haven.Principal, typeNames []string, since time.Time, request string) (*exportJob, *busyError) {
	s.exports.mu.Lock()
	defer s.exports.mu.Unlock()
	if s.exports.jobs == nil {
		s.exports.jobs = map[string]*exportJob{}
	}
	now := s.care.Now()
	s.exports.sweepLocked(now)
	busy := &busyError{retry: exportLife}
	for _, j := range s.exports.jobs {
		if j.owner != p.ID {
			continue
		}
		busy.n++
		j.mu.Lock()
		if j.done {
			busy.retry = min(busy.retry, j.finished.Add(exportLife).Sub(now))
		}
		j.mu.Unlock()
	}
	if busy.n >= maxExportsPerClient {
		return nil, busy
	}
	var b [16]byte
	rand.Read(b[:])
	ctx, cancel := context.WithCancel(context.Background())
	job := &exportJob{id: hex.EncodeToString(b[:]), owner: p.ID, tenant: p.TenantID, request: request, started: now,
		files: map[string]*bytes.Buffer{}, counts: map[string]int{}, cancel: cancel}
	s.exports.jobs[job.id] = job
	p.Purpose = "bulk export " + job.id
	go s.runExport(ctx, job, p, typeNames, since)
	return job, nil
}

// runExport reads everything the job asks for, person by person.
func (s *Server) runExport(ctx context.Context, job *exportJob, p haven.Principal, typeNames []string, since time.Time) {
	err := s.export(ctx, job, p, typeNames, since)
	job.mu.Lock()
	job.done, job.err, job.finished = true, err, s.care.Now()
	job.mu.Unlock()
	// Without this the files would stay in memory until some client
	// next used an export.
	time.AfterFunc(exportLife, func() { s.exports.sweep(s.care.Now()) })
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("bulk export stopped", "job", job.id, "client", p.ID, "err", err)
	}
}

func (s *Server) export(ctx context.Context, job *exportJob, p haven.Principal, typeNames []string, since time.Time) error {
	var orgKinds []haven.Kind
	for _, name := range typeNames {
		if t := types[name]; t.subject == "" {
			orgKinds = append(orgKinds, append([]haven.Kind{t.kind}, t.alsoKinds...)...)
		}
	}
	write := func(f care.Found) error {
		if !changedSince(f, since) {
			return nil
		}
		res, err := render(f)
		if err != nil {
			return err
		}
		line, err := json.Marshal(res)
		if err != nil {
			return err
		}
		typ := res["resourceType"].(string)
		job.mu.Lock()
		defer job.mu.Unlock()
		buf := job.files[typ]
		if buf == nil {
			buf = &bytes.Buffer{}
			job.files[typ] = buf
		}
		buf.Write(line)
		buf.WriteByte('\n')
		job.counts[typ]++
		return nil
	}
	for _, k := range orgKinds {
		after := ""
		for {
			page, err := s.care.ListFound(ctx, p, k, after, care.MaxListResults)
			if err != nil {
				return err
			}
			for _, f := range page {
				if err := write(f); err != nil {
					return err
				}
			}
			if len(page) < care.MaxListResults {
				break
			}
			after = page[len(page)-1].Record.RecordID()
		}
	}
	kinds, wantPerson := compartmentKinds(typeNames)
	if !wantPerson && len(kinds) == 1 {
		return nil // nothing in a person's compartment
	}
	// People are listed by id, a page at a time, and each person's
	// records read as one unit: one audit entry per person.
	after := ""
	for {
		people, err := s.care.ListFound(ctx, p, haven.KindPerson, after, care.MaxListResults)
		if err != nil {
			return err
		}
		for _, person := range people {
			if err := ctx.Err(); err != nil {
				return err
			}
			if pr, ok := person.Record.(*haven.Person); ok && pr.Canary {
				// A canary is a decoy, not a person: no legitimate
				// workflow reads one, and an export leaves it out.
				// What a stolen export client can take is bounded by
				// its hourly budget instead.
				continue
			}
			found, err := s.care.Compartment(ctx, p, person.Record.RecordID(), kinds...)
			if errors.Is(err, haven.ErrNotFound) {
				continue // erased since it was listed
			} else if err != nil {
				return err
			}
			for _, f := range found {
				if f.Record.Kind() == haven.KindPerson && !wantPerson {
					continue
				}
				if err := write(f); err != nil {
					return err
				}
			}
			job.mu.Lock()
			job.people++
			job.mu.Unlock()
		}
		if len(people) < care.MaxListResults {
			return nil
		}
		after = people[len(people)-1].Record.RecordID()
	}
}

// job finds the caller's job; another client's is not found, nor one past
// keeping.
func (s *Server) job(p haven.Principal, id string) *exportJob {
	s.exports.mu.Lock()
	defer s.exports.mu.Unlock()
	s.exports.sweepLocked(s.care.Now())
	j := s.exports.jobs[id]
	if j == nil || j.owner != p.ID || j.tenant != p.TenantID {
		return nil
	}
	return j
}

// ownJob authenticates the request and finds the caller's job named in
// the path, answering 404 itself for any other.
func (s *Server) ownJob(w http.ResponseWriter, r *http.Request) (*exportJob, bool) {
	p, _, ok := s.begin(w, r, false)
	if !ok {
		return nil, false
	}
	j := s.job(p, r.PathValue("job"))
	if j == nil {
		writeOutcome(w, http.StatusNotFound, "not-found", noSuchExport)
		return nil, false
	}
	return j, true
}

// noSuchExport is the answer for an export that never was, was deleted,
// or is past keeping: the Bulk Data specification asks for 404 after a
// delete, and an export past keeping is as gone as a deleted one.
const noSuchExport = "no such export (an export is gone once deleted, and an hour after it finished)"

// ExportStatus answers GET /fhir/$export-status/{job}.
func (s *Server) ExportStatus(w http.ResponseWriter, r *http.Request) {
	j, ok := s.ownJob(w, r)
	if !ok {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.files == nil { // swept since it was found
		writeOutcome(w, http.StatusNotFound, "not-found", noSuchExport)
		return
	}
	if !j.done {
		w.Header().Set("X-Progress", strconv.Itoa(j.people)+" people exported")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if j.err != nil {
		// The export has ended and polling again will not change that.
		// Bulk Data reads 429 or a transient issue code at the status URL
		// as "retry this request", so neither is used here.
		pr := classify(j.err)
		switch {
		case errors.Is(j.err, care.ErrContained):
			pr.status, pr.code = http.StatusForbidden, "forbidden"
			pr.diagnostics = "the export was stopped and will not resume: " + pr.diagnostics
		case pr.status >= 500:
			pr.code, pr.diagnostics = "processing", "the export failed; start a new one"
		default:
			pr.diagnostics = "the export stopped: " + pr.diagnostics
		}
		writeResource(w, pr.status, pr.outcome())
		return
	}
	type output struct {
		Type  string `json:"type"`
		URL   string `json:"url"`
		Count int    `json:"count"`
	}
	manifest := struct {
		TransactionTime     string   `json:"transactionTime"`
		Request             string   `json:"request"`
		RequiresAccessToken bool     `json:"requiresAccessToken"`
		Output              []output `json:"output"`
		Error               []output `json:"error"`
	}{TransactionTime: j.started.UTC().Format(time.RFC3339Nano), Request: j.request, RequiresAccessToken: true, Output: []output{}, Error: []output{}}
	names := make([]string, 0, len(j.files))
	for t := range j.files {
		names = append(names, t)
	}
	slices.Sort(names)
	for _, t := range names {
		manifest.Output = append(manifest.Output, output{Type: t, URL: s.origin + "/fhir/$export-file/" + j.id + "." + t + ".ndjson", Count: j.counts[t]})
	}
	w.Header().Set("Expires", j.finished.Add(exportLife).UTC().Format(http.TimeFormat))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(manifest)
}

// ExportDelete answers DELETE /fhir/$export-status/{job}: the export is
// cancelled, or its files discarded.
func (s *Server) ExportDelete(w http.ResponseWriter, r *http.Request) {
	j, ok := s.ownJob(w, r)
	if !ok {
		return
	}
	j.cancel()
	s.exports.mu.Lock()
	delete(s.exports.jobs, j.id)
	s.exports.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// ExportFile answers GET /fhir/$export-file/{job}.{type}.ndjson.
func (s *Server) ExportFile(w http.ResponseWriter, r *http.Request) {
	p, _, ok := s.begin(w, r, false)
	if !ok {
		return
	}
	name, isNDJSON := strings.CutSuffix(r.PathValue("file"), ".ndjson")
	id, typ, _ := strings.Cut(name, ".")
	j := s.job(p, id)
	if j == nil || !isNDJSON {
		writeOutcome(w, http.StatusNotFound, "not-found", "no such export file")
		return
	}
	j.mu.Lock()
	buf := j.files[typ]
	var data []byte
	if j.done && buf != nil {
		data = slices.Clone(buf.Bytes())
	}
	j.mu.Unlock()
	if data == nil {
		writeOutcome(w, http.StatusNotFound, "not-found", "no such export file")
		return
	}
	w.Header().Set("Content-Type", "application/fhir+ndjson")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(data)
}
