package sqlstore

import "strings"

// queries holds every statement, rebound for the dialect once at start-up.
// Every statement on tenant data names tenant_id: the tenant scope is part
// of each query, not a filter added afterwards.
type queries struct {
	createTenant, tenants string
	deleteTenant          []string

	tenantKeys, setTenantKeys, bumpEpoch      string
	personKey, putPersonKey, personKeys       string
	get, insert, replace, del, delIndexRecord string
	// getMany[i] looks up getManySizes[i] records (see txn.GetMany).
	getMany                                 []string
	lockRecord, keepVersion, delReturning   string
	keepDeleted, everKept, version, history string
	listPerson, listKind                    string
	erasePersonIndex, eraseKey              string
	// erasePersonRecords and erasePersonVersions delete a person's rows
	// and the person's own record (see txn.ErasePerson).
	erasePersonRecords, erasePersonVersions [2]string
	insertIndex, lookup, indexed            string
	auditHead, initHead, claimSeqs          string
	auditHeadRead                           string // without the row lock, for views
	readHash                                string
	// insertAudit[n-1] inserts n audit entries in one statement, and
	// insertHashes[n-1] n stored hashes (see auditWriter).
	insertAudit, insertHashes                    []string
	putCheckpoint, latestCheckpoint              string
	auditByPerson, auditByActor, auditByAll      string
	auditTenants, auditEntries, auditCheckpoints string
}

const versionColumns = `tenant_id, kind, id, version, person_id, sealed, updated_us, deleted`

const auditColumns = `seq, at_us, actor, actor_role, action, kind, record_id, person_id, purpose, outcome, client_addr`

