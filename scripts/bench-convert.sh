#!/usr/bin/env bash
# pgsplit convert-legacy against the plain copy of the same rows on the same server.
#
#   scripts/bench-convert.sh                      24 months x 20 days x 1000 symbols: 960,000
#                                                 ranking_signal + 480,000 composite rows
#   BENCH_DAYS=5 BENCH_SYMBOLS=500 scripts/bench-convert.sh
#
# A legacy database (scripts/lib/legacy-schema.sql, the rows from legacy_fill) is vacuumed and read
# once, then `pgsplit convert-legacy` converts both tables while a reader (one psql session) keeps
# running per-month count(*) and point lookups. The reference is what an offline conversion would
# cost: per table, CREATE TABLE (LIKE ...), INSERT INTO new SELECT * FROM old, then the same three
# indexes (primary key with year_month, year_month, (symbol, date)), timed by the server's clock.
# Prints rows/s of both, the ratio (convert / reference: 1.0 = as fast as the plain copy), the
# longest single read of the reader during the conversion and how many reads it made. The work is
# the server's, so the build type of the binary matters little (PGSPLIT_BIN, default build/pgsplit).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
days=${BENCH_DAYS:-20}
symbols=${BENCH_SYMBOLS:-1000}
pgsplit=${PGSPLIT_BIN:-$root/build/pgsplit}
[[ -x $pgsplit ]] || { echo "bench-convert: no pgsplit binary at $pgsplit (set PGSPLIT_BIN)" >&2; exit 1; }

work=$(mktemp -d /tmp/pgsplit-bench-convert-XXXXXX)
chmod 755 "$work"
trap 'touch "$work/stop"; scripts/pg-cluster.sh destroy "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
read -r host port < <(scripts/pg-cluster.sh start "$work/pg")
psql_db() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d bench "$@"; }
psql -X -q -h "$host" -p "$port" -U postgres -d postgres -c "CREATE DATABASE bench"
dsn="host=$host port=$port user=postgres dbname=bench"

echo "bench-convert: generating 24 months x $days days x $symbols symbols"
psql_db -f scripts/lib/legacy-schema.sql
psql_db -c "SELECT public.legacy_fill('2023-01-01', 24, $days, $symbols)" >/dev/null
POSTGRES_DSN=$dsn "$pgsplit" -q migrate
psql_db -c "VACUUM (FREEZE, ANALYZE) ranking.ranking_signal" -c "VACUUM (FREEZE, ANALYZE) ranking.composite_signal_daily"
rows=$(psql_db -c "SELECT (SELECT count(*) FROM ranking.ranking_signal) + (SELECT count(*) FROM ranking.composite_signal_daily)")
echo "bench-convert: $rows rows in the two legacy tables"

# The reader: one session, \timing on, queries fed as long as the conversion runs.
(
    i=0
    while [[ ! -f $work/stop ]]; do
        m=$(printf '%d-%02d' $((2023 + (i / 12) % 2)) $((i % 12 + 1)))
        echo "SELECT count(*) FROM ranking.ranking_signal WHERE year_month = '$m';"
        echo "SELECT count(*) FROM ranking.composite_signal_daily WHERE year_month = '$m';"
        echo "SELECT rank FROM ranking.ranking_signal WHERE date = '$m-03' AND symbol = 'SYM00007' AND strategy = 'value';"
        i=$((i + 1))
        sleep 0.01
    done
) | psql -X -q -At -h "$host" -p "$port" -U postgres -d bench -c '\timing on' -f - >"$work/reader.log" 2>&1 &
reader=$!
sleep 1

t0=$(date +%s.%N)
POSTGRES_DSN=$dsn "$pgsplit" convert-legacy >"$work/convert.out" 2>"$work/convert.err" ||
    { cat "$work/convert.err" >&2; exit 1; }
t1=$(date +%s.%N)
touch "$work/stop"
wait "$reader" || true
convert_s=$(echo "$t1 - $t0" | bc -l)

ref_ms=$(psql_db <<'SQL' | tail -1
CREATE TEMP TABLE t (ms float8);
DO $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    CREATE TABLE ranking.ref_signal (LIKE ranking.ranking_signal_legacy);
    INSERT INTO ranking.ref_signal SELECT * FROM ranking.ranking_signal_legacy;
    ALTER TABLE ranking.ref_signal ADD PRIMARY KEY (date, symbol, strategy, year_month);
    CREATE INDEX ON ranking.ref_signal (year_month);
    CREATE INDEX ON ranking.ref_signal (symbol, date);
    CREATE TABLE ranking.ref_composite (LIKE ranking.composite_signal_daily_legacy);
    INSERT INTO ranking.ref_composite SELECT * FROM ranking.composite_signal_daily_legacy;
    ALTER TABLE ranking.ref_composite ADD PRIMARY KEY (date, symbol, year_month);
    CREATE INDEX ON ranking.ref_composite (year_month);
    CREATE INDEX ON ranking.ref_composite (symbol, date);
    INSERT INTO t VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000);
END
$$;
SELECT ms FROM t;
SQL
)
ref_s=$(echo "$ref_ms / 1000" | bc -l)

reads=$(grep -c '^Time:' "$work/reader.log" || true)
longest=$(grep '^Time:' "$work/reader.log" | awk '{print $2}' | sort -n | tail -1)
errors=$(grep -ci 'error' "$work/reader.log" || true)
locked=$(grep -o 'readers were locked out for [0-9]* ms' "$work/convert.err" | awk '{print $6}' | paste -sd/ -)

printf 'rows                       %s\n' "$rows"
printf 'convert-legacy             %.2f s  %.0f rows/s\n' "$convert_s" "$(echo "$rows / $convert_s" | bc -l)"
printf 'INSERT SELECT + indexes    %.2f s  %.0f rows/s\n' "$ref_s" "$(echo "$rows / $ref_s" | bc -l)"
printf 'ratio (convert/reference)  %.2f\n' "$(echo "($rows / $convert_s) / ($rows / $ref_s)" | bc -l)"
printf 'reader                     %s reads, longest %s ms, %s errors\n' "$reads" "${longest:-?}" "$errors"
printf 'final step (renames)       %s ms with ACCESS EXCLUSIVE (ranking_signal/composite)\n' "${locked:-?}"
printf 'machine                    %s cores, %s, %s\n' "$(nproc)" "$(free -g | awk '/^Mem/ {print $2 " GiB"}')" \
    "$(psql_db -c 'SHOW server_version')"
[[ $errors == 0 ]] || { echo "bench-convert: the reader saw errors:" >&2; grep -i error "$work/reader.log" | head >&2; exit 1; }
