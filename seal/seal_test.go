package seal

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

var record = []byte(`{"id":"n1","personId":"p1","text":"Mrs Jones was in good spirits; took her 8am medication."}`)

func TestRoundTrip(t *testing.T) {
	kms, _ := newKMS(t)
	kr := NewKeyring(kms)
	tk, _ := newTenant(t, kr, "t1")
	pk, _ := newPerson(t, tk, "p1")

	for _, tc := range []struct {
		name string
		seal func(Binding, []byte) ([]byte, error)
		open func(Binding, []byte) ([]byte, error)
		b    Binding
	}{
		{"person", pk.Seal, pk.Open, Binding{Tenant: "t1", Kind: "note", ID: "n1", Version: 3}},
		{"tenant", tk.Seal, tk.Open, Binding{Tenant: "t1", Kind: "staff", ID: "s1", Version: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, pt := range [][]byte{record, {}, bytes.Repeat([]byte{0}, 4096)} {
				ct, err := tc.seal(tc.b, pt)
				if err != nil {
					t.Fatal(err)
				}
				if len(pt) > 8 && bytes.Contains(ct, pt[:8]) {
					t.Fatal("ciphertext contains plaintext")
				}
				got, err := tc.open(tc.b, ct)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, pt) {
					t.Fatalf("round trip: got %q, want %q", got, pt)
				}
			}
			ct1, _ := tc.seal(tc.b, record)
			ct2, _ := tc.seal(tc.b, record)
			if bytes.Equal(ct1, ct2) {
				t.Fatal("sealing twice gave the same ciphertext: nonce reused")
			}
		})
	}
}

func TestOpenWithDifferentBindingFails(t *testing.T) {
	kms, _ := newKMS(t)
	kr := NewKeyring(kms)
	tk, _ := newTenant(t, kr, "t1")
	pk, _ := newPerson(t, tk, "p1")
	b := Binding{Tenant: "t1", Kind: "note", ID: "n1", Version: 3}

	for _, key := range []struct {
		name       string
		seal, open func(Binding, []byte) ([]byte, error)
	}{
		{"person", pk.Seal, pk.Open},
		{"tenant", tk.Seal, tk.Open},
	} {
		ct, err := key.seal(b, record)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			b    Binding
		}{
			{"tenant", Binding{Tenant: "t2", Kind: "note", ID: "n1", Version: 3}},
			{"kind", Binding{Tenant: "t1", Kind: "allergy", ID: "n1", Version: 3}},
			{"id", Binding{Tenant: "t1", Kind: "note", ID: "n2", Version: 3}},
			{"version", Binding{Tenant: "t1", Kind: "note", ID: "n1", Version: 2}},
			{"shifted", Binding{Tenant: "t1", Kind: "noten", ID: "1", Version: 3}},
		} {
			t.Run(key.name+"/"+tc.name, func(t *testing.T) {
				pt, err := key.open(tc.b, ct)
				if !errors.Is(err, ErrOpen) {
					t.Fatalf("Open with different %s: got %q, %v; want ErrOpen", tc.name, pt, err)
				}
			})
		}
	}
}

// TestTenantIsInAssociatedData shows the tenant is bound cryptographically,
// not only by the check that the binding names the key's tenant: the same
// key under another tenant's name still cannot open the ciphertext.
func TestTenantIsInAssociatedData(t *testing.T) {
	kms, _ := newKMS(t)
	tk, _ := newTenant(t, NewKeyring(kms), "t1")
	pk, _ := newPerson(t, tk, "p1")
	ct, err := pk.Seal(Binding{Tenant: "t1", Kind: "note", ID: "n1", Version: 1}, record)
	if err != nil {
		t.Fatal(err)
	}
	impostor := &PersonKey{tenant: "t2", aead: pk.aead}
	if _, err := impostor.Open(Binding{Tenant: "t2", Kind: "note", ID: "n1", Version: 1}, ct); !errors.Is(err, ErrOpen) {
		t.Fatalf("got %v, want ErrOpen", err)
	}
}

