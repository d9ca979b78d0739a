package haven

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// validJSON holds one valid record of every kind.
var validJSON = map[Kind]string{
	KindPerson: `{"id":"p-1","nhsNumber":"943 476 5919","given":"Doris","family":"O'Brien",
		"birthDate":"1938-04-02","gender":"female",
		"address":{"lines":["Flat 3, Beech Court","14 Otley Road"],"city":"Leeds","postcode":"LS6 3QF"},
		"phone":"0113 496 0123","gpPractice":"B86901 Kirkgate Surgery"}`,
	KindCondition:  `{"id":"c-1","personId":"p-1","code":"44054006","display":"Type 2 diabetes mellitus","onset":"2015-06-01","status":"active"}`,
	KindAllergy:    `{"id":"a-1","personId":"p-1","substance":"Penicillin","reaction":"Rash","severity":"moderate"}`,
	KindMedication: `{"id":"m-1","personId":"p-1","name":"Metformin","dose":"500 mg","frequency":"twice daily","route":"oral","start":"2015-06-10"}`,
	KindObservation: `{"id":"o-1","personId":"p-1","code":"8480-6","display":"Systolic blood pressure",
		"value":138,"unit":"mm[Hg]","at":"2025-03-01T09:30:00Z"}`,
	KindNote: `{"id":"n-1","personId":"p-1","authorId":"s-1","at":"2025-03-01T08:15:00+00:00",
		"text":"Morning call.\nAssisted with washing.\tTablets taken."}`,
	KindCarePlan: `{"id":"cp-1","personId":"p-1","title":"Home care support plan",
		"goals":["Remain living independently at home"],"activities":["Prompt medication"],
		"start":"2024-01-15","review":"2025-01-15"}`,
	KindCareTeam:   `{"id":"ct-1","personId":"p-1","name":"Home care team A","staffIds":["s-1","s-2"]}`,
	KindVisit:      `{"id":"v-1","personId":"p-1","staffId":"s-1","start":"2025-03-12T07:30:00Z","end":"2025-03-12T08:15:00Z","status":"planned","tasks":["Prompt medication"]}`,
	KindHomeAccess: `{"id":"h-1","personId":"p-1","keySafeCode":"C1947","entryInstructions":"Key safe to the left of the back door; ring bell twice.","hazards":"Small dog"}`,
	KindStaff:      `{"id":"s-1","name":"Sarah Patel","role":"carer","email":"sarah.patel@demo.haven.invalid","team":"Home care"}`,
}

// allKinds lists every kind New knows, in a fixed order.
var allKinds = []Kind{KindPerson, KindCondition, KindAllergy, KindMedication, KindObservation,
	KindNote, KindCarePlan, KindCareTeam, KindVisit, KindHomeAccess, KindStaff}

func TestValidRecordsDecode(t *testing.T) {
	if len(validJSON) != len(allKinds) {
		t.Fatalf("validJSON has %d kinds, want %d", len(validJSON), len(allKinds))
	}
	for _, k := range allKinds {
		r, err := Decode(k, []byte(validJSON[k]))
		if err != nil {
			t.Errorf("%s: %v", k, err)
			continue
		}
		if r.Kind() != k {
			t.Errorf("%s decoded as %s", k, r.Kind())
		}
		if err := r.Validate(); err != nil {
			t.Errorf("%s: decoded record fails Validate: %v", k, err)
		}
		if r.RecordID() == "" {
			t.Errorf("%s: no id", k)
		}
		if want := "p-1"; k != KindStaff && r.Subject() != want {
			t.Errorf("%s: subject %q, want %q", k, r.Subject(), want)
		}
	}
}

func TestDecodeNormalises(t *testing.T) {
	r, err := Decode(KindPerson, []byte(validJSON[KindPerson]))
	if err != nil {
		t.Fatal(err)
	}
	p := r.(*Person)
	if p.NHSNumber != "9434765919" {
		t.Errorf("NHS number %q, want it without spaces", p.NHSNumber)
	}
	if p.BirthDate != MustDate("1938-04-02") {
		t.Errorf("birth date %s", p.BirthDate)
	}
	// Whitespace around the record is not trailing data.
	if _, err := Decode(KindStaff, []byte("\n\t "+validJSON[KindStaff]+" \r\n")); err != nil {
		t.Errorf("surrounding whitespace: %v", err)
	}
}

