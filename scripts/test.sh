#!/usr/bin/env bash
# The README's test command. Installs what is missing, builds, starts what the tests need (a
# throwaway PostgreSQL cluster and Azurite for the ADLS tests), runs the whole suite, and stops
# everything on every exit path.
#
#   scripts/test.sh                 the whole suite (plus an ASan/UBSan pass, see below)
#   scripts/test.sh -ts='migrate*'  extra arguments go to the doctest binary
#
# Environment:
#   PGSPLIT_BUILD_DIR        build directory (default build)
#   PGSPLIT_TEST_SANITIZE    1 = also build and run the suite under ASan/UBSan (default 1 in CI, 0 otherwise)
#   PGSPLIT_CORPUS           the shared conformance corpus (default ../shared/corpus)
#   PGSPLIT_TEST_FAULTS      1 = run scripts/fault-matrix.sh small after the release suite (default 1)
#
# At the end, scripts/canary-scan.sh checks every captured output, the server log and the fake az
# argv records for the test credentials.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

"$root/scripts/deps.sh"
if [[ -x "$root/scripts/fixtures.sh" ]]; then
  "$root/scripts/fixtures.sh"
fi

build=${PGSPLIT_BUILD_DIR:-$root/build}
jobs=$(nproc)
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$jobs"

work=$(mktemp -d /tmp/pgsplit-test-XXXXXX)
chmod 755 "$work"
# Every child process's stdout/stderr and every fake az argv land here for the canary scan.
export PGSPLIT_TEST_CAPTURE_DIR="$work/captures"
mkdir -p "$PGSPLIT_TEST_CAPTURE_DIR"
cleanup() {
  "$root/scripts/azurite.sh" stop "$work/azurite" >/dev/null 2>&1 || true
  "$root/scripts/pg-cluster.sh" destroy "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

read -r PGSPLIT_TEST_PGHOST PGSPLIT_TEST_PGPORT < <("$root/scripts/pg-cluster.sh" start "$work/pg")
export PGSPLIT_TEST_PGHOST PGSPLIT_TEST_PGPORT
echo "test: PostgreSQL on port $PGSPLIT_TEST_PGPORT (socket $PGSPLIT_TEST_PGHOST)"
PGSPLIT_TEST_AZURITE_PORT=$("$root/scripts/azurite.sh" start "$work/azurite")
export PGSPLIT_TEST_AZURITE_PORT
echo "test: Azurite (blob) on port $PGSPLIT_TEST_AZURITE_PORT"

passed=0
failed=0
run_suite() {
  local label=$1 binary=$2
  shift 2
  local log="$work/$label.log"
  local rc=0
  echo "test: running the suite ($label)"
  "$binary" "$@" 2>&1 | tee "$log" || rc=$?
  # doctest's closing line: "[doctest] test cases: N | P passed | F failed | S skipped"
  local line
  line=$(grep -E '^\[doctest\] test cases:' "$log" | tail -1 || true)
  local p f
  p=$(sed -nE 's/.*\| *([0-9]+) passed.*/\1/p' <<<"$line")
  f=$(sed -nE 's/.*\| *([0-9]+) failed.*/\1/p' <<<"$line")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  if [[ $rc -ne 0 && ${f:-0} -eq 0 ]]; then failed=$((failed + 1)); fi
  return 0
}

run_suite release "$build/pgsplit_tests" "$@"

# sync-signals under faults (backend kills, server stop, disk full, timeouts, signals), CI size.
if [[ "${PGSPLIT_TEST_FAULTS:-1}" == "1" ]]; then
  echo "test: fault matrix (scripts/fault-matrix.sh small)"
  if PGSPLIT_BIN="$build/pgsplit" "$root/scripts/fault-matrix.sh" small >"$work/fault-matrix.log" 2>&1; then
    grep -vE '^\{' "$work/fault-matrix.log" | tail -12
  else
    grep -vE '^\{' "$work/fault-matrix.log" | tail -40
    echo "test: the fault matrix failed"
    failed=$((failed + 1))
  fi
fi

sanitize_default=0
[[ "${CI:-}" == "true" ]] && sanitize_default=1
if [[ "${PGSPLIT_TEST_SANITIZE:-$sanitize_default}" == "1" ]]; then
  asan="$build-asan"
  cmake -S "$root" -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DPGSPLIT_SANITIZE=ON >/dev/null
  cmake --build "$asan" -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite asan-ubsan "$asan/pgsplit_tests" "$@"
fi

if [[ -x "$root/scripts/fuzz.sh" && "${PGSPLIT_TEST_FUZZ_SECONDS:-0}" != "0" ]]; then
  "$root/scripts/fuzz.sh" "$PGSPLIT_TEST_FUZZ_SECONDS" || failed=$((failed + 1))
fi

# Secret canary scan over everything the run printed or logged (see scripts/canary-scan.sh).
"$root/scripts/canary-scan.sh" "$PGSPLIT_TEST_CAPTURE_DIR" "$work/pg/server.log" "$work"/*.log ||
  failed=$((failed + 1))

echo "${passed} passed, ${failed} failed"
[[ $failed -eq 0 ]]
