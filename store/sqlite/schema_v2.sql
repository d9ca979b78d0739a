-- Haven schema version 2 (SQLite): kept versions of records, for FHIR vread
-- and _history.
--
-- A row is an earlier version of a record (copied here, byte for byte, when
-- Replace or Delete overwrote it) or, with deleted = 1, the tombstone of a
-- deletion at that version, whose sealed is empty. The sealed bytes keep the
-- binding of their own version, so a kept row opens only as what it was.
-- person_id is kept on every row, tombstones too, so that erasing a person
-- finds all of them.
CREATE TABLE record_versions (
	tenant_id  TEXT NOT NULL,
	kind       TEXT NOT NULL,
	id         TEXT NOT NULL,
	version    INTEGER NOT NULL,
	person_id  TEXT NOT NULL, -- '' for tenant-level records
	sealed     BLOB NOT NULL, -- empty for a tombstone
	updated_us INTEGER NOT NULL,
	deleted    INTEGER NOT NULL CHECK (deleted IN (0, 1)),
	PRIMARY KEY (tenant_id, kind, id, version)
) STRICT;
CREATE INDEX record_versions_person ON record_versions (tenant_id, person_id);
