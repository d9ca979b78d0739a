package seal

import (
	"encoding/binary"
	"errors"
)

// ErrOpen is returned, wrapped, whenever a ciphertext or a wrapped key does
// not open: the key is wrong, the binding is wrong, or the bytes were
// tampered with. The causes are deliberately not told apart: an attacker
// probing ciphertexts learns nothing from the error.
var ErrOpen = errors.New("ciphertext does not open: wrong key, wrong binding or tampered")

// ErrWrongTenant is returned, wrapped, when a Binding names a tenant other
// than the one the key belongs to. Sealing one tenant's record under another
// tenant's key would be a cross-tenant leak waiting to happen, so it is a
// programming error, not something to let through.
var ErrWrongTenant = errors.New("binding names a different tenant from the key")

// Binding is the context a record's ciphertext is bound to, as AEAD
// associated data. Opening with a Binding that differs in any field fails
// with ErrOpen, which is what stops a ciphertext being moved to another
// tenant, another record, another kind or an older version of the same
// record.
type Binding struct {
	Tenant  string
	Kind    string
	ID      string
	Version int64
}

// Domain-separation labels. Every piece of associated data and every PRF
// input starts with one, so that bytes produced for one purpose are never
// valid for another even under the same key (the tenant data keyset both
// seals staff records and wraps person keys). The "v1" lets a future format
// live alongside this one.
const (
	labelRecord      = "haven/seal/v1/record"
	labelTenantData  = "haven/seal/v1/tenant-data-keyset"
	labelTenantIndex = "haven/seal/v1/tenant-index-keyset"
	labelPersonKey   = "haven/seal/v1/person-keyset"
	labelBlindIndex  = "haven/seal/v1/blind-index"
)

// appendString appends s with a uvarint length prefix. Uvarints are a
// prefix-free code, so a sequence of length-prefixed strings can be split
// back into its parts in exactly one way: that is what makes the encodings
// below injective.
func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// encodedLen bounds the size of appendString(nil, s) so encoders allocate once.
func encodedLen(s string) int { return binary.MaxVarintLen64 + len(s) }

// associatedData is the canonical encoding of b:
//
//	str(labelRecord) || str(Tenant) || str(Kind) || str(ID) || uint64be(Version)
//
// where str(s) is uvarint(len(s)) || s. The label and every string are
// length-prefixed and the version is fixed-width and last, so two distinct
// bindings never encode the same (FuzzBindingEncoding checks this).
//
// The encoding, like the labels, is part of the storage format: changing it
// makes every stored ciphertext unopenable.
func (b Binding) associatedData() []byte {
	n := encodedLen(labelRecord) + encodedLen(b.Tenant) + encodedLen(b.Kind) + encodedLen(b.ID) + 8
	dst := make([]byte, 0, n)
	dst = appendString(dst, labelRecord)
	dst = appendString(dst, b.Tenant)
	dst = appendString(dst, b.Kind)
	dst = appendString(dst, b.ID)
	return binary.BigEndian.AppendUint64(dst, uint64(b.Version))
}

// labelled encodes a label followed by length-prefixed parts: the associated
// data for wrapped keys and the input to the blind-index PRF.
func labelled(label string, parts ...string) []byte {
	n := encodedLen(label)
	for _, p := range parts {
		n += encodedLen(p)
	}
	dst := make([]byte, 0, n)
	dst = appendString(dst, label)
	for _, p := range parts {
		dst = appendString(dst, p)
	}
	return dst
}

// validate reports a binding that cannot name a real record. Sealing one
// would produce a ciphertext nothing should ever open, which hides a bug.
func (b Binding) validate() error {
	switch {
	case b.Tenant == "":
		return errors.New("binding has no tenant")
	case b.Kind == "":
		return errors.New("binding has no kind")
	case b.ID == "":
		return errors.New("binding has no id")
	}
	return nil
}
