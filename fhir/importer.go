package fhir

// Import: FHIR Bundles (transaction, batch or collection) and NDJSON into
// one care organisation, through the same record service, policy and
// audit log as the API. Ids are kept where the source gives UUIDs, and
// derived from the source's other ids (importID), and patients are matched
// on their NHS number, so that importing the same
// files again finds what it wrote: nothing is copied twice and unchanged
// records get no new version.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sync"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
)

// Importer loads FHIR data into a tenant as one principal (the console's
// system principal for `haven import`).
type Importer struct {
	s *Server
	p haven.Principal
	// SyntheticNHSNumbers gives a patient who has no NHS number one from
	// the NHS's test range (999 000 0000 to 999 999 9999), derived from the
	// source's id so that a second import gives the same one. For test
	// and demonstration data only: real patients have real numbers.
	SyntheticNHSNumbers bool

	mu     sync.Mutex
	report ImportReport
	// given holds the synthetic NHS numbers this import has given or
	// found taken, and to whom (see addSyntheticNHSNumber).
	given map[string]string
	// kept holds the Type/id each NDJSON resource this import was given
	// is kept under, by export and the source's Type/id: NDJSON refers to
	// Type/id, across lines and files, and a resource may be kept under
	// another id (a patient matched on their NHS number keeps the id they
	// have). An export is the folder its files are in (exportOf): two
	// exports in one import may both have a Patient/1, and what each says
	// about its Patient/1 must go to that one. A Type/id kept under two
	// ids within one export is ambiguous: references to it find nothing,
	// so what refers to it is refused rather than filed on either.
	kept map[string]map[string]string
	// refused holds why each person this import refused was refused, by
	// the id they would have been kept under: what is about them goes
	// with them.
	refused map[string]error
}

// ImportReport is what an import did.
type ImportReport struct {
	Resources int // entries read
	Created   int
	Updated   int
	Unchanged int
	Rejected  []Rejection
	ByType    map[string]*TypeCount
}

// TypeCount is an import's result for one resource type.
type TypeCount struct {
	Created, Updated, Unchanged, Rejected int
}

// Rejection is one resource an import left behind, and why.
type Rejection struct {
	Source string // file and entry
	Type   string
	Reason string
}

var entryPrefix = regexp.MustCompile(`Bundle\.entry\[\d+\](: |\.)`)

// NewImporter returns an importer writing as p through the record service.
func NewImporter(c *care.Service, p haven.Principal, log *slog.Logger) *Importer {
	return &Importer{s: &Server{care: c, log: log}, p: p, report: ImportReport{ByType: map[string]*TypeCount{}},
		given: map[string]string{}, kept: map[string]map[string]string{}, refused: map[string]error{}}
}

// Report returns the totals so far.
func (im *Importer) Report() ImportReport {
	im.mu.Lock()
	defer im.mu.Unlock()
	r := im.report
	r.Rejected = slices.Clone(r.Rejected)
	r.ByType = map[string]*TypeCount{}
	for k, v := range im.report.ByType {
		c := *v
		r.ByType[k] = &c
	}
	return r
}

func (im *Importer) count(typ string) *TypeCount {
	c := im.report.ByType[typ]
	if c == nil {
		c = &TypeCount{}
		im.report.ByType[typ] = c
	}
	return c
}

func (im *Importer) reject(source, typ string, err error) {
	im.rejectFor(source, typ, reasonOf(err))
}

func (im *Importer) rejectFor(source, typ, reason string) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if typ == "" {
		typ = "(unknown)"
	}
	im.report.Rejected = append(im.report.Rejected, Rejection{Source: source, Type: typ, Reason: reason})
	im.count(typ).Rejected++
}

// reasonOf is why an entry was rejected, as the report says it.
func reasonOf(err error) string {
	switch pr := classify(err); {
	case errors.Is(err, care.ErrDeleted):
		return "it was deleted in Haven, and an import does not bring a deleted record back"
	case pr.status >= 500:
		return "Haven could not store it: " + err.Error()
	}
	// The source names the entry; the reason need not.
	return entryPrefix.ReplaceAllString(err.Error(), "")
}

// ambiguous marks, in kept, a Type/id one export gave to two resources.
const ambiguous = ""

