-- The ledger's `error` column on a legacy ledger. 0003 creates it with the table, but a database the
-- legacy runner built already has `ranking.signal_sync_state` without it (synced_at, signals_rows,
-- composite_rows, status), and every failure sync-signals records writes it. Added in place; a no-op
-- where 0003 created the table.
ALTER TABLE ranking.signal_sync_state ADD COLUMN IF NOT EXISTS error TEXT;
