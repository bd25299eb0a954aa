#!/usr/bin/env bash
# sync-signals against the physical limit of its design and against the seeds' method.
#
#   scripts/bench-sync.sh            5M ranking rows + 120k composite rows; RSS also at 20M
#   BENCH_ROWS=1000000 BENCH_RSS_ROWS=0 scripts/bench-sync.sh   a quicker run
#
# (a) pgsplit sync-signals (swap strategy), Delta/Parquet -> binary COPY -> stage -> swap
# (b) the server alone: the same stage + swap, COPY ... FROM 'file' (FORMAT binary, FREEZE) of the same
#     rows the server itself exported (no client, no Parquet decoding): the floor of this design
# (c) the seeds' method at its best: DELETE the month + server-side binary COPY into the indexed table
# (d) DuckDB -> CSV -> psql \copy, with DELETE, into the indexed table
# Prints each time, the ratios a/b, c/a, d/a, and pgsplit's peak RSS. Machine: whatever runs this
# (noted in the output).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
rows=${BENCH_ROWS:-5000000}
comp=${BENCH_COMPOSITE_ROWS:-120000}
rss_rows=${BENCH_RSS_ROWS:-20000000}
month=2024-06

scripts/deps.sh
scripts/fixtures.sh >/dev/null
build=${PGSPLIT_BUILD_DIR:-$root/build-release}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPGSPLIT_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target pgsplit >/dev/null
pgsplit="$build/pgsplit"

work=$(mktemp -d /tmp/pgsplit-bench-XXXXXX)
chmod 755 "$work"
mkdir -m 777 "$work/files"
trap 'scripts/pg-cluster.sh destroy "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
read -r host port < <(scripts/pg-cluster.sh start "$work/pg")
psql_db() { local db=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d "$db" "$@"; }
psql_db postgres -c "CREATE DATABASE bench" -c "CREATE DATABASE legacy"
dsn="host=$host port=$port user=postgres dbname=bench"
POSTGRES_DSN=$dsn "$pgsplit" -q migrate

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "bench: generating $rows ranking + $comp composite rows (DuckDB)"
node tests/fixtures/bench/signals.mjs "$work/delta" "$month" "$rows" "$comp"
export PGSPLIT_SIGNALS_TABLE="$work/delta/ranking_signal" PGSPLIT_COMPOSITE_TABLE="$work/delta/composite_signal_daily"

# (a) pgsplit, twice (the second replaces an existing month, the steady state); the second is reported.
POSTGRES_DSN=$dsn "$pgsplit" -q sync-signals --month "$month" >/dev/null
t0=$(now)
POSTGRES_DSN=$dsn /usr/bin/time -f "%M" -o "$work/rss_a" "$pgsplit" -q sync-signals --month "$month" >/dev/null
a=$(secs "$t0" "$(now)")
rss_a=$(( $(cat "$work/rss_a") / 1024 ))

# The same rows, exported by the server itself, for (b) and (c).
psql_db bench -c "COPY (SELECT * FROM ranking.ranking_signal WHERE year_month = '$month') TO '$work/files/rs.bin' (FORMAT binary)" \
  -c "COPY (SELECT * FROM ranking.composite_signal_daily WHERE year_month = '$month') TO '$work/files/cs.bin' (FORMAT binary)"

# (b) server-side stage + swap.
stage_sql() {
  local t=$1 f=$2 pk=$3
  cat <<SQL
CREATE TABLE ranking.${t}_bench (LIKE ranking.${t} INCLUDING DEFAULTS, CHECK (year_month = '$month'));
COPY ranking.${t}_bench FROM '$work/files/$f' (FORMAT binary, FREEZE);
ALTER TABLE ranking.${t}_bench ADD PRIMARY KEY ($pk);
CREATE INDEX ON ranking.${t}_bench (year_month);
CREATE INDEX ON ranking.${t}_bench (symbol, date);
ANALYZE ranking.${t}_bench;
ALTER TABLE ranking.${t} DETACH PARTITION ranking.${t}_p${month/-/_};
ALTER TABLE ranking.${t} ATTACH PARTITION ranking.${t}_bench FOR VALUES IN ('$month');
DROP TABLE ranking.${t}_p${month/-/_};
ALTER TABLE ranking.${t}_bench RENAME TO ${t}_p${month/-/_};
SQL
}
{ echo "BEGIN;"; stage_sql ranking_signal rs.bin "date, symbol, strategy, year_month"
  stage_sql composite_signal_daily cs.bin "date, symbol, year_month"; echo "COMMIT;"; } >"$work/b.sql"
t0=$(now); psql_db bench -f "$work/b.sql"; b=$(secs "$t0" "$(now)")