func TestTamperedCiphertextFails(t *testing.T) {
	kms, _ := newKMS(t)
	tk, _ := newTenant(t, NewKeyring(kms), "t1")
	pk, _ := newPerson(t, tk, "p1")
	b := Binding{Tenant: "t1", Kind: "note", ID: "n1", Version: 1}
	ct, err := pk.Seal(b, record)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		if _, err := pk.Open(b, bad); !errors.Is(err, ErrOpen) {
			t.Fatalf("flipped byte %d: got %v, want ErrOpen", i, err)
		}
	}
	for _, bad := range [][]byte{nil, ct[:len(ct)-1], ct[:5], append(bytes.Clone(ct), 0)} {
		if _, err := pk.Open(b, bad); !errors.Is(err, ErrOpen) {
			t.Fatalf("%d bytes: got %v, want ErrOpen", len(bad), err)
		}
	}
}

func TestSealRefusesBadBinding(t *testing.T) {
	kms, _ := newKMS(t)
	tk, _ := newTenant(t, NewKeyring(kms), "t1")
	pk, _ := newPerson(t, tk, "p1")
	for _, seal := range []func(Binding, []byte) ([]byte, error){pk.Seal, tk.Seal} {
		if _, err := seal(Binding{Tenant: "t2", Kind: "note", ID: "n1"}, record); !errors.Is(err, ErrWrongTenant) {
			t.Errorf("other tenant: got %v, want ErrWrongTenant", err)
		}
		for _, b := range []Binding{{Kind: "note", ID: "n1"}, {Tenant: "t1", ID: "n1"}, {Tenant: "t1", Kind: "note"}} {
			if _, err := seal(b, record); err == nil {
				t.Errorf("Seal(%+v) succeeded", b)
			}
		}
	}
}

func TestPersonKeysAreSeparate(t *testing.T) {
	kms, _ := newKMS(t)
	kr := NewKeyring(kms)
	tA, _ := newTenant(t, kr, "A")
	tB, _ := newTenant(t, kr, "B")
	pA, _ := newPerson(t, tA, "p1")
	pB, _ := newPerson(t, tB, "p1")
	pB2, _ := newPerson(t, tB, "p2")

	bB := Binding{Tenant: "B", Kind: "note", ID: "n1", Version: 1}
	ct, err := pB.Seal(bB, record)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("other tenant", func(t *testing.T) {
		if _, err := pA.Open(bB, ct); !errors.Is(err, ErrOpen) {
			t.Fatalf("tenant A's person key opened tenant B's ciphertext: %v", err)
		}
	})
	t.Run("other person", func(t *testing.T) {
		if _, err := pB2.Open(bB, ct); !errors.Is(err, ErrOpen) {
			t.Fatalf("another person's key opened the ciphertext: %v", err)
		}
	})
	t.Run("same tenant id under another master key", func(t *testing.T) {
		// Two deployments that both call a tenant "B" share nothing.
		kms2, _ := newKMS(t)
		tB2, _ := newTenant(t, NewKeyring(kms2), "B")
		p, _ := newPerson(t, tB2, "p1")
		if _, err := p.Open(bB, ct); !errors.Is(err, ErrOpen) {
			t.Fatalf("got %v, want ErrOpen", err)
		}
		if _, err := tB2.Open(bB, ct); !errors.Is(err, ErrOpen) {
			t.Fatalf("got %v, want ErrOpen", err)
		}
	})
	t.Run("tenant key", func(t *testing.T) {
		if _, err := tB.Open(bB, ct); !errors.Is(err, ErrOpen) {
			t.Fatalf("tenant key opened a person's ciphertext: %v", err)
		}
	})
}

