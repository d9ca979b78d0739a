package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// leafTests are golden vectors for Entry.Leaf and Entry.Hash. The leaves are
// written out by hand from the format in the Leaf doc comment; the hashes
// were computed once, independently, as SHA-256(0x00 || leaf) with Python's
// hashlib, and are checked here against crypto/sha256 as well.
var leafTests = []struct {
	name string
	e    Entry
	leaf string
	hash string
}{
	{
		name: "typical",
		e: Entry{
			Tenant: "acme-care",
			Seq:    41,
			// 2025-03-04T05:06:07Z is 1741064767 s after the epoch; the 789 ns
			// are dropped.
			Time:       time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC),
			Actor:      "staff-17",
			ActorRole:  "carer",
			Action:     "read",
			Kind:       "person",
			RecordID:   "rec-9",
			PersonID:   "per-3",
			Purpose:    "care-delivery",
			Outcome:    "ok",
			ClientAddr: "192.0.2.10:5123",
		},
		leaf: "haven-audit/v1\n" +
			"9:acme-care\n" +
			"2:41\n" +
			"16:1741064767123456\n" +
			"8:staff-17\n" +
			"5:carer\n" +
			"4:read\n" +
			"6:person\n" +
			"5:rec-9\n" +
			"5:per-3\n" +
			"13:care-delivery\n" +
			"2:ok\n" +
			"15:192.0.2.10:5123\n",
		hash: "54438612ef82c1d5e32b3caebceec91052ecd27a36034fbae5bf0503e157c89d",
	},
	{
		name: "empty fields, separators in values, before 1970",
		e: Entry{
			Tenant: "t",
			Seq:    0,
			// 1969-12-31T23:59:59.9999995Z: -0.0000005 s, which is
			// microsecond -1 (floor, as time.Time.UnixMicro).
			Time:       time.Date(1969, 12, 31, 23, 59, 59, 999999500, time.UTC),
			Actor:      "system",
			Action:     "key-rotate",
			Purpose:    "line1\nline2",
			Outcome:    "ok",
			ClientAddr: "é:\n", // 'é' is two bytes in UTF-8
		},
		leaf: "haven-audit/v1\n" +
			"1:t\n" +
			"1:0\n" +
			"2:-1\n" +
			"6:system\n" +
			"0:\n" +
			"10:key-rotate\n" +
			"0:\n" +
			"0:\n" +
			"0:\n" +
			"11:line1\nline2\n" +
			"2:ok\n" +
			"4:é:\n\n",
		hash: "5dd787fb4baa3460bb63a74c88eff47ac26a5a2871266bc5db402162957eecd0",
	},
}

func TestLeafGolden(t *testing.T) {
	for _, tt := range leafTests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := tt.e.Leaf()
			if string(leaf) != tt.leaf {
				t.Errorf("Leaf() =\n%q\nwant\n%q", leaf, tt.leaf)
			}
			h := tt.e.Hash()
			if got := hex.EncodeToString(h[:]); got != tt.hash {
				t.Errorf("Hash() = %s, want %s", got, tt.hash)
			}
			// RFC 6962 §2.1: MTH({d(0)}) = SHA-256(0x00 || d(0)).
			if want := sha256.Sum256(append([]byte{0x00}, tt.leaf...)); h != want {
				t.Errorf("Hash() = %x, want SHA-256(0x00 || leaf) = %x", h, want)
			}
			if cap(leaf) != len(leaf) {
				t.Errorf("Leaf() has len %d cap %d: size computed wrong", len(leaf), cap(leaf))
			}
		})
	}
}

