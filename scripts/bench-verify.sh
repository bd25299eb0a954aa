#!/usr/bin/env bash
# pgsplit verify over 120 synced months, counting from the Delta stats alone.
#
#   scripts/bench-verify.sh                       120 months x (1000 signal + 100 composite) rows
#   BENCH_MONTHS=240 BENCH_ROWS=5000 scripts/bench-verify.sh
#
# The two Delta tables are written here (protocol and metadata taken from the sync fixture, one add
# per month with stats.numRecords). Every data file holds garbage and is chmod 000: verify must get
# its counts from the log, never by opening a file. Postgres holds the same counts (partitions made
# by hand) and a success row per month in ranking.signal_sync_state. Prints the best and median of
# five runs and fails when a run exits non-zero or the best is not under 2 s.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
months=${BENCH_MONTHS:-120}
rows=${BENCH_ROWS:-1000}
comp=${BENCH_COMPOSITE_ROWS:-100}
pgsplit=${PGSPLIT_BIN:-$root/build-verify/pgsplit}
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
