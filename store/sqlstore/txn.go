package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/store"
	"golang.org/x/mod/sumdb/tlog"
)

// txn is a store.Tx: one job's view of a batch transaction, confined to one
// tenant. The tenant is fixed when the job is queued and every statement
// passes it as its first parameter.
type txn struct {
	// ctx is what the transaction's statements run under: the caller's
	// context without its cancellation (see quiet). live is the caller's
	// own, checked before each statement, so that a caller who has gone
	// away is still stopped at the next one.
	ctx, live context.Context
	tx        *sql.Tx
	s         *DB
	pool      *pool // the pool tx came from, whose statements it may use
	tenant    string
	view      bool // a read-only transaction (store.View)
	// keys is the tenant's keys row once read: it cannot change within
	// the transaction except through SetTenantKeys, and a request's
	// shared views (store.ShareReads) all need it.
	keys *store.TenantKeys
	// epoch is the tenant's epoch, read with keys (see readCache); bumped
	// says this transaction has advanced it already.
	epoch  int64
	bumped bool
	// log holds the audit entries the batch has yet to write; nil in a
	// view.
	log *auditWriter
}

var _ store.Tx = (*txn)(nil)

func (t *txn) Tenant() string { return t.tenant }

// stmt returns q prepared for the transaction's connection. Statements are
// prepared once per pool and reused: parsing SQL on every call was a large
// share of each unit of work's time. Until the pool has q, it is prepared
// on the transaction's own connection, for this transaction only.
func (t *txn) stmt(q string) (*sql.Stmt, error) {
	if err := t.live.Err(); err != nil {
		return nil, err
	}
	if st, ok := t.pool.statement(q); ok {
		return t.tx.StmtContext(t.ctx, st), nil
	}
	return t.tx.PrepareContext(t.ctx, q)
}

func (t *txn) exec(q string, args ...any) (sql.Result, error) {
	if !textArgs(args) {
		return nil, errNotText
	}
	st, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.ctx, args...)
}

func (t *txn) query(q string, args ...any) (*sql.Rows, error) {
	if !textArgs(args) {
		q, args = nothing, nil // a key that is not text names nothing
	}
	st, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(t.ctx, args...)
}

// row is QueryRow through a prepared statement; a failure to prepare shows
// up, as with QueryRow, when the row is scanned.
func (t *txn) row(q string, args ...any) *sql.Row {
	if !textArgs(args) {
		q, args = nothing, nil // a key that is not text names nothing
	}
	st, err := t.stmt(q)
	if err != nil {
		// Under the live context, so that a caller who has gone away
		// gets its error from Scan.
		return t.tx.QueryRowContext(t.live, q, args...)
	}
	return st.QueryRowContext(t.ctx, args...)
}

// Every id, kind, tenant and text value the store is given is UTF-8 with
// no NUL: PostgreSQL refuses any other string outright (and an attacker
// can spell one in a percent-escape, a form, a JSON \u0000 or a token),
// while SQLite would quietly compare or keep it. So the store decides
// alike on both: a read with such a key finds nothing, as it would for
// any key that names nothing, and a write with such a value is refused.
// The checks at the edges (web.Server) answer most such requests first;
// this is the wall behind them.

// nothing is a query that returns no rows.
const nothing = `SELECT 1 WHERE 1 = 0`

// errNotText refuses a write of a string that is not text.
var errNotText = haven.Invalid("value", "is not UTF-8 text, or holds a NUL")

// textArgs reports whether every string among args is haven.StoredText.
func textArgs(args []any) bool {
	for _, a := range args {
		if s, ok := a.(string); ok && !haven.StoredText(s) {
			return false
		}
	}
	return true
}

