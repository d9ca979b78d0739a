package seal

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"sync/atomic"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Cache bounds, in keys. Person keys are bounded so that a scan over every
// person in a large tenant cannot grow memory without limit: a cached person
// key costs about 1.7 KB, so a full person cache is about 85 MB.
const (
	TenantCacheSize = 4096
	PersonCacheSize = 50000
)

// Cache shards spread lookups over independent locks, so concurrent requests
// do not queue on one mutex.
const (
	tenantCacheShards = 16
	personCacheShards = 64
)

// BlindIndexSize is the length in bytes of a blind index: the full
// HMAC-SHA256 output. Truncating would save a little space but brings
// collisions between distinct values closer for no real gain.
const BlindIndexSize = 32

// WrappedTenantKeys is a tenant's keys as stored: its data keyset and its
// blind-index PRF keyset, each encrypted by the KMS with associated data
// naming the keyset's purpose and the tenant id, so neither can be swapped
// for the other or for another tenant's.
type WrappedTenantKeys struct {
	Data  []byte
	Index []byte
}

// Keyring unwraps tenant and person keys and caches them, so that reading a
// record costs a map lookup rather than a KMS call and a keyset parse. It is
// safe for concurrent use.
//
// The caches are keyed by id and remember the wrapped bytes each key came
// from: a lookup with different wrapped bytes (a rotated, restored or
// substituted key) is a miss and unwraps afresh, so the cache never answers
// for bytes it has not itself authenticated.
type Keyring struct {
	kms     KMS
	tenants *lru[string, *tenantEntry]
	persons *lru[personRef, *personEntry]
}

// tenantGen numbers TenantKeys. It is global rather than per Keyring so a
// generation names one TenantKey in the whole process.
var tenantGen atomic.Uint64

type tenantEntry struct {
	data, index []byte
	key         *TenantKey
}

func (e *tenantEntry) matches(w WrappedTenantKeys) bool {
	return bytes.Equal(e.data, w.Data) && bytes.Equal(e.index, w.Index)
}

type personRef struct{ tenant, person string }

// personEntry remembers which TenantKey (by generation) unwrapped the person
// key as well as the wrapped bytes: the same bytes presented through a
// different tenant key must be unwrapped by that key, not answered from
// another's work.
type personEntry struct {
	gen     uint64
	wrapped []byte
	key     *PersonKey
}

func hashTenantID(seed maphash.Seed, id string) uint64 { return maphash.String(seed, id) }

func hashPersonRef(seed maphash.Seed, r personRef) uint64 {
	return maphash.String(seed, r.person)
}

// NewKeyring returns a Keyring whose tenant keys are wrapped by kms. It
// panics if kms is nil: a keyring without a KMS can open nothing, and saying
// so at start-up beats failing on the first request.
func NewKeyring(kms KMS) *Keyring {
	return newKeyring(kms, TenantCacheSize, PersonCacheSize)
}

func newKeyring(kms KMS, tenants, persons int) *Keyring {
	if kms == nil {
		panic("seal: NewKeyring: nil KMS")
	}
	return &Keyring{
		kms:     kms,
		tenants: newLRU[string, *tenantEntry](tenants, min(tenantCacheShards, max(1, tenants/64)), hashTenantID),
		persons: newLRU[personRef, *personEntry](persons, min(personCacheShards, max(1, persons/64)), hashPersonRef),
	}
}

// NewTenant makes fresh keys for a tenant and returns them wrapped by the
// KMS, ready to store with the tenant.
func (k *Keyring) NewTenant(tenantID string) (WrappedTenantKeys, error) {
	if tenantID == "" {
		return WrappedTenantKeys{}, errors.New("seal: new tenant: empty tenant id")
	}
	data, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return WrappedTenantKeys{}, fmt.Errorf("seal: new tenant %q: generate data keyset: %w", tenantID, err)
	}
	index, err := keyset.NewHandle(prf.HMACSHA256PRFKeyTemplate())
	if err != nil {
		return WrappedTenantKeys{}, fmt.Errorf("seal: new tenant %q: generate index keyset: %w", tenantID, err)
	}
	return k.wrapTenant("new tenant", tenantID, data, index)
}

