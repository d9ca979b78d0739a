package audit

import (
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Entry is one audited access. Fields are plain strings so the store can keep
// them as columns.
type Entry struct {
	Tenant     string    // tenant id; each tenant has its own log
	Seq        int64     // 0-based index in the tenant's log (= tlog record number)
	Time       time.Time // UTC, truncated to microseconds by the encoder
	Actor      string    // staff/client id or "system"
	ActorRole  string    // the actor's role when acting
	Action     string    // read, search, create, update, delete, erase, reveal, sign-in, key-rotate, ...
	Kind       string    // record kind ("person", "home-access", ...) or ""
	RecordID   string    // the record acted on, or ""
	PersonID   string    // whose data; "" if none
	Purpose    string    // why the access happened
	Outcome    string    // ok, denied, not-found, invalid, error
	ClientAddr string    // network address the request came from
}

// leafLabel opens every version 1 leaf. A later encoding gets a new label,
// so leaves of different versions can never be equal.
const leafLabel = "haven-audit/v1\n"

// Leaf returns the canonical encoding of e, the record data that the log
// hashes. It is
//
//	"haven-audit/v1\n" || field(Tenant) || field(Seq) || field(Time) ||
//	field(Actor) || field(ActorRole) || field(Action) || field(Kind) ||
//	field(RecordID) || field(PersonID) || field(Purpose) || field(Outcome) ||
//	field(ClientAddr)
//
// where field(s) = decimal(len(s)) || ":" || s || "\n", len counts bytes,
// Seq is written in decimal, and Time is the number of microseconds since
// 1970-01-01T00:00:00Z in decimal (negative before it, as
// [time.Time.UnixMicro]): the time zone and any nanoseconds are dropped.
// The string fields are written as they are, whatever bytes they hold.
//
// Every field is length-prefixed and the fields come in a fixed order, so
// the encoding is injective: two entries have the same leaf exactly when
// all their fields are equal (times compared to the microsecond).
func (e Entry) Leaf() []byte {
	var seq, micros [20]byte
	nums := [2][]byte{
		strconv.AppendInt(seq[:0], e.Seq, 10),
		strconv.AppendInt(micros[:0], e.Time.UnixMicro(), 10),
	}
	strs := [...]string{
		e.Actor, e.ActorRole, e.Action, e.Kind, e.RecordID,
		e.PersonID, e.Purpose, e.Outcome, e.ClientAddr,
	}

	size := len(leafLabel) + fieldSize(len(e.Tenant)) + fieldSize(len(nums[0])) + fieldSize(len(nums[1]))
	for _, s := range strs {
		size += fieldSize(len(s))
	}

	b := make([]byte, 0, size)
	b = append(b, leafLabel...)
	b = appendField(b, e.Tenant)
	for _, n := range nums {
		b = appendField(b, n)
	}
	for _, s := range strs {
		b = appendField(b, s)
	}
	return b
}

// appendField appends decimal(len(s)) || ":" || s || "\n" to b.
func appendField[S string | []byte](b []byte, s S) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, '\n')
}

// fieldSize returns the encoded size of a field holding n bytes.
func fieldSize(n int) int {
	digits := 1
	for x := n; x >= 10; x /= 10 {
		digits++
	}
	return digits + 1 + n + 1
}

// Hash returns the RFC 6962 §2.1 leaf hash of e: SHA-256(0x00 || e.Leaf()).
func (e Entry) Hash() tlog.Hash {
	return tlog.RecordHash(e.Leaf())
}

// originPrefix begins the origin line of every Haven audit checkpoint.
const originPrefix = "haven.audit/"

// Origin returns the checkpoint origin line (C2SP tlog-checkpoint, "Note
// text", line 1) that identifies tenant's log.
func Origin(tenant string) string {
	return originPrefix + tenant
}
