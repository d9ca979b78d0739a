package haven

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzDecode checks that Decode never panics, that every failure is an
// *InvalidError, and that whatever it accepts survives a round trip:
// json.Marshal then Decode again gives an equal record.
//
//	go test -run=^$ -fuzz=FuzzDecode -fuzztime=20s .
func FuzzDecode(f *testing.F) {
	for i, k := range allKinds {
		f.Add(uint8(i), []byte(validJSON[k]))
	}
	for _, s := range []string{
		`{}`, `null`, `[]`, `""`, `{"id":"x"}`, `{"id":"x"}{}`,
		// Timestamps at the edges of what RFC 3339 allows.
		`{"id":"o","personId":"p","code":"c","display":"d","value":1e308,"at":"2025-01-01T00:00:00-23:59"}`,
		`{"id":"n","personId":"p","authorId":"a","text":"t","at":"9999-12-31T23:59:59.999999999+23:00"}`,
		`{"id":"v","personId":"p","staffId":"s","start":"0000-01-01T00:00:00+01:00","end":"0000-01-01T01:00:00+01:00","status":"planned"}`,
		`{"id":"p","nhsNumber":" 943-476-5919 ","given":"\u00e9","family":"\ud800","birthDate":"1900-02-28","gender":"other"}`,
	} {
		for i := range allKinds {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, ki uint8, data []byte) {
		k := allKinds[int(ki)%len(allKinds)]
		r, err := Decode(k, data)
		if err != nil {
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("Decode(%s) error %v is a %T, not an *InvalidError", k, err, err)
			}
			if r != nil {
				t.Fatalf("Decode(%s) returned a record with its error", k)
			}
			return
		}
		if r.Kind() != k {
			t.Fatalf("Decode(%s) returned a %s", k, r.Kind())
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("Decode(%s) returned a record that fails Validate: %v", k, err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("Decode(%s) accepted a record that does not encode: %v\ninput: %q", k, err, data)
		}
		r2, err := Decode(k, b)
		if err != nil {
			t.Fatalf("Decode(%s) accepted a record whose encoding it rejects: %v\ninput: %q\nencoded: %s", k, err, data, b)
		}
		if !sameRecord(reflect.ValueOf(r), reflect.ValueOf(r2)) {
			t.Fatalf("round trip changed the %s record\nfirst:  %+v\nsecond: %+v", k, r, r2)
		}
		b2, err := json.Marshal(r2)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("encoding is not stable: %v\n%s\n%s", err, b, b2)
		}
	})
}

var (
	timeType = reflect.TypeFor[time.Time]()
	dateType = reflect.TypeFor[Date]()
)