// with returns the valid record of kind k with fields set (nil deletes).
func with(k Kind, set map[string]any) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(validJSON[k]), &m); err != nil {
		panic(err)
	}
	for f, v := range set {
		if v == nil {
			delete(m, f)
		} else {
			m[f] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestDecodeRejects(t *testing.T) {
	tomorrow := DateOf(time.Now().AddDate(0, 0, 2)).String()
	long := strings.Repeat("x", MaxShortField+1)
	tests := []struct {
		name  string
		kind  Kind
		in    string
		field string // the InvalidError's Field
		// bug, when set, records the fault this case caught before it was
		// fixed.
		bug string
	}{
		{"unknown field", KindPerson, with(KindPerson, map[string]any{"favouriteColour": "blue"}), "favouriteColour", ""},
		{"unknown nested field", KindPerson, with(KindPerson, map[string]any{"address": map[string]any{"city": "Leeds", "zip": "LS6"}}), "zip", ""},
		{"unknown kind", Kind("invoice"), `{}`, "kind", ""},
		{"trailing object", KindStaff, validJSON[KindStaff] + `{}`, "", ""},
		{"trailing garbage", KindStaff, validJSON[KindStaff] + ` x`, "", ""},
		{"trailing bracket", KindStaff, validJSON[KindStaff] + `]`, "", ""},
		{"two records", KindStaff, validJSON[KindStaff] + validJSON[KindStaff], "", ""},
		{"oversize", KindNote, with(KindNote, map[string]any{"text": strings.Repeat("a", MaxRecordBytes)}), "", ""},
		{"empty input", KindStaff, ``, "", ""},
		{"whitespace only", KindStaff, " \n", "", ""},
		{"truncated", KindStaff, validJSON[KindStaff][:20], "", ""},
		{"malformed", KindStaff, `{"id":}`, "", ""},
		{"not an object", KindStaff, `["s-1"]`, "", ""},
		{"null record", KindStaff, `null`, "id", ""},

		{"invalid NHS number", KindPerson, with(KindPerson, map[string]any{"nhsNumber": "9434765918"}), "nhsNumber", ""},
		{"NHS number with no check digit", KindPerson, with(KindPerson, map[string]any{"nhsNumber": "9991234560"}), "nhsNumber", ""},
		{"NHS number too short", KindPerson, with(KindPerson, map[string]any{"nhsNumber": "943476591"}), "nhsNumber", ""},
		{"NHS number missing", KindPerson, with(KindPerson, map[string]any{"nhsNumber": nil}), "nhsNumber", ""},
		{"NHS number as a number", KindPerson, with(KindPerson, map[string]any{"nhsNumber": 9434765919}), "nhsNumber", ""},
		{"impossible birth date", KindPerson, with(KindPerson, map[string]any{"birthDate": "2023-02-30"}), "birthDate",
			"Date.UnmarshalJSON returns a plain error, so encoding/json cannot add the field name"},
		{"birth date not padded", KindPerson, with(KindPerson, map[string]any{"birthDate": "1938-4-2"}), "birthDate",
			"Date.UnmarshalJSON returns a plain error, so encoding/json cannot add the field name"},
		{"birth date as a number", KindPerson, with(KindPerson, map[string]any{"birthDate": 19380402}), "birthDate",
			"Date.UnmarshalJSON returns a plain error, so encoding/json cannot add the field name"},
		{"future birth date", KindPerson, with(KindPerson, map[string]any{"birthDate": tomorrow}), "birthDate", ""},
		{"birth date before 1880", KindPerson, with(KindPerson, map[string]any{"birthDate": "1879-12-31"}), "birthDate", ""},
		{"birth date missing", KindPerson, with(KindPerson, map[string]any{"birthDate": nil}), "birthDate", ""},
		{"birth date empty", KindPerson, with(KindPerson, map[string]any{"birthDate": ""}), "birthDate", ""},

		{"person id missing", KindPerson, with(KindPerson, map[string]any{"id": nil}), "id", ""},
		{"given missing", KindPerson, with(KindPerson, map[string]any{"given": nil}), "given", ""},
		{"given blank", KindPerson, with(KindPerson, map[string]any{"given": "  \t"}), "given", ""},
		{"family missing", KindPerson, with(KindPerson, map[string]any{"family": nil}), "family", ""},
		{"gender missing", KindPerson, with(KindPerson, map[string]any{"gender": nil}), "gender", ""},
		{"gender unknown value", KindPerson, with(KindPerson, map[string]any{"gender": "F"}), "gender", ""},
		{"condition code missing", KindCondition, with(KindCondition, map[string]any{"code": nil}), "code", ""},
		{"condition status missing", KindCondition, with(KindCondition, map[string]any{"status": nil}), "status", ""},
		{"condition person missing", KindCondition, with(KindCondition, map[string]any{"personId": nil}), "personId", ""},
		{"allergy substance missing", KindAllergy, with(KindAllergy, map[string]any{"substance": nil}), "substance", ""},
		{"allergy severity", KindAllergy, with(KindAllergy, map[string]any{"severity": "fatal"}), "severity", ""},
		{"medication dose missing", KindMedication, with(KindMedication, map[string]any{"dose": nil}), "dose", ""},
		{"medication ends before it starts", KindMedication, with(KindMedication, map[string]any{"end": "2015-06-09"}), "end", ""},
		{"observation time missing", KindObservation, with(KindObservation, map[string]any{"at": nil}), "at", ""},
		{"observation value as text", KindObservation, with(KindObservation, map[string]any{"value": "high"}), "value", ""},
		{"observation value overflows", KindObservation, strings.Replace(validJSON[KindObservation], `"value":138`, `"value":1e999`, 1), "value", ""},
		{"observation time not RFC 3339", KindObservation, with(KindObservation, map[string]any{"at": "01/03/2025 09:30"}), "at",
			"time.Time's parse error carries no field name and jsonError drops it to \"\""},
		{"note text missing", KindNote, with(KindNote, map[string]any{"text": nil}), "text", ""},
		{"note author missing", KindNote, with(KindNote, map[string]any{"authorId": nil}), "authorId", ""},
		{"care plan start missing", KindCarePlan, with(KindCarePlan, map[string]any{"start": nil}), "start", ""},
		{"care plan title missing", KindCarePlan, with(KindCarePlan, map[string]any{"title": nil}), "title", ""},
		{"care plan blank goal", KindCarePlan, with(KindCarePlan, map[string]any{"goals": []string{"ok", " "}}), "goals[1]", ""},
		{"care team name missing", KindCareTeam, with(KindCareTeam, map[string]any{"name": nil}), "name", ""},
		{"care team bad staff id", KindCareTeam, with(KindCareTeam, map[string]any{"staffIds": []string{"s-1", "s 2"}}), "staffIds[1]", ""},
		{"visit start missing", KindVisit, with(KindVisit, map[string]any{"start": nil}), "start", ""},
		{"visit end missing", KindVisit, with(KindVisit, map[string]any{"end": nil}), "end", ""},
		{"visit status", KindVisit, with(KindVisit, map[string]any{"status": "done"}), "status", ""},
		{"home access with neither code nor instructions", KindHomeAccess, with(KindHomeAccess, map[string]any{"keySafeCode": nil, "entryInstructions": nil}), "", ""},
		{"staff email missing", KindStaff, with(KindStaff, map[string]any{"email": nil}), "email", ""},
		{"staff email not an address", KindStaff, with(KindStaff, map[string]any{"email": "sarah.patel"}), "email", ""},
		{"staff role unknown", KindStaff, with(KindStaff, map[string]any{"role": "surgeon"}), "role", ""},
		{"staff role system", KindStaff, with(KindStaff, map[string]any{"role": "system"}), "role", ""},
		{"staff role supplier", KindStaff, with(KindStaff, map[string]any{"role": "supplier-support"}), "role", ""},
		{"staff role missing", KindStaff, with(KindStaff, map[string]any{"role": nil}), "role", ""},

		{"control character in name", KindPerson, with(KindPerson, map[string]any{"given": "Do\u0007ris"}), "given", ""},
		{"NUL in note", KindNote, with(KindNote, map[string]any{"text": "a\u0000b"}), "text", ""},
		{"escape in hazards", KindHomeAccess, with(KindHomeAccess, map[string]any{"hazards": "\u001b[31mred"}), "hazards", ""},
		{"C1 control in city", KindPerson, with(KindPerson, map[string]any{"address": map[string]any{"city": "Leeds\u0085"}}), "address.city", ""},
		{"control character in task", KindVisit, with(KindVisit, map[string]any{"tasks": []string{"ok", "x\u007f"}}), "tasks[1]", ""},
		{"newline in id", KindStaff, with(KindStaff, map[string]any{"id": "s\n1"}), "id", ""},
		{"slash in id", KindStaff, with(KindStaff, map[string]any{"id": "../s-1"}), "id", ""},
		{"non-ASCII id", KindStaff, with(KindStaff, map[string]any{"id": "sé"}), "id", ""},

		{"given too long", KindPerson, with(KindPerson, map[string]any{"given": long}), "given", ""},
		{"id too long", KindStaff, with(KindStaff, map[string]any{"id": strings.Repeat("a", 65)}), "id", ""},
		{"postcode too long", KindPerson, with(KindPerson, map[string]any{"address": map[string]any{"postcode": "LS6 3QF 1234"}}), "address.postcode", ""},
		{"address line too long", KindPerson, with(KindPerson, map[string]any{"address": map[string]any{"lines": []string{long}}}), "address.lines[0]", ""},
		{"too many address lines", KindPerson, with(KindPerson, map[string]any{"address": map[string]any{"lines": make101("x")}}), "address.lines", ""},
		{"note too long", KindNote, with(KindNote, map[string]any{"text": strings.Repeat("x", MaxNoteText+1)}), "text", ""},
		{"hazards too long", KindHomeAccess, with(KindHomeAccess, map[string]any{"hazards": strings.Repeat("x", MaxLongField+1)}), "hazards", ""},
		{"key-safe code too long", KindHomeAccess, with(KindHomeAccess, map[string]any{"keySafeCode": strings.Repeat("1", 33)}), "keySafeCode", ""},
		{"too many goals", KindCarePlan, with(KindCarePlan, map[string]any{"goals": make101("g")}), "goals", ""},
		{"too many staff", KindCareTeam, with(KindCareTeam, map[string]any{"staffIds": make101("s")}), "staffIds", ""},
		{"task too long", KindVisit, with(KindVisit, map[string]any{"tasks": []string{strings.Repeat("t", MaxLongField+1)}}), "tasks[0]", ""},

		{"visit ends before it starts", KindVisit, with(KindVisit, map[string]any{"end": "2025-03-12T07:00:00Z"}), "end", ""},
		{"visit ends when it starts", KindVisit, with(KindVisit, map[string]any{"end": "2025-03-12T07:30:00Z"}), "end", ""},
		{"visit ends before it starts across zones", KindVisit, with(KindVisit, map[string]any{"end": "2025-03-12T08:15:00+01:00"}), "end", ""},
		{"visit longer than a day", KindVisit, with(KindVisit, map[string]any{"end": "2025-03-13T07:31:00Z"}), "end", ""},
		{"phone not UK", KindPerson, with(KindPerson, map[string]any{"phone": "12345"}), "phone", ""},
		{"phone too long", KindPerson, with(KindPerson, map[string]any{"phone": "0113 496 0123 0113 496 0123"}), "phone", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Decode(tc.kind, []byte(tc.in))
			if err == nil {
				t.Fatalf("Decode accepted %s: %+v", truncate(tc.in), r)
			}
			if r != nil {
				t.Errorf("Decode returned a record with its error")
			}
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("error %v (%T) is not an *InvalidError", err, err)
			}
			if inv.Reason == "" {
				t.Errorf("error %v has no reason", err)
			}
			if inv.Field != tc.field {
				t.Errorf("Field %q, want %q (error: %v)", inv.Field, tc.field, err)
			}
		})
	}
}