// TestLeafEveryField changes each field of Entry in turn, found by
// reflection so that a field added later without being encoded fails here,
// and checks that every change gives a distinct leaf.
func TestLeafEveryField(t *testing.T) {
	base := leafTests[0].e
	seen := map[string]string{string(base.Leaf()): "base"}
	typ := reflect.TypeFor[Entry]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		e := base
		v := reflect.ValueOf(&e).Elem().Field(i)
		switch x := v.Interface().(type) {
		case string:
			v.SetString(x + "x")
		case int64:
			v.SetInt(x + 1)
		case time.Time:
			v.Set(reflect.ValueOf(x.Add(time.Microsecond)))
		default:
			t.Fatalf("field %s has type %s: teach Leaf and this test about it", f.Name, f.Type)
		}
		leaf := string(e.Leaf())
		if other, ok := seen[leaf]; ok {
			t.Errorf("changing %s gives the same leaf as %s", f.Name, other)
		}
		seen[leaf] = f.Name
		checkParse(t, e)
	}
}

// TestLeafSeparators checks pairs of entries that naive encodings (joining
// fields with a separator, or concatenating them) would confuse.
func TestLeafSeparators(t *testing.T) {
	pairs := [][2]Entry{
		{{Actor: "a\n", ActorRole: "b"}, {Actor: "a", ActorRole: "\nb"}},
		{{Actor: "a:b"}, {Actor: "a", ActorRole: "b"}},
		{{Tenant: "a", Seq: 12}, {Tenant: "a1", Seq: 2}},
		{{Actor: "1:x\n"}, {ActorRole: "1:x\n"}},
		{{Actor: "x\n1:y"}, {Actor: "x", ActorRole: "y"}},
		{{Kind: "person", RecordID: ""}, {Kind: "", RecordID: "person"}},
		{{Purpose: "0:\n"}, {Purpose: "", Outcome: ""}},
		{{Outcome: "ok\n0:"}, {Outcome: "ok", ClientAddr: ""}},
		{{Tenant: "haven-audit/v1\n"}, {}},
		{{Seq: -1}, {Seq: 1}},
		{{Time: time.UnixMicro(0)}, {Time: time.UnixMicro(-1)}},
	}
	for _, p := range pairs {
		if bytes.Equal(p[0].Leaf(), p[1].Leaf()) {
			t.Errorf("same leaf for\n%+v\n%+v", p[0], p[1])
		}
		checkParse(t, p[0])
		checkParse(t, p[1])
	}
}

// TestLeafTime checks that Leaf encodes the instant to the microsecond,
// whatever the time zone and nanoseconds.
func TestLeafTime(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)
	e := leafTests[0].e
	e.Time = at
	want := string(e.Leaf())

	same := []time.Time{
		at.In(time.FixedZone("NZDT", 13*3600)),
		at.Add(999 * time.Nanosecond),
		at.Round(0), // strips a monotonic reading, if any
	}
	for _, tm := range same {
		e.Time = tm
		if got := string(e.Leaf()); got != want {
			t.Errorf("time %v: leaf %q, want %q", tm, got, want)
		}
	}
	for _, tm := range []time.Time{at.Add(time.Microsecond), at.Add(-time.Nanosecond)} {
		e.Time = tm
		if got := string(e.Leaf()); got == want {
			t.Errorf("time %v: same leaf as %v", tm, at)
		}
	}
}

func TestOrigin(t *testing.T) {
	if got, want := Origin("acme-care"), "haven.audit/acme-care"; got != want {
		t.Errorf("Origin = %q, want %q", got, want)
	}
	if Origin("a") == Origin("b") {
		t.Error("two tenants share an origin")
	}
}

