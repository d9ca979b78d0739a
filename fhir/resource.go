package fhir

// Resources as Haven receives and serves them: decoding a body into a
// generic JSON object (strictly: one object, no repeated keys, bounded
// depth), the registry of the types Haven serves, and turning a resource
// into the record Haven keeps and back.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/go-json-experiment/json/jsontext"
	"io"
	"maps"
	"reflect"
	"strconv"
	"strings"

	"github.com/havencare/haven"
	"github.com/havencare/haven/care"
)

// object is a FHIR resource (or any JSON object) decoded generically, with
// numbers kept as written.
type object = map[string]any

// maxDepth bounds how deeply a resource may nest; FHIR resources are a
// dozen levels at most.
const maxDepth = 64

// decodeObject reads body as exactly one JSON object, refusing repeated keys
// (encoding/json would silently keep the last) and runaway nesting. where
// names the body in errors ("Condition", "Bundle.entry[3].resource").
func decodeObject(body []byte, where string) (object, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, haven.Invalid(where, "the body is empty; send a FHIR resource as JSON")
	}
	if o, ok := decodeWellFormed(body); ok {
		return o, nil
	}
	// Something is wrong with it: walk it token by token to say what, and
	// where.
	return decodeByTokens(body, where)
}

// decodeByTokens is decodeObject's careful path.
func decodeByTokens(body []byte, where string) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, err := readValue(dec, where, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, haven.Invalid(where, "unexpected data after the resource; the body must be exactly one JSON object")
	}
	o, ok := v.(object)
	if !ok {
		return nil, haven.Invalid(where, "must be one JSON object, a FHIR resource")
	}
	return o, nil
}

// decodeWellFormed is decodeObject's fast path, for the body that has
// nothing wrong with it (every body a working client sends). It reads the
// body once, token by token with jsontext, which refuses repeated names
// and invalid UTF-8, and builds the same values the careful walk does
// (exact numbers as json.Number). Any doubt sends the body to the careful
// walk, which finds the fault and names its path. The walk is several
// times slower; validating with jsontext and then decoding again with
// encoding/json read every body three times, and was a third of an
// import's processor time.
func decodeWellFormed(body []byte) (object, bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	if dec.PeekKind() != '{' {
		return nil, false
	}
	v, ok := buildValue(dec, 0)
	if !ok {
		return nil, false
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, false // data after the object
	}
	return v.(object), true
}

// buildValue reads one value from dec, at depth as readValue counts it;
// false on anything readValue would refuse or that jsontext doubts.
func buildValue(dec *jsontext.Decoder, depth int) (any, bool) {
	if depth > maxDepth {
		return nil, false
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, false
	}
	switch tok.Kind() {
	case '{':
		o := object{}
		for dec.PeekKind() != '}' {
			name, err := dec.ReadToken()
			if err != nil || name.Kind() != '"' {
				return nil, false
			}
			k := name.String() // before the next read voids the token
			v, ok := buildValue(dec, depth+1)
			if !ok {
				return nil, false
			}
			o[k] = v
		}
		_, err = dec.ReadToken()
		return o, err == nil
	case '[':
		a := []any{}
		for dec.PeekKind() != ']' {
			v, ok := buildValue(dec, depth+1)
			if !ok {
				return nil, false
			}
			a = append(a, v)
		}
		_, err = dec.ReadToken()
		return a, err == nil
	case '"':
		return tok.String(), true
	case '0':
		return json.Number(tok.String()), true
	case 't', 'f':
		return tok.Bool(), true
	case 'n':
		return nil, true
	}
	return nil, false
}

// readValue reads one JSON value token by token.
func readValue(dec *json.Decoder, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, haven.Invalid(path, "nests more than %d levels deep", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(dec, path, err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, syntaxError(dec, path, err)
				}
				k, _ := kt.(string)
				if _, dup := o[k]; dup {
					return nil, haven.Invalid(path+"."+k, "appears twice")
				}
				v, err := readValue(dec, path+"."+k, depth+1)
				if err != nil {
					return nil, err
				}
				o[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, syntaxError(dec, path, err)
			}
			return o, nil
		case '[':
			a := []any{}
			for dec.More() {
				v, err := readValue(dec, fmt.Sprintf("%s[%d]", path, len(a)), depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, syntaxError(dec, path, err)
			}
			return a, nil
		}
	}
	return tok, nil
}

func syntaxError(dec *json.Decoder, path string, err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return haven.Invalid(path, "the JSON ends too early")
	}
	return haven.Invalid(path, "is not valid JSON near byte %d: %s", dec.InputOffset(), strings.TrimPrefix(err.Error(), "json: "))
}