func make101(prefix string) []string {
	s := make([]string, MaxListLength+1)
	for i := range s {
		s[i] = fmt.Sprint(prefix, i)
	}
	return s
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// Limits are inclusive: a field exactly at its limit is accepted.
func TestDecodeAcceptsAtLimits(t *testing.T) {
	tests := []struct {
		kind Kind
		set  map[string]any
	}{
		{KindPerson, map[string]any{"given": strings.Repeat("x", MaxShortField)}},
		{KindPerson, map[string]any{"address": map[string]any{"lines": make101("l")[:MaxListLength], "postcode": "LS6 3QF123"}}},
		{KindPerson, map[string]any{"birthDate": "1880-01-01"}},
		{KindPerson, map[string]any{"birthDate": DateOf(time.Now()).String()}},
		{KindPerson, map[string]any{"phone": "+44 7700 900123"}},
		{KindPerson, map[string]any{"phone": nil, "gpPractice": nil, "address": nil}},
		{KindNote, map[string]any{"text": strings.Repeat("x", MaxNoteText)}},
		{KindStaff, map[string]any{"id": strings.Repeat("a", 64)}},
		{KindStaff, map[string]any{"id": "A.b_c-9"}},
		{KindStaff, map[string]any{"team": nil}},
		{KindHomeAccess, map[string]any{"keySafeCode": strings.Repeat("1", 32), "entryInstructions": nil, "hazards": nil}},
		{KindHomeAccess, map[string]any{"keySafeCode": nil}},
		{KindVisit, map[string]any{"end": "2025-03-13T07:30:00Z"}}, // exactly 24 hours
		{KindVisit, map[string]any{"end": "2025-03-12T08:31:00+01:00"}},
		{KindVisit, map[string]any{"tasks": nil}},
		{KindAllergy, map[string]any{"severity": nil, "reaction": nil}},
		{KindCarePlan, map[string]any{"goals": []string{}, "activities": nil, "review": nil}},
		{KindMedication, map[string]any{"end": "2015-06-10"}}, // a one-day course
		{KindObservation, map[string]any{"value": -0.5, "unit": nil}},
		{KindCondition, map[string]any{"onset": nil, "status": "resolved"}},
		{KindNote, map[string]any{"text": "Emoji 👍, Welsh ŵ, Polish ł, and a tab\tand newline\r\n"}},
	}
	for _, tc := range tests {
		in := with(tc.kind, tc.set)
		if _, err := Decode(tc.kind, []byte(in)); err != nil {
			t.Errorf("%s %v: %v", tc.kind, tc.set, err)
		}
	}
}

// A record is limited to MaxRecordBytes as sent, not after decoding.
func TestDecodeSizeLimit(t *testing.T) {
	pad := func(n int) string {
		base := with(KindStaff, nil)
		return base + strings.Repeat(" ", n-len(base))
	}
	if _, err := Decode(KindStaff, []byte(pad(MaxRecordBytes))); err != nil {
		t.Errorf("record of exactly MaxRecordBytes: %v", err)
	}
	if _, err := Decode(KindStaff, []byte(pad(MaxRecordBytes+1))); err == nil {
		t.Error("record of MaxRecordBytes+1 accepted")
	}
}

// Decode must not accept a record that Haven cannot then encode: the
// store seals json.Marshal's output (care.sealRow), and clients read a
// record and send it back to update it.
func TestDecodedRecordsReencode(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		in   string
		bug  string
	}{
		{"timestamp with a +24:00 offset", KindObservation,
			with(KindObservation, map[string]any{"at": "2025-03-01T09:30:00+24:00"}),
			"time.Time.UnmarshalJSON accepts a +24:00 offset that MarshalJSON rejects"},
		{"HTML characters grow sixfold when encoded", KindNote,
			`{"id":"n","personId":"p","authorId":"s","at":"2025-03-01T08:15:00Z","text":"` + strings.Repeat("<", MaxNoteText) + `"}`,
			"json.Marshal escapes < as \\u003c, so a 20 KB note encodes to 120 KB, over MaxRecordBytes"},
		{"invalid UTF-8 grows threefold when decoded", KindCarePlan,
			`{"id":"cp","personId":"p","title":"t","start":"2024-01-01","goals":[` +
				strings.TrimSuffix(strings.Repeat(`"`+strings.Repeat("\xff", 600)+`",`, 60), ",") + `]}`,
			"each invalid byte becomes U+FFFD (3 bytes), so a 36 KB record encodes to 108 KB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Decode(tc.kind, []byte(tc.in))
			if err != nil {
				return // rejected: fine
			}
			b, err := json.Marshal(r)
			if err == nil {
				_, err = Decode(tc.kind, b)
			}
			if err != nil {
				t.Fatalf("Decode accepted a record whose encoding fails to decode: %v", err)
			}
		})
	}
}

