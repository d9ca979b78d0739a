//go:build havenbench_unprotected

package seal

import (
	"bytes"
	"testing"
)

// TestUnprotectedBuild: the benchmark-only build seals by copying, and
// still refuses a binding for another tenant.
func TestUnprotectedBuild(t *testing.T) {
	kms, _ := newKMS(t)
	tk, _ := newTenant(t, NewKeyring(kms), "t1")
	pk, _ := newPerson(t, tk, "p1")
	plain := []byte(`{"family":"Quarrington-Vole"}`)
	b := Binding{Tenant: "t1", Kind: "person", ID: "p1", Version: 1}
	ct, err := pk.Seal(b, plain)
	if err != nil || !bytes.Equal(ct, plain) {
		t.Fatalf("seal: %q %v", ct, err)
	}
	ct[0] = 'X'
	if plain[0] != '{' {
		t.Fatal("sealed bytes alias the plaintext")
	}
	if _, err := pk.Open(Binding{Tenant: "t2", Kind: "person", ID: "p1", Version: 1}, plain); err == nil {
		t.Fatal("opened under another tenant's binding")
	}
}
