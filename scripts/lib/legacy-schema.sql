-- The signal tables as the legacy runner created them (issue 16): plain tables, primary keys without
-- year_month, indexes on year_month and (symbol, date), the legacy sync ledger with status NOT NULL.
-- Plus legacy_fill(), which writes months of generated rows. Used by tests/legacy, the convert-legacy
-- runbook's test and scripts/bench-convert.sh; run it on an empty database, before pgsplit migrate.
CREATE SCHEMA IF NOT EXISTS ranking;

CREATE TABLE ranking.ranking_signal (
    date DATE NOT NULL,
    year_month TEXT NOT NULL,
    symbol TEXT NOT NULL,
    strategy TEXT NOT NULL,
    rank INTEGER NOT NULL,
    rank_percentile DOUBLE PRECISION NOT NULL,
    n_symbols INTEGER NOT NULL,
    score DOUBLE PRECISION NULL,
    PRIMARY KEY (date, symbol, strategy)
);
CREATE INDEX ranking_signal_year_month_idx ON ranking.ranking_signal (year_month);
CREATE INDEX ranking_signal_symbol_date_idx ON ranking.ranking_signal (symbol, date);

CREATE TABLE ranking.composite_signal_daily (
    date DATE NOT NULL,
    year_month TEXT NOT NULL,
    symbol TEXT NOT NULL,
    composite_percentile DOUBLE PRECISION NOT NULL,
    composite_rank INTEGER NOT NULL,
    strategies_present INTEGER NOT NULL,
    strategies_hit INTEGER NOT NULL,
    PRIMARY KEY (date, symbol)
);
CREATE INDEX composite_signal_daily_year_month_idx ON ranking.composite_signal_daily (year_month);
CREATE INDEX composite_signal_daily_symbol_date_idx ON ranking.composite_signal_daily (symbol, date);

CREATE TABLE ranking.signal_sync_state (
    year_month TEXT PRIMARY KEY,
    synced_at TIMESTAMPTZ,
    signals_rows INTEGER,
    composite_rows INTEGER,
    status TEXT NOT NULL
);

-- `months` months from `first_month`, `days` days a month, `symbols` symbols a day: ranking_signal gets
-- two strategies per symbol and day, composite_signal_daily one row. `salt` changes the values (a
-- writer rewriting a month). Returns the ranking_signal rows written.
CREATE FUNCTION public.legacy_fill(first_month date, months int, days int, symbols int, salt int DEFAULT 0)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO ranking.ranking_signal
    SELECT (m + d * interval '1 day')::date, to_char(m, 'YYYY-MM'), 'SYM' || lpad(s::text, 5, '0'), st,
           s + salt, s::float8 / symbols, symbols, CASE WHEN s % 5 = 0 THEN NULL ELSE s * 1.25 + d + salt END
    FROM generate_series(first_month::timestamp, first_month + (months - 1) * interval '1 month',
                         interval '1 month') m,
         generate_series(0, days - 1) d, generate_series(1, symbols) s,
         unnest(ARRAY['momentum', 'value']) st;
    GET DIAGNOSTICS n = ROW_COUNT;
    INSERT INTO ranking.composite_signal_daily
    SELECT (m + d * interval '1 day')::date, to_char(m, 'YYYY-MM'), 'SYM' || lpad(s::text, 5, '0'),
           s::float8 / symbols, s + salt, 2, (s + salt) % 3
    FROM generate_series(first_month::timestamp, first_month + (months - 1) * interval '1 month',
                         interval '1 month') m,
         generate_series(0, days - 1) d, generate_series(1, symbols) s;
    RETURN n;
END
$$;