func TestWrappedPersonKeyIsBound(t *testing.T) {
	kms, _ := newKMS(t)
	kr := NewKeyring(kms)
	tA, _ := newTenant(t, kr, "A")
	tB, _ := newTenant(t, kr, "B")
	wB, err := tB.NewPersonKey("p1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tA.Person("p1", wB); !errors.Is(err, ErrOpen) {
		t.Errorf("tenant A unwrapped tenant B's person key: %v", err)
	}
	if _, err := tB.Person("p2", wB); !errors.Is(err, ErrOpen) {
		t.Errorf("person key unwrapped under another person id: %v", err)
	}
	if _, err := tA.RewrapPerson("p1", wB); !errors.Is(err, ErrOpen) {
		t.Errorf("tenant A rewrapped tenant B's person key: %v", err)
	}
	// A staff record sealed under the tenant key is not a person key, even
	// though the same keyset made both.
	ct, err := tB.Seal(Binding{Tenant: "B", Kind: "staff", ID: "p1"}, wB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tB.Person("p1", ct); !errors.Is(err, ErrOpen) {
		t.Errorf("a sealed record unwrapped as a person key: %v", err)
	}
	for _, bad := range [][]byte{nil, {}, []byte("not a key"), wB[:len(wB)-1]} {
		if _, err := tB.Person("p1", bad); !errors.Is(err, ErrOpen) {
			t.Errorf("Person(%q): got %v, want ErrOpen", bad, err)
		}
	}
	if _, err := tB.Person("p1", wB); err != nil {
		t.Fatal(err)
	}
}

func TestWrappedTenantKeysAreBound(t *testing.T) {
	kms, _ := newKMS(t)
	kr := NewKeyring(kms)
	_, wA := newTenant(t, kr, "A")
	_, wB := newTenant(t, kr, "B")
	for name, w := range map[string]WrappedTenantKeys{
		"other tenant":  wB,
		"swapped":       {Data: wA.Index, Index: wA.Data},
		"mixed tenants": {Data: wA.Data, Index: wB.Index},
		"empty":         {},
	} {
		if _, err := kr.Tenant("A", w); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: got %v, want ErrOpen", name, err)
		}
		if _, err := kr.RewrapTenant("A", w); !errors.Is(err, ErrOpen) {
			t.Errorf("rewrap %s: got %v, want ErrOpen", name, err)
		}
		if _, err := kr.RotateTenant("A", w); !errors.Is(err, ErrOpen) {
			t.Errorf("rotate %s: got %v, want ErrOpen", name, err)
		}
	}
	if _, err := NewKeyring(kms).Tenant("A", wA); err != nil {
		t.Fatal(err)
	}
}

// TestCacheComparesWrappedBytes checks a cached key is never returned for
// wrapped bytes other than those it was unwrapped from.
func TestCacheComparesWrappedBytes(t *testing.T) {
	kms, _ := newKMS(t)
	kr := NewKeyring(kms)
	tk, w := newTenant(t, kr, "t1")
	_, wp := newPerson(t, tk, "p1")

	bad := bytes.Clone(wp)
	bad[len(bad)-1] ^= 1
	if _, err := tk.Person("p1", bad); !errors.Is(err, ErrOpen) {
		t.Fatalf("cached person key answered for tampered bytes: %v", err)
	}
	badT := WrappedTenantKeys{Data: bytes.Clone(w.Data), Index: w.Index}
	badT.Data[len(badT.Data)-1] ^= 1
	if _, err := kr.Tenant("t1", badT); !errors.Is(err, ErrOpen) {
		t.Fatalf("cached tenant key answered for tampered bytes: %v", err)
	}

	// The same person bytes through a different TenantKey for the tenant
	// are unwrapped by that key, not answered from the cache.
	kms2, _ := newKMS(t)
	other, _ := newTenant(t, NewKeyring(kms2), "t1")
	other.ring = kr // share the cache, as if a second key for t1 existed here
	if _, err := other.Person("p1", wp); !errors.Is(err, ErrOpen) {
		t.Fatalf("person key from another tenant key's cache entry: %v", err)
	}
}

func TestCacheHit(t *testing.T) {
	kms, _ := newKMS(t)
	kr := NewKeyring(kms)
	tk, w := newTenant(t, kr, "t1")
	pk, wp := newPerson(t, tk, "p1")

	tk2, err := kr.Tenant("t1", WrappedTenantKeys{Data: bytes.Clone(w.Data), Index: bytes.Clone(w.Index)})
	if err != nil {
		t.Fatal(err)
	}
	if tk2 != tk {
		t.Error("Tenant with the same wrapped bytes did not hit the cache")
	}
	pk2, err := tk.Person("p1", bytes.Clone(wp))
	if err != nil {
		t.Fatal(err)
	}
	if pk2 != pk {
		t.Error("Person with the same wrapped bytes did not hit the cache")
	}
	// Mutating the caller's slice after a miss must not change what the
	// cache compares.
	tk.Forget("p1")
	caller := bytes.Clone(wp)
	pk3, err := tk.Person("p1", caller)
	if err != nil {
		t.Fatal(err)
	}
	caller[0] ^= 0xff
	if pk4, err := tk.Person("p1", wp); err != nil || pk4 != pk3 {
		t.Fatalf("cache aliased the caller's slice: %v", err)
	}
	if _, err := tk.Person("p1", caller); err == nil {
		t.Fatal("cache answered for the mutated slice")
	}
}