// exportOf is the export an NDJSON file belongs to: the folder it is in
// (within an archive, the archive and the folder).
func exportOf(source string) string { return path.Dir(filepath.ToSlash(source)) }

// keptIn returns the lookup of where the import kept what an export
// calls ref (Type/id).
func (im *Importer) keptIn(export string) func(ref string) (string, bool) {
	return func(ref string) (string, bool) {
		im.mu.Lock()
		defer im.mu.Unlock()
		to, ok := im.kept[export][ref]
		return to, ok && to != ambiguous
	}
}

// remember records where an export's entries were kept.
func (im *Importer) remember(export string, plan []*entry) {
	im.mu.Lock()
	defer im.mu.Unlock()
	byRef := im.kept[export]
	if byRef == nil {
		byRef = map[string]string{}
		im.kept[export] = byRef
	}
	for _, e := range plan {
		sourceID, _ := e.res["id"].(string)
		if e.t == nil || e.method != "POST" || e.id == "" || sourceID == "" {
			continue
		}
		ref, to := e.t.name+"/"+sourceID, e.t.name+"/"+e.id
		if was, seen := byRef[ref]; seen && was != to {
			to = ambiguous
		}
		byRef[ref] = to
	}
}

// whyRefused says why the person kept as id was refused, if they were.
func (im *Importer) whyRefused(id string) (error, bool) {
	im.mu.Lock()
	defer im.mu.Unlock()
	why, ok := im.refused[id]
	return why, ok
}

func (im *Importer) refusePerson(id string, why error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.refused[id] = why
}

// patientRefused is why an entry about a refused patient is left out: it
// is not kept without them.
func patientRefused(err error) string { return "its patient was refused: " + reasonOf(err) }

// Bundle imports one Bundle. Its entries are written as one unit; an entry
// Haven refuses (a type it does not keep, an invalid resource, one that
// references a refused entry) is reported and left out, and the rest is
// written. It returns the number of entries read.
func (im *Importer) Bundle(ctx context.Context, source string, body []byte) (int, error) {
	bundle, entries, err := decodeBundle(body, "transaction", "batch", "collection", "searchset")
	if err != nil {
		return 0, err
	}
	if bundle["type"] == "collection" || bundle["type"] == "searchset" {
		// A collection's entries carry no request: each is a create.
		for _, e := range entries {
			if eo, ok := e.(object); ok {
				if _, has := eo["request"]; !has {
					rt, _ := at(eo, "resource.resourceType").(string)
					eo["request"] = object{"method": "POST", "url": rt}
				}
			}
		}
	}
	im.mu.Lock()
	im.report.Resources += len(entries)
	im.mu.Unlock()
	if im.SyntheticNHSNumbers {
		for _, e := range entries {
			if res, ok := at(e, "resource").(object); ok && res["resourceType"] == "Patient" {
				if err := im.addSyntheticNHSNumber(ctx, res, str(object{"e": e}, "e.fullUrl")); err != nil {
					return len(entries), err
				}
			}
		}
	}
	// A Bundle's references are to its own entries (fullUrl or Type/id) or
	// to records Haven already has, never to what another file was.
	plan, err := im.s.plan(ctx, im.p, entries, planOptions{keepIDs: true, skipRefused: true})
	if err != nil {
		return len(entries), err
	}
	im.apply(ctx, source+" entry", plan)
	return len(entries), nil
}