# (c) and (d) on legacy-style unpartitioned, indexed tables that already hold the month.
psql_db legacy -c "CREATE SCHEMA ranking" \
  -c "CREATE TABLE ranking.ranking_signal (date DATE NOT NULL, year_month TEXT NOT NULL, symbol TEXT NOT NULL, strategy TEXT NOT NULL, rank INTEGER NOT NULL, rank_percentile DOUBLE PRECISION NOT NULL, n_symbols INTEGER NOT NULL, score DOUBLE PRECISION, PRIMARY KEY (date, symbol, strategy, year_month))" \
  -c "CREATE INDEX ON ranking.ranking_signal (year_month)" -c "CREATE INDEX ON ranking.ranking_signal (symbol, date)" \
  -c "CREATE TABLE ranking.composite_signal_daily (date DATE NOT NULL, year_month TEXT NOT NULL, symbol TEXT NOT NULL, composite_percentile DOUBLE PRECISION NOT NULL, composite_rank INTEGER NOT NULL, strategies_present INTEGER NOT NULL, strategies_hit INTEGER NOT NULL, PRIMARY KEY (date, symbol, year_month))" \
  -c "CREATE INDEX ON ranking.composite_signal_daily (year_month)" -c "CREATE INDEX ON ranking.composite_signal_daily (symbol, date)" \
  -c "COPY ranking.ranking_signal FROM '$work/files/rs.bin' (FORMAT binary)" \
  -c "COPY ranking.composite_signal_daily FROM '$work/files/cs.bin' (FORMAT binary)" -c "VACUUM ANALYZE"
t0=$(now)
psql_db legacy -c "BEGIN" -c "DELETE FROM ranking.ranking_signal WHERE year_month = '$month'" \
  -c "DELETE FROM ranking.composite_signal_daily WHERE year_month = '$month'" \
  -c "COPY ranking.ranking_signal FROM '$work/files/rs.bin' (FORMAT binary)" \
  -c "COPY ranking.composite_signal_daily FROM '$work/files/cs.bin' (FORMAT binary)" -c "COMMIT"
c=$(secs "$t0" "$(now)")
psql_db legacy -c "VACUUM ANALYZE"

t0=$(now)
node tests/fixtures/bench/signals.mjs "$work/delta-csv" "$month" "$rows" "$comp" "$work/csv" >/dev/null
psql_db legacy -c "BEGIN" -c "DELETE FROM ranking.ranking_signal WHERE year_month = '$month'" \
  -c "DELETE FROM ranking.composite_signal_daily WHERE year_month = '$month'" \
  -c "\\copy ranking.ranking_signal FROM '$work/csv/ranking_signal.csv' CSV HEADER" \
  -c "\\copy ranking.composite_signal_daily FROM '$work/csv/composite_signal_daily.csv' CSV HEADER" -c "COMMIT"
d=$(secs "$t0" "$(now)")

rss_big="-"
if [[ "$rss_rows" != "0" ]]; then
  echo "bench: generating $rss_rows ranking rows for the RSS check"
  node tests/fixtures/bench/signals.mjs "$work/delta-big" 2024-07 "$rss_rows" "$comp"
  PGSPLIT_SIGNALS_TABLE="$work/delta-big/ranking_signal" PGSPLIT_COMPOSITE_TABLE="$work/delta-big/composite_signal_daily" \
    POSTGRES_DSN=$dsn /usr/bin/time -f "%M" -o "$work/rss_big" "$pgsplit" -q sync-signals --month 2024-07 >/dev/null
  rss_big="$(( $(cat "$work/rss_big") / 1024 )) MiB"
fi

ratio() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", x / y }'; }
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), PostgreSQL $(psql -V | awk '{print $3}') (fsync off, throwaway cluster)"
echo "rows: ranking_signal $rows, composite_signal_daily $comp (month $month)"
printf '%-62s %8s s\n' "(a) pgsplit sync-signals (swap)" "$a"
printf '%-62s %8s s\n' "(b) server-side stage + swap from a binary file" "$b"
printf '%-62s %8s s\n' "(c) DELETE + server-side binary COPY into the indexed table" "$c"
printf '%-62s %8s s\n' "(d) DuckDB -> CSV -> psql \\copy with DELETE" "$d"
echo "a/b = $(ratio "$a" "$b")   (goal <= 1.15)"
echo "c/a = $(ratio "$c" "$a")   (goal >= 4)"
echo "d/a = $(ratio "$d" "$a")   (goal >= 4)"
echo "pgsplit peak RSS: ${rss_a} MiB at $rows rows, ${rss_big} at $rss_rows rows (goal <= 100 MiB, flat)"
