#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cpp, bodies in tests/fuzz/entry.cpp) with clang, ASan
# and UBSan into build-fuzz/ (or PGSPLIT_FUZZ_BUILD_DIR), seeds each one, and runs them one after another
# (one fuzzing process at a time), each for SECONDS (default 60) or, with FUZZ_RUNS=N, for N executions. Prints the executions per
# target and stops at the first finding, which is left in build-fuzz/ as crash-*/leak-*/timeout-*.
#   Seeds: parquet_fuzz  the conformance corpus' and the DuckDB fixtures' small Parquet files
#          delta_log_fuzz every commit of their Delta logs, and the first commits of each log joined with
#                         NUL bytes (the target splits its input into commits at NUL)
#          dsn_fuzz       tests/fuzz/dsn_seeds.txt, one seed per line
#          dv_fuzz        every deletion vector file of the corpus and the fixtures, and the bitmap inside each
#          all            the saved findings under tests/data/fuzz/<target>/
# Every input runs under -rss_limit_mb=512 -timeout=10: one that needs more memory or time is a finding.
# Save a finding as tests/data/fuzz/<target>/<name> once fixed: the suite replays it
# (tests/fuzz/regression_test.cpp).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail

seconds="${1:-60}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# PGSPLIT_FUZZ_BUILD_DIR: an existing sanitizer build to reuse (scripts/test.sh passes its ASan/UBSan build).
build="${PGSPLIT_FUZZ_BUILD_DIR:-$root/build-fuzz}"
corpus="${PGSPLIT_CORPUS:-$root/../shared/corpus}"
fixtures="${PGSPLIT_FIXTURES:-$root/tests/fixtures/out}"

# The whole library is instrumented for coverage (fuzzer-no-link); the targets link libFuzzer. A build
# that also carries the test suite keeps it.
# shellcheck source=lib/sanitized-build.sh
source "$root/scripts/lib/sanitized-build.sh"
tests=$(sed -n 's/^PGSPLIT_TESTS:BOOL=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
configure_sanitized_build "$root" "$build" "${tests:-OFF}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for src in "$root"/tests/fuzz/*_fuzz.cpp; do
        targets+=("$(basename "$src" .cpp)")
    done
fi
cmake --build "$build" -j"${FUZZ_BUILD_JOBS:-$(nproc)}" --target "${targets[@]}"

delta_logs() {
    for base in "$corpus" "$fixtures"; do
        [ -d "$base" ] && find "$base" -type d -name _delta_log
    done
}

export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
summary=()
for target in "${targets[@]}"; do
    seeds="$build/seeds/$target"
    work="$build/corpus/$target"
    rm -rf "$seeds"
    mkdir -p "$seeds" "$work"
    case "$target" in
    parquet_fuzz)
        # Small real files make the best seeds: every codec, encoding and nesting shape.
        for base in "$corpus/parquet-testing" "$fixtures/parquet"; do
            [ -d "$base" ] && find "$base" -name '*.parquet' -size -256k -exec cp -f {} "$seeds/" \;
        done
        ;;
    delta_log_fuzz)
        n=0
        while IFS= read -r log; do
            n=$((n + 1))
            commits=()
            for f in "$log"/*.json; do
                [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 65536 ] && commits+=("$f")
            done
            [ ${#commits[@]} -gt 0 ] || continue
            for i in "${!commits[@]}"; do
                cp -f "${commits[$i]}" "$seeds/log$n-$i.json"
            done
            # Up to four commits of the same log as one input, so reconciliation across versions runs.
            {
                for i in 0 1 2 3; do
                    [ -n "${commits[$i]:-}" ] || break
                    [ "$i" -gt 0 ] && printf '\0'
                    cat "${commits[$i]}"
                done
            } > "$seeds/log$n-joined"
        done < <(delta_logs)
        ;;
    dv_fuzz)
        i=0
        for base in "$corpus" "$fixtures"; do
            [ -d "$base" ] || continue
            while IFS= read -r f; do
                i=$((i + 1))
                cp -f "$f" "$seeds/file$i"
                # The first DV's bitmap alone: skip the version byte and the size field, drop the checksum.
                size=$(od -An -tu1 -j1 -N4 "$f" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
                tail -c +6 "$f" | head -c "$size" > "$seeds/bitmap$i"
            done < <(find "$base" -name 'deletion_vector_*.bin' -size -64k)
        done
        ;;
    dsn_fuzz)
        i=0
        while IFS= read -r line; do
            i=$((i + 1))
            printf '%s' "$line" > "$seeds/seed$i"
        done < "$root/tests/fuzz/dsn_seeds.txt"
        ;;
    esac
    if [ -d "$root/tests/data/fuzz/$target" ]; then
        cp -f "$root/tests/data/fuzz/$target"/* "$seeds/" 2>/dev/null || true
    fi
    if [ -n "${FUZZ_RUNS:-}" ]; then limit=(-runs="$FUZZ_RUNS"); else limit=(-max_total_time="$seconds"); fi
    echo "fuzz.sh: running $target ($(ls "$seeds" | wc -l) seeds, ${FUZZ_RUNS:+$FUZZ_RUNS runs}${FUZZ_RUNS:-${seconds}s})"
    log="$build/$target.log"
    started=$(date +%s)
    if ! (cd "$build" && "$build/$target" "${limit[@]}" -rss_limit_mb=512 -timeout=10 \
        -print_final_stats=1 "$work" "$seeds") 2> "$log"; then
        tail -60 "$log"
        echo "fuzz.sh: $target found a problem (see $log; the input is in $build)"
        exit 1
    fi
    execs=$(grep -E "stat::number_of_executed_units" "$log" | awk '{print $2}' | tail -1)
    summary+=("$(printf '%-16s %12s executions %6ss  0 crashes' "$target" "${execs:-?}" "$(( $(date +%s) - started ))")")
done
echo "fuzz.sh: summary"
printf '  %s\n' "${summary[@]}"
