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
#   PGSPLIT_TEST_SANITIZE    1 = also build and run the suite under ASan/UBSan (default 0; .ci/run sets 1)
#   PGSPLIT_CORPUS           the shared conformance corpus (default ../shared/corpus)
#   PGSPLIT_TEST_FAULTS      1 = run scripts/fault-matrix.sh small after the release suite (default 1)
#   PGSPLIT_TEST_IMAGE       1 = run scripts/image-test.sh after the release suite (default 1)
#
# Before anything runs, the corpus is checked against its MANIFEST-files.tsv sha256s. A suite run
# that reports no passed test case (a filter that matched nothing, a runner that died) fails. At the
# end, scripts/canary-scan.sh checks every captured output, the server log and the fake az argv
# records for the test credentials, after proving on a planted leak that it finds one.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

"$root/scripts/deps.sh"
if [[ -x "$root/scripts/fixtures.sh" ]]; then
  "$root/scripts/fixtures.sh"
fi

# The conformance corpus, read in place: every file its manifest lists, with that sha256.
corpus=${PGSPLIT_CORPUS:-$root/../shared/corpus}
if [[ ! -f $corpus/MANIFEST-files.tsv ]]; then
  echo "test: the conformance corpus is missing ($corpus/MANIFEST-files.tsv); set PGSPLIT_CORPUS" >&2
  exit 1
fi
# tests/data/corpus-manifest-exceptions.tsv pins the on-disk hash of the few files known to differ.
exceptions="$root/tests/data/corpus-manifest-exceptions.tsv"
if ! bad=$(cd "$corpus" && awk -F'\t' 'FNR == NR { if ($0 !~ /^#/) { pin[$1] = $2 }; next }
      FNR > 1 { print (($1 in pin) ? pin[$1] : $3) "  " $1 }' "$exceptions" MANIFEST-files.tsv |
    sha256sum -c --quiet 2>&1); then
  echo "test: the corpus differs from MANIFEST-files.tsv (and $exceptions):" >&2
  head -20 <<<"$bad" >&2
  exit 1
fi
echo "test: corpus: $(($(wc -l <"$corpus/MANIFEST-files.tsv") - 1)) files match MANIFEST-files.tsv" \
  "($(grep -vc '^#' "$exceptions") pinned in $(basename "$exceptions"))"

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
  if [[ -z $line ]]; then
    echo "test: the $label suite printed no summary (did it crash?)"
    failed=$((failed + 1))
  elif [[ ${p:-0} -eq 0 ]]; then
    echo "test: the $label suite passed no test case (a filter that matched nothing proves nothing)"
    failed=$((failed + 1))
  fi
  return 0
}

run_suite release "$build/pgsplit_tests" "$@"

# The container image's runtime, offline: the Dockerfile's shape, the runtime package list against
# ldd, and the binary run as uid 10001 in a from-scratch image (scripts/image-test.sh says what it
# proves and what it does not).
if [[ "${PGSPLIT_TEST_IMAGE:-1}" == "1" ]]; then
  echo "test: container image (scripts/image-test.sh)"
  if ! "$root/scripts/image-test.sh" "$build/pgsplit" 2>&1 | tee "$work/image-test.log"; then
    echo "test: the image test failed"
    failed=$((failed + 1))
  fi
fi

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

if [[ "${PGSPLIT_TEST_SANITIZE:-0}" == "1" ]]; then
  # One clang build for the sanitizer suite and the fuzz targets (scripts/lib/sanitized-build.sh).
  asan="$build-asan"
  # shellcheck source=lib/sanitized-build.sh
  source "$root/scripts/lib/sanitized-build.sh"
  configure_sanitized_build "$root" "$asan" ON
  cmake --build "$asan" -j"$jobs"
  export PGSPLIT_FUZZ_BUILD_DIR="$asan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite asan-ubsan "$asan/pgsplit_tests" "$@"
fi

if [[ -x "$root/scripts/fuzz.sh" && "${PGSPLIT_TEST_FUZZ_SECONDS:-0}" != "0" ]]; then
  "$root/scripts/fuzz.sh" "$PGSPLIT_TEST_FUZZ_SECONDS" || failed=$((failed + 1))
fi

# Secret canary scan over everything the run printed or logged (see scripts/canary-scan.sh). First its
# positive control: a planted leak of every kind it knows must be found, next to the exempt forms.
control="$work/canary-control"
mkdir -p "$control"
echo "connecting with password=pw-Canary-plant1" >"$control/leak.err"
printf '::add-mask::pw-Canary-plant2\n::add-mask::pw-Canary-plant2 pw-Canary-plant3\n' >"$control/mask.out"
printf 'postgresql://u:pw-Canary-plant4@h/db\nthe password is pw-Canary-plant5\n' >"$control/emit.out"
echo "pgsplit provision --emit-secrets" >"$control/emit.argv"
echo "GeneratedPlant6abcXYZ" >"$control/generated.secrets"
echo "made up GeneratedPlant6abcXYZ" >"$control/generated.err"
printf '%s\n' '["postgres","flexible-server","create","--admin-password=pw-Canary-plant7"]' \
  '["postgres","flexible-server","update","--admin-password=pw-Canary-plant7"]' >"$control/az-argv-1.jsonl"
echo "https://a.blob.core.windows.net/c?sv=2024&sig=abcdefghijklmnopqrstuvwxyz0123" >"$control/sas.err"
echo "key Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq==" >"$control/key.err"
echo "Authorization: Bearer eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJwbGFudDgifQ.c2lnbmF0dXJlLXBsYW50OA" >"$control/jwt.err"
control_rc=0
control_out=$("$root/scripts/canary-scan.sh" "$control" 2>&1) || control_rc=$?
if [[ $control_rc -ne 1 ]] || ! grep -q "1 allowed .*1 ::add-mask:: line(s), 1 DSN password(s) in --emit-secrets output; 8 leak(s)" <<<"$control_out"; then
  echo "test: the canary scan's positive control failed (exit $control_rc; want exit 1 and exactly the 8 planted leaks):"
  echo "$control_out"
  failed=$((failed + 1))
else
  echo "test: canary scan positive control: the 8 planted leaks were found, the 3 exempt forms allowed"
fi
rm -rf "$control"
# The floor: a whole-suite run leaves hundreds of captures; a filtered one at least the server log.
floor=(--min-files 1 --min-bytes 1)
(($# == 0)) && floor=(--min-files 300 --min-bytes 1000000)
"$root/scripts/canary-scan.sh" "${floor[@]}" "$PGSPLIT_TEST_CAPTURE_DIR" "$work/pg/server.log" "$work"/*.log ||
  failed=$((failed + 1))

echo "${passed} passed, ${failed} failed"
[[ $failed -eq 0 ]]
