package audit

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A test key pair: note.GenerateKey with a seed of 32 bytes of 7.
const (
	testSignerKey   = "PRIVATE+KEY+haven.audit+e163836c+AQcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH"
	testVerifierKey = "haven.audit+e163836c+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs"
)

func testKeys(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	s, err := note.NewSigner(testSignerKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseVerifier(testVerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// otherKeys returns a fresh key pair that is not the test key pair but has
// the same name.
func otherKeys(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := GenerateKey(KeyName)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// sampleEntry returns the i'th entry of a plausible log for tenant.
func sampleEntry(tenant string, i int) Entry {
	actions := []string{"read", "search", "update", "create", "reveal"}
	return Entry{
		Tenant:     tenant,
		Time:       time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Minute + 1234567*time.Nanosecond),
		Actor:      fmt.Sprintf("staff-%d", i%7),
		ActorRole:  "carer",
		Action:     actions[i%len(actions)],
		Kind:       "person",
		RecordID:   fmt.Sprintf("rec-%d", i%13),
		PersonID:   fmt.Sprintf("per-%d", i%11),
		Purpose:    "care-delivery",
		Outcome:    "ok",
		ClientAddr: "192.0.2.10",
	}
}

// memStore is an in-memory audit store. It appends exactly as the storage
// contract in the package doc says, so that tests can then tamper with its
// rows, hashes and checkpoints as an attacker with database access could.
type memStore struct {
	signer   note.Signer
	every    int64 // sign a checkpoint after every this many entries
	tenants  []string
	logs     map[string]*memLog
	unsorted bool // return rows as stored, not ORDER BY seq
}

type memLog struct {
	rows        []Entry
	hashes      map[int64]tlog.Hash
	checkpoints [][]byte
}

func newMemStore(t testing.TB, s note.Signer, every int64) *memStore {
	t.Helper()
	return &memStore{signer: s, every: every, logs: make(map[string]*memLog)}
}

func (m *memStore) log(tenant string) *memLog {
	l := m.logs[tenant]
	if l == nil {
		l = &memLog{hashes: make(map[int64]tlog.Hash)}
		m.logs[tenant] = l
		m.tenants = append(m.tenants, tenant)
	}
	return l
}

// append appends e to its tenant's log as the store does and returns it
// with its Seq set; every m.every entries it signs a checkpoint.
func (m *memStore) append(t testing.TB, e Entry) Entry {
	t.Helper()
	l := m.log(e.Tenant)
	e.Seq = int64(len(l.rows))
	e.Time = e.Time.Truncate(time.Microsecond) // as a timestamp column keeps it
	hs, err := StoredHashes(e, l.reader())
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hs {
		l.hashes[HashIndex(e.Seq)+int64(i)] = h
	}
	l.rows = append(l.rows, e)
	if (e.Seq+1)%m.every == 0 {
		m.checkpoint(t, e.Tenant)
	}
	return e
}

// checkpoint signs and stores a checkpoint of tenant's log as it is.
func (m *memStore) checkpoint(t testing.TB, tenant string) {
	t.Helper()
	l := m.log(tenant)
	msg, _, err := Checkpoint(m.signer, Origin(tenant), int64(len(l.rows)), l.reader())
	if err != nil {
		t.Fatal(err)
	}
	l.checkpoints = append(l.checkpoints, msg)
}

// rehash recomputes every stored hash from the rows, as an attacker who
// understands the log would after editing it.
func (l *memLog) rehash(t testing.TB) {
	t.Helper()
	l.hashes = make(map[int64]tlog.Hash)
	for i, e := range l.rows {
		hs, err := tlog.StoredHashes(int64(i), e.Leaf(), l.reader())
		if err != nil {
			t.Fatal(err)
		}
		for j, h := range hs {
			l.hashes[HashIndex(int64(i))+int64(j)] = h
		}
	}
}

func (l *memLog) reader() tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			h, ok := l.hashes[x]
			if !ok {
				return nil, fmt.Errorf("no stored hash %d", x)
			}
			out[i] = h
		}
		return out, nil
	})
}

func (m *memStore) Tenants() ([]string, error) {
	return slices.Clone(m.tenants), nil
}

func (m *memStore) Entries(tenant string, fn func(Entry) error) error {
	l := m.logs[tenant]
	if l == nil {
		return nil
	}
	rows := slices.Clone(l.rows)
	if !m.unsorted {
		slices.SortStableFunc(rows, func(a, b Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	for _, e := range rows {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) StoredHash(tenant string, index int64) (tlog.Hash, bool, error) {
	l := m.logs[tenant]
	if l == nil {
		return tlog.Hash{}, false, nil
	}
	h, ok := l.hashes[index]
	return h, ok, nil
}

func (m *memStore) Checkpoints(tenant string) ([][]byte, error) {
	l := m.logs[tenant]
	if l == nil {
		return nil, nil
	}
	return slices.Clone(l.checkpoints), nil
}
