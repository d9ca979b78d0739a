package seal

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpen feeds arbitrary ciphertexts and bindings to Open and arbitrary
// bytes to Person. Nothing may panic, every failure must be ErrOpen, and only
// the one genuine ciphertext with its genuine binding may open.
func FuzzOpen(f *testing.F) {
	kms, _ := newKMS(f)
	tk, _ := newTenant(f, NewKeyring(kms), "t1")
	pk, wp := newPerson(f, tk, "p1")
	good := Binding{Tenant: "t1", Kind: "note", ID: "n1", Version: 7}
	personCT, err := pk.Seal(good, record)
	if err != nil {
		f.Fatal(err)
	}
	tenantCT, err := tk.Seal(good, record)
	if err != nil {
		f.Fatal(err)
	}

	f.Add(personCT, "t1", "note", "n1", int64(8))
	f.Add(tenantCT, "t1", "note", "n2", int64(7))
	f.Add(personCT[:len(personCT)-1], "t1", "note", "n1", int64(7))
	f.Add(wp, "t1", "note", "p2", int64(7))
	f.Add([]byte{}, "", "", "", int64(0))
	f.Add([]byte{1, 0, 0, 0, 0}, "t1", "staff", "s1", int64(-1))

	f.Fuzz(func(t *testing.T, ct []byte, tenant, kind, id string, version int64) {
		b := Binding{Tenant: tenant, Kind: kind, ID: id, Version: version}
		for _, k := range []struct {
			name    string
			open    func(Binding, []byte) ([]byte, error)
			genuine []byte
		}{
			{"person", pk.Open, personCT},
			{"tenant", tk.Open, tenantCT},
		} {
			pt, err := k.open(b, ct)
			if err == nil {
				if b != good || !bytes.Equal(ct, k.genuine) || !bytes.Equal(pt, record) {
					t.Fatalf("%s key opened a forged ciphertext: %+v % x -> %q", k.name, b, ct, pt)
				}
				continue
			}
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("%s key: error %v is not ErrOpen", k.name, err)
			}
		}

		// The same bytes as a wrapped person key for person id.
		p, err := tk.Person(id, ct)
		if err == nil {
			if id != "p1" || !bytes.Equal(ct, wp) || p != pk {
				t.Fatalf("Person(%q) unwrapped forged bytes % x", id, ct)
			}
		} else if !errors.Is(err, ErrOpen) {
			t.Fatalf("Person: error %v is not ErrOpen", err)
		}
	})
}

// FuzzBindingEncoding checks the associated data encoding is injective:
// distinct bindings never encode the same, and every encoding decodes back
// to its binding.
func FuzzBindingEncoding(f *testing.F) {
	f.Add("t1", "note", "n1", int64(1), "t1", "note", "n1", int64(2))
	f.Add("t1", "note", "n1", int64(1), "t1", "noten", "1", int64(1))
	f.Add("ab", "", "c", int64(0), "a", "b", "c", int64(0))
	f.Add("", "", "", int64(0), "", "", "", int64(-1))
	f.Add("t\x00", "k", "i", int64(1), "t", "\x00k", "i", int64(1))
	f.Fuzz(func(t *testing.T, t1, k1, i1 string, v1 int64, t2, k2, i2 string, v2 int64) {
		b1 := Binding{Tenant: t1, Kind: k1, ID: i1, Version: v1}
		b2 := Binding{Tenant: t2, Kind: k2, ID: i2, Version: v2}
		e1, e2 := b1.associatedData(), b2.associatedData()
		if (b1 == b2) != bytes.Equal(e1, e2) {
			t.Fatalf("%+v -> % x\n%+v -> % x", b1, e1, b2, e2)
		}
		for _, c := range []struct {
			b   Binding
			enc []byte
		}{{b1, e1}, {b2, e2}} {
			if got, ok := decodeBinding(c.enc); !ok || got != c.b {
				t.Fatalf("%+v encodes to % x, which decodes to %+v, %v", c.b, c.enc, got, ok)
			}
		}
		// Record bindings never collide with another purpose's context.
		for _, label := range []string{labelTenantData, labelTenantIndex, labelPersonKey, labelBlindIndex} {
			if bytes.Equal(e1, labelled(label, t1, k1, i1)) || bytes.Equal(e1, labelled(label, t1, k1)) {
				t.Fatalf("binding %+v encodes like a %s context", b1, label)
			}
		}
	})
}
