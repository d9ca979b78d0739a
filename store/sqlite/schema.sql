-- Haven schema version 1 (SQLite). Every table is keyed by tenant first so
-- that the same layout can later be distributed by tenant.

CREATE TABLE tenants (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	ods_code   TEXT NOT NULL,
	created_us INTEGER NOT NULL,
	data_key   BLOB NOT NULL, -- tenant data keyset, wrapped by the master key
	index_key  BLOB NOT NULL  -- blind-index keyset, wrapped by the master key
) STRICT;

CREATE TABLE person_keys (
	tenant_id TEXT NOT NULL,
	person_id TEXT NOT NULL,
	wrapped   BLOB NOT NULL, -- person keyset, wrapped by the tenant key
	PRIMARY KEY (tenant_id, person_id)
) STRICT;

CREATE TABLE records (
	tenant_id  TEXT NOT NULL,
	kind       TEXT NOT NULL,
	id         TEXT NOT NULL,
	person_id  TEXT NOT NULL, -- '' for tenant-level records
	version    INTEGER NOT NULL,
	sealed     BLOB NOT NULL,
	updated_us INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, kind, id)
) STRICT;
CREATE INDEX records_person ON records (tenant_id, person_id, kind, id);

CREATE TABLE blind_index (
	tenant_id TEXT NOT NULL,
	field     TEXT NOT NULL,
	digest    BLOB NOT NULL,
	kind      TEXT NOT NULL,
	record_id TEXT NOT NULL,
	person_id TEXT NOT NULL,
	PRIMARY KEY (tenant_id, field, digest, kind, record_id)
) STRICT;
CREATE INDEX blind_index_record ON blind_index (tenant_id, kind, record_id);
CREATE INDEX blind_index_person ON blind_index (tenant_id, person_id);

CREATE TABLE audit_heads (
	tenant_id TEXT PRIMARY KEY,
	size      INTEGER NOT NULL
) STRICT;

CREATE TABLE audit_entries (
	tenant_id   TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	at_us       INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	actor_role  TEXT NOT NULL,
	action      TEXT NOT NULL,
	kind        TEXT NOT NULL,
	record_id   TEXT NOT NULL,
	person_id   TEXT NOT NULL,
	purpose     TEXT NOT NULL,
	outcome     TEXT NOT NULL,
	client_addr TEXT NOT NULL,
	PRIMARY KEY (tenant_id, seq)
) STRICT;
CREATE INDEX audit_entries_person ON audit_entries (tenant_id, person_id, at_us);
CREATE INDEX audit_entries_actor ON audit_entries (tenant_id, actor, at_us);

-- Stored hashes of the Merkle tree, laid out as golang.org/x/mod/sumdb/tlog
-- stores them (StoredHashIndex).
CREATE TABLE audit_hashes (
	tenant_id TEXT NOT NULL,
	idx       INTEGER NOT NULL,
	hash      BLOB NOT NULL,
	PRIMARY KEY (tenant_id, idx)
) STRICT;

CREATE TABLE audit_checkpoints (
	tenant_id  TEXT NOT NULL,
	size       INTEGER NOT NULL,
	signed     BLOB NOT NULL,
	created_us INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, size)
) STRICT;
