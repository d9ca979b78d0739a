// Package store defines how Haven keeps records: sealed rows, blind-index
// rows, wrapped keys and the audit log, always inside a tenant scope.
//
// A store never sees plaintext personal data. It holds what the seal package
// produced (ciphertexts and wrapped keys) and the audit log. The record
// service in package care decides what to seal and what to record; a store
// decides only how to keep it. Two implementations share one SQL core
// (store/sqlstore): SQLite, the embedded default, and PostgreSQL. Both must
// pass the contract suite in store/storetest.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrNoScope is returned when a store call is made without a tenant scope.
// Every call that can touch personal data needs one (invariant 2).
var ErrNoScope = errors.New("store: no tenant scope")

// Row is one sealed record as stored. Kind, ID, PersonID and Version are
// the only plaintext; they are random identifiers and counters, never
// personal data.
type Row struct {
	Kind     haven.Kind
	ID       string
	PersonID string // "" for tenant-level records such as staff
	Version  int64  // starts at 1, +1 per update; bound into the ciphertext
	Sealed   []byte
	Updated  time.Time
	// Deleted marks a deletion tombstone, returned only by Version and
	// History: the record was deleted at this Version (at Updated), and
	// Sealed is empty because nothing was written.
	Deleted bool
}

// KeepsHistory reports whether the store keeps the earlier versions and the
// deletion tombstone of records of kind k. It does for the records Haven
// knows (haven.New), which the FHIR API serves with vread and _history. It
// does not for the working rows kept beside them (sessions, access tokens,
// assertion ids, leases, alerts, settings): a session in use is rewritten
// up to once a minute, and tokens and assertion ids are pruned soon after
// they expire to bound their storage, so their history would grow without
// end and undo the pruning, and nothing would read it.
func KeepsHistory(k haven.Kind) bool {
	_, ok := haven.New(k)
	return ok
}

// RecordKey names one record of a tenant.
type RecordKey struct {
	Kind haven.Kind
	ID   string
}

// IndexEntry is one keyed blind-index value for a record: an HMAC of a
// normalised field value, so exact-match search works without plaintext.
type IndexEntry struct {
	Field  string
	Digest []byte
}

// IndexHit names a record found through a blind index.
type IndexHit struct {
	Kind     haven.Kind
	ID       string
	PersonID string
}

// TenantKeys are a tenant's wrapped keysets, as the seal package made them.
type TenantKeys struct {
	Data  []byte
	Index []byte
}

// AuditQuery selects audit entries for the blast-radius questions: whose
// data did these accounts see, and who saw this person's data.
type AuditQuery struct {
	Actors   []string  // any of these actors; empty means any actor
	PersonID string    // entries about this person; empty means any
	Since    time.Time // inclusive; zero means the beginning
	Until    time.Time // exclusive; zero means now
	Limit    int       // 0 means no limit
	// FromSeq starts at this sequence number (inclusive): paging through
	// the log. Sequence numbers start at 0, so 0 means the beginning.
	FromSeq int64
}

// Store is a tenant-scoped record store.
type Store interface {
	// CreateTenant registers a care organisation with its wrapped keys.
	// Tenants are the supplier's business, so this takes no scope.
	CreateTenant(ctx context.Context, t haven.Tenant, keys TenantKeys) error
	// Tenants lists every tenant (no personal data).
	Tenants(ctx context.Context) ([]haven.Tenant, error)
	// Update runs fn in one read-write transaction confined to s. If fn
	// returns an error, nothing fn wrote is kept. Transactions of many
	// callers may be committed together (group commit); Update returns only
	// after the commit that holds fn's writes and audit entries succeeded.
	Update(ctx context.Context, s haven.Scope, fn func(Tx) error) error
	// Record is Update for work that only adds (audit entries, alerts):
	// the store may run it without setting it apart from the other work
	// committed with it, and if it fails, that other work is run again
	// without it. Nothing of a failed Record is kept.
	Record(ctx context.Context, s haven.Scope, fn func(Tx) error) error
	// View runs fn in one read-only transaction confined to s, beside the
	// committers rather than through them: it sees what was committed before
	// it began, and any write in it fails. Units of work that only read
	// (every read also appends audit entries, which go through Update
	// afterwards) use it so that their queries and policy checks do not
	// queue behind the single writer.
	View(ctx context.Context, s haven.Scope, fn func(Tx) error) error
	// DeleteTenant removes every row of a tenant, including its keys and
	// the kept versions of its records: off-boarding by crypto-shredding.
	DeleteTenant(ctx context.Context, tenantID string) error
	// AuditSource gives offline, read-only access to every tenant's audit
	// log for verification. It returns no personal data.
	AuditSource() audit.Source
	// Close waits for pending commits and closes the database.
	Close() error
}

