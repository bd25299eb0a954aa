#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*.cpp) with clang, ASan and UBSan into build-fuzz/, seeds
# them with the conformance corpus and the DuckDB fixtures, and runs each for SECONDS (default 60).
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-fuzz"
corpus="${PGSPLIT_CORPUS:-$root/../shared/corpus}"

# The whole library is instrumented for coverage (fuzzer-no-link); the targets link libFuzzer.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGSPLIT_FUZZ=ON -DPGSPLIT_TESTS=OFF \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" > /dev/null
targets=()
for src in "$root"/tests/fuzz/*.cpp; do
    targets+=("$(basename "$src" .cpp)")
done
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

for target in "${targets[@]}"; do
    seeds="$build/seeds/$target"
    work="$build/corpus/$target"
    mkdir -p "$seeds" "$work"
    case "$target" in
    parquet_fuzz)
        # Small real files make the best seeds: every codec, encoding and nesting shape.
        if [ -d "$corpus/parquet-testing" ]; then
            find "$corpus/parquet-testing" -name '*.parquet' -size -256k -exec cp -f {} "$seeds/" \;
        fi
        if [ -d "$root/tests/fixtures/out/parquet" ]; then
            find "$root/tests/fixtures/out/parquet" -name '*.parquet' -size -256k -exec cp -f {} "$seeds/" \;
        fi
        ;;
    esac
    echo "fuzz.sh: running $target for ${seconds}s"
    log="$build/$target.log"
    "$build/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
        "$work" "$seeds" 2> "$log" || { tail -50 "$log"; echo "fuzz.sh: $target found a problem (see $log)"; exit 1; }
    grep -E "^Done|stat::number_of_executed_units" "$log" || tail -5 "$log"
done
