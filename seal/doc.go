// Package seal is Haven's cryptography: it is how personal data is kept out of
// plaintext at rest, and the only package that ever holds a key.
//
// # Key hierarchy
//
// Keys are wrapped in layers (envelope encryption) so that each layer can be
// rotated or destroyed without touching the data beneath it:
//
//	master key (KMS)          LocalKMS: a tink AES-256-GCM keyset in a 0600 file
//	└─ tenant keys            per care organisation, wrapped by the KMS:
//	   │                        a data keyset (AES-256-GCM) and an
//	   │                        index keyset (HMAC-SHA256 PRF)
//	   └─ person keys         per person receiving care, an AES-256-GCM keyset
//	                            wrapped by the tenant data keyset
//
// A person's records are sealed under their person key; records that belong
// to the tenant itself (staff) are sealed under the tenant data keyset.
// Erasing a person is crypto-shredding: delete their wrapped key and call
// [TenantKey.Forget], and every ciphertext sealed for them, including those in
// backups, becomes noise.
//
// # Bindings
//
// Every ciphertext is bound, as AEAD associated data, to the [Binding] it was
// sealed for: tenant, kind, record id and version. A ciphertext copied to
// another row, another tenant or an older version does not open. Wrapped keys
// are bound the same way to their purpose, tenant and person, so a wrapped key
// cannot be substituted for another.
//
// All associated data starts with a domain-separation label and encodes each
// field with a length prefix, so no two different contexts share an encoding.
//
// # Blind indexes
//
// Exact-match search on sealed fields (NHS number, family name) uses
// [TenantKey.BlindIndex], a keyed PRF that is deterministic within a tenant
// and unrelated across tenants and fields. Its key is separate from the data
// keys so that rotating those does not invalidate stored indexes.
//
// # What callers never see
//
// No function returns a raw key, a nonce or a keyset. Callers hold opaque
// [TenantKey] and [PersonKey] values and opaque wrapped bytes to store. All
// primitives come from tink; nothing here is hand-rolled.
package seal
