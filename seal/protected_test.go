//go:build !havenbench_unprotected

package seal

import (
	"bytes"
	"testing"
)

// TestProtectedBuild: in every build but the benchmark-only one (tag
// havenbench_unprotected), sealing encrypts. The constant and the bytes
// are both checked, so neither a flipped constant nor a broken hook passes.
func TestProtectedBuild(t *testing.T) {
	if Unprotected {
		t.Fatal("seal.Unprotected is true in a normal build")
	}
	kms, _ := newKMS(t)
	tk, _ := newTenant(t, NewKeyring(kms), "t1")
	pk, _ := newPerson(t, tk, "p1")
	plain := []byte(`{"family":"Quarrington-Vole","nhs":"9434765919"}`)
	b := Binding{Tenant: "t1", Kind: "person", ID: "p1", Version: 1}
	for name, sealWith := range map[string]func(Binding, []byte) ([]byte, error){"tenant": tk.Seal, "person": pk.Seal} {
		ct, err := sealWith(b, plain)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(ct, []byte("Quarrington")) || bytes.Contains(ct, []byte("9434765919")) {
			t.Errorf("%s key: sealed bytes contain the plaintext", name)
		}
	}
	// Plaintext presented as a ciphertext must not open.
	if _, err := pk.Open(b, plain); err == nil {
		t.Error("plaintext opened as if it were sealed")
	}
}
