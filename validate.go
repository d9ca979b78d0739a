package haven

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field size limits. They are generous for real care records and small
// enough that one record cannot be used to exhaust memory or storage.
const (
	MaxShortField  = 200       // names, codes, phone numbers, statuses
	MaxLongField   = 2000      // instructions, hazards, goals, tasks
	MaxNoteText    = 20000     // one clinical note
	MaxListLength  = 100       // goals, tasks, team members, address lines
	MaxRecordBytes = 64 * 1024 // one encoded record
)

// earliestBirth bounds birth dates: nobody alive was born before it.
var earliestBirth = MustDate("1880-01-01")

// Decode parses one record of kind k from JSON, rejecting unknown fields,
// trailing data and oversize input, and validates it. Nothing is stored by
// Decode; a record that fails here can never be half-written.
func Decode(k Kind, data []byte) (Record, error) {
	if len(data) > MaxRecordBytes {
		return nil, Invalid("", "record is %d bytes; the limit is %d", len(data), MaxRecordBytes)
	}
	r, ok := New(k)
	if !ok {
		return nil, Invalid("kind", "unknown record kind %q", k)
	}
	if err := exactKeys(reflect.TypeOf(r).Elem(), json.NewDecoder(bytes.NewReader(data))); err != nil && err != errMalformed {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(r); err != nil {
		err = jsonError(err)
		if inv := err.(*InvalidError); inv.Field == "" {
			inv.Field = failingField(k, data)
		}
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, Invalid("", "unexpected data after the record")
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	// Decoding can grow a record (invalid UTF-8 becomes U+FFFD) and encoding
	// can grow it further (< becomes \u003c): what Haven writes back must
	// also fit, or the record could not be read back through Decode.
	if b, err := json.Marshal(r); err != nil {
		return nil, Invalid("", "record cannot be encoded: %v", err)
	} else if len(b) > MaxRecordBytes {
		return nil, Invalid("", "record is %d bytes once encoded; the limit is %d", len(b), MaxRecordBytes)
	}
	return r, nil
}

// jsonError turns encoding/json's errors into plain-English InvalidErrors.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var inv *InvalidError
	switch {
	case errors.As(err, &inv):
		return inv
	case errors.As(err, &syn):
		return Invalid("", "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ) && typ.Type == reflect.TypeFor[Date]():
		return Invalid(typ.Field, "%s is not a date in the form YYYY-MM-DD", typ.Value)
	case errors.As(err, &typ):
		return Invalid(typ.Field, "expected %s", typ.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Invalid("", "record is empty or truncated")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return Invalid(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "unknown field")
	}
	// A Date's own message is already plain English.
	return Invalid("", "%s", strings.TrimPrefix(err.Error(), "json: "))
}

// checker accumulates the first validation failure so Validate methods read
// as a list of rules.
type checker struct{ err error }

func (c *checker) fail(field, format string, args ...any) {
	if c.err == nil {
		c.err = Invalid(field, format, args...)
	}
}

// StoredText reports whether s can be kept as text by every store: UTF-8
// with no NUL. PostgreSQL refuses any other string outright, where SQLite
// would quietly compare or keep it, so the web edge refuses such input
// and the store treats such a key as naming nothing.
func StoredText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

func (c *checker) text(field, v string, max int, required bool) {
	switch {
	case required && strings.TrimSpace(v) == "":
		c.fail(field, "is required")
	case len(v) > max:
		c.fail(field, "is %d bytes; the limit is %d", len(v), max)
	case !utf8.ValidString(v):
		c.fail(field, "is not valid UTF-8")
	case strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }):
		c.fail(field, "contains control characters")
	}
}

func (c *checker) list(field string, vs []string, max int) {
	if len(vs) > MaxListLength {
		c.fail(field, "has %d entries; the limit is %d", len(vs), MaxListLength)
	}
	for i, v := range vs {
		c.text(fmt.Sprintf("%s[%d]", field, i), v, max, true)
	}
}

func (c *checker) id(field, v string) {
	c.text(field, v, 64, true)
	if c.err == nil && strings.ContainsFunc(v, func(r rune) bool {
		return !(r == '-' || r == '.' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z'))
	}) {
		c.fail(field, "may contain only letters, digits, '-', '.' and '_'")
	}
}

func (c *checker) oneOf(field, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.fail(field, "must be one of %s", strings.Join(allowed, ", "))
}

// instant checks a point in time: present, in a plausible range, and with
// a zone offset that can be written back out (Go's parser accepts offsets
// such as +24:00 that its encoder refuses; the fuzzer found that).
func (c *checker) instant(field string, t time.Time) {
	switch {
	case t.IsZero():
		c.fail(field, "is required")
	case t.Year() < 1880 || t.Year() > 2200:
		c.fail(field, "is outside the years 1880 to 2200")
	default:
		if _, err := t.MarshalJSON(); err != nil {
			c.fail(field, "has an impossible time-zone offset")
		}
	}
}

func (c *checker) window(startField string, start, end time.Time) {
	c.instant(startField, start)
	c.instant("end", end)
	switch {
	case c.err != nil:
	case !end.After(start):
		c.fail("end", "must be after start")
	case end.Sub(start) > 24*time.Hour:
		c.fail("end", "a visit cannot last more than 24 hours")
	}
}

// NormalizePhone reduces a UK phone number to its digits in national form
// ("+44 7700 900123" becomes "07700900123") so that search finds it however
// it was typed.
func NormalizePhone(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(strings.TrimSpace(s), "+44") && strings.HasPrefix(d, "44"):
		d = d[2:]
	case strings.HasPrefix(d, "0044"):
		d = d[4:]
	default:
		return d
	}
	// "+44 (0)113 ..." writes the trunk 0 as well; keep exactly one.
	return "0" + strings.TrimPrefix(d, "0")
}

// NormalizeName folds a name for exact-match search: case and surrounding
// or repeated spaces do not matter.
func NormalizeName(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

func (r *Person) Validate() error {
	var c checker
	c.id("id", r.ID)
	r.NHSNumber = NormalizeNHSNumber(r.NHSNumber)
	if !ValidNHSNumber(r.NHSNumber) {
		c.fail("nhsNumber", "%q is not a valid NHS number (10 digits with a modulus 11 check digit)", r.NHSNumber)
	}
	c.text("given", r.Given, MaxShortField, true)
	c.text("family", r.Family, MaxShortField, true)
	switch {
	case r.BirthDate.IsZero():
		c.fail("birthDate", "is required")
	case r.BirthDate.Time().After(time.Now()):
		c.fail("birthDate", "is in the future")
	case earliestBirth.After(r.BirthDate):
		c.fail("birthDate", "is before %s", earliestBirth)
	}
	c.oneOf("gender", r.Gender, "male", "female", "other", "unknown")
	c.list("address.lines", r.Address.Lines, MaxShortField)
	c.text("address.city", r.Address.City, MaxShortField, false)
	c.text("address.postcode", r.Address.Postcode, 10, false)
	c.text("phone", r.Phone, MaxShortField, false)
	if r.Phone != "" {
		if n := len(NormalizePhone(r.Phone)); n < 10 || n > 11 {
			c.fail("phone", "is not a UK phone number")
		}
	}
	c.text("gpPractice", r.GPPractice, MaxShortField, false)
	return c.err
}

func (r *Condition) Validate() error {
	var c checker
	c.id("id", r.ID)
	c.id("personId", r.PersonID)
	c.text("code", r.Code, MaxShortField, true)
	c.text("display", r.Display, MaxShortField, true)
	c.oneOf("status", r.Status, "active", "recurrence", "relapse", "inactive", "remission", "resolved")
	return c.err
}

func (r *Allergy) Validate() error {
	var c checker
	c.id("id", r.ID)
	c.id("personId", r.PersonID)
	c.text("substance", r.Substance, MaxShortField, true)
	c.text("reaction", r.Reaction, MaxShortField, false)
	if r.Severity != "" {
		c.oneOf("severity", r.Severity, "mild", "moderate", "severe")
	}
	return c.err
}

func (r *Medication) Validate() error {
	var c checker
	c.id("id", r.ID)
	c.id("personId", r.PersonID)
	c.text("name", r.Name, MaxShortField, true)
	c.text("dose", r.Dose, MaxShortField, true)
	c.text("frequency", r.Frequency, MaxShortField, true)
	c.text("route", r.Route, MaxShortField, false)
	if !r.End.IsZero() && r.Start.After(r.End) {
		c.fail("end", "is before start")
	}
	return c.err
}

func (r *Observation) Validate() error {
	var c checker
	c.id("id", r.ID)
	c.id("personId", r.PersonID)
	c.text("code", r.Code, MaxShortField, true)
	c.text("display", r.Display, MaxShortField, true)
	c.text("unit", r.Unit, MaxShortField, false)
	c.instant("at", r.At)
	return c.err
}

func (r *Note) Validate() error {
	var c checker
	c.id("id", r.ID)
	c.id("personId", r.PersonID)
	c.id("authorId", r.AuthorID)
	c.text("text", r.Text, MaxNoteText, true)
	c.instant("at", r.At)
	return c.err
}

func (r *CarePlan) Validate() error {
	var c checker
	c.id("id", r.ID)
	c.id("personId", r.PersonID)
	c.text("title", r.Title, MaxShortField, true)
	c.list("goals", r.Goals, MaxLongField)
	c.list("activities", r.Activities, MaxLongField)
	if r.Start.IsZero() {
		c.fail("start", "is required")
	}
	return c.err
}

func (r *CareTeam) Validate() error {
	var c checker
	c.id("id", r.ID)
	c.id("personId", r.PersonID)
	c.text("name", r.Name, MaxShortField, true)
	if len(r.StaffIDs) > MaxListLength {
		c.fail("staffIds", "has %d entries; the limit is %d", len(r.StaffIDs), MaxListLength)
	}
	for i, s := range r.StaffIDs {
		c.id(fmt.Sprintf("staffIds[%d]", i), s)
	}
	c.text("service", r.Service, MaxShortField, false)
	return c.err
}

func (r *Visit) Validate() error {
	var c checker
	c.id("id", r.ID)
	c.id("personId", r.PersonID)
	c.id("staffId", r.StaffID)
	c.window("start", r.Start, r.End)
	c.oneOf("status", r.Status, "planned", "in-progress", "completed", "cancelled", "missed")
	c.list("tasks", r.Tasks, MaxLongField)
	return c.err
}

func (r *HomeAccess) Validate() error {
	var c checker
	c.id("id", r.ID)
	c.id("personId", r.PersonID)
	c.text("keySafeCode", r.KeySafeCode, 32, false)
	c.text("entryInstructions", r.EntryInstructions, MaxLongField, false)
	c.text("hazards", r.Hazards, MaxLongField, false)
	if r.KeySafeCode == "" && r.EntryInstructions == "" {
		c.fail("", "home access needs a key-safe code or entry instructions")
	}
	return c.err
}

func (r *Staff) Validate() error {
	var c checker
	c.id("id", r.ID)
	c.text("name", r.Name, MaxShortField, true)
	if !slices.Contains(TenantRoles, r.Role) {
		c.fail("role", "must be one of carer, nurse, clinician, coordinator, tenant-admin, data-protection-officer")
	}
	c.text("email", r.Email, MaxShortField, true)
	if c.err == nil && !strings.Contains(r.Email, "@") {
		c.fail("email", "is not an email address")
	}
	c.text("team", r.Team, MaxShortField, false)
	c.text("service", r.Service, MaxShortField, false)
	return c.err
}

var errMalformed = errors.New("malformed")

// exactKeys walks one JSON value and rejects object keys that repeat or
// that match a field of t only when case is ignored: encoding/json would
// accept both, silently keeping the last.
func exactKeys(t reflect.Type, dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return errMalformed // the real decode reports it
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if d == '[' {
		for dec.More() {
			if err := exactKeys(t, dec); err != nil {
				return err
			}
		}
		_, _ = dec.Token()
		return nil
	}
	fields := map[string]reflect.Type{}
	if t.Kind() == reflect.Struct {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errMalformed
		}
		key, ok := tok.(string)
		if !ok {
			return errMalformed
		}
		if seen[strings.ToLower(key)] {
			return Invalid(key, "appears twice")
		}
		seen[strings.ToLower(key)] = true
		ft, ok := fields[key]
		if !ok {
			for name := range fields {
				if strings.EqualFold(name, key) {
					return Invalid(key, "unknown field (did you mean %q?)", name)
				}
			}
			ft = reflect.TypeFor[any]()
		}
		if err := exactKeys(ft, dec); err != nil {
			return err
		}
	}
	_, _ = dec.Token()
	return nil
}

// failingField finds which top-level field of a record fails to decode, for
// errors (such as time.Time's) that do not name it.
func failingField(k Kind, data []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return ""
	}
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		one, _ := json.Marshal(map[string]json.RawMessage{key: m[key]})
		r, _ := New(k)
		if json.Unmarshal(one, r) != nil {
			return key
		}
	}
	return ""
}
