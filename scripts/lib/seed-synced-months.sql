-- Months of the signal tables as a sync would have left them, for verify at scale: per month from
-- 2010-01 on, a partition of each table, its rows, and a 'success' ledger row with the same counts.
-- Used by scripts/bench-verify.sh (through psql) and tests/verify/verify_scale_test.cpp (through
-- libpq), so the benchmark and the test measure the same database. Parameters, set before running:
--   pgsplit_seed.months, pgsplit_seed.signals (rows per month), pgsplit_seed.composite (rows per month)
DO $$
DECLARE
    months int := current_setting('pgsplit_seed.months')::int;
    signals int := current_setting('pgsplit_seed.signals')::int;
    composite int := current_setting('pgsplit_seed.composite')::int;
    d date;
    ym text;
BEGIN
    FOR m IN 0 .. months - 1 LOOP
        d := make_date(2010 + m / 12, m % 12 + 1, 1);
        ym := to_char(d, 'YYYY-MM');
        EXECUTE format('CREATE TABLE ranking.%I PARTITION OF ranking.ranking_signal FOR VALUES IN (%L)',
                       'ranking_signal_p' || replace(ym, '-', '_'), ym);
        EXECUTE format('CREATE TABLE ranking.%I PARTITION OF ranking.composite_signal_daily FOR VALUES IN (%L)',
                       'composite_signal_daily_p' || replace(ym, '-', '_'), ym);
        INSERT INTO ranking.ranking_signal
            SELECT d, ym, 'S' || i, 'momentum', i, 0.5, signals, NULL FROM generate_series(1, signals) i;
        INSERT INTO ranking.composite_signal_daily
            SELECT d, ym, 'S' || i, 0.5, i, 3, 2 FROM generate_series(1, composite) i;
        INSERT INTO ranking.signal_sync_state (year_month, synced_at, signals_rows, composite_rows, status,
                                               signals_delta_version, composite_delta_version, strategy)
            VALUES (ym, now(), signals, composite, 'success', 0, 0, 'swap');
    END LOOP;
END
$$;
ANALYZE;