// Tx is a transaction confined to one tenant. Every method acts only on
// that tenant's rows; there is no way to name another tenant.
type Tx interface {
	// Tenant is the id of the tenant the transaction is confined to.
	Tenant() string

	TenantKeys() (TenantKeys, error)
	SetTenantKeys(TenantKeys) error

	// PersonKey returns a person's wrapped key, or haven.ErrNotFound.
	PersonKey(personID string) ([]byte, error)
	PutPersonKey(personID string, wrapped []byte) error
	// PersonKeys calls fn for every person key of the tenant (rotation).
	PersonKeys(fn func(personID string, wrapped []byte) error) error

	// Get returns the row, or haven.ErrNotFound when it does not exist in
	// this tenant (whether or not it exists elsewhere).
	Get(kind haven.Kind, id string) (Row, error)
	// GetMany is Get for many records in few statements: the rows of those
	// keys that exist in this tenant, by key. A key with no row in this
	// tenant is absent from the answer.
	GetMany(keys []RecordKey) (map[RecordKey]Row, error)
	// Insert adds a new row with Version 1; haven.ErrConflict if the id is
	// already taken in this tenant, or was (KeepsHistory kinds): ids are
	// never reused, so a deleted record's history never runs into a new
	// record's.
	Insert(r Row) error
	// Replace stores r over the row with version r.Version-1, or returns
	// haven.ErrConflict if the stored version differs. For KeepsHistory
	// kinds the replaced row is kept, in the same transaction.
	Replace(r Row) error
	// Delete removes one row and its blind-index entries. For KeepsHistory
	// kinds the final row is kept and a tombstone is added at its version+1.
	Delete(kind haven.Kind, id string) error
	// Version returns one version of a record: the current row, a kept
	// earlier one, or the deletion tombstone (Deleted set); haven.ErrNotFound
	// when this tenant has no such version. A kept row's Sealed is exactly as
	// written, so it opens with the binding of its own version.
	Version(kind haven.Kind, id string, version int64) (Row, error)
	// History returns up to limit versions of a record, newest first: the
	// current row (if not deleted), kept earlier versions and the tombstone
	// if it was deleted. haven.ErrNotFound when there is none in this
	// tenant. A limit of 0 or less means 100. For kinds that do not
	// KeepsHistory it is the current row alone.
	History(kind haven.Kind, id string, limit int) ([]Row, error)
	// ListPerson returns every row about one person, of the given kinds
	// (all kinds if none are given), ordered by kind then id.
	ListPerson(personID string, kinds ...haven.Kind) ([]Row, error)
	// ListKind returns up to limit rows of one kind with id > after.
	ListKind(kind haven.Kind, after string, limit int) ([]Row, error)
	// ErasePerson removes every row, kept version, tombstone, blind-index
	// entry and the key of one person. Once the key is gone, copies of the
	// ciphertext (backups, WAL) can never be opened again: crypto-shredding.
	ErasePerson(personID string) error

	// SetIndex replaces the blind-index entries of one record.
	SetIndex(kind haven.Kind, id, personID string, entries []IndexEntry) error
	// Lookup finds records whose indexed field has exactly this digest.
	Lookup(field string, digest []byte, limit int) ([]IndexHit, error)
	// Indexed reports whether one record has this digest in the field's
	// index: a lookup for a value too common to read every hit of, asked
	// only of records found some other way.
	Indexed(field string, digest []byte, kind haven.Kind, id string) (bool, error)

	// AppendAudit adds e to the tenant's audit log. The entry commits or
	// rolls back with everything else in the transaction; if it cannot be
	// written the transaction fails. Its index in the log is fixed when
	// it is written, which may be as late as the commit.
	AppendAudit(e audit.Entry) error
	// AuditSize is the number of entries in the tenant's log.
	AuditSize() (int64, error)
	// AuditHashes reads the tenant's stored Merkle tree hashes.
	AuditHashes() tlog.HashReader
	// PutCheckpoint stores a signed checkpoint of the tenant's log.
	PutCheckpoint(size int64, signed []byte) error
	// LatestCheckpoint returns the newest checkpoint's size (0 if none).
	LatestCheckpoint() (int64, error)
	// AuditEntries returns the tenant's audit entries matching q, oldest
	// first.
	AuditEntries(q AuditQuery) ([]audit.Entry, error)
}
