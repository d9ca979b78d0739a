package seal

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/tink-crypto/tink-go/v2/keyset"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
)

// newKMS creates a master key file in a fresh temporary directory and opens
// it.
func newKMS(tb testing.TB) (*LocalKMS, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "keys", "master.json")
	if err := CreateKeyFile(path); err != nil {
		tb.Fatal(err)
	}
	m, err := OpenKeyFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return m, path
}

// newTenant makes a tenant on kr and returns its unwrapped key and wraps.
func newTenant(tb testing.TB, kr *Keyring, id string) (*TenantKey, WrappedTenantKeys) {
	tb.Helper()
	w, err := kr.NewTenant(id)
	if err != nil {
		tb.Fatal(err)
	}
	tk, err := kr.Tenant(id, w)
	if err != nil {
		tb.Fatal(err)
	}
	return tk, w
}

// newPerson makes a person key in tk and returns it unwrapped and wrapped.
func newPerson(tb testing.TB, tk *TenantKey, id string) (*PersonKey, []byte) {
	tb.Helper()
	w, err := tk.NewPersonKey(id)
	if err != nil {
		tb.Fatal(err)
	}
	pk, err := tk.Person(id, w)
	if err != nil {
		tb.Fatal(err)
	}
	return pk, w
}

// encryptedKeyset parses a wrapped keyset's tink envelope, which carries the
// key ids (never the keys) in clear.
func encryptedKeyset(tb testing.TB, wrapped []byte) *tinkpb.EncryptedKeyset {
	tb.Helper()
	ek, err := keyset.NewBinaryReader(bytes.NewReader(wrapped)).ReadEncrypted()
	if err != nil {
		tb.Fatal(err)
	}
	return ek
}

// wrappingKeyID is the id of the key that wrapped a keyset: tink's output
// prefix is a version byte (1) and the big-endian key id.
func wrappingKeyID(tb testing.TB, wrapped []byte) uint32 {
	tb.Helper()
	ct := encryptedKeyset(tb, wrapped).GetEncryptedKeyset()
	if len(ct) < 5 || ct[0] != 1 {
		tb.Fatalf("wrapped keyset has no tink prefix: % x", ct[:min(len(ct), 5)])
	}
	return binary.BigEndian.Uint32(ct[1:5])
}

// decodeBinding inverts Binding.associatedData. It exists to show the
// encoding loses nothing: an encoding that decodes uniquely is injective.
func decodeBinding(ad []byte) (Binding, bool) {
	str := func() (string, bool) {
		n, k := binary.Uvarint(ad)
		if k <= 0 || uint64(len(ad)-k) < n {
			return "", false
		}
		s := string(ad[k : k+int(n)])
		ad = ad[k+int(n):]
		return s, true
	}
	label, ok := str()
	if !ok || label != labelRecord {
		return Binding{}, false
	}
	var b Binding
	if b.Tenant, ok = str(); !ok {
		return Binding{}, false
	}
	if b.Kind, ok = str(); !ok {
		return Binding{}, false
	}
	if b.ID, ok = str(); !ok {
		return Binding{}, false
	}
	if len(ad) != 8 {
		return Binding{}, false
	}
	b.Version = int64(binary.BigEndian.Uint64(ad))
	return b, true
}

// tenantDataInfo unwraps a tenant's data keyset and returns its key ids.
func tenantDataInfo(tb testing.TB, kms KMS, tenantID string, w WrappedTenantKeys) *tinkpb.KeysetInfo {
	tb.Helper()
	h, err := unwrapKeyset(w.Data, kmsAEAD{kms}, labelled(labelTenantData, tenantID))
	if err != nil {
		tb.Fatal(err)
	}
	return h.KeysetInfo()
}