// str reads a string element at a dotted path ("period.start",
// "code.coding.0.code"); "" when absent or not a string.
func str(o object, path string) string {
	s, _ := at(o, path).(string)
	return s
}

// at walks a dotted path through objects and arrays.
func at(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case object:
			v = x[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// typeInfo is what Haven knows of one FHIR resource type it serves.
type typeInfo struct {
	name string
	// kind is where resources of this type are kept; alsoKinds are read
	// (never written) as this type too: Haven's staff are served as
	// Practitioners beside the external practitioners it keeps.
	kind      haven.Kind
	alsoKinds []haven.Kind
	// subject is the element that references the patient ("subject",
	// "patient"), "participant" for Appointment, or "" for resources that
	// belong to the organisation.
	subject string
	// dates are the elements the date search parameter compares, the first
	// present one winning.
	dates []string
	// readOnly types are served but never written through the API.
	readOnly bool
}

// types are the resource types Haven serves, by name.
var types = map[string]*typeInfo{}

func init() {
	add := func(t typeInfo) { types[t.name] = &t }
	add(typeInfo{name: "Patient", kind: haven.KindPerson, subject: "id"})
	add(typeInfo{name: "Condition", kind: haven.KindCondition, subject: "subject", dates: []string{"onsetDateTime", "onsetPeriod.start", "recordedDate"}})
	add(typeInfo{name: "AllergyIntolerance", kind: haven.KindAllergy, subject: "patient", dates: []string{"onsetDateTime", "recordedDate"}})
	add(typeInfo{name: "MedicationStatement", kind: haven.KindMedication, subject: "subject", dates: []string{"effectiveDateTime", "effectivePeriod.start", "dateAsserted"}})
	add(typeInfo{name: "Observation", kind: haven.KindObservation, subject: "subject", dates: []string{"effectiveDateTime", "effectiveInstant", "effectivePeriod.start", "issued"}})
	add(typeInfo{name: "DocumentReference", kind: haven.KindNote, subject: "subject", dates: []string{"date"}})
	add(typeInfo{name: "CarePlan", kind: haven.KindCarePlan, subject: "subject", dates: []string{"period.start"}})
	add(typeInfo{name: "CareTeam", kind: haven.KindCareTeam, subject: "subject", dates: []string{"period.start"}})
	add(typeInfo{name: "Appointment", kind: haven.KindVisit, subject: "participant", dates: []string{"start"}})
	generic := func(name, subject string, dates ...string) {
		add(typeInfo{name: name, kind: haven.ResourceKind(name), subject: subject, dates: dates})
	}
	generic("Encounter", "subject", "period.start")
	generic("Procedure", "subject", "performedDateTime", "performedPeriod.start")
	generic("Immunization", "patient", "occurrenceDateTime")
	generic("MedicationRequest", "subject", "authoredOn")
	generic("DiagnosticReport", "subject", "effectiveDateTime", "effectivePeriod.start", "issued")
	generic("ImagingStudy", "subject", "started")
	generic("Goal", "subject", "startDate")
	generic("PractitionerRole", "")
	generic("Organization", "")
	generic("Practitioner", "")
	types["Practitioner"].alsoKinds = []haven.Kind{haven.KindStaff}
	for name := range types {
		if name != "Patient" && types[name].kind != haven.ResourceKind(name) {
			if _, ok := mappedTypes[name]; !ok {
				panic("fhir: no mapping for " + name)
			}
		}
		if types[name].kind == haven.ResourceKind(name) && !haven.KeepsResource(name) {
			panic("fhir: haven does not keep " + name)
		}
	}
}

// typeOfKind is the FHIR type a record kind is served as.
func typeOfKind(k haven.Kind) (*typeInfo, bool) {
	if k == haven.KindStaff {
		return types["Practitioner"], true
	}
	for _, t := range types {
		if t.kind == k {
			return t, true
		}
	}
	return nil, false
}

// notKept explains, type by type, why Haven refuses resources it does not
// keep, so that an importer knows what was left behind and why.
var notKept = map[string]string{
	"Claim":                    "is a US insurance billing claim; Haven is a care record and keeps no billing data",
	"ExplanationOfBenefit":     "is a US insurance payment explanation; Haven is a care record and keeps no billing data",
	"Coverage":                 "is insurance cover; Haven keeps no insurance or billing data",
	"ClaimResponse":            "is an insurance billing response; Haven keeps no billing data",
	"Account":                  "is a billing account; Haven keeps no billing data",
	"Invoice":                  "is a bill; Haven keeps no billing data",
	"Provenance":               "is provenance Haven records itself, in its audit log",
	"AuditEvent":               "is Haven's own audit log, which is written only by Haven",
	"Location":                 "is a place; Haven keeps addresses on people and organisations",
	"Device":                   "is a device; Haven does not keep devices",
	"Medication":               "is a medicinal product definition; Haven keeps medicines on the statements and requests that name them",
	"MedicationAdministration": "is a medicine administration record, which Haven does not keep yet",
	"SupplyDelivery":           "is a supply delivery; Haven does not keep supply chain records",
}

// unknownType is the refusal of a type Haven does not serve.
func unknownType(name string) error {
	if why, ok := notKept[name]; ok {
		return &ruleError{"not-supported", name + " " + why}
	}
	return &ruleError{"not-supported", fmt.Sprintf("Haven does not keep %s resources; GET /fhir/metadata lists the types it serves", quoteShort(name))}
}

// ruleError is a request that is well formed but that Haven will not act
// on (422), or a type it does not serve.
type ruleError struct {
	code   string // FHIR issue type
	reason string
}

func (e *ruleError) Error() string { return e.reason }

// reference returns the id a reference to a resource of type typ holds
// ("Patient/123" or an absolute URL ending so), or "" if it is not one.
func reference(v any, typ string) string {
	ref, _ := at(v, "reference").(string)
	if i := strings.LastIndex(ref, typ+"/"); i >= 0 && (i == 0 || ref[i-1] == '/') {
		id := ref[i+len(typ)+1:]
		if j := strings.Index(id, "/_history"); j >= 0 {
			id = id[:j]
		}
		if id != "" && !strings.Contains(id, "/") {
			return id
		}
	}
	return ""
}

// personOf finds the patient a resource is about, per its type.
func personOf(t *typeInfo, res object) (string, error) {
	switch t.subject {
	case "":
		return "", nil
	case "participant":
		parts, _ := res["participant"].([]any)
		for _, p := range parts {
			if id := reference(at(p, "actor"), "Patient"); id != "" {
				return id, nil
			}
		}
		return "", haven.Invalid(t.name+".participant", "a participant whose actor is the patient (Patient/<id>) is required")
	}
	v, ok := res[t.subject]
	if !ok {
		return "", haven.Invalid(t.name+"."+t.subject, "is required: a reference to the patient (Patient/<id>)")
	}
	id := reference(v, "Patient")
	if id == "" {
		return "", haven.Invalid(t.name+"."+t.subject+".reference", "must reference a Patient (Patient/<id>); Haven keeps %s records in a patient's record", t.name)
	}
	return id, nil
}

// identifiers are a resource's business identifiers as system|value.
func identifiers(res object) []string {
	var out []string
	list, _ := res["identifier"].([]any)
	for _, v := range list {
		sys, val := str(object{"v": v}, "v.system"), str(object{"v": v}, "v.value")
		if val != "" && len(out) < haven.MaxListLength {
			out = append(out, sys+"|"+val)
		}
	}
	return out
}

// dateOf is the first of t's date elements the resource has.
func dateOf(t *typeInfo, res object) string {
	for _, d := range t.dates {
		if v := str(res, d); v != "" {
			return v
		}
	}
	return ""
}

// stored is the resource as Haven keeps it: without id and meta, which
// are the record's own (its id, the store's version and time).
func stored(res object) (json.RawMessage, error) {
	c := maps.Clone(res)
	delete(c, "id")
	delete(c, "meta")
	return json.Marshal(c)
}

// toRecord turns a decoded resource into the record Haven keeps, with the
// given id. The resource's own id is not consulted (the caller checks it).
func toRecord(t *typeInfo, res object, id string) (haven.Record, error) {
	if t.readOnly {
		return nil, &ruleError{"not-supported", t.name + " is written only by Haven"}
	}
	raw, err := stored(res)
	if err != nil {
		return nil, haven.Invalid(t.name, "cannot be kept: %v", err)
	}
	switch {
	case t.kind == haven.KindPerson:
		p, err := PersonFromPatient(raw, "")
		if err != nil {
			return nil, err
		}
		p.ID, p.FHIR = id, raw
		return &p, p.Validate()
	case haven.ResourceType(t.kind) != "":
		person, err := personOf(t, res)
		if err != nil {
			return nil, err
		}
		r := &haven.Resource{ID: id, PersonID: person, Type: t.name, Body: raw, Identifiers: identifiers(res), Date: dateOf(t, res)}
		if err := r.Validate(); err != nil {
			return nil, err
		}
		if b, _ := json.Marshal(r); len(b) > haven.MaxRecordBytes {
			return nil, haven.Invalid(t.name, "is %d bytes once kept; the limit is %d", len(b), haven.MaxRecordBytes)
		}
		return r, nil
	}
	person, err := personOf(t, res)
	if err != nil {
		return nil, err
	}
	rec, err := mappedTypes[t.name].toDomain(raw, res, id, person)
	if err != nil {
		return nil, err
	}
	if b, _ := json.Marshal(rec); len(b) > haven.MaxRecordBytes {
		return nil, haven.Invalid(t.name, "is %d bytes once kept; the limit is %d", len(b), haven.MaxRecordBytes)
	}
	return rec, nil
}

// render is a record as the FHIR resource it is served as, with id and
// meta. A record that came through FHIR is served as it was sent, unless
// it has been changed in Haven since: then the elements Haven maps are
// served as Haven now holds them, over the rest of what was sent.
func render(f care.Found) (object, error) {
	var res object
	var typ string
	switch rec := f.Record.(type) {
	case *haven.Resource:
		typ = rec.Type
		o, err := storedObject(rec.Body)
		if err != nil {
			return nil, err
		}
		res = o
	case *haven.Person:
		typ = "Patient"
		if len(rec.FHIR) == 0 {
			res = asObject(PatientFromPerson(*rec, 0, ""))
			break
		}
		// The kept resource was checked in full when it was sent, so it is
		// read back with plain decoding: this is every Patient read.
		sent, err := storedObject(rec.FHIR)
		if err != nil {
			return nil, err
		}
		if !held(rec) {
			// Changed in Haven: its elements over the sent ones.
			maps.Copy(sent, asObject(PatientFromPerson(*rec, 0, "")))
		}
		res = sent
	case *haven.Staff:
		typ = "Practitioner"
		res = practitionerFromStaff(rec)
	default:
		t, ok := typeOfKind(rec.Kind())
		if !ok {
			return nil, fmt.Errorf("fhir: no resource type for %s", rec.Kind())
		}
		typ = t.name
		m := mappedTypes[typ]
		res = m.fromDomain(rec)
		if sent := sourceOf(rec); len(sent) > 0 {
			o, err := storedObject(sent)
			if err != nil {
				return nil, err
			}
			if same(m, rec, sent, o) {
				res = o
			} else {
				// Changed in Haven: the mapped elements are served as
				// Haven holds them (a choice element may change form,
				// so the sent forms go first), the rest as sent.
				for _, k := range mappedElements[typ] {
					delete(o, k)
				}
				maps.Copy(o, res)
				res = o
			}
		}
	}
	res["resourceType"] = typ
	res["id"] = f.Record.RecordID()
	res["meta"] = object{"versionId": strconv.FormatInt(f.Meta.Version, 10), "lastUpdated": f.Meta.Updated}
	return res, nil
}

// same reports whether rec still holds what sent maps to.
func same(m mapped, rec haven.Record, sent json.RawMessage, o object) bool {
	was, err := m.toDomain(sent, o, rec.RecordID(), rec.Subject())
	if err != nil {
		return false
	}
	a, _ := json.Marshal(was)
	b, _ := json.Marshal(rec)
	return bytes.Equal(a, b)
}

// sourceOf is the FHIR resource a mapped record was made from, if any.
func sourceOf(rec haven.Record) json.RawMessage {
	v := reflect.ValueOf(rec).Elem().FieldByName("FHIR")
	if !v.IsValid() {
		return nil
	}
	raw, _ := v.Interface().(json.RawMessage)
	return raw
}

// asObject re-decodes a typed value as a generic object.
func asObject(v any) object {
	b, _ := json.Marshal(v)
	o, _ := storedObject(b)
	return o
}

// storedObject decodes a resource Haven wrote or kept itself, which was
// checked by decodeObject when it came in: numbers stay exact, nothing else
// is checked again.
func storedObject(b []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var o object
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("fhir: decode kept resource: %w", err)
	}
	return o, nil
}

// sentStillHeld reports whether the person still holds exactly what the
// Patient kept with them maps to, so that it can be served as it was sent.
func sentStillHeld(rec *haven.Person) bool {
	var pt Patient
	if err := json.Unmarshal(rec.FHIR, &pt); err != nil {
		return false
	}
	was, err := pt.person("")
	if err != nil {
		return false
	}
	now := *rec
	now.ID, now.FHIR, now.Canary = "", nil, false
	return reflect.DeepEqual(was, now)
}

// practitionerFromStaff serves a member of the organisation's staff as a
// Practitioner: name and work e-mail, nothing of their account.
func practitionerFromStaff(s *haven.Staff) object {
	o := object{"active": true}
	if s.Name != "" {
		o["name"] = []any{object{"text": s.Name}}
	}
	if s.Email != "" {
		o["telecom"] = []any{object{"system": "email", "value": s.Email, "use": "work"}}
	}
	return o
}