func TestForget(t *testing.T) {
	kms, _ := newKMS(t)
	kr := NewKeyring(kms)
	tk, _ := newTenant(t, kr, "t1")
	pk, wp := newPerson(t, tk, "p1")
	b := Binding{Tenant: "t1", Kind: "note", ID: "n1", Version: 1}
	ct, err := pk.Seal(b, record)
	if err != nil {
		t.Fatal(err)
	}

	tk.Forget("p1")
	if _, ok := kr.persons.get(personRef{"t1", "p1"}); ok {
		t.Fatal("Forget left the key in the cache")
	}
	tk.Forget("p1") // forgetting twice is harmless
	tk.Forget("nobody")

	pk2, err := tk.Person("p1", wp)
	if err != nil {
		t.Fatal(err)
	}
	if pk2 == pk {
		t.Fatal("Person after Forget returned the forgotten key object")
	}
	if got, err := pk2.Open(b, ct); err != nil || !bytes.Equal(got, record) {
		t.Fatalf("Open after Forget: %q, %v", got, err)
	}
}

func TestMasterRotation(t *testing.T) {
	kms, path := newKMS(t)
	kr := NewKeyring(kms)
	tk, w := newTenant(t, kr, "t1")
	pk, wp := newPerson(t, tk, "p1")
	b := Binding{Tenant: "t1", Kind: "note", ID: "n1", Version: 1}
	ct, err := pk.Seal(b, record)
	if err != nil {
		t.Fatal(err)
	}
	first := kms.Status()

	if err := kms.Rotate(); err != nil {
		t.Fatal(err)
	}
	second := kms.Status()
	if second.Keys != 2 || second.PrimaryID == first.PrimaryID {
		t.Fatalf("after Rotate: %+v (before %+v)", second, first)
	}
	if second.PrimaryCreated.Before(first.PrimaryCreated) || second.PrimaryCreated.IsZero() {
		t.Fatalf("primary created %v, before rotation %v", second.PrimaryCreated, first.PrimaryCreated)
	}

	// Old wraps open, with a fresh keyring so nothing comes from the cache.
	if _, err := NewKeyring(kms).Tenant("t1", w); err != nil {
		t.Fatalf("old tenant wrap after rotation: %v", err)
	}

	w2, err := kr.RewrapTenant("t1", w)
	if err != nil {
		t.Fatal(err)
	}
	if got := wrappingKeyID(t, w2.Data); got != second.PrimaryID {
		t.Errorf("rewrapped data keyset under key %d, want primary %d", got, second.PrimaryID)
	}
	if got := wrappingKeyID(t, w2.Index); got != second.PrimaryID {
		t.Errorf("rewrapped index keyset under key %d, want primary %d", got, second.PrimaryID)
	}
	if got := wrappingKeyID(t, w.Data); got != first.PrimaryID {
		t.Errorf("original wrap under key %d, want %d", got, first.PrimaryID)
	}

	if err := kms.Rotate(); err != nil {
		t.Fatal(err)
	}
	// Reopen the file: rotation must have been persisted.
	reopened, err := OpenKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := reopened.Status(); st != kms.Status() || st.Keys != 3 {
		t.Fatalf("reopened status %+v, in memory %+v", st, kms.Status())
	}
	kr2 := NewKeyring(reopened)
	for name, w := range map[string]WrappedTenantKeys{"original": w, "rewrapped": w2} {
		tk2, err := kr2.Tenant("t1", w)
		if err != nil {
			t.Fatalf("%s tenant wrap after two rotations: %v", name, err)
		}
		pk2, err := tk2.Person("p1", wp)
		if err != nil {
			t.Fatalf("%s: person key: %v", name, err)
		}
		if got, err := pk2.Open(b, ct); err != nil || !bytes.Equal(got, record) {
			t.Fatalf("%s: Open: %q, %v", name, got, err)
		}
		if !bytes.Equal(tk2.BlindIndex("nhs", "9434765919"), tk.BlindIndex("nhs", "9434765919")) {
			t.Fatalf("%s: blind index changed across master rotation", name)
		}
	}
}

