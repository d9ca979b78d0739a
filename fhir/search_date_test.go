package fhir

import (
	"testing"
)

// Date search by the R4 rules: the search value and the resource's date
// are ranges at their precision, and a Period runs to its end.
func TestDateSearchRanges(t *testing.T) {
	cond := types["Condition"]
	plan := types["CarePlan"]
	for _, c := range []struct {
		typ   *typeInfo
		res   object
		value string
		want  bool
	}{
		// A year overlaps a day inside it.
		{cond, object{"onsetDateTime": "2018"}, "ge2018-06-01", true},
		{cond, object{"onsetDateTime": "2018"}, "le2018-06-01", true},
		{cond, object{"onsetDateTime": "2018"}, "gt2018-06-01", true},
		{cond, object{"onsetDateTime": "2018"}, "lt2018-06-01", true},
		{cond, object{"onsetDateTime": "2018"}, "eq2018-06-01", false},
		{cond, object{"onsetDateTime": "2018"}, "ne2018-06-01", true},
		{cond, object{"onsetDateTime": "2018"}, "eq2018", true},
		{cond, object{"onsetDateTime": "2018"}, "ne2018", false},
		{cond, object{"onsetDateTime": "2018"}, "sa2017", true},
		{cond, object{"onsetDateTime": "2018"}, "sa2018-06-01", false},
		{cond, object{"onsetDateTime": "2018"}, "eb2019-01-01", true},
		{cond, object{"onsetDateTime": "2018"}, "eb2018-12-31", false},
		{cond, object{"onsetDateTime": "2018"}, "gt2018", false},
		{cond, object{"onsetDateTime": "2018"}, "lt2018", false},
		// A value to the minute or without a time zone is a valid value.
		{cond, object{"onsetDateTime": "2018-06-01T10:00:30Z"}, "eq2018-06-01T10:00Z", true},
		{cond, object{"onsetDateTime": "2018-06-01T10:00:30Z"}, "ge2018-06-01T10:01Z", false},
		{cond, object{"onsetDateTime": "2018-06-01T10:00:30Z"}, "eq2018-06-01T10:00:30", true},
		{cond, object{"onsetDateTime": "2018-06-01T10:00:30Z"}, "eq2018-06-01T11:00:30+01:00", true},
		{cond, object{"onsetDateTime": "2018-06-01T10:00:30Z"}, "eq2018-06-01T11:00:30 01:00", true},
		// A second covers its fractions.
		{cond, object{"onsetDateTime": "2018-06-01T10:00:30.5Z"}, "eq2018-06-01T10:00:30Z", true},
		{cond, object{"onsetDateTime": "2018-06-01T10:00:30.5Z"}, "gt2018-06-01T10:00:30Z", false},
		{cond, object{"onsetDateTime": "2018-06-01T10:00:30.5Z"}, "eq2018-06-01T10:00:30.4Z", false},
		// A Period runs from its start to its end, or on while it has none.
		{plan, object{"period": object{"start": "2020-01-01", "end": "2020-12-31"}}, "eq2020-06", false},
		{plan, object{"period": object{"start": "2020-01-01", "end": "2020-12-31"}}, "eq2020", true},
		{plan, object{"period": object{"start": "2020-01-01", "end": "2020-12-31"}}, "gt2020-06-01", true},
		{plan, object{"period": object{"start": "2020-01-01", "end": "2020-12-31"}}, "sa2020-12-31", false},
		{plan, object{"period": object{"start": "2020-01-01"}}, "gt2030", true},
		{plan, object{"period": object{"start": "2020-01-01"}}, "eb2030", false},
		// No date: no match.
		{cond, object{}, "ne2018", false},
	} {
		match, err := dateFilter("date", c.value)
		if err != nil {
			t.Errorf("%s: %v", c.value, err)
			continue
		}
		from, to, ok := dateSpan(c.typ, c.res)
		if got := ok && match(from, to); got != c.want {
			t.Errorf("%s %v, date=%s: got %v, want %v", c.typ.name, c.res, c.value, got, c.want)
		}
	}
}

func TestDateSearchRefusals(t *testing.T) {
	for _, v := range []string{"ap2018", "xx2018", "2018-13", "2018-06-01T25:00Z", "2018-06-01T10", "18-06-01", "2018-06-01T10:00:00.1234567890Z", ""} {
		if _, err := dateFilter("date", v); err == nil {
			t.Errorf("date=%s accepted", v)
		}
	}
}