// encoding/json matches keys case-insensitively, so a record can carry a
// key that a case-sensitive reader (a proxy, an audit tool, a client)
// sees as different, and the last one silently wins.
func TestDecodeRejectsCaseVariantKeys(t *testing.T) {
	in := strings.Replace(validJSON[KindStaff], `"role":"carer"`, `"role":"carer","ROLE":"tenant-admin"`, 1)
	r, err := Decode(KindStaff, []byte(in))
	if err == nil {
		t.Errorf("%s decoded as role %q; duplicate or case-variant keys should be rejected", in, r.(*Staff).Role)
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in, want string
		bug      string
	}{
		{"+44 7700 900123", "07700900123", ""},
		{"07700 900123", "07700900123", ""},
		{"07700-900-123", "07700900123", ""},
		{"(0113) 496 0123", "01134960123", ""},
		{"020 7946 0000", "02079460000", ""},
		{" +44 20 7946 0000", "02079460000", ""},
		{"+447700900123", "07700900123", ""},
		{"447700900123", "447700900123", ""}, // no +: not known to be a country code
		{"", "", ""},
		{"ext.", "", ""},
		{"٠١٢٣", "", ""}, // Arabic-Indic digits are not ASCII digits
		{"+44 (0)113 496 0123", "01134960123", "the trunk 0 written after +44 is kept: 001134960123 (12 digits), which Person.Validate rejects"},
		{"0044 113 496 0123", "01134960123", "the 00 international prefix is not recognised: 00441134960123"},
	}
	for _, tc := range tests {
		got := NormalizePhone(tc.in)
		switch {
		case got != tc.want:
			t.Errorf("NormalizePhone(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  Doris   O'Brien ", "doris o'brien"},
		{"SIÂN\tJONES", "siân jones"},
		{"", ""},
		{"a\n b", "a b"},
	}
	for _, tc := range tests {
		if got := NormalizeName(tc.in); got != tc.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestInvalidError(t *testing.T) {
	err := Invalid("nhsNumber", "%q is wrong", "123")
	var inv *InvalidError
	if !errors.As(err, &inv) || inv.Field != "nhsNumber" || inv.Reason != `"123" is wrong` {
		t.Fatalf("Invalid gave %#v", err)
	}
	if got := err.Error(); got != `invalid nhsNumber: "123" is wrong` {
		t.Errorf("Error() = %q", got)
	}
	if got := Invalid("", "too big").Error(); got != "invalid input: too big" {
		t.Errorf("Error() = %q", got)
	}
	wrapped := fmt.Errorf("create person: %w", err)
	if !errors.As(wrapped, &inv) {
		t.Error("a wrapped InvalidError is not found by errors.As")
	}
}

func TestRoles(t *testing.T) {
	for _, r := range TenantRoles {
		if !r.Valid() {
			t.Errorf("tenant role %s is not valid", r)
		}
		if err := (&Staff{ID: "s", Name: "n", Role: r, Email: "a@b"}).Validate(); err != nil {
			t.Errorf("staff with role %s: %v", r, err)
		}
	}
	for _, r := range []Role{RoleSupplierSupport, RoleSupplierOperator, RoleSystem} {
		if !r.Valid() {
			t.Errorf("role %s is not valid", r)
		}
		if slices.Contains(TenantRoles, r) {
			t.Errorf("supplier or system role %s is a tenant role", r)
		}
	}
	for _, r := range []Role{"", "Carer", "admin", "carer "} {
		if r.Valid() {
			t.Errorf("role %q is valid", r)
		}
	}
}

func TestScope(t *testing.T) {
	var zero Scope
	if zero.Valid() {
		t.Error("the zero Scope is valid")
	}
	p := Principal{ID: "s-1", TenantID: "t-1", Role: RoleCarer}
	s := ScopeOf(p)
	if !s.Valid() || s.Tenant() != "t-1" || s.Actor().ID != p.ID {
		t.Errorf("ScopeOf(%+v) = tenant %q, actor %+v", p, s.Tenant(), s.Actor())
	}
	if ScopeOf(Principal{ID: "supplier", Role: RoleSupplierSupport}).Valid() {
		t.Error("a principal with no tenant gives a valid scope")
	}
	sys := SystemPrincipal("t-1", "demo set-up")
	if sys.ID != "system" || sys.Role != RoleSystem || sys.TenantID != "t-1" || sys.Purpose != "demo set-up" {
		t.Errorf("SystemPrincipal = %+v", sys)
	}
}

// Every kind has a record type whose Kind, New and JSON agree.
func TestNewEveryKind(t *testing.T) {
	for _, k := range allKinds {
		r, ok := New(k)
		if !ok || r.Kind() != k {
			t.Errorf("New(%s) = %v, %v", k, r, ok)
		}
		if reflect.ValueOf(r).Kind() != reflect.Pointer {
			t.Errorf("New(%s) is not a pointer", k)
		}
	}
	if _, ok := New("invoice"); ok {
		t.Error("New accepted an unknown kind")
	}
	for _, k := range PersonKinds {
		if k == KindHomeAccess {
			t.Error("home access is listed in PersonKinds")
		}
	}
}

func TestStoredText(t *testing.T) {
	for s, want := range map[string]bool{"": true, "Zoë 😀": true, "tab\tline\n": true, "\x01": true,
		"a\x00b": false, "\x00": false, "\xff": false, "a\xc3": false, "\xed\xa0\x80": false} {
		if got := StoredText(s); got != want {
			t.Errorf("StoredText(%q) = %v, want %v", s, got, want)
		}
	}
}
