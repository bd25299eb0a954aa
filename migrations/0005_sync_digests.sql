-- The content digest of each month as sync-signals wrote it (sync/row_digest.h, "v1:ROWS:HEX"), so
-- that verify --content --postgres-only finds a serving copy changed after its sync without reading
-- the lake. Added in place, to legacy ledgers too; NULL for months synced before this migration.
ALTER TABLE ranking.signal_sync_state ADD COLUMN IF NOT EXISTS signals_digest TEXT;
ALTER TABLE ranking.signal_sync_state ADD COLUMN IF NOT EXISTS composite_digest TEXT;
