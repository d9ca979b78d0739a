-- Haven schema version 3 (SQLite): the tenant's epoch.
--
-- Every write of a tenant's records, index entries or keys through the store
-- advances the epoch in the same transaction. A process may keep what it
-- read for as long as the epoch it read it at is still the tenant's epoch
-- (store/sqlstore/cache.go), across processes too. A new tenant starts at a
-- random epoch, so that what was read of a deleted tenant never passes for
-- a new tenant of the same id.
ALTER TABLE tenants ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
