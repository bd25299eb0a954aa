-- Phase 3: backtest run state. Column names and types match the backtest API's PostgresRunStore.
CREATE TABLE IF NOT EXISTS backtest.runs (
    run_id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    submitted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    run_name TEXT,
    start_date TEXT,
    end_date TEXT,
    output_dir TEXT,
    adls_container TEXT,
    adls_prefix TEXT,
    error TEXT,
    config_json TEXT NOT NULL,
    effective_config_json TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS runs_submitted_at_idx ON backtest.runs (submitted_at);
CREATE INDEX IF NOT EXISTS runs_status_idx ON backtest.runs (status);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'api_service') THEN
        GRANT USAGE ON SCHEMA backtest TO api_service;
        GRANT SELECT, INSERT, UPDATE ON backtest.runs TO api_service;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'backtest_service') THEN
        GRANT USAGE ON SCHEMA backtest TO backtest_service;
        GRANT SELECT, INSERT, UPDATE ON backtest.runs TO backtest_service;
    END IF;
END
$$;
