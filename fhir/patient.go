package fhir

// Patient: Haven's person record as a FHIR R4 Patient, following UK Core
// conventions (the NHS number is the identifier, the official name, the home
// address). The structs are Haven's own, not a generated model: they hold
// exactly what Haven keeps, and PersonFromPatient refuses anything else
// rather than dropping it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/havencare/haven"
)

// NHSNumberSystem is the identifier system of NHS numbers.
const NHSNumberSystem = haven.NHSNumberSystem

// MaxPatientBytes is the largest Patient body PersonFromPatient reads.
const MaxPatientBytes = 1 << 20

// maxPatientDepth bounds how deeply a Patient body may nest. Everything
// Haven keeps is at most four levels deep; the bound only stops a body of
// brackets from costing deep recursion.
const maxPatientDepth = 32

// Patient is the subset of FHIR R4 Patient Haven keeps, as JSON.
type Patient struct {
	ResourceType        string         `json:"resourceType"`
	ID                  string         `json:"id,omitempty"`
	Meta                *Meta          `json:"meta,omitempty"`
	Identifier          []Identifier   `json:"identifier,omitempty"`
	Name                []HumanName    `json:"name,omitempty"`
	Telecom             []ContactPoint `json:"telecom,omitempty"`
	Gender              string         `json:"gender,omitempty"`
	BirthDate           string         `json:"birthDate,omitempty"`
	Address             []Address      `json:"address,omitempty"`
	GeneralPractitioner []Reference    `json:"generalPractitioner,omitempty"`
}

// Meta is the version and time of the record a resource was read from.
type Meta struct {
	VersionID   string `json:"versionId,omitempty"`
	LastUpdated string `json:"lastUpdated,omitempty"`
}

// Identifier is a business identifier. Haven keeps one: the NHS number.
type Identifier struct {
	Use    string `json:"use,omitempty"`
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// HumanName is a person's name. Haven keeps one name, family and given; a
// name's "text" is accepted as a rendering of those parts and not kept.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
}

// ContactPoint is a means of contact. Haven keeps one phone number.
type ContactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
}

