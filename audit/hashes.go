package audit

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// StoredHashes returns the hashes the store must write when it appends e to
// its tenant's log: e's leaf hash first, then the hashes of the subtrees e
// completes. They belong at storage indexes HashIndex(e.Seq), HashIndex(e.Seq)+1,
// and so on. r must read the hashes stored for entries 0 to e.Seq-1 of the
// same tenant. See [tlog.StoredHashes].
func StoredHashes(e Entry, r tlog.HashReader) ([]tlog.Hash, error) {
	if e.Seq < 0 {
		return nil, fmt.Errorf("audit: stored hashes: negative seq %d", e.Seq)
	}
	hs, err := tlog.StoredHashes(e.Seq, e.Leaf(), r)
	if err != nil {
		return nil, fmt.Errorf("audit: stored hashes for entry %d: %w", e.Seq, err)
	}
	return hs, nil
}

// HashIndex returns the storage index of the leaf hash of entry seq, the
// index at which the hashes from [StoredHashes] for that entry begin. It is
// tlog.StoredHashIndex(0, seq).
func HashIndex(seq int64) int64 {
	return tlog.StoredHashIndex(0, seq)
}

// memHashes is an in-memory tlog hash store, indexed by storage index.
type memHashes []tlog.Hash

// ReadHashes implements [tlog.HashReader].
func (m memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("read hashes: index %d out of range [0, %d)", x, len(m))
		}
		out[i] = m[x]
	}
	return out, nil
}

// appendRecord appends the stored hashes of record n = number of records so
// far, whose leaf hash is h.
func (m *memHashes) appendRecord(n int64, h tlog.Hash) error {
	hs, err := tlog.StoredHashesForRecordHash(n, h, *m)
	if err != nil {
		return err
	}
	*m = append(*m, hs...)
	return nil
}
