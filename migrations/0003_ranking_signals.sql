-- Phase 2: ranking signals replicated from Delta, one LIST partition per year_month.
--
-- The tables belong to the NOLOGIN role ranking_owner: attaching and detaching partitions needs
-- ownership, and ranking_writer gets it through membership instead of owning the tables itself.
-- Tables that already exist (created unpartitioned by the legacy runner) are left as they are;
-- pgsplit sync then uses its DELETE + COPY strategy for them.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ranking_owner') THEN
        CREATE ROLE ranking_owner NOLOGIN;
    END IF;
END
$$;

-- On Azure the admin is not a superuser: to hand tables to ranking_owner (and for sync to manage
-- partitions as it) the migrating role must be a member of it.
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, 'ranking_owner', 'MEMBER') THEN
        EXECUTE format('GRANT ranking_owner TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE, CREATE ON SCHEMA ranking TO ranking_owner;

DO $$
BEGIN
    IF to_regclass('ranking.ranking_signal') IS NULL THEN
        CREATE TABLE ranking.ranking_signal (
            date DATE NOT NULL,
            year_month TEXT NOT NULL,
            symbol TEXT NOT NULL,
            strategy TEXT NOT NULL,
            rank INTEGER NOT NULL,
            rank_percentile DOUBLE PRECISION NOT NULL,
            n_symbols INTEGER NOT NULL,
            score DOUBLE PRECISION NULL,
            PRIMARY KEY (date, symbol, strategy, year_month)
        ) PARTITION BY LIST (year_month);
        CREATE INDEX ranking_signal_year_month_idx ON ranking.ranking_signal (year_month);
        CREATE INDEX ranking_signal_symbol_date_idx ON ranking.ranking_signal (symbol, date);
        ALTER TABLE ranking.ranking_signal OWNER TO ranking_owner;
    END IF;

    IF to_regclass('ranking.composite_signal_daily') IS NULL THEN
        CREATE TABLE ranking.composite_signal_daily (
            date DATE NOT NULL,
            year_month TEXT NOT NULL,
            symbol TEXT NOT NULL,
            composite_percentile DOUBLE PRECISION NOT NULL,
            composite_rank INTEGER NOT NULL,
            strategies_present INTEGER NOT NULL,
            strategies_hit INTEGER NOT NULL,
            PRIMARY KEY (date, symbol, year_month)
        ) PARTITION BY LIST (year_month);
        CREATE INDEX composite_signal_daily_year_month_idx ON ranking.composite_signal_daily (year_month);
        CREATE INDEX composite_signal_daily_symbol_date_idx ON ranking.composite_signal_daily (symbol, date);
        ALTER TABLE ranking.composite_signal_daily OWNER TO ranking_owner;
    END IF;

    IF to_regclass('ranking.signal_sync_state') IS NULL THEN
        CREATE TABLE ranking.signal_sync_state (
            year_month TEXT PRIMARY KEY,
            synced_at TIMESTAMPTZ,
            signals_rows INTEGER,
            composite_rows INTEGER,
            status TEXT,
            error TEXT
        );
        ALTER TABLE ranking.signal_sync_state OWNER TO ranking_owner;
    END IF;
END
$$;

-- What pgsplit records per month beyond the legacy columns (added in place on legacy tables too).
ALTER TABLE ranking.signal_sync_state ADD COLUMN IF NOT EXISTS signals_delta_version BIGINT;
ALTER TABLE ranking.signal_sync_state ADD COLUMN IF NOT EXISTS composite_delta_version BIGINT;
ALTER TABLE ranking.signal_sync_state ADD COLUMN IF NOT EXISTS duration_ms INTEGER;
ALTER TABLE ranking.signal_sync_state ADD COLUMN IF NOT EXISTS skipped_rows INTEGER;
ALTER TABLE ranking.signal_sync_state ADD COLUMN IF NOT EXISTS strategy TEXT;
ALTER TABLE ranking.signal_sync_state ADD COLUMN IF NOT EXISTS tool_version TEXT;
ALTER TABLE ranking.signal_sync_state ADD COLUMN IF NOT EXISTS last_attempt_at TIMESTAMPTZ;
ALTER TABLE ranking.signal_sync_state ADD COLUMN IF NOT EXISTS last_error_at TIMESTAMPTZ;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ranking_writer') THEN
        GRANT ranking_owner TO ranking_writer;
        GRANT USAGE ON SCHEMA ranking TO ranking_writer;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ranking.ranking_signal, ranking.composite_signal_daily,
            ranking.signal_sync_state TO ranking_writer;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'api_service') THEN
        GRANT USAGE ON SCHEMA ranking TO api_service;
        GRANT SELECT ON ranking.ranking_signal, ranking.composite_signal_daily, ranking.signal_sync_state
            TO api_service;
    END IF;
END
$$;
