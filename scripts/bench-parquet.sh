#!/usr/bin/env bash
# Parquet scan benchmark: pgsplit's reader against DuckDB (single thread) on a file of the ranking
# signal schema (SPEC §8), written by DuckDB with snappy.
# Usage: scripts/bench-parquet.sh            (20M rows; ROWS=... to change, PGSPLIT_BIN=... to skip the build)
# Prints both scan times, their ratio (pgsplit / DuckDB; the goal is <= 1.0) and pgsplit's peak RSS.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rows="${ROWS:-20000000}"
work="$root/build-bench"
file="$work/signal_${rows}.parquet"
mkdir -p "$work"

if [ -z "${PGSPLIT_BIN:-}" ]; then
    cmake -S "$root" -B "$work" -DCMAKE_BUILD_TYPE=Release -DPGSPLIT_TESTS=OFF > /dev/null
    cmake --build "$work" -j"$(nproc)" --target pgsplit > /dev/null
    PGSPLIT_BIN="$work/pgsplit"
fi

PGSPLIT_BIN="$(realpath "$PGSPLIT_BIN")"
cd "$root/tests/fixtures"
if [ ! -d node_modules/@duckdb/node-api ]; then
    npm ci --no-audit --no-fund --loglevel=error 2> /dev/null || npm install --no-audit --no-fund --loglevel=error
fi

# Writes the file once (DuckDB), then times DuckDB's own single-threaded scan of every column.
duck_seconds=$(FILE="$file" ROWS="$rows" node --input-type=module -e '
import { DuckDBInstance } from "@duckdb/node-api";
import fs from "node:fs";
const file = process.env.FILE, rows = Number(process.env.ROWS);
const db = await DuckDBInstance.create(":memory:", { threads: "1" });
const c = await db.connect();
if (!fs.existsSync(file)) {
  await c.run(`COPY (
    SELECT d AS date, strftime(d, '"'"'%Y-%m'"'"') AS year_month, symbol, strategy, rank, rank_percentile, n_symbols, score
    FROM (
      SELECT DATE '"'"'2010-01-01'"'"' + (i // 24000)::INTEGER AS d,
             '"'"'SYM'"'"' || lpad(((i // 8) % 3000)::VARCHAR, 4, '"'"'0'"'"') AS symbol,
             '"'"'strategy_'"'"' || (i % 8) AS strategy,
             ((i // 8) % 3000 + 1)::INTEGER AS rank,
             (((i // 8) % 3000) + 1) / 3000.0 AS rank_percentile,
             3000::INTEGER AS n_symbols,
             CASE WHEN hash(i) % 20 = 0 THEN NULL ELSE (hash(i * 7) % 2000000) / 1000.0 - 1000 END AS score
      FROM range(${rows}) t(i)))
    TO '"'"'${file}'"'"' (FORMAT parquet, COMPRESSION snappy)`);
}
const q = `SELECT count(date), count(year_month), count(symbol), count(strategy), sum(rank), sum(rank_percentile),
                  sum(n_symbols), sum(score) FROM read_parquet('"'"'${file}'"'"')`;
await c.run(q); // warm the page cache
let best = Infinity;
for (let k = 0; k < 3; k++) {
  const t0 = performance.now();
  await c.runAndReadAll(q);
  best = Math.min(best, (performance.now() - t0) / 1000);
}
console.log(best.toFixed(3));
')

"$PGSPLIT_BIN" inspect parquet "$file" --scan > /dev/null # warm the page cache
best=""
rss=""
for k in 1 2 3; do
    out=$(/usr/bin/time -v "$PGSPLIT_BIN" inspect parquet "$file" --scan 2> "$work/time.txt")
    s=$(echo "$out" | awk '/^seconds/ {print $2}')
    r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN {exit !(a < b)}'; then best="$s"; fi
    if [ -z "$rss" ] || [ "$r" -gt "$rss" ]; then rss="$r"; fi
done

echo "file              $file ($(du -h "$file" | cut -f1), $rows rows, snappy)"
echo "machine           $(nproc) cores, $(. /etc/os-release && echo "$PRETTY_NAME")"
echo "$out" | grep '^column' | sed 's/^/pgsplit           /'
echo "pgsplit scan      ${best} s (best of 3, decode only)"
echo "duckdb scan       ${duck_seconds} s (threads=1, best of 3)"
echo "ratio             $(awk -v a="$best" -v b="$duck_seconds" 'BEGIN {printf "%.2f", a / b}') (pgsplit / duckdb; goal <= 1.0)"
echo "pgsplit peak RSS  $((rss / 1024)) MiB"