// Address is a postal address. Haven keeps one, the home address, in the UK:
// Country is read (and must name the UK) but never written.
type Address struct {
	Use        string   `json:"use,omitempty"`
	Line       []string `json:"line,omitempty"`
	City       string   `json:"city,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	Country    string   `json:"country,omitempty"`
}

// Reference points at another resource. Haven keeps the registered GP
// practice as text (its ODS code and name), so only Display is written.
type Reference struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

// PatientFromPerson returns p as a Patient at the given version (written as
// meta.versionId when positive) and time (meta.lastUpdated, as the caller
// formats it). It writes only what a Patient says about the person: never
// Canary, which must leave a decoy indistinguishable from anyone else.
func PatientFromPerson(p haven.Person, versionID int64, lastUpdated string) Patient {
	pt := Patient{ResourceType: "Patient", ID: p.ID, Gender: p.Gender, BirthDate: p.BirthDate.String()}
	if versionID > 0 || lastUpdated != "" {
		pt.Meta = &Meta{LastUpdated: lastUpdated}
		if versionID > 0 {
			pt.Meta.VersionID = strconv.FormatInt(versionID, 10)
		}
	}
	if p.NHSNumber != "" {
		pt.Identifier = []Identifier{{System: NHSNumberSystem, Value: p.NHSNumber}}
	}
	if given := strings.Fields(p.Given); p.Family != "" || len(given) > 0 {
		pt.Name = []HumanName{{Use: "official", Family: p.Family, Given: given}}
	}
	if p.Phone != "" {
		pt.Telecom = []ContactPoint{{System: "phone", Value: p.Phone}}
	}
	if a := p.Address; len(a.Lines) > 0 || a.City != "" || a.Postcode != "" {
		pt.Address = []Address{{Use: "home", Line: slices.Clone(a.Lines), City: a.City, PostalCode: a.Postcode}}
	}
	if p.GPPractice != "" {
		pt.GeneralPractitioner = []Reference{{Display: p.GPPractice}}
	}
	return pt
}

// PersonFromPatient reads a Patient resource into a Person and validates it.
// Every error is a *haven.InvalidError whose Field is the FHIR path of the
// offending element ("Patient.identifier[0].value"), or "Patient" for the
// body as a whole.
//
// id is the logical id from the request URL (update): an id in the body
// must equal it. An empty id means create, where FHIR R4 says the server
// ignores any id in the body: the Person is returned with no ID for the
// caller to assign, having passed every other check.
//
// Decoding is strict about what Haven reads: the body is one JSON object of
// at most MaxPatientBytes, with resourceType "Patient", no repeated keys and
// no keys that differ from an element's name only in case, and every
// element the Person is made from must have the type and codes FHIR says.
// Elements Haven does not show (other identifiers, extensions, further
// names and contacts) are not refused: the FHIR layer keeps the whole
// resource, sealed, inside the record, and serves it back as sent. Of
// several names, the first official or usual name is the person's, else
// the first with no use; of several addresses, the first home address,
// else the first with no use; the first current phone number; the current
// NHS number, which is required.
func PersonFromPatient(body []byte, id string) (haven.Person, error) {
	pt, err := decodePatient(body)
	if err != nil {
		return haven.Person{}, err
	}
	return pt.person(id)
}

// decodePatient checks body's shape and keys, then decodes it.
func decodePatient(body []byte) (*Patient, error) {
	if len(body) > MaxPatientBytes {
		return nil, haven.Invalid("Patient", "the body is %d bytes; the limit is %d", len(body), MaxPatientBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // a number too large for float64 is still JSON
	tok, err := dec.Token()
	if err == io.EOF {
		return nil, haven.Invalid("Patient", "the body is empty; send a FHIR Patient resource as JSON")
	} else if err != nil {
		return nil, patientSyntaxError(dec, err)
	}
	if tok != json.Delim('{') {
		return nil, haven.Invalid("Patient", "the body must be one JSON object, a FHIR Patient resource; found %s", jsonKindOf(tok))
	}
	w := &patientKeys{dec: dec}
	if err := w.object("Patient", patientType, 1); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, haven.Invalid("Patient", "unexpected data after the resource; the body must be exactly one JSON object")
	}
	switch {
	case w.rtSeen && w.rt != "Patient":
		return nil, haven.Invalid("Patient.resourceType", `must be "Patient"; found %s`, quoteShort(w.rt))
	case w.err != nil:
		return nil, w.err
	case !w.rtSeen:
		return nil, haven.Invalid("Patient.resourceType", `is required ("Patient"); found none`)
	}
	var in struct {
		Patient
		// Meta is accepted and not kept; this shallower field shadows
		// Patient.Meta so that whatever meta holds is not decoded.
		Meta json.RawMessage `json:"meta"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		// The walk above checked every type; this is a safety net.
		return nil, haven.Invalid("Patient", "cannot be read: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return &in.Patient, nil
}

// The FHIR value sets of the codes Haven reads (all required bindings).
var (
	identifierUses = []string{"usual", "official", "temp", "secondary", "old"}
	nameUses       = []string{"usual", "official", "temp", "nickname", "anonymous", "old", "maiden"}
	telecomSystems = []string{"phone", "fax", "email", "pager", "url", "sms", "other"}
	telecomUses    = []string{"home", "work", "temp", "old", "mobile"}
	addressUses    = []string{"home", "work", "temp", "old", "billing"}
	genders        = []string{"male", "female", "other", "unknown"}
)

// person turns a decoded Patient into a Person, checking what Haven needs.
func (pt *Patient) person(id string) (haven.Person, error) {
	p := haven.Person{ID: id}
	// where maps Person.Validate's field names to the FHIR paths they came
	// from, so its errors name the element the client sent.
	where := map[string]string{"id": "Patient.id", "birthDate": "Patient.birthDate", "gender": "Patient.gender"}
	if id == "" {
		// Create: the caller assigns the id. Validate with a stand-in.
		p.ID = "new"
	} else if pt.ID != "" && pt.ID != id {
		return haven.Person{}, haven.Invalid("Patient.id", "is %s but the request is for %s; a resource's id cannot change", quoteShort(pt.ID), quoteShort(id))
	}

	// identifier: exactly one, the NHS number.
	nhs := -1
	for i, ident := range pt.Identifier {
		path := fmt.Sprintf("Patient.identifier[%d]", i)
		switch {
		case !validCode(ident.Use, identifierUses):
			return haven.Person{}, badCode(path+".use", identifierUses)
		case ident.System != NHSNumberSystem || ident.Use == "old":
			// Other identifiers, and former NHS numbers, stay in the
			// resource as sent; Haven identifies people by the current
			// NHS number.
			continue
		case nhs >= 0:
			return haven.Person{}, haven.Invalid(path, "is a second NHS number; Haven keeps one")
		case ident.Value == "":
			return haven.Person{}, haven.Invalid(path+".value", "is required")
		}
		v := haven.NormalizeNHSNumber(ident.Value)
		if !haven.ValidNHSNumber(v) {
			return haven.Person{}, haven.Invalid(path+".value", "is not a valid NHS number (10 digits, the last a modulus 11 check digit)")
		}
		nhs, p.NHSNumber, where["nhsNumber"] = i, v, path+".value"
	}
	if nhs < 0 {
		return haven.Person{}, haven.Invalid("Patient.identifier", "an NHS number (system %s) is required", NHSNumberSystem)
	}

	// name: the one official or usual name, else the first with no use.
	marked, unmarked := -1, -1
	for i, n := range pt.Name {
		path := fmt.Sprintf("Patient.name[%d]", i)
		if !validCode(n.Use, nameUses) {
			return haven.Person{}, badCode(path+".use", nameUses)
		}
		switch n.Use {
		case "official", "usual":
			if marked < 0 {
				marked = i
			}
		case "":
			if unmarked < 0 {
				unmarked = i
			}
		}
	}
	chosen := marked
	if chosen < 0 {
		chosen = unmarked
	}
	switch {
	case len(pt.Name) == 0:
		return haven.Person{}, haven.Invalid("Patient.name", "is required: an official name with family and given names")
	case chosen < 0:
		return haven.Person{}, haven.Invalid("Patient.name", "has no official, usual or unmarked name; Haven keeps the name the patient is officially known by")
	}
	name, namePath := pt.Name[chosen], fmt.Sprintf("Patient.name[%d]", chosen)
	if strings.TrimSpace(name.Family) == "" {
		return haven.Person{}, haven.Invalid(namePath+".family", "is required")
	}
	if len(name.Given) == 0 {
		return haven.Person{}, haven.Invalid(namePath+".given", "at least one given name is required")
	}
	for k, g := range name.Given {
		switch {
		case strings.TrimSpace(g) == "":
			return haven.Person{}, haven.Invalid(fmt.Sprintf("%s.given[%d]", namePath, k), "is blank")
		case strings.ContainsFunc(g, unicode.IsControl):
			return haven.Person{}, haven.Invalid(fmt.Sprintf("%s.given[%d]", namePath, k), "contains control characters")
		}
	}
	// Haven keeps given names as one string, separated by single spaces;
	// PatientFromPerson splits it on spaces again.
	p.Family = name.Family
	p.Given = strings.Join(strings.Fields(strings.Join(name.Given, " ")), " ")
	where["family"], where["given"] = namePath+".family", namePath+".given"

	// telecom: at most one, a phone number.
	phone := -1
	for i, c := range pt.Telecom {
		path := fmt.Sprintf("Patient.telecom[%d]", i)
		switch {
		case !validCode(c.System, telecomSystems):
			return haven.Person{}, badCode(path+".system", telecomSystems)
		case !validCode(c.Use, telecomUses):
			return haven.Person{}, badCode(path+".use", telecomUses)
		case c.System != "phone" || c.Use == "old" || phone >= 0:
			// Haven shows one current phone number; the rest stay in
			// the resource as sent.
			continue
		case c.Value == "":
			return haven.Person{}, haven.Invalid(path+".value", "is required")
		}
		phone, p.Phone, where["phone"] = i, c.Value, path+".value"
	}

	// gender and birthDate.
	switch {
	case pt.Gender == "":
		return haven.Person{}, haven.Invalid("Patient.gender", "is required: male, female, other or unknown")
	case !validCode(pt.Gender, genders):
		return haven.Person{}, badCode("Patient.gender", genders)
	}
	p.Gender = pt.Gender
	if pt.BirthDate == "" {
		return haven.Person{}, haven.Invalid("Patient.birthDate", "is required")
	}
	d, err := haven.ParseDate(pt.BirthDate)
	if err != nil {
		return haven.Person{}, haven.Invalid("Patient.birthDate", "must be a full date that exists, in the form YYYY-MM-DD")
	}
	p.BirthDate = d

	// address: the first home address, else the first with no use.
	home, plain := -1, -1
	for i, a := range pt.Address {
		if !validCode(a.Use, addressUses) {
			return haven.Person{}, badCode(fmt.Sprintf("Patient.address[%d].use", i), addressUses)
		}
		if a.Use == "home" && home < 0 {
			home = i
		}
		if a.Use == "" && plain < 0 {
			plain = i
		}
	}
	if home < 0 {
		home = plain
	}
	if len(pt.Address) > 0 && home < 0 {
		return haven.Person{}, haven.Invalid("Patient.address", `has no home address (use "home", or no use); Haven keeps the home address only`)
	}
	if home >= 0 {
		a, path := pt.Address[home], fmt.Sprintf("Patient.address[%d]", home)
		p.Address = haven.Address{Lines: a.Line, City: a.City, Postcode: a.PostalCode}
		where["address.lines"], where["address.city"], where["address.postcode"] = path+".line", path+".city", path+".postalCode"
	}

	// generalPractitioner: at most one, the practice as text.
	for i, r := range pt.GeneralPractitioner {
		path := fmt.Sprintf("Patient.generalPractitioner[%d]", i)
		if i > 0 || r.Display == "" {
			continue // Haven shows the registered practice by name
		}
		p.GPPractice, where["gpPractice"] = r.Display, path+".display"
	}

	if err := p.Validate(); err != nil {
		return haven.Person{}, atPath(err, where)
	}
	// Haven keeps records of at most MaxRecordBytes once encoded (escaping
	// can grow text sixfold), as haven.Decode does.
	if b, err := json.Marshal(p); err != nil {
		return haven.Person{}, haven.Invalid("Patient", "cannot be kept: %v", err)
	} else if len(b) > haven.MaxRecordBytes {
		return haven.Person{}, haven.Invalid("Patient", "is %d bytes once kept as a Haven record; the limit is %d", len(b), haven.MaxRecordBytes)
	}
	if id == "" {
		p.ID = ""
	}
	return p, nil
}

// atPath rewrites the Field of an InvalidError from Person.Validate, which
// names Haven's fields, to the FHIR path the value came from.
func atPath(err error, where map[string]string) error {
	var inv *haven.InvalidError
	if !errors.As(err, &inv) {
		return haven.Invalid("Patient", "%v", err)
	}
	path, ok := where[inv.Field]
	if !ok {
		if rest, found := strings.CutPrefix(inv.Field, "address.lines["); found && where["address.lines"] != "" {
			path, ok = where["address.lines"]+"["+rest, true
		}
	}
	if !ok {
		path = "Patient"
	}
	return &haven.InvalidError{Field: path, Reason: inv.Reason}
}

func validCode(v string, allowed []string) bool { return v == "" || slices.Contains(allowed, v) }

func badCode(path string, allowed []string) error {
	return haven.Invalid(path, "must be one of %s", strings.Join(allowed, ", "))
}

// quoteShort quotes a value for an error message, cut to 64 bytes: errors
// are logged, and a megabyte of attacker's text should not be.
func quoteShort(s string) string {
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "") + "..."
	}
	return strconv.Quote(s)
}