// sameRecord reports whether a and b hold the same record, treating times
// that are the same instant as equal (a decoded time's Location depends on
// the host's zone) and a nil slice as equal to an empty one (omitempty
// drops an empty list).
func sameRecord(a, b reflect.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	switch a.Type() {
	case timeType:
		return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
	case dateType:
		return a.Interface().(Date) == b.Interface().(Date)
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameRecord(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if !sameRecord(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !sameRecord(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Float64:
		return a.Float() == b.Float()
	case reflect.String:
		return a.String() == b.String()
	case reflect.Bool:
		return a.Bool() == b.Bool()
	}
	panic(fmt.Sprintf("sameRecord: unhandled %s", a.Type()))
}

// TestSameRecord checks the comparison FuzzDecode relies on.
func TestSameRecord(t *testing.T) {
	at := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	v := Visit{ID: "v", Start: at, End: at.Add(time.Hour), Tasks: []string{}}
	w := v
	w.Start = at.In(time.FixedZone("x", 3600))
	w.Tasks = nil
	if !sameRecord(reflect.ValueOf(&v), reflect.ValueOf(&w)) {
		t.Error("same instant in another zone, or empty vs nil tasks, compare different")
	}
	w.Tasks = []string{"x"}
	if sameRecord(reflect.ValueOf(&v), reflect.ValueOf(&w)) {
		t.Error("different tasks compare equal")
	}
	p, q := Person{BirthDate: MustDate("1950-01-01")}, Person{BirthDate: MustDate("1950-01-02")}
	if sameRecord(reflect.ValueOf(&p), reflect.ValueOf(&q)) {
		t.Error("different dates compare equal")
	}
}

// validNHSReference is an independent statement of the modulus 11 rule:
// with weights 10 down to 2 on the first nine digits and 1 on the check
// digit, a valid number's weighted sum is a multiple of 11. (When the first
// nine give remainder 1 the check digit would have to be 10, which no
// single digit is, so those numbers are all invalid.)
func validNHSReference(s string) bool {
	if len(s) != 10 {
		return false
	}
	sum := 0
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789", rune(s[i])) {
			return false
		}
		w := 10 - i
		if i == 9 {
			w = 1
		}
		sum += w * strings.IndexByte("0123456789", s[i])
	}
	return sum%11 == 0
}

func FuzzValidNHSNumber(f *testing.F) {
	for _, s := range []string{"9434765919", "9434765870", "4010232137", "9991234560", "0000000000",
		"943476591", "94347659190", "943 476 5919", "943476591:", "943476591/", "９４３４７６５９１９"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := ValidNHSNumber(s), validNHSReference(s)
		if got != want {
			t.Fatalf("ValidNHSNumber(%q) = %v, reference says %v", s, got, want)
		}
		if len(s) == 10 {
			d := NHSCheckDigit(s[:9])
			if got != (d >= 0 && s[9] == byte('0'+d)) {
				t.Fatalf("ValidNHSNumber(%q) = %v but NHSCheckDigit(%q) = %d", s, got, s[:9], d)
			}
		}
		if got {
			typed := " " + s[:3] + " " + s[3:6] + "-" + s[6:] + "\n"
			if !ValidNHSNumber(NormalizeNHSNumber(typed)) {
				t.Fatalf("%q is valid but %q does not normalise to a valid number", s, typed)
			}
		}
	})
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+44 7700 900123", "07700 900123", "(0113) 496 0123", "+44 (0)113 496 0123",
		"0044 20 7946 0000", "+4", "+44", "44", "", "٠١٢٣", "+\u200b44 1", "\xff+44"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := NormalizePhone(s)
		digits := 0
		for i := 0; i < len(s); i++ {
			if s[i] >= '0' && s[i] <= '9' {
				digits++
			}
		}
		for i := 0; i < len(got); i++ {
			if got[i] < '0' || got[i] > '9' {
				t.Fatalf("NormalizePhone(%q) = %q, which has a non-digit", s, got)
			}
		}
		if len(got) > digits {
			t.Fatalf("NormalizePhone(%q) = %q, longer than the %d digits typed", s, got, digits)
		}
		if again := NormalizePhone(got); again != got {
			t.Fatalf("NormalizePhone is not idempotent: %q, then %q", got, again)
		}
	})
}

// validDateReference is an independent check of YYYY-MM-DD in the
// proleptic Gregorian calendar, less 0001-01-01: that is the zero Date,
// which means no date, so ParseDate refuses it.
func validDateReference(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || s == "0001-01-01" {
		return false
	}
	n := func(p string) int {
		v := 0
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return -1
			}
			v = v*10 + int(p[i]-'0')
		}
		return v
	}
	y, m, d := n(s[:4]), n(s[5:7]), n(s[8:])
	if y < 0 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := []int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2024-02-29", "2023-02-29", "1900-02-29", "2000-02-29", "2023-13-01",
		"2023-2-3", "", "0000-01-01", "0001-01-01", "9999-12-31", "2023-01-1a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if (err == nil) != validDateReference(s) {
			t.Fatalf("ParseDate(%q) error %v; reference says valid=%v", s, err, validDateReference(s))
		}
		if err != nil {
			return
		}
		if d.IsZero() || d.String() != s {
			t.Fatalf("ParseDate(%q).String() = %q", s, d.String())
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var e Date
		if err := json.Unmarshal(b, &e); err != nil || e != d {
			t.Fatalf("%q round trips through JSON to %v, %v", s, e, err)
		}
	})
}