// Tenant returns the tenant's key, unwrapping w with the KMS unless the same
// wrapped bytes were unwrapped before. It fails with ErrOpen if w was not
// wrapped for tenantID.
func (k *Keyring) Tenant(tenantID string, w WrappedTenantKeys) (*TenantKey, error) {
	if e, ok := k.tenants.get(tenantID); ok && e.matches(w) {
		return e.key, nil
	}
	data, index, err := k.unwrapTenant("open tenant", tenantID, w)
	if err != nil {
		return nil, err
	}
	da, err := aead.New(data)
	if err != nil {
		return nil, fmt.Errorf("seal: open tenant %q: load data keyset: %w", tenantID, err)
	}
	set, err := prf.NewPRFSet(index)
	if err != nil {
		return nil, fmt.Errorf("seal: open tenant %q: load index keyset: %w", tenantID, err)
	}
	ix, ok := set.PRFs[set.PrimaryID]
	if !ok {
		return nil, fmt.Errorf("seal: open tenant %q: index keyset has no primary key", tenantID)
	}
	t := &TenantKey{id: tenantID, gen: tenantGen.Add(1), data: da, index: ix, ring: k}
	e := &tenantEntry{data: bytes.Clone(w.Data), index: bytes.Clone(w.Index), key: t}
	e = k.tenants.putIfAbsent(tenantID, e, func(old *tenantEntry) bool { return old.matches(w) })
	return e.key, nil
}

// RewrapTenant re-encrypts a tenant's keys under the KMS's current primary
// master key, without changing the keys themselves. Run it for every tenant
// after rotating the master key, so that old master keys can eventually be
// retired.
func (k *Keyring) RewrapTenant(tenantID string, w WrappedTenantKeys) (WrappedTenantKeys, error) {
	data, index, err := k.unwrapTenant("rewrap tenant", tenantID, w)
	if err != nil {
		return WrappedTenantKeys{}, err
	}
	return k.wrapTenant("rewrap tenant", tenantID, data, index)
}

// RotateTenant adds a new AES-256-GCM key to the tenant's data keyset and
// makes it primary, so new person keys and tenant records are sealed under
// it. Old keys stay, so existing wraps and ciphertexts still open; re-wrap
// person keys with TenantKey.RewrapPerson to move them onto the new key.
//
// The index keyset is returned unchanged: a new index key would make every
// stored blind index unfindable.
func (k *Keyring) RotateTenant(tenantID string, w WrappedTenantKeys) (WrappedTenantKeys, error) {
	const op = "rotate tenant"
	data, _, err := k.unwrapTenant(op, tenantID, w)
	if err != nil {
		return WrappedTenantKeys{}, err
	}
	mgr := keyset.NewManagerFromHandle(data)
	id, err := mgr.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return WrappedTenantKeys{}, fmt.Errorf("seal: %s %q: %w", op, tenantID, err)
	}
	if err := mgr.SetPrimary(id); err != nil {
		return WrappedTenantKeys{}, fmt.Errorf("seal: %s %q: %w", op, tenantID, err)
	}
	rotated, err := mgr.Handle()
	if err != nil {
		return WrappedTenantKeys{}, fmt.Errorf("seal: %s %q: %w", op, tenantID, err)
	}
	wrapped, err := wrapKeyset(rotated, kmsAEAD{k.kms}, labelled(labelTenantData, tenantID))
	if err != nil {
		return WrappedTenantKeys{}, fmt.Errorf("seal: %s %q: wrap data keyset: %w", op, tenantID, err)
	}
	return WrappedTenantKeys{Data: wrapped, Index: bytes.Clone(w.Index)}, nil
}

func (k *Keyring) wrapTenant(op, tenantID string, data, index *keyset.Handle) (WrappedTenantKeys, error) {
	kek := kmsAEAD{k.kms}
	wd, err := wrapKeyset(data, kek, labelled(labelTenantData, tenantID))
	if err != nil {
		return WrappedTenantKeys{}, fmt.Errorf("seal: %s %q: wrap data keyset: %w", op, tenantID, err)
	}
	wi, err := wrapKeyset(index, kek, labelled(labelTenantIndex, tenantID))
	if err != nil {
		return WrappedTenantKeys{}, fmt.Errorf("seal: %s %q: wrap index keyset: %w", op, tenantID, err)
	}
	return WrappedTenantKeys{Data: wd, Index: wi}, nil
}