// patientType is the type whose JSON form the key walk checks.
var patientType = reflect.TypeFor[Patient]()

// patientIgnored lists the elements accepted and not kept, by the struct
// they belong to, with the JSON kind each must have.
var patientIgnored = map[reflect.Type]map[string]string{
	patientType:                  {"text": "an object", "meta": "an object", "active": "true or false"},
	reflect.TypeFor[HumanName](): {"text": "a string"},
}

// patientKeys walks a Patient body token by token, as haven's exactKeys
// walks records: encoding/json would accept a repeated key or a key in the
// wrong case and silently keep one value, and would skip unknown elements.
// It also checks each kept value's JSON type, so errors name the element.
type patientKeys struct {
	dec      *json.Decoder
	err      error // the first problem with a kept element
	rt       string
	rtSeen   bool
	ext      []string // paths of extensions, the first few
	nExt     int
	unknown  []string // paths of elements Haven does not keep, the first few
	nUnknown int
}

const patientListed = 10 // paths named in one error

func (w *patientKeys) fail(path, format string, args ...any) {
	if w.err == nil {
		w.err = haven.Invalid(path, format, args...)
	}
}

// value walks the next value, at path, expected to be JSON for Go type t;
// nil t means anything (only repeated keys are checked). Only malformed JSON
// and excessive nesting stop the walk; other problems are noted and the
// walk goes on, so that resourceType is always found.
func (w *patientKeys) value(path string, t reflect.Type, depth int) error {
	tok, err := w.dec.Token()
	if err != nil {
		return patientSyntaxError(w.dec, err)
	}
	return w.valueFrom(tok, path, t, depth)
}

