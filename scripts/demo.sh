#!/usr/bin/env bash
# A first look at pgsplit on a fresh Debian 12 machine: installs what is missing, builds, starts a
# throwaway local PostgreSQL, and runs the phase jobs against it, showing each step and what it proved:
# migrate (phase 1), sync-signals for sample months from sample Delta tables (phase 2; the tables are
# written by DuckDB through scripts/fixtures.sh, never by pgsplit), verify, one deliberate failure (a
# row changed in PostgreSQL, caught by verify with exit 5) and its fix, and the run store (phase 3).
# The cluster is removed at the end (PGSPLIT_DEMO_KEEP=1 keeps it running and prints its DSN).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
proved() { printf '\033[32mproved:\033[0m %s\n' "$*"; }
started=$SECONDS

step "Installing build dependencies (quiet when present)"
scripts/deps.sh

step "Writing the sample Delta tables (DuckDB)"
scripts/fixtures.sh >/dev/null
sample="$root/tests/fixtures/out/sync/basic"

step "Building pgsplit"
build=${PGSPLIT_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGSPLIT_TESTS=OFF >/dev/null
# Progress lines only ("[ 42%] Building ..."), so a cold build is not minutes of silence.
set +e
cmake --build "$build" -j"$(nproc)" --target pgsplit 2>&1 | grep --line-buffered -E '^\[ *[0-9/]+%?\]|error'
build_status=${PIPESTATUS[0]}
set -e
if ((build_status != 0)); then
  echo "build failed: rerun 'cmake --build $build --target pgsplit' to see why" >&2
  exit 1
fi
build_done=$SECONDS
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
proved "four files applied, each in its own transaction with its history row"

step "Running it again is a no-op"
run "$pgsplit" migrate
proved "a re-run applies nothing (exit 0): deploy steps can run migrate every time"

step "Migration history"
run "$pgsplit" migrate status
run "$pgsplit" migrate validate
proved "every applied file still matches its recorded checksum"

step "What the schema looks like"
psql_su -d asset_allocation -c "\dt+ ranking.*" -c "\dt+ backtest.*"

step "Phase 2: replicate two months of signals from Delta"
export PGSPLIT_SIGNALS_TABLE="$sample/ranking_signal"
export PGSPLIT_COMPOSITE_TABLE="$sample/composite_signal_daily"
run "$pgsplit" inspect delta "$PGSPLIT_SIGNALS_TABLE"
run "$pgsplit" sync-signals --from 2024-01 --to 2024-02
proved "each month replaced in one transaction; the ledger records counts and Delta versions"

step "Counts per month and the sync ledger"
psql_su -d asset_allocation \
  -c "SELECT year_month, count(*) AS rows FROM ranking.ranking_signal GROUP BY 1 ORDER BY 1" \
  -c "SELECT year_month, count(*) AS rows FROM ranking.composite_signal_daily GROUP BY 1 ORDER BY 1" \
  -c "SELECT year_month, status, signals_rows, composite_rows, signals_delta_version, strategy, duration_ms FROM ranking.signal_sync_state ORDER BY 1"

step "Re-running a month replaces it atomically (partition swap)"
run "$pgsplit" sync-signals --month 2024-01
proved "a re-sync is idempotent: same rows, readers saw the old month until the commit"

step "Verify: PostgreSQL holds what Delta holds"
run "$pgsplit" verify --from 2024-01 --to 2024-02
proved "counts per month and table match Delta, the ledger is success, the newest sync is fresh"

step "A deliberate failure: a row deleted in PostgreSQL behind pgsplit's back"
# ctid is only unique within one partition: both sides name the month.
psql_su -d asset_allocation -c "DELETE FROM ranking.ranking_signal WHERE year_month = '2024-01' AND ctid = (SELECT ctid FROM ranking.ranking_signal WHERE year_month = '2024-01' LIMIT 1)"
set +e
run "$pgsplit" verify --from 2024-01 --to 2024-02
code=$?
set -e
if [[ $code -ne 5 ]]; then
  echo "expected verify to exit 5, got $code" >&2
  exit 1
fi
proved "verify notices a month that no longer matches Delta and exits 5 (what an alert keys on)"

step "The fix: re-sync the month, verify again"
run "$pgsplit" sync-signals --month 2024-01
run "$pgsplit" verify --from 2024-01 --to 2024-02
proved "re-syncing the month restores it; verify is green again (exit 0)"

step "Phase 3: the backtest run store"
psql_su -d asset_allocation -c "INSERT INTO backtest.runs (run_id, status, submitted_at, started_at, completed_at, run_name, config_json, effective_config_json) VALUES
  ('3f2a9c17-demo', 'completed', now() - interval '3 hours', now() - interval '170 minutes', now() - interval '2 hours', 'momentum 12m', '{}', '{}'),
  ('8b41d0e2-demo', 'running', now() - interval '9 hours', now() - interval '8 hours', NULL, 'stuck worker', '{}', '{}')"
run "$pgsplit" runs list
set +e
run "$pgsplit" runs stale --older-than 6h
code=$?
set -e
if [[ $code -ne 5 ]]; then
  echo "expected runs stale to exit 5, got $code" >&2
  exit 1
fi
proved "runs list reads backtest.runs; runs stale finds the stuck run and exits 5 for alerting"
run "$pgsplit" runs show 8b41
proved "runs show takes a unique prefix of a run id"

step "Done"
echo "build $((build_done - started)) s, demo $((SECONDS - build_done)) s after the build"

if [[ "${PGSPLIT_DEMO_KEEP:-0}" == "1" ]]; then
  step "The cluster keeps running"
  echo "export POSTGRES_DSN='$POSTGRES_DSN'"
  echo "stop it with: scripts/pg-cluster.sh destroy $work/pg"
fi