func prepareQueries(d *Dialect) queries {
	r := d.Rebind
	upsert := func(table, cols, conflict, set string, n int) string {
		ph := "?"
		for i := 1; i < n; i++ {
			ph += ", ?"
		}
		return r(`INSERT INTO ` + table + ` (` + cols + `) VALUES (` + ph + `) ON CONFLICT (` + conflict + `) DO UPDATE SET ` + set)
	}
	return queries{
		createTenant: r(`INSERT INTO tenants (id, name, ods_code, created_us, data_key, index_key, epoch) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		tenants:      r(`SELECT id, name, ods_code, created_us FROM tenants ORDER BY id`),
		deleteTenant: []string{
			r(`DELETE FROM blind_index WHERE tenant_id = ?`),
			r(`DELETE FROM records WHERE tenant_id = ?`),
			r(`DELETE FROM record_versions WHERE tenant_id = ?`),
			r(`DELETE FROM person_keys WHERE tenant_id = ?`),
			r(`DELETE FROM tenants WHERE id = ?`),
		},

		tenantKeys:    r(`SELECT data_key, index_key, epoch FROM tenants WHERE id = ?`),
		bumpEpoch:     r(`UPDATE tenants SET epoch = epoch + 1 WHERE id = ?`),
		setTenantKeys: r(`UPDATE tenants SET data_key = ?, index_key = ? WHERE id = ?`),
		personKey:     r(`SELECT wrapped FROM person_keys WHERE tenant_id = ? AND person_id = ?`),
		putPersonKey:  upsert("person_keys", "tenant_id, person_id, wrapped", "tenant_id, person_id", "wrapped = excluded.wrapped", 3),
		personKeys:    r(`SELECT person_id, wrapped FROM person_keys WHERE tenant_id = ? ORDER BY person_id`),

		get:            r(`SELECT person_id, version, sealed, updated_us FROM records WHERE tenant_id = ? AND kind = ? AND id = ?`),
		getMany:        getManyQueries(r),
		insert:         r(`INSERT INTO records (tenant_id, kind, id, person_id, version, sealed, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		replace:        r(`UPDATE records SET version = ?, sealed = ?, updated_us = ?, person_id = ? WHERE tenant_id = ? AND kind = ? AND id = ? AND version = ?`),
		del:            r(`DELETE FROM records WHERE tenant_id = ? AND kind = ? AND id = ?`),
		delIndexRecord: r(`DELETE FROM blind_index WHERE tenant_id = ? AND kind = ? AND record_id = ?`),
		listPerson:     r(`SELECT kind, id, person_id, version, sealed, updated_us FROM records WHERE tenant_id = ? AND person_id = ? ORDER BY kind, id`),
		listKind:       r(`SELECT kind, id, person_id, version, sealed, updated_us FROM records WHERE tenant_id = ? AND kind = ? AND id > ? ORDER BY id LIMIT ?`),

		// Kept versions (store.KeepsHistory kinds). Replace locks the row it
		// will overwrite (PostgreSQL: until commit), so that a concurrent
		// writer on another connection waits and then sees the new version
		// rather than keeping the same old one twice; it then copies the old
		// row over inside the database. Delete reads the final row back from
		// its own DELETE, which locks it the same way.
		lockRecord:   r(`SELECT version FROM records WHERE tenant_id = ? AND kind = ? AND id = ?` + d.RowLock),
		keepVersion:  r(`INSERT INTO record_versions (` + versionColumns + `) SELECT tenant_id, kind, id, version, person_id, sealed, updated_us, FALSE FROM records WHERE tenant_id = ? AND kind = ? AND id = ? AND version = ?`),
		delReturning: r(`DELETE FROM records WHERE tenant_id = ? AND kind = ? AND id = ? RETURNING person_id, version, sealed, updated_us`),
		keepDeleted:  r(`INSERT INTO record_versions (` + versionColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, FALSE), (?, ?, ?, ?, ?, ?, ?, TRUE)`),
		everKept:     r(`SELECT 1 FROM record_versions WHERE tenant_id = ? AND kind = ? AND id = ? LIMIT 1`),
		// The current row never has a kept twin (kept versions are all older
		// than it), so the union holds each version once.
		version: r(`SELECT person_id, version, sealed, updated_us, FALSE FROM records WHERE tenant_id = ? AND kind = ? AND id = ? AND version = ?
			UNION ALL SELECT person_id, version, sealed, updated_us, deleted FROM record_versions WHERE tenant_id = ? AND kind = ? AND id = ? AND version = ?`),
		history: r(`SELECT person_id, version, sealed, updated_us, deleted FROM (
			SELECT person_id, version, sealed, updated_us, FALSE AS deleted FROM records WHERE tenant_id = ? AND kind = ? AND id = ?
			UNION ALL SELECT person_id, version, sealed, updated_us, deleted FROM record_versions WHERE tenant_id = ? AND kind = ? AND id = ?
		) AS h ORDER BY version DESC LIMIT ?`),

		// Two statements rather than one with OR: SQLite served the OR by
		// reading every record of the tenant, inside the single writer.
		erasePersonRecords: [2]string{
			r(`DELETE FROM records WHERE tenant_id = ? AND person_id = ?`),
			r(`DELETE FROM records WHERE tenant_id = ? AND kind = 'person' AND id = ?`),
		},
		erasePersonIndex: r(`DELETE FROM blind_index WHERE tenant_id = ? AND person_id = ?`),
		eraseKey:         r(`DELETE FROM person_keys WHERE tenant_id = ? AND person_id = ?`),
		// The same rows as erasePersonRecords: tombstones keep person_id
		// for this.
		erasePersonVersions: [2]string{
			r(`DELETE FROM record_versions WHERE tenant_id = ? AND person_id = ?`),
			r(`DELETE FROM record_versions WHERE tenant_id = ? AND kind = 'person' AND id = ?`),
		},

		insertIndex: r(`INSERT INTO blind_index (tenant_id, field, digest, kind, record_id, person_id) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		lookup:      r(`SELECT kind, record_id, person_id FROM blind_index WHERE tenant_id = ? AND field = ? AND digest = ? ORDER BY kind, record_id LIMIT ?`),
		indexed:     r(`SELECT 1 FROM blind_index WHERE tenant_id = ? AND field = ? AND digest = ? AND kind = ? AND record_id = ?`),

		auditHead:     r(`SELECT size FROM audit_heads WHERE tenant_id = ?` + d.RowLock),
		auditHeadRead: r(`SELECT size FROM audit_heads WHERE tenant_id = ?`),
		initHead:      r(`INSERT INTO audit_heads (tenant_id, size) VALUES (?, 0) ON CONFLICT DO NOTHING`),
		claimSeqs:     r(`UPDATE audit_heads SET size = size + ? WHERE tenant_id = ? RETURNING size`),
		insertAudit:   insertRows(r, `audit_entries (tenant_id, `+auditColumns+`)`, entryParams, maxInsertEntries),
		readHash:      r(`SELECT hash FROM audit_hashes WHERE tenant_id = ? AND idx = ?`),
		insertHashes:  insertRows(r, `audit_hashes (tenant_id, idx, hash)`, 3, maxInsertHashes),

		putCheckpoint:    r(`INSERT INTO audit_checkpoints (tenant_id, size, signed, created_us) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		latestCheckpoint: r(`SELECT COALESCE(MAX(size), 0) FROM audit_checkpoints WHERE tenant_id = ?`),

		auditByPerson: r(`SELECT ` + auditColumns + ` FROM audit_entries` + d.indexedBy("audit_entries_person") +
			` WHERE tenant_id = ? AND person_id = ? AND at_us >= ? AND at_us < ? AND seq >= ? ORDER BY seq`),
		auditByActor: r(`SELECT ` + auditColumns + ` FROM audit_entries` + d.indexedBy("audit_entries_actor") +
			` WHERE tenant_id = ? AND actor = ? AND at_us >= ? AND at_us < ? AND seq >= ? ORDER BY seq`),
		auditByAll: r(`SELECT ` + auditColumns + ` FROM audit_entries WHERE tenant_id = ? AND at_us >= ? AND at_us < ? AND seq >= ? ORDER BY seq`),

		auditTenants:     r(`SELECT tenant_id FROM audit_heads UNION SELECT id FROM tenants ORDER BY 1`),
		auditEntries:     r(`SELECT tenant_id, ` + auditColumns + ` FROM audit_entries WHERE tenant_id = ? ORDER BY seq`),
		auditCheckpoints: r(`SELECT signed FROM audit_checkpoints WHERE tenant_id = ? ORDER BY size`),
	}
}

// maxEntryHashes bounds the hashes one audit entry stores: its leaf and one
// per level its append completes (tlog.StoredHashes), at most 64.
const maxEntryHashes = 64

// entryParams is the number of columns of an audit entry's row.
const entryParams = 12

// The most rows one statement inserts: audit entries (12 parameters each)
// and stored hashes (3 each), well inside both databases' parameter limits.
// An entry stores two hashes on average.
const (
	maxInsertEntries = 64
	maxInsertHashes  = 128
)

// insertRows makes the statements that insert into table (with its column
// list): the statement at n-1 inserts n rows of width values each, for n
// from 1 to most.
func insertRows(r func(string) string, table string, width, most int) []string {
	row := "(?" + strings.Repeat(", ?", width-1) + ")"
	out := make([]string, most)
	q := `INSERT INTO ` + table + ` VALUES ` + row
	for n := range out {
		if n > 0 {
			q += ", " + row
		}
		out[n] = r(q)
	}
	return out
}

// getManySizes are the numbers of records one GetMany statement looks up.
// A few fixed sizes keep the prepared statements few; a short last batch
// repeats its final key to fill the size above it.
var getManySizes = []int{1, 8, 64, 256}

func getManyQueries(r func(string) string) []string {
	out := make([]string, len(getManySizes))
	for i, n := range getManySizes {
		out[i] = r(`SELECT kind, id, person_id, version, sealed, updated_us FROM records WHERE tenant_id = ? AND (kind, id) IN (VALUES (?, ?)` +
			strings.Repeat(`, (?, ?)`, n-1) + `)`)
	}
	return out
}