func (w *patientKeys) valueFrom(tok json.Token, path string, t reflect.Type, depth int) error {
	if depth > maxPatientDepth {
		return haven.Invalid(path, "nests more than %d levels deep", maxPatientDepth)
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		switch tok {
		case json.Delim('{'):
			return w.object(path, nil, depth)
		case json.Delim('['):
			return w.array(path, nil, depth)
		}
		return nil
	}
	var want string
	switch t.Kind() {
	case reflect.String:
		s, ok := tok.(string)
		if !ok {
			want = "a string"
			break
		}
		if s == "" {
			w.fail(path, "must not be empty (a FHIR string has at least one character)")
		}
		if path == "Patient.resourceType" && !w.rtSeen {
			w.rt, w.rtSeen = s, true
		}
		return nil
	case reflect.Slice:
		if tok == json.Delim('[') {
			return w.array(path, t.Elem(), depth)
		}
		want = "an array"
	case reflect.Struct:
		if tok == json.Delim('{') {
			return w.object(path, t, depth)
		}
		want = "an object"
	default:
		panic("fhir: no JSON check for " + t.String())
	}
	w.fail(path, "must be %s; found %s", want, jsonKindOf(tok))
	return w.valueFrom(tok, path, nil, depth)
}

func (w *patientKeys) array(path string, elem reflect.Type, depth int) error {
	n := 0
	for w.dec.More() {
		p := path
		if elem != nil {
			p = path + "[" + strconv.Itoa(n) + "]"
		}
		if err := w.value(p, elem, depth+1); err != nil {
			return err
		}
		n++
	}
	if _, err := w.dec.Token(); err != nil {
		return patientSyntaxError(w.dec, err)
	}
	switch {
	case elem == nil:
	case n == 0:
		w.fail(path, "must not be an empty array (leave the element out)")
	case n > haven.MaxListLength:
		w.fail(path, "has %d entries; the limit is %d", n, haven.MaxListLength)
	}
	return nil
}

