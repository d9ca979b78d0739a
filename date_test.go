package haven

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	for _, s := range []string{"2023-02-28", "2024-02-29", "1880-01-01", "2023-12-31", "1999-01-01", "0001-01-02"} {
		d, err := ParseDate(s)
		if err != nil {
			t.Errorf("ParseDate(%q): %v", s, err)
			continue
		}
		if d.String() != s {
			t.Errorf("ParseDate(%q).String() = %q", s, d.String())
		}
		if d.IsZero() {
			t.Errorf("ParseDate(%q) is zero", s)
		}
	}
	for _, s := range []string{
		"2023-02-30", // no such day
		"2023-02-29", // not a leap year
		"1900-02-29", // century, not a leap year
		"2023-13-01", // no such month
		"2023-00-10",
		"2023-04-31",
		"2023-01-00",
		"",
		"2023-2-3", // digits must be zero-padded
		"2023-02-3",
		"23-02-03",
		"2023/02/03",
		"03/02/2023",
		"2023-02-03T00:00:00Z",
		" 2023-02-03",
		"2023-02-03 ",
		"2023-02-03\n",
		"+2023-02-03",
		"-2023-02-03",
		"２０２３-02-03",
		"2023-february-03",
		"0001-01-01", // the zero Date: no date at all
	} {
		if d, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) = %v, want an error", s, d)
		}
	}
}

func TestMustDatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustDate(\"2023-02-30\") did not panic")
		}
	}()
	MustDate("2023-02-30")
}

func TestDateOf(t *testing.T) {
	plus1 := time.FixedZone("+01:00", 3600)
	minus5 := time.FixedZone("-05:00", -5*3600)
	tests := []struct {
		t    time.Time
		want string
	}{
		// The calendar date where t is, not in UTC.
		{time.Date(2024, 1, 1, 0, 30, 0, 0, plus1), "2024-01-01"},
		{time.Date(2023, 12, 31, 23, 30, 0, 0, minus5), "2023-12-31"},
		{time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), "2024-02-29"},
	}
	for _, tc := range tests {
		d := DateOf(tc.t)
		if d.String() != tc.want {
			t.Errorf("DateOf(%s) = %s, want %s", tc.t, d, tc.want)
		}
		if d != MustDate(tc.want) {
			t.Errorf("DateOf(%s) != MustDate(%s): not comparable with ==", tc.t, tc.want)
		}
		if got := d.Time(); got.Hour() != 0 || got.Location() != time.UTC {
			t.Errorf("DateOf(%s).Time() = %s, want midnight UTC", tc.t, got)
		}
	}
}

func TestDateCompare(t *testing.T) {
	a, b := MustDate("2023-01-01"), MustDate("2023-01-02")
	if !b.After(a) || a.After(b) || a.After(a) {
		t.Error("After is wrong")
	}
	var zero Date
	if !zero.IsZero() || zero.String() != "" {
		t.Errorf("zero Date: IsZero %v, String %q", zero.IsZero(), zero.String())
	}
	if !a.After(zero) {
		t.Error("a known date is not after the zero date")
	}
}

func TestDateJSON(t *testing.T) {
	type rec struct {
		D Date `json:"d"`
	}
	for _, tc := range []struct{ in, want string }{
		{`{"d":"2024-02-29"}`, `{"d":"2024-02-29"}`},
		{`{"d":""}`, `{"d":""}`},
		{`{"d":null}`, `{"d":""}`},
		{`{}`, `{"d":""}`},
	} {
		var r rec
		if err := json.Unmarshal([]byte(tc.in), &r); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		b, err := json.Marshal(r)
		if err != nil || string(b) != tc.want {
			t.Errorf("%s round trips to %s, %v; want %s", tc.in, b, err, tc.want)
		}
	}
	for _, in := range []string{
		`{"d":"2023-02-30"}`, `{"d":"2023-2-3"}`, `{"d":20230203}`, `{"d":true}`,
		`{"d":["2023-02-03"]}`, `{"d":{"y":2023}}`, `{"d":"2023-02-03T00:00:00Z"}`,
	} {
		var r rec
		if err := json.Unmarshal([]byte(in), &r); err == nil {
			t.Errorf("%s decoded to %v, want an error", in, r.D)
		}
	}
}
