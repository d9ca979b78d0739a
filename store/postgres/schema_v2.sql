-- Haven schema version 2 (PostgreSQL): kept versions of records, for FHIR
-- vread and _history.
--
-- A row is an earlier version of a record (copied here, byte for byte, when
-- Replace or Delete overwrote it) or, with deleted set, the tombstone of a
-- deletion at that version, whose sealed is empty. The sealed bytes keep the
-- binding of their own version, so a kept row opens only as what it was.
-- person_id is kept on every row, tombstones too, so that erasing a person
-- finds all of them.
CREATE TABLE record_versions (
	tenant_id  TEXT NOT NULL,
	kind       TEXT NOT NULL,
	id         TEXT NOT NULL,
	version    BIGINT NOT NULL,
	person_id  TEXT NOT NULL, -- '' for tenant-level records
	sealed     BYTEA NOT NULL, -- empty for a tombstone
	updated_us BIGINT NOT NULL,
	deleted    BOOLEAN NOT NULL,
	PRIMARY KEY (tenant_id, kind, id, version)
);
CREATE INDEX record_versions_person ON record_versions (tenant_id, person_id);

-- The same second wall as every other tenant table (schema version 1).
ALTER TABLE record_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE record_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON record_versions
	USING (tenant_id = current_setting('haven.tenant', true))
	WITH CHECK (tenant_id = current_setting('haven.tenant', true));