// unwrapTenant unwraps both keysets, so that no operation accepts a pair of
// which one half is broken.
func (k *Keyring) unwrapTenant(op, tenantID string, w WrappedTenantKeys) (data, index *keyset.Handle, err error) {
	kek := kmsAEAD{k.kms}
	data, err = unwrapKeyset(w.Data, kek, labelled(labelTenantData, tenantID))
	if err != nil {
		return nil, nil, fmt.Errorf("seal: %s %q: unwrap data keyset: %w", op, tenantID, err)
	}
	index, err = unwrapKeyset(w.Index, kek, labelled(labelTenantIndex, tenantID))
	if err != nil {
		return nil, nil, fmt.Errorf("seal: %s %q: unwrap index keyset: %w", op, tenantID, err)
	}
	return data, index, nil
}

// TenantKey is one tenant's unwrapped keys. It seals the tenant's own
// records (staff), wraps and unwraps the tenant's person keys, and computes
// blind indexes. It is safe for concurrent use and never reveals its keys.
type TenantKey struct {
	id    string
	gen   uint64 // distinguishes TenantKeys for the same tenant in the person cache
	data  tink.AEAD
	index prf.PRF
	ring  *Keyring
}

// String names the tenant and nothing else, so a TenantKey that ends up in a
// log line leaks no key material.
func (t *TenantKey) String() string { return "seal.TenantKey(" + t.id + ")" }

// NewPersonKey makes a fresh AES-256-GCM keyset for a person and returns it
// wrapped under the tenant's primary data key, bound to the tenant and the
// person, ready to store with the person.
func (t *TenantKey) NewPersonKey(personID string) ([]byte, error) {
	if personID == "" {
		return nil, fmt.Errorf("seal: new person key in tenant %q: empty person id", t.id)
	}
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("seal: new person key in tenant %q: %w", t.id, err)
	}
	wrapped, err := wrapKeyset(h, t.data, labelled(labelPersonKey, t.id, personID))
	if err != nil {
		return nil, fmt.Errorf("seal: new person key in tenant %q: wrap: %w", t.id, err)
	}
	// A new person's records are usually written straight away: cache the
	// key now rather than unwrap what was just wrapped.
	a, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("seal: new person key in tenant %q: load keyset: %w", t.id, err)
	}
	t.ring.persons.put(personRef{tenant: t.id, person: personID},
		&personEntry{gen: t.gen, wrapped: bytes.Clone(wrapped), key: &PersonKey{tenant: t.id, aead: a}})
	return wrapped, nil
}

// Person returns the person's key, unwrapping wrapped unless the same bytes
// were unwrapped by this TenantKey before. It fails with ErrOpen if wrapped
// was not made for this person in this tenant.
func (t *TenantKey) Person(personID string, wrapped []byte) (*PersonKey, error) {
	ref := personRef{tenant: t.id, person: personID}
	if e, ok := t.ring.persons.get(ref); ok && e.gen == t.gen && bytes.Equal(e.wrapped, wrapped) {
		return e.key, nil
	}
	h, err := t.unwrapPerson(personID, wrapped)
	if err != nil {
		return nil, fmt.Errorf("seal: open person key in tenant %q: %w", t.id, err)
	}
	a, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("seal: open person key in tenant %q: load keyset: %w", t.id, err)
	}
	e := &personEntry{gen: t.gen, wrapped: bytes.Clone(wrapped), key: &PersonKey{tenant: t.id, aead: a}}
	e = t.ring.persons.putIfAbsent(ref, e, func(old *personEntry) bool {
		return old.gen == t.gen && bytes.Equal(old.wrapped, wrapped)
	})
	return e.key, nil
}

// RewrapPerson re-encrypts a person's keyset under the tenant's current
// primary data key, without changing the person's key. Run it for every
// person after RotateTenant so that old tenant keys can eventually be
// retired.
func (t *TenantKey) RewrapPerson(personID string, wrapped []byte) ([]byte, error) {
	h, err := t.unwrapPerson(personID, wrapped)
	if err != nil {
		return nil, fmt.Errorf("seal: rewrap person key in tenant %q: %w", t.id, err)
	}
	out, err := wrapKeyset(h, t.data, labelled(labelPersonKey, t.id, personID))
	if err != nil {
		return nil, fmt.Errorf("seal: rewrap person key in tenant %q: %w", t.id, err)
	}
	return out, nil
}

func (t *TenantKey) unwrapPerson(personID string, wrapped []byte) (*keyset.Handle, error) {
	return unwrapKeyset(wrapped, openingAEAD{t.data}, labelled(labelPersonKey, t.id, personID))
}