// object walks an object whose '{' has been read.
func (w *patientKeys) object(path string, t reflect.Type, depth int) error {
	fields, ignored := patientFields(t), patientIgnored[t]
	seen := map[string]bool{}
	n := 0
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return patientSyntaxError(w.dec, err)
		}
		key, _ := tok.(string) // Token returns only strings as keys
		n++
		kp := path + "." + keyInPath(key)
		if fold := strings.ToLower(key); seen[fold] {
			w.fail(kp, "appears twice (element names are case-sensitive; send each once)")
		} else {
			seen[fold] = true
		}
		if t == nil {
			if err := w.value(kp, nil, depth+1); err != nil {
				return err
			}
			continue
		}
		if kind, ok := ignored[key]; ok {
			if err := w.ignoredValue(kp, key, kind, depth+1); err != nil {
				return err
			}
			continue
		}
		if ft, ok := fields[key]; ok {
			if err := w.value(kp, ft, depth+1); err != nil {
				return err
			}
			continue
		}
		switch near := nearKey(key, fields, ignored); {
		case key == "extension" || key == "modifierExtension" || strings.HasPrefix(key, "_"):
			if w.nExt++; len(w.ext) < patientListed {
				w.ext = append(w.ext, kp)
			}
		case near != "":
			w.fail(kp, "is not an element of %s; did you mean %q? (FHIR element names are case-sensitive)", path, near)
		default:
			if w.nUnknown++; len(w.unknown) < patientListed {
				w.unknown = append(w.unknown, kp)
			}
		}
		if err := w.value(kp, nil, depth+1); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return patientSyntaxError(w.dec, err)
	}
	if t != nil && n == 0 && depth > 1 {
		w.fail(path, "must not be an empty object (leave the element out)")
	}
	return nil
}

