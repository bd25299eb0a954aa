#!/usr/bin/env bash
# pgsplit verify over 120 synced months, counting from the Delta stats alone.
#
#   scripts/bench-verify.sh                       120 months x (1000 signal + 100 composite) rows
#   BENCH_MONTHS=240 BENCH_ROWS=5000 scripts/bench-verify.sh
#   scripts/bench-verify.sh --content             verify --content of one 5M-row month (BENCH_ROWS)
#
# --content: DuckDB writes one month (tests/fixtures/bench/signals.mjs), pgsplit syncs it, then
# `verify --content --month M` (every row digested on both sides) is timed against the server alone
# hashing the same month, SELECT sum(hashtextextended(t::text, 0)) FROM ranking.ranking_signal t
# WHERE year_month = M. Prints both medians of five runs, the ratio and pgsplit's peak RSS. The
# composite table gets BENCH_COMPOSITE_ROWS rows (default 1000) so that the ratio is about the
# signals month. Uses the release build (PGSPLIT_BIN to override).
#
# The two Delta tables are written here (protocol and metadata taken from the sync fixture, one add
# per month with stats.numRecords). Every data file holds garbage and is chmod 000: verify must get
# its counts from the log, never by opening a file. Postgres holds the same counts (partitions made
# by hand) and a success row per month in ranking.signal_sync_state. Prints the best and median of
# five runs and fails when a run exits non-zero or the best is not under 2 s.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
content=0
[[ ${1:-} == --content ]] && content=1
months=${BENCH_MONTHS:-120}
rows=${BENCH_ROWS:-1000}
comp=${BENCH_COMPOSITE_ROWS:-100}
if ((content)); then
    rows=${BENCH_ROWS:-5000000}
    comp=${BENCH_COMPOSITE_ROWS:-1000}
    pgsplit=${PGSPLIT_BIN:-$root/build-release/pgsplit}
    if [[ -z ${PGSPLIT_BIN:-} ]]; then
        cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release -DPGSPLIT_TESTS=OFF >/dev/null
        cmake --build "$root/build-release" -j"$(nproc)" --target pgsplit >/dev/null
    fi
else
    pgsplit=${PGSPLIT_BIN:-$root/build-verify/pgsplit}
fi
[[ -x $pgsplit ]] || { echo "bench-verify: no pgsplit binary at $pgsplit (set PGSPLIT_BIN)" >&2; exit 1; }
fixture=tests/fixtures/out/sync/basic
[[ -d $fixture ]] || scripts/fixtures.sh >/dev/null

work=$(mktemp -d /tmp/pgsplit-bench-verify-XXXXXX)
chmod 755 "$work"
trap 'chmod -R u+rw "$work" 2>/dev/null; scripts/pg-cluster.sh destroy "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
read -r host port < <(scripts/pg-cluster.sh start "$work/pg")
psql_db() { psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d bench "$@"; }
psql -X -q -h "$host" -p "$port" -U postgres -d postgres -c "CREATE DATABASE bench"
dsn="host=$host port=$port user=postgres dbname=bench"
POSTGRES_DSN=$dsn "$pgsplit" -q migrate