// Forget drops the person's key from the cache. Call it when the person is
// erased, after deleting their wrapped key, so the unwrapped key does not
// outlive the erasure in memory. (Go cannot promise to zero the memory; the
// key becomes unreachable garbage. PersonKey values a caller still holds stay
// usable until dropped.)
func (t *TenantKey) Forget(personID string) {
	t.ring.persons.remove(personRef{tenant: t.id, person: personID})
}

// Seal encrypts plaintext under the tenant's primary data key, bound to b.
// It is for records that belong to the tenant rather than to a person, such
// as staff. b.Tenant must be this key's tenant.
func (t *TenantKey) Seal(b Binding, plaintext []byte) ([]byte, error) {
	return sealRecord(t.data, t.id, b, plaintext)
}

// Open decrypts a ciphertext made by Seal with the same binding. It fails
// with ErrOpen if the ciphertext was sealed under another key or binding, or
// was altered.
func (t *TenantKey) Open(b Binding, ciphertext []byte) ([]byte, error) {
	return openRecord(t.data, t.id, b, ciphertext)
}

// BlindIndex returns a BlindIndexSize-byte keyed PRF (HMAC-SHA256) of field
// and value, for exact-match search on sealed data. The same tenant, field
// and value always give the same index; other tenants or fields give
// unrelated ones, so indexes cannot be joined across tenants or columns.
//
// value is used exactly as given: callers normalise (case, spacing) first,
// because only they know what counts as the same value for a field.
//
// BlindIndex panics only if tink's HMAC fails, which it cannot for this key
// type; an error return would invite callers to store an empty index.
func (t *TenantKey) BlindIndex(field, value string) []byte {
	out, err := t.index.ComputePRF(labelled(labelBlindIndex, t.id, field, value), BlindIndexSize)
	if err != nil {
		panic(fmt.Sprintf("seal: blind index in tenant %q: %v", t.id, err))
	}
	return out
}

// PersonKey is one person's unwrapped key. Everything Haven holds about the
// person is sealed under it, so destroying its wrapped form erases them. It
// is safe for concurrent use and never reveals its key.
type PersonKey struct {
	tenant string
	aead   tink.AEAD
}

// String names the tenant and nothing else, so a PersonKey that ends up in a
// log line leaks no key material.
func (p *PersonKey) String() string { return "seal.PersonKey(" + p.tenant + ")" }

// Seal encrypts plaintext under the person's key, bound to b. b.Tenant must
// be the person's tenant. The binding need not name the person: the key
// itself is the person's, and no other person's key opens the result.
func (p *PersonKey) Seal(b Binding, plaintext []byte) ([]byte, error) {
	return sealRecord(p.aead, p.tenant, b, plaintext)
}

// Open decrypts a ciphertext made by Seal with the same binding. It fails
// with ErrOpen if the ciphertext was sealed under another key or binding, or
// was altered.
func (p *PersonKey) Open(b Binding, ciphertext []byte) ([]byte, error) {
	return openRecord(p.aead, p.tenant, b, ciphertext)
}

func sealRecord(a tink.AEAD, tenant string, b Binding, plaintext []byte) ([]byte, error) {
	if err := b.validate(); err != nil {
		return nil, fmt.Errorf("seal: seal %s %s: %w", b.Kind, b.ID, err)
	}
	if b.Tenant != tenant {
		return nil, fmt.Errorf("seal: seal %s %s: %w", b.Kind, b.ID, ErrWrongTenant)
	}
	if Unprotected { // constant false except in the benchmark-only build
		return unprotectedSeal(plaintext), nil
	}
	ct, err := a.Encrypt(plaintext, b.associatedData())
	if err != nil {
		return nil, fmt.Errorf("seal: seal %s %s: %w", b.Kind, b.ID, err)
	}
	return ct, nil
}

func openRecord(a tink.AEAD, tenant string, b Binding, ciphertext []byte) ([]byte, error) {
	if b.Tenant != tenant {
		return nil, fmt.Errorf("seal: open %s %s: %w: %w", b.Kind, b.ID, ErrOpen, ErrWrongTenant)
	}
	if Unprotected { // constant false except in the benchmark-only build
		return unprotectedSeal(ciphertext), nil
	}
	pt, err := a.Decrypt(ciphertext, b.associatedData())
	if err != nil {
		return nil, fmt.Errorf("seal: open %s %s: %w", b.Kind, b.ID, ErrOpen)
	}
	return pt, nil
}