// ignoredValue walks an element that is accepted and not kept.
func (w *patientKeys) ignoredValue(path, key, kind string, depth int) error {
	tok, err := w.dec.Token()
	if err != nil {
		return patientSyntaxError(w.dec, err)
	}
	ok := false
	switch kind {
	case "an object":
		ok = tok == json.Delim('{')
	case "a string":
		_, ok = tok.(string)
	case "true or false":
		_, ok = tok.(bool)
	}
	switch {
	case !ok:
		w.fail(path, "must be %s; found %s", kind, jsonKindOf(tok))
	case key == "active" && tok == false:
		// active is a modifier element: ignoring false would keep a record
		// the sender says is no longer in use as if it were.
		w.fail(path, "is false: Haven keeps patient records that are in use only")
	}
	return w.valueFrom(tok, path, nil, depth)
}

// patientFields maps the JSON names of t's fields to their types.
func patientFields(t reflect.Type) map[string]reflect.Type {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	fields := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			fields[name] = f.Type
		}
	}
	return fields
}

// nearKey returns the element name key matches when case is ignored, as
// encoding/json would match it, or "".
func nearKey(key string, fields map[string]reflect.Type, ignored map[string]string) string {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return name
		}
	}
	for name := range ignored {
		if strings.EqualFold(name, key) {
			return name
		}
	}
	return ""
}

// keyInPath writes a key for an element path: as it is when it looks like
// an element name, quoted and cut short otherwise.
func keyInPath(key string) string {
	if key == "" || len(key) > 64 || strings.ContainsFunc(key, func(r rune) bool {
		return !(r == '_' || r == '-' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z'))
	}) {
		return quoteShort(key)
	}
	return key
}

// jsonKindOf names the kind of JSON value a token starts.
func jsonKindOf(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "null"
	}
	return "something else"
}

// patientSyntaxError describes malformed JSON.
func patientSyntaxError(dec *json.Decoder, err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return haven.Invalid("Patient", "the JSON ends early, at byte %d", dec.InputOffset())
	case errors.As(err, &syn):
		return haven.Invalid("Patient", "malformed JSON at byte %d: %s", syn.Offset, strings.ToValidUTF8(syn.Error(), "?"))
	}
	return haven.Invalid("Patient", "malformed JSON at byte %d", dec.InputOffset())
}