// FuzzLeafInjective builds two entries from arbitrary bytes and checks that
// their leaves are equal exactly when the entries are, and that every leaf
// parses back to its entry: a left inverse proves the encoding injective.
func FuzzLeafInjective(f *testing.F) {
	f.Add([]byte{}, []byte{0})
	f.Add([]byte("\x02a\n\x01b"), []byte("\x01a\x02\nb"))
	f.Add([]byte("\x011\x00\x00\x00\x00\x00\x00\x00\x02"), []byte("\x0212\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add(bytes.Repeat([]byte{0xff}, 64), bytes.Repeat([]byte{0x80}, 64))
	f.Add([]byte("\x04ab:\n"), []byte("\x02ab\x01\n"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ea, eb := fuzzEntry(a), fuzzEntry(b)
		la, lb := ea.Leaf(), eb.Leaf()
		if bytes.Equal(la, lb) != sameEntry(ea, eb) {
			t.Fatalf("leaf equality %v but entry equality %v:\n%+v\n%+v", bytes.Equal(la, lb), sameEntry(ea, eb), ea, eb)
		}
		checkParse(t, ea)
		checkParse(t, eb)
	})
}

// fuzzEntry decodes an entry from arbitrary bytes: each string field is a
// length byte and that many bytes, Seq and the time in microseconds are 8
// bytes each, then a byte of nanoseconds. Missing bytes read as zero.
func fuzzEntry(data []byte) Entry {
	next := func(n int) []byte {
		b := make([]byte, n)
		copy(b, data)
		data = data[min(n, len(data)):]
		return b
	}
	str := func() string {
		n := next(1)[0]
		return string(next(int(n)))
	}
	var e Entry
	e.Tenant = str()
	e.Seq = int64(binary.BigEndian.Uint64(next(8)))
	micros := int64(binary.BigEndian.Uint64(next(8)))
	e.Time = time.UnixMicro(micros).Add(time.Duration(next(1)[0]) * 3)
	for _, p := range []*string{&e.Actor, &e.ActorRole, &e.Action, &e.Kind, &e.RecordID, &e.PersonID, &e.Purpose, &e.Outcome, &e.ClientAddr} {
		*p = str()
	}
	return e
}

// sameEntry reports whether a and b are the same entry, with times
// compared to the microsecond.
func sameEntry(a, b Entry) bool {
	if a.Time.UnixMicro() != b.Time.UnixMicro() {
		return false
	}
	a.Time, b.Time = time.Time{}, time.Time{}
	return a == b
}

// checkParse checks that parseLeaf inverts Leaf for e.
func checkParse(t *testing.T, e Entry) {
	t.Helper()
	got, err := parseLeaf(e.Leaf())
	if err != nil {
		t.Fatalf("parseLeaf(Leaf(%+v)): %v", e, err)
	}
	if !sameEntry(got, e) {
		t.Fatalf("parseLeaf(Leaf(e)) = %+v, want %+v", got, e)
	}
}

// parseLeaf decodes a version 1 leaf, following the Leaf doc comment and
// nothing else. It is strict: one leaf, one entry.
func parseLeaf(b []byte) (Entry, error) {
	errMalformed := errors.New("malformed leaf")
	rest, ok := bytes.CutPrefix(b, []byte(leafLabel))
	if !ok {
		return Entry{}, errMalformed
	}
	field := func() (string, error) {
		n, after, ok := bytes.Cut(rest, []byte(":"))
		if !ok {
			return "", errMalformed
		}
		size, err := strconv.Atoi(string(n))
		if err != nil || size < 0 || strconv.Itoa(size) != string(n) || size >= len(after) || after[size] != '\n' {
			return "", errMalformed
		}
		rest = after[size+1:]
		return string(after[:size]), nil
	}
	var fs [12]string
	for i := range fs {
		var err error
		if fs[i], err = field(); err != nil {
			return Entry{}, err
		}
	}
	if len(rest) != 0 {
		return Entry{}, errMalformed
	}
	seq, err := strconv.ParseInt(fs[1], 10, 64)
	if err != nil || strconv.FormatInt(seq, 10) != fs[1] {
		return Entry{}, errMalformed
	}
	micros, err := strconv.ParseInt(fs[2], 10, 64)
	if err != nil || strconv.FormatInt(micros, 10) != fs[2] {
		return Entry{}, errMalformed
	}
	return Entry{
		Tenant: fs[0], Seq: seq, Time: time.UnixMicro(micros).UTC(),
		Actor: fs[3], ActorRole: fs[4], Action: fs[5], Kind: fs[6], RecordID: fs[7],
		PersonID: fs[8], Purpose: fs[9], Outcome: fs[10], ClientAddr: fs[11],
	}, nil
}