func TestTenantRotation(t *testing.T) {
	kms, _ := newKMS(t)
	kr := NewKeyring(kms)
	tk, w := newTenant(t, kr, "t1")
	pk, wpOld := newPerson(t, tk, "p1")
	b := Binding{Tenant: "t1", Kind: "note", ID: "n1", Version: 1}
	ctPerson, err := pk.Seal(b, record)
	if err != nil {
		t.Fatal(err)
	}
	bs := Binding{Tenant: "t1", Kind: "staff", ID: "s1", Version: 1}
	ctStaff, err := tk.Seal(bs, record)
	if err != nil {
		t.Fatal(err)
	}
	oldPrimary := tenantDataInfo(t, kms, "t1", w).GetPrimaryKeyId()
	if got := wrappingKeyID(t, wpOld); got != oldPrimary {
		t.Fatalf("person key wrapped under %d, want tenant primary %d", got, oldPrimary)
	}

	w2, err := kr.RotateTenant("t1", w)
	if err != nil {
		t.Fatal(err)
	}
	info := tenantDataInfo(t, kms, "t1", w2)
	newPrimary := info.GetPrimaryKeyId()
	if newPrimary == oldPrimary || len(info.GetKeyInfo()) != 2 {
		t.Fatalf("rotated data keyset: primary %d (was %d), %d keys", newPrimary, oldPrimary, len(info.GetKeyInfo()))
	}
	if !bytes.Equal(w2.Index, w.Index) {
		t.Fatal("RotateTenant changed the index keyset")
	}

	tk2, err := NewKeyring(kms).Tenant("t1", w2)
	if err != nil {
		t.Fatal(err)
	}
	// Old person wraps and old tenant records still open.
	pk2, err := tk2.Person("p1", wpOld)
	if err != nil {
		t.Fatalf("old person wrap after tenant rotation: %v", err)
	}
	if got, err := pk2.Open(b, ctPerson); err != nil || !bytes.Equal(got, record) {
		t.Fatalf("old person record: %q, %v", got, err)
	}
	if got, err := tk2.Open(bs, ctStaff); err != nil || !bytes.Equal(got, record) {
		t.Fatalf("old staff record: %q, %v", got, err)
	}
	// New wraps and records use the new primary.
	wpNew, err := tk2.NewPersonKey("p2")
	if err != nil {
		t.Fatal(err)
	}
	if got := wrappingKeyID(t, wpNew); got != newPrimary {
		t.Errorf("new person key wrapped under %d, want new primary %d", got, newPrimary)
	}
	wpRe, err := tk2.RewrapPerson("p1", wpOld)
	if err != nil {
		t.Fatal(err)
	}
	if got := wrappingKeyID(t, wpRe); got != newPrimary {
		t.Errorf("rewrapped person key under %d, want new primary %d", got, newPrimary)
	}
	pk3, err := tk2.Person("p1", wpRe)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := pk3.Open(b, ctPerson); err != nil || !bytes.Equal(got, record) {
		t.Fatalf("person record via rewrapped key: %q, %v", got, err)
	}
	ctNew, err := tk2.Seal(bs, record)
	if err != nil {
		t.Fatal(err)
	}
	if got := ctNew[1:5]; !bytes.Equal(got, []byte{byte(newPrimary >> 24), byte(newPrimary >> 16), byte(newPrimary >> 8), byte(newPrimary)}) {
		t.Errorf("staff record sealed under key % x, want new primary %d", got, newPrimary)
	}
	// The old tenant key cannot open what only the new key made.
	if _, err := tk.Person("p2", wpNew); !errors.Is(err, ErrOpen) {
		t.Errorf("pre-rotation tenant key unwrapped a post-rotation person key: %v", err)
	}
	if !bytes.Equal(tk2.BlindIndex("family", "jones"), tk.BlindIndex("family", "jones")) {
		t.Error("blind index changed across tenant rotation")
	}
}

func TestBlindIndex(t *testing.T) {
	kms, _ := newKMS(t)
	kr := NewKeyring(kms)
	tA, wA := newTenant(t, kr, "A")
	tB, _ := newTenant(t, kr, "B")

	x := tA.BlindIndex("nhs", "9434765919")
	if len(x) != BlindIndexSize {
		t.Fatalf("index is %d bytes, want %d", len(x), BlindIndexSize)
	}
	if !bytes.Equal(x, tA.BlindIndex("nhs", "9434765919")) {
		t.Fatal("not deterministic")
	}
	tA2, err := NewKeyring(kms).Tenant("A", wA)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, tA2.BlindIndex("nhs", "9434765919")) {
		t.Fatal("not deterministic across unwraps")
	}
	seen := map[string]string{string(x): "A nhs 9434765919"}
	for name, idx := range map[string][]byte{
		"other tenant":        tB.BlindIndex("nhs", "9434765919"),
		"other field":         tA.BlindIndex("family", "9434765919"),
		"other value":         tA.BlindIndex("nhs", "9434765918"),
		"not normalised":      tA.BlindIndex("nhs", "943 476 5919"),
		"field/value shifted": tA.BlindIndex("nhs9", "434765919"),
		"empty":               tA.BlindIndex("", ""),
	} {
		if prev, ok := seen[string(idx)]; ok {
			t.Errorf("%s: same index as %s", name, prev)
		}
		seen[string(idx)] = name
	}

	w2, err := kr.RotateTenant("A", wA)
	if err != nil {
		t.Fatal(err)
	}
	tA3, err := kr.Tenant("A", w2)
	if err != nil {
		t.Fatal(err)
	}
	if tA3 == tA {
		t.Fatal("rotated tenant served from the cache entry of the old wrap")
	}
	if !bytes.Equal(x, tA3.BlindIndex("nhs", "9434765919")) {
		t.Fatal("blind index changed after RotateTenant")
	}
}