// apply writes a plan's accepted entries as one unit, leaving out (and
// reporting) any entry the record service refuses, and what depends on it.
func (im *Importer) apply(ctx context.Context, source string, plan []*entry) {
	label := func(e *entry) string { return fmt.Sprintf("%s %d", source, e.index) }
	// What is about a refused patient goes with them, before the unit is
	// tried: each entry left in that fails costs a whole attempt, and every
	// attempt audits every op.
	for _, e := range plan {
		if e.err != nil {
			im.reject(label(e), typeName(e), e.err)
			if e.t != nil && e.t.kind == haven.KindPerson && e.id != "" {
				im.refusePerson(e.id, e.err)
			}
		}
	}
	live := order(slices.DeleteFunc(slices.Clone(plan), func(e *entry) bool {
		if e.err != nil || e.rec == nil {
			return true
		}
		if why, ok := im.whyRefused(e.rec.Subject()); ok && e.t.kind != haven.KindPerson {
			im.rejectFor(label(e), e.t.name, patientRefused(why))
			return true
		}
		return false
	}))
	for len(live) > 0 {
		ops := make([]care.Op, len(live))
		for i, e := range live {
			ops[i], _ = e.op(true)
		}
		applied, err := im.s.care.Apply(ctx, im.p, ops)
		var oe *care.OpError
		if errors.As(err, &oe) {
			bad := live[oe.Index]
			im.reject(label(bad), bad.t.name, oe.Err)
			live = slices.Delete(live, oe.Index, oe.Index+1)
			if bad.t.kind == haven.KindPerson {
				im.refusePerson(bad.id, oe.Err)
				live = slices.DeleteFunc(live, func(e *entry) bool {
					if e.rec.Subject() == bad.id {
						im.rejectFor(label(e), e.t.name, patientRefused(oe.Err))
						return true
					}
					return false
				})
			}
			continue
		}
		if err != nil {
			for _, e := range live {
				im.reject(label(e), e.t.name, err)
			}
			return
		}
		im.mu.Lock()
		for i, a := range applied {
			if live[i].t.kind == haven.KindPerson {
				delete(im.refused, live[i].id) // refused elsewhere, kept here
			}
			c := im.count(live[i].t.name)
			switch {
			case a.Unchanged:
				c.Unchanged++
				im.report.Unchanged++
			case a.Created:
				c.Created++
				im.report.Created++
			default:
				c.Updated++
				im.report.Updated++
			}
		}
		im.mu.Unlock()
		return
	}
}

func typeName(e *entry) string {
	if e.t != nil {
		return e.t.name
	}
	rt, _ := e.res["resourceType"].(string)
	return rt
}

// ndjsonBatch is how many NDJSON resources are written as one unit.
const ndjsonBatch = 200

// NDJSON imports newline-delimited resources, as a Bulk Data export
// writes them: each keeps its id, and references are to Type/id, within
// the export: source names the file, and the files in one folder are one
// export (exportOf). A line Haven cannot read (not JSON, or longer than a
// resource may be) is left out and reported, and the rest of the file is
// still imported.
func (im *Importer) NDJSON(ctx context.Context, source string, r io.Reader, progress func(int)) error {
	export := exportOf(source)
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	var entries []any
	var lines []int // the line each entry is on
	run := func() error {
		if len(entries) == 0 {
			return nil
		}
		im.mu.Lock()
		im.report.Resources += len(entries)
		im.mu.Unlock()
		plan, err := im.s.plan(ctx, im.p, entries, planOptions{keepIDs: true, skipRefused: true, kept: im.keptIn(export)})
		if err != nil {
			return err
		}
		for _, e := range plan {
			e.index = lines[e.index]
		}
		im.remember(export, plan)
		im.apply(ctx, source+" line", plan)
		if progress != nil {
			progress(len(entries))
		}
		entries, lines = nil, nil
		return nil
	}
	for {
		text, tooLong, err := readLine(br, maxBody)
		if err != nil && err != io.EOF {
			return fmt.Errorf("%s line %d: %w", source, line+1, err)
		}
		if len(text) == 0 && !tooLong && err == io.EOF {
			break
		}
		line++
		if line == 1 {
			// A byte order mark, as some tools write one: not part of
			// the JSON.
			text = bytes.TrimPrefix(text, []byte("\ufeff"))
		}
		text = bytes.TrimSpace(text)
		if len(text) == 0 && !tooLong {
			continue
		}
		var res object
		if tooLong {
			err = haven.Invalid("resource", "is longer than the %d MiB a resource may be", maxBody>>20)
		} else {
			res, err = decodeObject(text, "resource")
		}
		if err != nil {
			im.mu.Lock()
			im.report.Resources++
			im.mu.Unlock()
			im.reject(fmt.Sprintf("%s line %d", source, line), "", err)
			continue
		}
		rt, _ := res["resourceType"].(string)
		id, _ := res["id"].(string)
		if im.SyntheticNHSNumbers && rt == "Patient" {
			// The seed is the id: NDJSON has no fullUrl.
			if err := im.addSyntheticNHSNumber(ctx, res, ""); err != nil {
				return err
			}
		}
		e := object{"resource": res, "request": object{"method": "POST", "url": rt}}
		if uuidPattern.MatchString(id) {
			e["fullUrl"] = "urn:uuid:" + id
		}
		entries, lines = append(entries, e), append(lines, line)
		if len(entries) == ndjsonBatch {
			if err := run(); err != nil {
				return err
			}
		}
	}
	return run()
}

