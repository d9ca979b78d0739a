package seal

import (
	"bytes"

	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Wrapped keys are tink EncryptedKeyset protos in binary: the serialised
// keyset encrypted under a key-encryption AEAD (the KMS or a tenant data
// keyset) with associated data naming its purpose. tink's binary writer
// leaves out the optional cleartext KeysetInfo, so nothing about the keys is
// visible without unwrapping. Using tink's own envelope means no cleartext
// keyset is ever serialised outside the master key file.

// kmsAEAD presents a KMS as a tink.AEAD so tink can wrap keysets with it.
type kmsAEAD struct{ kms KMS }

func (a kmsAEAD) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	return a.kms.Wrap(plaintext, associatedData)
}

func (a kmsAEAD) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	return a.kms.Unwrap(ciphertext, associatedData)
}

// openingAEAD reports every decryption failure of an in-process AEAD as
// ErrOpen: with the key in memory, nothing but a wrong key, wrong associated
// data or tampering can make it fail.
type openingAEAD struct{ tink.AEAD }

func (a openingAEAD) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	pt, err := a.AEAD.Decrypt(ciphertext, associatedData)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// recorder remembers the error of the AEAD it passes calls to. tink's keyset
// functions flatten their AEAD's errors into strings; recovering the
// original keeps errors.Is working for ErrOpen and for a KMS's own errors
// (an unreachable cloud KMS is not tampering).
type recorder struct {
	aead tink.AEAD
	err  error
}

func (r *recorder) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	ct, err := r.aead.Encrypt(plaintext, associatedData)
	r.err = err
	return ct, err
}

func (r *recorder) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	pt, err := r.aead.Decrypt(ciphertext, associatedData)
	r.err = err
	return pt, err
}

// wrapKeyset encrypts h under kek, bound to associatedData.
func wrapKeyset(h *keyset.Handle, kek tink.AEAD, associatedData []byte) ([]byte, error) {
	rec := &recorder{aead: kek}
	var buf bytes.Buffer
	if err := h.WriteWithAssociatedData(keyset.NewBinaryWriter(&buf), rec, associatedData); err != nil {
		if rec.err != nil {
			return nil, rec.err
		}
		return nil, err
	}
	return buf.Bytes(), nil
}

// unwrapKeyset reverses wrapKeyset. Bytes that are not a wrapped keyset at
// all are reported as ErrOpen: to the caller they are a ciphertext that does
// not open.
func unwrapKeyset(wrapped []byte, kek tink.AEAD, associatedData []byte) (*keyset.Handle, error) {
	rec := &recorder{aead: kek}
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(wrapped)), rec, associatedData)
	if err != nil {
		if rec.err != nil {
			return nil, rec.err
		}
		return nil, ErrOpen
	}
	return h, nil
}