// TestBlindIndexBindsTenant shows the tenant id is part of the PRF input, so
// even a key shared between tenants by mistake gives unrelated indexes.
func TestBlindIndexBindsTenant(t *testing.T) {
	kms, _ := newKMS(t)
	tk, _ := newTenant(t, NewKeyring(kms), "A")
	impostor := &TenantKey{id: "B", index: tk.index}
	if bytes.Equal(tk.BlindIndex("nhs", "9434765919"), impostor.BlindIndex("nhs", "9434765919")) {
		t.Fatal("tenant id is not part of the blind index input")
	}
}

func TestStringRevealsNoKey(t *testing.T) {
	kms, _ := newKMS(t)
	tk, _ := newTenant(t, NewKeyring(kms), "t1")
	pk, _ := newPerson(t, tk, "p1")
	if got := fmt.Sprint(tk); got != "seal.TenantKey(t1)" {
		t.Errorf("TenantKey prints as %q", got)
	}
	if got := fmt.Sprintf("%v", pk); got != "seal.PersonKey(t1)" {
		t.Errorf("PersonKey prints as %q", got)
	}
}

func TestNewRefusesEmptyIDs(t *testing.T) {
	kms, _ := newKMS(t)
	kr := NewKeyring(kms)
	if _, err := kr.NewTenant(""); err == nil {
		t.Error("NewTenant accepted an empty id")
	}
	tk, _ := newTenant(t, kr, "t1")
	if _, err := tk.NewPersonKey(""); err == nil {
		t.Error("NewPersonKey accepted an empty id")
	}
}

// TestConcurrent exercises the caches, sealing and master rotation from many
// goroutines at once; run it with -race.
func TestConcurrent(t *testing.T) {
	kms, _ := newKMS(t)
	kr := newKeyring(kms, 4, 8) // small caches so eviction races too
	type tenant struct {
		id      string
		w       WrappedTenantKeys
		persons [][]byte
	}
	var tenants []*tenant
	for i := range 3 {
		id := fmt.Sprintf("t%d", i)
		tk, w := newTenant(t, kr, id)
		tn := &tenant{id: id, w: w}
		for j := range 12 {
			wp, err := tk.NewPersonKey(fmt.Sprintf("p%d", j))
			if err != nil {
				t.Fatal(err)
			}
			tn.persons = append(tn.persons, wp)
		}
		tenants = append(tenants, tn)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 300 {
				tn := tenants[r.IntN(len(tenants))]
				tk, err := kr.Tenant(tn.id, tn.w)
				if err != nil {
					errs <- err
					return
				}
				j := r.IntN(len(tn.persons))
				pid := fmt.Sprintf("p%d", j)
				if r.IntN(10) == 0 {
					tk.Forget(pid)
				}
				pk, err := tk.Person(pid, tn.persons[j])
				if err != nil {
					errs <- err
					return
				}
				b := Binding{Tenant: tn.id, Kind: "note", ID: pid, Version: int64(g)}
				ct, err := pk.Seal(b, record)
				if err != nil {
					errs <- err
					return
				}
				if got, err := pk.Open(b, ct); err != nil || !bytes.Equal(got, record) {
					errs <- fmt.Errorf("open: %q, %v", got, err)
					return
				}
				_ = tk.BlindIndex("nhs", pid)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 3 {
			if err := kms.Rotate(); err != nil {
				errs <- err
				return
			}
			if _, err := kr.RewrapTenant("t0", tenants[0].w); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
