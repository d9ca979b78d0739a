-- Haven schema version 1 (PostgreSQL). Every table is keyed by tenant first so
-- that the same layout can later be distributed by tenant.

CREATE TABLE tenants (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	ods_code   TEXT NOT NULL,
	created_us BIGINT NOT NULL,
	data_key   BYTEA NOT NULL, -- tenant data keyset, wrapped by the master key
	index_key  BYTEA NOT NULL  -- blind-index keyset, wrapped by the master key
);

CREATE TABLE person_keys (
	tenant_id TEXT NOT NULL,
	person_id TEXT NOT NULL,
	wrapped   BYTEA NOT NULL, -- person keyset, wrapped by the tenant key
	PRIMARY KEY (tenant_id, person_id)
);

CREATE TABLE records (
	tenant_id  TEXT NOT NULL,
	kind       TEXT NOT NULL,
	id         TEXT NOT NULL,
	person_id  TEXT NOT NULL, -- '' for tenant-level records
	version    BIGINT NOT NULL,
	sealed     BYTEA NOT NULL,
	updated_us BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, kind, id)
);
CREATE INDEX records_person ON records (tenant_id, person_id, kind, id);

CREATE TABLE blind_index (
	tenant_id TEXT NOT NULL,
	field     TEXT NOT NULL,
	digest    BYTEA NOT NULL,
	kind      TEXT NOT NULL,
	record_id TEXT NOT NULL,
	person_id TEXT NOT NULL,
	PRIMARY KEY (tenant_id, field, digest, kind, record_id)
);
CREATE INDEX blind_index_record ON blind_index (tenant_id, kind, record_id);
CREATE INDEX blind_index_person ON blind_index (tenant_id, person_id);

CREATE TABLE audit_heads (
	tenant_id TEXT PRIMARY KEY,
	size      BIGINT NOT NULL
);

CREATE TABLE audit_entries (
	tenant_id   TEXT NOT NULL,
	seq         BIGINT NOT NULL,
	at_us       BIGINT NOT NULL,
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
);
CREATE INDEX audit_entries_person ON audit_entries (tenant_id, person_id, at_us);
CREATE INDEX audit_entries_actor ON audit_entries (tenant_id, actor, at_us);

-- Stored hashes of the Merkle tree, laid out as golang.org/x/mod/sumdb/tlog
-- stores them (StoredHashIndex).
CREATE TABLE audit_hashes (
	tenant_id TEXT NOT NULL,
	idx       BIGINT NOT NULL,
	hash      BYTEA NOT NULL,
	PRIMARY KEY (tenant_id, idx)
);

CREATE TABLE audit_checkpoints (
	tenant_id  TEXT NOT NULL,
	size       BIGINT NOT NULL,
	signed     BYTEA NOT NULL,
	created_us BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, size)
);

-- Row-level security: the second wall. Every query already names the
-- tenant; these policies make the database itself refuse rows of any other
-- tenant than the one the transaction entered (haven.tenant). audit_heads
-- holds only log sizes and stays readable so verification can find every
-- tenant's log.
ALTER TABLE person_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE person_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON person_keys
	USING (tenant_id = current_setting('haven.tenant', true))
	WITH CHECK (tenant_id = current_setting('haven.tenant', true));
ALTER TABLE records ENABLE ROW LEVEL SECURITY;
ALTER TABLE records FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON records
	USING (tenant_id = current_setting('haven.tenant', true))
	WITH CHECK (tenant_id = current_setting('haven.tenant', true));
ALTER TABLE blind_index ENABLE ROW LEVEL SECURITY;
ALTER TABLE blind_index FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON blind_index
	USING (tenant_id = current_setting('haven.tenant', true))
	WITH CHECK (tenant_id = current_setting('haven.tenant', true));
ALTER TABLE audit_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON audit_entries
	USING (tenant_id = current_setting('haven.tenant', true))
	WITH CHECK (tenant_id = current_setting('haven.tenant', true));
ALTER TABLE audit_hashes ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_hashes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON audit_hashes
	USING (tenant_id = current_setting('haven.tenant', true))
	WITH CHECK (tenant_id = current_setting('haven.tenant', true));
ALTER TABLE audit_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_checkpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON audit_checkpoints
	USING (tenant_id = current_setting('haven.tenant', true))
	WITH CHECK (tenant_id = current_setting('haven.tenant', true));