median_of() { sort -n | sed -n 3p; }
if ((content)); then
    month=2024-06
    scripts/fixtures.sh >/dev/null
    echo "bench-verify --content: generating $rows ranking + $comp composite rows (DuckDB)"
    node tests/fixtures/bench/signals.mjs "$work/delta" "$month" "$rows" "$comp"
    export POSTGRES_DSN=$dsn PGSPLIT_SIGNALS_TABLE="$work/delta/ranking_signal" \
        PGSPLIT_COMPOSITE_TABLE="$work/delta/composite_signal_daily"
    "$pgsplit" -q sync-signals --month "$month" >/dev/null
    psql_db -c "VACUUM ANALYZE ranking.ranking_signal"
    ref=() ours=() rss=()
    for run in 1 2 3 4 5; do
        t0=$(date +%s.%N)
        psql_db -At -c "SELECT sum(hashtextextended(t::text, 0)) FROM ranking.ranking_signal t WHERE year_month = '$month'" >/dev/null
        ref+=("$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')")
        t0=$(date +%s.%N)
        if ! /usr/bin/time -f "%M" -o "$work/rss" "$pgsplit" -q --json verify --content --month "$month" \
            >"$work/out.json" 2>"$work/err"; then
            cat "$work/err" >&2
            head -c 2000 "$work/out.json" >&2
            echo "bench-verify: verify --content failed on run $run" >&2
            exit 1
        fi
        ours+=("$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')")
        rss+=("$(( $(tail -1 "$work/rss") / 1024 ))")
    done
    r=$(printf '%s\n' "${ref[@]}" | median_of)
    o=$(printf '%s\n' "${ours[@]}" | median_of)
    peak=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)
    echo "bench-verify --content: $rows rows in $month ($(nproc) cpu, $(uname -m), PostgreSQL $(psql_db -At -c 'SHOW server_version'))"
    echo "  server alone, sum(hashtextextended(t::text, 0)): median ${r}s"
    echo "  pgsplit verify --content (both tables, Delta read and digested): median ${o}s, peak RSS ${peak} MiB"
    echo "  ratio pgsplit / server alone: $(awk -v a="$o" -v b="$r" 'BEGIN { printf "%.2f", a / b }')"
    exit 0
fi

echo "bench-verify: $months months, $rows signal + $comp composite rows each"
python3 - "$fixture" "$work/delta" "$months" "$rows" "$comp" <<'EOF'
import json, os, sys
src, dst, months, rows, comp = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
for table, n in (("ranking_signal", rows), ("composite_signal_daily", comp)):
    first = open(f"{src}/{table}/_delta_log/00000000000000000000.json").read().splitlines()
    head = [l for l in first if l and ("protocol" in json.loads(l) or "metaData" in json.loads(l))]
    os.makedirs(f"{dst}/{table}/_delta_log")
    with open(f"{dst}/{table}/_delta_log/00000000000000000000.json", "w") as log:
        for l in head:
            log.write(l + "\n")
        for i in range(months):
            ym = f"{2010 + i // 12:04}-{i % 12 + 1:02}"
            path = f"year_month={ym}/part-00000.snappy.parquet"
            os.makedirs(f"{dst}/{table}/year_month={ym}")
            with open(f"{dst}/{table}/{path}", "w") as f:
                f.write("not parquet: verify must not open this file\n")
            os.chmod(f"{dst}/{table}/{path}", 0)
            add = {"path": path, "partitionValues": {"year_month": ym}, "size": 46,
                   "modificationTime": 1700000000000, "dataChange": True,
                   "stats": json.dumps({"numRecords": n})}
            log.write(json.dumps({"add": add}) + "\n")
EOF

PGOPTIONS="-c pgsplit_seed.months=$months -c pgsplit_seed.signals=$rows -c pgsplit_seed.composite=$comp" \
    psql_db -f scripts/lib/seed-synced-months.sql

export POSTGRES_DSN=$dsn PGSPLIT_SIGNALS_TABLE="$work/delta/ranking_signal" \
    PGSPLIT_COMPOSITE_TABLE="$work/delta/composite_signal_daily"
times=()
for run in 1 2 3 4 5; do
    t0=$(date +%s.%N)
    if ! "$pgsplit" -q --json verify >"$work/out.json" 2>"$work/err"; then
        cat "$work/err" >&2
        head -c 2000 "$work/out.json" >&2
        echo "bench-verify: verify failed on run $run" >&2
        exit 1
    fi
    times+=("$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')")
done
checked=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["months_checked"])' "$work/out.json")
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
best=$(echo "$sorted" | head -1)
median=$(echo "$sorted" | sed -n 3p)
echo "bench-verify: $checked months verified, data files unreadable; best ${best}s, median ${median}s" \
     "($(nproc) cpu, $(uname -m))"
awk -v b="$best" 'BEGIN { exit !(b < 2.0) }' || { echo "bench-verify: best run is not under 2 s" >&2; exit 1; }
