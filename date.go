package haven

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

// Date is a calendar date with no time of day or zone, as FHIR's date type
// (YYYY-MM-DD). The zero Date is "not known".
type Date struct{ t time.Time }

// dateLayout is the only accepted form: partial dates are not used by Haven.
const dateLayout = "2006-01-02"

// ParseDate parses YYYY-MM-DD and rejects impossible dates (2023-02-30).
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date in the form YYYY-MM-DD", s)
	}
	if t.IsZero() {
		// 0001-01-01 is the zero Date, which means no date at all: kept,
		// it would silently become one, and a required date would be
		// reported as missing.
		return Date{}, fmt.Errorf("%q cannot be told apart from no date; give the real date", s)
	}
	return Date{t}, nil
}

// MustDate is ParseDate for constants in tests and seed data.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// IsZero reports whether the date is unknown.
func (d Date) IsZero() bool { return d.t.IsZero() }

// Time returns midnight UTC at the start of the date.
func (d Date) Time() time.Time { return d.t }

// String formats the date as YYYY-MM-DD, or "" when unknown.
func (d Date) String() string {
	if d.t.IsZero() {
		return ""
	}
	return d.t.Format(dateLayout)
}

// After reports whether d is later than e.
func (d Date) After(e Date) bool { return d.t.After(e.t) }

// MarshalJSON writes the date as a JSON string.
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON accepts "YYYY-MM-DD" or "" (unknown). Its error is a
// *json.UnmarshalTypeError so that encoding/json adds the field's name.
func (d *Date) UnmarshalJSON(b []byte) error {
	bad := &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[Date]()}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return bad
	}
	if s == "" {
		*d = Date{}
		return nil
	}
	p, err := ParseDate(s)
	if err != nil {
		return bad
	}
	*d = p
	return nil
}