// readLine reads one line of r, holding at most limit bytes of it: of a
// longer line, it reads past the rest and reports it too long. err is
// io.EOF at the end of the input, with the last line if it had no end.
func readLine(r *bufio.Reader, limit int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong && len(line)+len(chunk) > limit {
			line, tooLong = nil, true
		}
		if !tooLong {
			line = append(line, chunk...)
		}
		if err != bufio.ErrBufferFull {
			return line, tooLong, err
		}
	}
}

// addSyntheticNHSNumber gives a Patient without an NHS number one from the
// test range, derived from the entry's fullUrl, or else the resource id.
//
// The range holds about 909,000 valid numbers, so among 1,000 people two
// seeds derive the same one about half the time, and an import matches
// patients on their NHS number: the second would be filed as the first.
// So a number goes to one person only. A number the tenant already gives
// to another person is passed over, and so is one this import has given
// to another patient; the patient then takes the next number derived from
// the seed. People are told apart by the id each is kept under with the
// number (importID), which a second import gives them again: so it gives
// each kept patient the number it was given the first time, whichever of a
// pair comes first.
func (im *Importer) addSyntheticNHSNumber(ctx context.Context, res object, fullURL string) error {
	if nhsIdentifier(res) != "" {
		return nil
	}
	sourceID, _ := res["id"].(string)
	seed := fullURL
	if seed == "" {
		seed = sourceID
	}
	if seed == "" {
		// Nothing to stay stable for: a seed of its own, whose numbers
		// no other patient's share.
		seed = care.NewID()
	}
	number := ""
	for nth := 0; number == ""; nth++ {
		candidate := syntheticNHSNumber(seed, nth)
		owner := importID("Patient", fullURL, sourceID, NHSNumberSystem+"|"+candidate)
		if !im.mayGive(candidate, owner) {
			continue
		}
		holders, err := im.s.care.Search(ctx, im.p, care.Query{NHSNumber: candidate, Limit: 2})
		if err != nil {
			return fmt.Errorf("synthetic NHS number: %w", err)
		}
		if len(holders) > 0 && (len(holders) > 1 || holders[0].ID != owner) {
			im.mu.Lock()
			im.given[candidate] = holders[0].ID
			im.mu.Unlock()
			continue
		}
		im.mu.Lock()
		if prev, taken := im.given[candidate]; !taken || prev == owner {
			im.given[candidate] = owner
			number = candidate
		}
		im.mu.Unlock()
	}
	ids, _ := res["identifier"].([]any)
	res["identifier"] = append(ids, object{"system": NHSNumberSystem, "value": number,
		"assigner": object{"display": "synthetic test number given by haven import"}})
	return nil
}

// mayGive reports whether this import has not given number to anyone
// other than owner.
func (im *Importer) mayGive(number, owner string) bool {
	im.mu.Lock()
	defer im.mu.Unlock()
	prev, taken := im.given[number]
	return !taken || prev == owner
}

// SyntheticNHSNumber derives a valid NHS number in the test range (999
// 000 0000 to 999 999 9999, never issued to patients) from seed.
func SyntheticNHSNumber(seed string) string { return syntheticNHSNumber(seed, 0) }

// syntheticNHSNumber is the nth valid number derived from seed.
func syntheticNHSNumber(seed string, nth int) string {
	for i := uint32(0); ; i++ {
		h := sha256.Sum256(binary.BigEndian.AppendUint32([]byte(seed), i))
		n := binary.BigEndian.Uint64(h[:8]) % 1_000_000
		base := fmt.Sprintf("999%06d", n)
		sum := 0
		for k := 0; k < 9; k++ {
			sum += int(base[k]-'0') * (10 - k)
		}
		check := 11 - sum%11
		if check == 11 {
			check = 0
		}
		if check == 10 {
			continue
		}
		if nth > 0 {
			nth--
			continue
		}
		return base + fmt.Sprint(check)
	}
}
