package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// ctLeaves and ctRoots are the reference inputs and tree heads used by the
// Certificate Transparency implementations of RFC 6962: ctRoots[n] is the
// Merkle Tree Hash of the first n leaves.
var ctLeaves = []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}

var ctRoots = []string{
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

// TestRFC6962 checks the tree hashing this package relies on (tlog, and the
// in-memory store Verify rebuilds) against RFC 6962 §2.1.
func TestRFC6962(t *testing.T) {
	// MTH({}) = SHA-256().
	empty := sha256.Sum256(nil)
	if got, err := tlog.TreeHash(0, memHashes(nil)); err != nil || got != empty {
		t.Errorf("TreeHash(0) = %x, %v; want SHA-256(\"\") = %x", got, err, empty)
	}

	// MTH of two leaves, by hand: SHA-256(0x01 || SHA-256(0x00 || d0) || SHA-256(0x00 || d1)).
	d0, d1 := []byte("first"), []byte("second")
	h0 := sha256.Sum256(append([]byte{0x00}, d0...))
	h1 := sha256.Sum256(append([]byte{0x00}, d1...))
	want := sha256.Sum256(append(append([]byte{0x01}, h0[:]...), h1[:]...))
	var m memHashes
	for i, d := range [][]byte{d0, d1} {
		if err := m.appendRecord(int64(i), tlog.RecordHash(d)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := tlog.TreeHash(2, m); err != nil || got != want {
		t.Errorf("TreeHash(2) = %x, %v; want %x", got, err, want)
	}

	// The Certificate Transparency reference vectors, every size.
	m = nil
	for n := 0; n <= len(ctLeaves); n++ {
		got, err := tlog.TreeHash(int64(n), m)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got[:]) != ctRoots[n] {
			t.Errorf("size %d: root %x, want %s", n, got, ctRoots[n])
		}
		if n < len(ctLeaves) {
			d, _ := hex.DecodeString(ctLeaves[n])
			if err := m.appendRecord(int64(n), tlog.RecordHash(d)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// mth is the Merkle Tree Hash of RFC 6962 §2.1, written out from the RFC
// with crypto/sha256 and no tlog code, over leaf hashes.
func mth(leaves [][32]byte) [32]byte {
	switch n := len(leaves); n {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	default:
		k := 1 // the largest power of two smaller than n
		for k*2 < n {
			k *= 2
		}
		l, r := mth(leaves[:k]), mth(leaves[k:])
		return sha256.Sum256(append(append([]byte{0x01}, l[:]...), r[:]...))
	}
}

// TestCheckpointRoot checks that the root Checkpoint signs, computed from the
// hashes the store keeps, equals both tlog.TreeHash over an independent
// in-memory tree and the RFC 6962 hash computed by hand.
func TestCheckpointRoot(t *testing.T) {
	s, v := testKeys(t)
	st := newMemStore(t, s, 1<<62)
	var leaves [][32]byte
	var m memHashes
	for i := range 37 {
		e := st.append(t, sampleEntry("acme", i))
		l := sha256.Sum256(append([]byte{0x00}, e.Leaf()...))
		leaves = append(leaves, l)
		if err := m.appendRecord(int64(i), e.Hash()); err != nil {
			t.Fatal(err)
		}

		size := int64(i + 1)
		msg, root, err := Checkpoint(s, Origin("acme"), size, st.logs["acme"].reader())
		if err != nil {
			t.Fatal(err)
		}
		if want := mth(leaves); root != want {
			t.Fatalf("size %d: Checkpoint root %x, RFC 6962 MTH %x", size, root, want)
		}
		if want, err := tlog.TreeHash(size, m); err != nil || root != want {
			t.Fatalf("size %d: Checkpoint root %x, tlog.TreeHash %x, %v", size, root, want, err)
		}
		gotSize, gotRoot, err := OpenCheckpoint(msg, v, Origin("acme"))
		if err != nil || gotSize != size || gotRoot != root {
			t.Fatalf("size %d: OpenCheckpoint = %d, %x, %v", size, gotSize, gotRoot, err)
		}
	}
}

func TestHashIndex(t *testing.T) {
	// Entry n's hashes start after those of entries 0..n-1: StoredHashCount(n).
	for n := int64(0); n < 100; n++ {
		if got, want := HashIndex(n), tlog.StoredHashCount(n); got != want {
			t.Errorf("HashIndex(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestStoredHashes(t *testing.T) {
	var m memHashes
	for i := range 10 {
		e := sampleEntry("acme", i)
		e.Seq = int64(i)
		if got := int64(len(m)); got != HashIndex(e.Seq) {
			t.Fatalf("entry %d: %d hashes stored, want %d", i, got, HashIndex(e.Seq))
		}
		hs, err := StoredHashes(e, m)
		if err != nil {
			t.Fatal(err)
		}
		if hs[0] != e.Hash() {
			t.Errorf("entry %d: first stored hash is not the leaf hash", i)
		}
		m = append(m, hs...)
	}
	e := sampleEntry("acme", 0)
	e.Seq = -1
	if _, err := StoredHashes(e, m); err == nil {
		t.Error("StoredHashes accepted a negative seq")
	}
}
