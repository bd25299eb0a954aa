#!/usr/bin/env bash
# A first look at pgsplit on a fresh Debian 12 machine: installs what is missing, builds, starts a
# throwaway local PostgreSQL, and runs the phase jobs against it, showing each step: migrate (phase 1),
# sync-signals for sample months from sample Delta tables (phase 2; the tables are written by DuckDB
# through scripts/fixtures.sh, never by pgsplit), then the counts and the sync ledger.
# The cluster is removed at the end (PGSPLIT_DEMO_KEEP=1 keeps it running and prints its DSN).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "Installing build dependencies (quiet when present)"
scripts/deps.sh

step "Writing the sample Delta tables (DuckDB)"
scripts/fixtures.sh >/dev/null
sample="$root/tests/fixtures/out/sync/basic"

step "Building pgsplit"
build=${PGSPLIT_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGSPLIT_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target pgsplit >/dev/null
pgsplit="$build/pgsplit"
"$pgsplit" --version

step "Starting a throwaway PostgreSQL"
work=$(mktemp -d /tmp/pgsplit-demo-XXXXXX)
chmod 755 "$work"
if [[ "${PGSPLIT_DEMO_KEEP:-0}" != "1" ]]; then
  trap '"$root/scripts/pg-cluster.sh" destroy "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
fi
read -r host port < <(scripts/pg-cluster.sh start "$work/pg")
psql_su() { psql -X -q -h "$host" -p "$port" -U postgres "$@"; }
psql_su -d postgres -c "CREATE DATABASE asset_allocation"
export POSTGRES_DSN="host=$host port=$port user=postgres dbname=asset_allocation"
echo "POSTGRES_DSN=$POSTGRES_DSN"

step "Phase 1: what would run"
run "$pgsplit" migrate plan

step "Phase 1: apply the versioned schema"
run "$pgsplit" migrate

step "Running it again is a no-op"
run "$pgsplit" migrate

step "Migration history"
run "$pgsplit" migrate status

step "What the schema looks like"
psql_su -d asset_allocation -c "\dt+ ranking.*" -c "\dt+ backtest.*"

step "Phase 2: replicate two months of signals from Delta"
export PGSPLIT_SIGNALS_TABLE="$sample/ranking_signal"
export PGSPLIT_COMPOSITE_TABLE="$sample/composite_signal_daily"
run "$pgsplit" inspect delta "$PGSPLIT_SIGNALS_TABLE"
run "$pgsplit" sync-signals --from 2024-01 --to 2024-02

step "Counts per month and the sync ledger"
psql_su -d asset_allocation \
  -c "SELECT year_month, count(*) AS rows FROM ranking.ranking_signal GROUP BY 1 ORDER BY 1" \
  -c "SELECT year_month, count(*) AS rows FROM ranking.composite_signal_daily GROUP BY 1 ORDER BY 1" \
  -c "SELECT year_month, status, signals_rows, composite_rows, signals_delta_version, strategy, duration_ms FROM ranking.signal_sync_state ORDER BY 1"

step "Re-running a month replaces it atomically (partition swap)"
run "$pgsplit" sync-signals --month 2024-01

if [[ "${PGSPLIT_DEMO_KEEP:-0}" == "1" ]]; then
  step "The cluster keeps running"
  echo "export POSTGRES_DSN='$POSTGRES_DSN'"
  echo "stop it with: scripts/pg-cluster.sh destroy $work/pg"
fi