// quiet returns ctx without its cancellation, for the driver. Given a
// context that can end, the SQLite driver starts a goroutine to watch it
// for every statement, and database/sql one for every transaction: several
// goroutines woken for each request, to guard point queries that take
// microseconds. txn checks the caller's context itself instead (stmt).
func quiet(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, haven.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (t *txn) TenantKeys() (store.TenantKeys, error) {
	if t.keys != nil {
		return *t.keys, nil
	}
	var k store.TenantKeys
	err := t.row(t.s.q.tenantKeys, t.tenant).Scan(&k.Data, &k.Index, &t.epoch)
	if err != nil {
		return k, notFound(err, "tenant keys")
	}
	t.keys = &k
	return k, nil
}

func (t *txn) SetTenantKeys(k store.TenantKeys) error {
	if err := t.bump(); err != nil {
		return err
	}
	res, err := t.exec(t.s.q.setTenantKeys, k.Data, k.Index, t.tenant)
	if err != nil {
		return fmt.Errorf("set tenant keys: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("set tenant keys: %w", haven.ErrNotFound)
	}
	t.keys = &k
	return nil
}

func (t *txn) PersonKey(personID string) ([]byte, error) {
	epoch, ok := t.cached()
	if !ok {
		return t.personKey(personID)
	}
	key := cacheKey{op: 'k', a: personID}
	if v, hit := t.s.cache.get(t.tenant, epoch, key); hit {
		return v.(cachedKey).answer()
	}
	w, err := t.personKey(personID)
	if cacheable(err) {
		t.s.cache.put(t.tenant, epoch, key, cachedKey{wrapped: append([]byte(nil), w...), err: err}, len(w))
	}
	return w, err
}

func (t *txn) personKey(personID string) ([]byte, error) {
	var w []byte
	if err := t.row(t.s.q.personKey, t.tenant, personID).Scan(&w); err != nil {
		return nil, notFound(err, "person key")
	}
	return w, nil
}

func (t *txn) PutPersonKey(personID string, wrapped []byte) error {
	if err := t.bump(); err != nil {
		return err
	}
	if _, err := t.exec(t.s.q.putPersonKey, t.tenant, personID, wrapped); err != nil {
		return fmt.Errorf("put person key: %w", err)
	}
	return nil
}

func (t *txn) PersonKeys(fn func(string, []byte) error) error {
	rows, err := t.query(t.s.q.personKeys, t.tenant)
	if err != nil {
		return fmt.Errorf("list person keys: %w", err)
	}
	type pk struct {
		id string
		w  []byte
	}
	var all []pk
	for rows.Next() {
		var k pk
		if err := rows.Scan(&k.id, &k.w); err != nil {
			rows.Close()
			return fmt.Errorf("list person keys: %w", err)
		}
		all = append(all, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list person keys: %w", err)
	}
	// fn may write (re-wrap), so it runs after the cursor is closed.
	for _, k := range all {
		if err := fn(k.id, k.w); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) Get(kind haven.Kind, id string) (store.Row, error) {
	epoch, ok := t.cached()
	if !ok {
		return t.get(kind, id)
	}
	key := cacheKey{op: 'g', a: string(kind), b: id}
	if v, hit := t.s.cache.get(t.tenant, epoch, key); hit {
		return v.(cachedRow).answer()
	}
	r, err := t.get(kind, id)
	if cacheable(err) {
		kept := r
		kept.Sealed = append([]byte(nil), r.Sealed...)
		t.s.cache.put(t.tenant, epoch, key, cachedRow{row: kept, err: err}, len(kept.Sealed)+len(kept.PersonID))
	}
	return r, err
}

func (t *txn) get(kind haven.Kind, id string) (store.Row, error) {
	r := store.Row{Kind: kind, ID: id}
	var us int64
	err := t.row(t.s.q.get, t.tenant, string(kind), id).Scan(&r.PersonID, &r.Version, &r.Sealed, &us)
	if err != nil {
		return store.Row{}, notFound(err, "get "+string(kind))
	}
	r.Updated = time.UnixMicro(us).UTC()
	return r, nil
}

// GetMany reads straight from the database, never the read cache: it is
// meant for the single writer, which checks a unit's records in one go.
func (t *txn) GetMany(keys []store.RecordKey) (map[store.RecordKey]store.Row, error) {
	out := make(map[store.RecordKey]store.Row, len(keys))
	for len(keys) > 0 {
		size := len(getManySizes) - 1
		for i, n := range getManySizes {
			if n >= len(keys) {
				size = i
				break
			}
		}
		n := getManySizes[size]
		batch := keys[:min(n, len(keys))]
		keys = keys[len(batch):]
		args := make([]any, 0, 1+2*n)
		args = append(args, t.tenant)
		for i := range n {
			k := batch[min(i, len(batch)-1)]
			args = append(args, string(k.Kind), k.ID)
		}
		rs, err := t.query(t.s.q.getMany[size], args...)
		rows, err := scanRows("get many", rs, err)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[store.RecordKey{Kind: r.Kind, ID: r.ID}] = r
		}
	}
	return out, nil
}

func (t *txn) Insert(r store.Row) error {
	if r.Version != 1 {
		return fmt.Errorf("insert %s: new rows start at version 1", r.Kind)
	}
	if err := t.bump(); err != nil {
		return err
	}
	_, err := t.exec(t.s.q.insert, t.tenant, string(r.Kind), r.ID, r.PersonID, r.Version, r.Sealed, r.Updated.UnixMicro())
	if err != nil {
		if t.s.d.IsUniqueViolation(err) {
			return fmt.Errorf("insert %s: %w", r.Kind, haven.ErrConflict)
		}
		return fmt.Errorf("insert %s: %w", r.Kind, err)
	}
	if !store.KeepsHistory(r.Kind) {
		return nil
	}
	// Ids are never reused: a new record under a deleted one's id would
	// splice two records into one history. The check runs after the insert
	// so that on PostgreSQL an insert that waited on a concurrent Delete of
	// the same id (the primary key made it wait for that commit) sees the
	// tombstone the Delete wrote.
	var one int
	err = t.row(t.s.q.everKept, t.tenant, string(r.Kind), r.ID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err == nil {
		// Take the row back out, so that a caller that ignores the error
		// still commits nothing under the old id.
		_, err = t.exec(t.s.q.del, t.tenant, string(r.Kind), r.ID)
		if err == nil {
			err = fmt.Errorf("%w: the id was used by a record since deleted", haven.ErrConflict)
		}
	}
	return fmt.Errorf("insert %s: %w", r.Kind, err)
}

func (t *txn) Replace(r store.Row) error {
	if err := t.bump(); err != nil {
		return err
	}
	if store.KeepsHistory(r.Kind) {
		return t.replaceKeeping(r)
	}
	res, err := t.exec(t.s.q.replace, r.Version, r.Sealed, r.Updated.UnixMicro(), r.PersonID, t.tenant, string(r.Kind), r.ID, r.Version-1)
	if err != nil {
		return fmt.Errorf("replace %s: %w", r.Kind, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		if _, err := t.Get(r.Kind, r.ID); err != nil {
			return fmt.Errorf("replace %s: %w", r.Kind, err)
		}
		return fmt.Errorf("replace %s: %w", r.Kind, haven.ErrConflict)
	}
	return nil
}

// replaceKeeping is Replace for a kind whose history is kept: the row
// being replaced is copied to record_versions, byte for byte, before it is
// overwritten, all in the caller's transaction.
func (t *txn) replaceKeeping(r store.Row) error {
	// Lock the row first (FOR UPDATE on PostgreSQL; SQLite has one writer):
	// a concurrent Replace waits here, then finds the new version and
	// conflicts, instead of both keeping the same old version.
	var cur int64
	err := t.row(t.s.q.lockRecord, t.tenant, string(r.Kind), r.ID).Scan(&cur)
	if err != nil {
		return notFound(err, "replace "+string(r.Kind))
	}
	if cur != r.Version-1 {
		return fmt.Errorf("replace %s: %w", r.Kind, haven.ErrConflict)
	}
	if _, err := t.exec(t.s.q.keepVersion, t.tenant, string(r.Kind), r.ID, cur); err != nil {
		return fmt.Errorf("replace %s: keep version %d: %w", r.Kind, cur, err)
	}
	res, err := t.exec(t.s.q.replace, r.Version, r.Sealed, r.Updated.UnixMicro(), r.PersonID, t.tenant, string(r.Kind), r.ID, cur)
	if err != nil {
		return fmt.Errorf("replace %s: %w", r.Kind, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		// The row is locked, so this cannot happen; fail rather than leave
		// a kept version beside an unchanged row.
		return fmt.Errorf("replace %s: locked row changed", r.Kind)
	}
	return nil
}

func (t *txn) Delete(kind haven.Kind, id string) error {
	if err := t.bump(); err != nil {
		return err
	}
	if store.KeepsHistory(kind) {
		// The DELETE hands back the final row, which is kept, followed by
		// a tombstone one version on: the deletion is then a version of its
		// own that vread and _history can show, and Insert can see that the
		// id was used.
		var final store.Row
		var us int64
		err := t.row(t.s.q.delReturning, t.tenant, string(kind), id).Scan(&final.PersonID, &final.Version, &final.Sealed, &us)
		if err != nil {
			return notFound(err, "delete "+string(kind))
		}
		// The tombstone's sealed is empty, not NULL (a nil slice would be
		// sent as NULL): nothing was sealed at that version.
		_, err = t.exec(t.s.q.keepDeleted,
			t.tenant, string(kind), id, final.Version, final.PersonID, final.Sealed, us,
			t.tenant, string(kind), id, final.Version+1, final.PersonID, []byte{}, time.Now().UTC().UnixMicro())
		if err != nil {
			return fmt.Errorf("delete %s: keep final version: %w", kind, err)
		}
	} else {
		res, err := t.exec(t.s.q.del, t.tenant, string(kind), id)
		if err != nil {
			return fmt.Errorf("delete %s: %w", kind, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("delete %s: %w", kind, haven.ErrNotFound)
		}
	}
	if _, err := t.exec(t.s.q.delIndexRecord, t.tenant, string(kind), id); err != nil {
		return fmt.Errorf("delete %s index: %w", kind, err)
	}
	return nil
}

func scanRows(what string, rows *sql.Rows, err error) ([]store.Row, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []store.Row
	for rows.Next() {
		var r store.Row
		var kind string
		var us int64
		if err := rows.Scan(&kind, &r.ID, &r.PersonID, &r.Version, &r.Sealed, &us); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		r.Kind = haven.Kind(kind)
		r.Updated = time.UnixMicro(us).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// scanVersions reads rows of the version and history queries.
func scanVersions(what string, kind haven.Kind, id string, rows *sql.Rows, err error) ([]store.Row, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []store.Row
	for rows.Next() {
		r := store.Row{Kind: kind, ID: id}
		var us int64
		if err := rows.Scan(&r.PersonID, &r.Version, &r.Sealed, &us, &r.Deleted); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		r.Updated = time.UnixMicro(us).UTC()
		if r.Deleted {
			r.Sealed = nil
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", what, haven.ErrNotFound)
	}
	return out, nil
}

func (t *txn) Version(kind haven.Kind, id string, version int64) (store.Row, error) {
	rows, err := t.query(t.s.q.version, t.tenant, string(kind), id, version, t.tenant, string(kind), id, version)
	out, err := scanVersions(fmt.Sprintf("version %d of %s", version, kind), kind, id, rows, err)
	if err != nil {
		return store.Row{}, err
	}
	return out[0], nil
}

func (t *txn) History(kind haven.Kind, id string, limit int) ([]store.Row, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := t.query(t.s.q.history, t.tenant, string(kind), id, t.tenant, string(kind), id, limit)
	return scanVersions("history of "+string(kind), kind, id, rows, err)
}

func (t *txn) ListPerson(personID string, kinds ...haven.Kind) ([]store.Row, error) {
	rows, err := t.query(t.s.q.listPerson, t.tenant, personID)
	all, err := scanRows("list person", rows, err)
	if err != nil || len(kinds) == 0 {
		return all, err
	}
	out := all[:0]
	for _, r := range all {
		for _, k := range kinds {
			if r.Kind == k {
				out = append(out, r)
				break
			}
		}
	}
	return out, nil
}

func (t *txn) ListKind(kind haven.Kind, after string, limit int) ([]store.Row, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := t.query(t.s.q.listKind, t.tenant, string(kind), after, limit)
	return scanRows("list "+string(kind), rows, err)
}

func (t *txn) ErasePerson(personID string) error {
	if err := t.bump(); err != nil {
		return err
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{t.s.q.erasePersonRecords[0], []any{t.tenant, personID}},
		{t.s.q.erasePersonRecords[1], []any{t.tenant, personID}},
		{t.s.q.erasePersonVersions[0], []any{t.tenant, personID}},
		{t.s.q.erasePersonVersions[1], []any{t.tenant, personID}},
		{t.s.q.erasePersonIndex, []any{t.tenant, personID}},
		{t.s.q.eraseKey, []any{t.tenant, personID}},
	} {
		if _, err := t.exec(q.sql, q.args...); err != nil {
			return fmt.Errorf("erase person: %w", err)
		}
	}
	return nil
}

func (t *txn) SetIndex(kind haven.Kind, id, personID string, entries []store.IndexEntry) error {
	if err := t.bump(); err != nil {
		return err
	}
	if _, err := t.exec(t.s.q.delIndexRecord, t.tenant, string(kind), id); err != nil {
		return fmt.Errorf("set index: %w", err)
	}
	for _, e := range entries {
		if _, err := t.exec(t.s.q.insertIndex, t.tenant, e.Field, e.Digest, string(kind), id, personID); err != nil {
			return fmt.Errorf("set index: %w", err)
		}
	}
	return nil
}

func (t *txn) Lookup(field string, digest []byte, limit int) ([]store.IndexHit, error) {
	if limit <= 0 {
		limit = 100
	}
	epoch, ok := t.cached()
	if !ok {
		return t.lookup(field, digest, limit)
	}
	key := cacheKey{op: 'l', a: field, b: string(digest), n: limit}
	if v, hit := t.s.cache.get(t.tenant, epoch, key); hit {
		return append([]store.IndexHit(nil), v.([]store.IndexHit)...), nil
	}
	hits, err := t.lookup(field, digest, limit)
	if err == nil {
		t.s.cache.put(t.tenant, epoch, key, append([]store.IndexHit(nil), hits...), 64*len(hits))
	}
	return hits, err
}

func (t *txn) lookup(field string, digest []byte, limit int) ([]store.IndexHit, error) {
	rows, err := t.query(t.s.q.lookup, t.tenant, field, digest, limit)
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	defer rows.Close()
	var out []store.IndexHit
	for rows.Next() {
		var h store.IndexHit
		var kind string
		if err := rows.Scan(&kind, &h.ID, &h.PersonID); err != nil {
			return nil, fmt.Errorf("lookup: %w", err)
		}
		h.Kind = haven.Kind(kind)
		out = append(out, h)
	}
	return out, rows.Err()
}

func (t *txn) Indexed(field string, digest []byte, kind haven.Kind, id string) (bool, error) {
	var one int
	err := t.row(t.s.q.indexed, t.tenant, field, digest, string(kind), id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("indexed: %w", err)
	}
	return true, nil
}

// AppendAudit implements store.Tx: the entry waits in the transaction's
// audit writer and is written with the others of its batch, before the
// batch commits (see auditWriter); its index is claimed then. A unit of
// work that reads the log writes its waiting entries first.
func (t *txn) AppendAudit(e audit.Entry) error {
	if t.log == nil {
		return fmt.Errorf("%w: a read-only transaction cannot append to the audit log", haven.ErrAuditUnavailable)
	}
	e.Tenant = t.tenant
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	t.log.add(t.tenant, e)
	return nil
}

// writeAudit writes the entries waiting in the transaction for its
// tenant, so that what it reads of the log next includes them.
func (t *txn) writeAudit() error {
	if t.log == nil {
		return nil
	}
	return t.log.flush(t)
}

// claimSeqs advances the tenant's audit head by n and returns the first
// index it claimed, creating the head for a tenant's first entry.
// Advancing the head in one statement holds it (PostgreSQL locks the row
// until commit), so that no other writer can take the same indexes; if
// anything after it fails, the caller's rollback gives them back.
func (t *txn) claimSeqs(n int64) (int64, error) {
	for range 2 {
		var next int64
		err := t.row(t.s.q.claimSeqs, n, t.tenant).Scan(&next)
		if err == nil {
			return next - n, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("audit head: %w", err)
		}
		// No head yet: create it (or find another writer's) and claim again.
		if _, err := t.exec(t.s.q.initHead, t.tenant); err != nil {
			return 0, fmt.Errorf("audit head: %w", err)
		}
	}
	return 0, errors.New("audit head: could not be created")
}

func (t *txn) AuditSize() (int64, error) {
	if err := t.writeAudit(); err != nil {
		return 0, err
	}
	var size int64
	q := t.s.q.auditHead
	if t.view {
		// A view appends nothing, so it has no head to hold; PostgreSQL
		// refuses FOR UPDATE in a read-only transaction anyway.
		q = t.s.q.auditHeadRead
	}
	err := t.row(q, t.tenant).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit head: %w", err)
	}
	return size, nil
}

func (t *txn) AuditHashes() tlog.HashReader {
	if err := t.writeAudit(); err != nil {
		return failedReader{err}
	}
	return hashReader{t}
}

// failedReader is the hash reader of a log whose waiting entries could not
// be written: it reads nothing.
type failedReader struct{ err error }

func (f failedReader) ReadHashes([]int64) ([]tlog.Hash, error) { return nil, f.err }

type hashReader struct{ t *txn }

func (h hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		var b []byte
		if err := h.t.row(h.t.s.q.readHash, h.t.tenant, idx).Scan(&b); err != nil {
			return nil, notFound(err, fmt.Sprintf("audit hash %d", idx))
		}
		if len(b) != tlog.HashSize {
			return nil, fmt.Errorf("audit hash %d: stored hash has %d bytes", idx, len(b))
		}
		copy(out[i][:], b)
	}
	return out, nil
}

func (t *txn) PutCheckpoint(size int64, signed []byte) error {
	if err := t.writeAudit(); err != nil {
		return err
	}
	if _, err := t.exec(t.s.q.putCheckpoint, t.tenant, size, signed, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("put checkpoint: %w", err)
	}
	return nil
}

func (t *txn) LatestCheckpoint() (int64, error) {
	if err := t.writeAudit(); err != nil {
		return 0, err
	}
	var n int64
	if err := t.row(t.s.q.latestCheckpoint, t.tenant).Scan(&n); err != nil {
		return 0, fmt.Errorf("latest checkpoint: %w", err)
	}
	return n, nil
}

func (t *txn) AuditEntries(q store.AuditQuery) ([]audit.Entry, error) {
	if err := t.writeAudit(); err != nil {
		return nil, err
	}
	since, until := int64(0), time.Now().Add(time.Minute).UnixMicro()
	if !q.Since.IsZero() {
		since = q.Since.UnixMicro()
	}
	if !q.Until.IsZero() {
		until = q.Until.UnixMicro()
	}
	var rows *sql.Rows
	var err error
	switch {
	case q.PersonID != "":
		rows, err = t.query(t.s.q.auditByPerson, t.tenant, q.PersonID, since, until, q.FromSeq)
	case len(q.Actors) == 1:
		// One account's entries (the guard's seed after a restart, a
		// report on one account): through the actor index, rather than
		// every entry of the tenant in the window.
		rows, err = t.query(t.s.q.auditByActor, t.tenant, strings.TrimSpace(q.Actors[0]), since, until, q.FromSeq)
	default:
		rows, err = t.query(t.s.q.auditByAll, t.tenant, since, until, q.FromSeq)
	}
	if err != nil {
		return nil, fmt.Errorf("audit entries: %w", err)
	}
	defer rows.Close()
	actors := map[string]bool{}
	for _, a := range q.Actors {
		actors[strings.TrimSpace(a)] = true
	}
	var out []audit.Entry
	for n := 1; rows.Next(); n++ {
		// The scan may be long and its statement runs uncancelled
		// (quiet): stop it here if the caller has gone away.
		if n%1024 == 0 {
			if err := t.live.Err(); err != nil {
				return nil, err
			}
		}
		e, err := scanEntry(rows, t.tenant)
		if err != nil {
			return nil, fmt.Errorf("audit entries: %w", err)
		}
		if len(actors) > 0 && !actors[e.Actor] {
			continue
		}
		out = append(out, e)
		if q.Limit > 0 && len(out) >= q.Limit {
			break
		}
	}
	return out, rows.Err()
}

type scanner interface{ Scan(...any) error }

func scanEntry(r scanner, tenant string) (audit.Entry, error) {
	e := audit.Entry{Tenant: tenant}
	var us int64
	err := r.Scan(&e.Seq, &us, &e.Actor, &e.ActorRole, &e.Action, &e.Kind, &e.RecordID, &e.PersonID, &e.Purpose, &e.Outcome, &e.ClientAddr)
	e.Time = time.UnixMicro(us).UTC()
	return e, err
}

func timeFromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
