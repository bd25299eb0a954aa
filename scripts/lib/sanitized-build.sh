# Sourced by scripts/test.sh and scripts/fuzz.sh: one clang build serves both the ASan/UBSan pass of
# the suite and the libFuzzer targets, so CI compiles the library twice (release + this), not three
# times. The library and the test binary are built with AddressSanitizer, UndefinedBehaviorSanitizer
# (no recovery) and libFuzzer's coverage instrumentation (fuzzer-no-link: outside a fuzz target the
# sanitizer runtime's no-op hooks take the callbacks); the *_fuzz targets link libFuzzer itself.
# -O1 keeps ASan's reports readable and the suite fast enough; Debug keeps assertions on.
#
#   configure_sanitized_build ROOT DIR TESTS    TESTS = ON (suite + fuzz targets) or OFF (fuzz only)
configure_sanitized_build() {
  local root=$1 dir=$2 tests=$3
  # A directory configured by another compiler (an older gcc ASan build) cannot switch in place.
  if [[ -f $dir/CMakeCache.txt ]] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' "$dir/CMakeCache.txt"; then
    rm -rf "$dir"
  fi
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DPGSPLIT_SANITIZE=ON -DPGSPLIT_FUZZ=ON \
    -DPGSPLIT_TESTS="$tests" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_CXX_FLAGS="-O1 -fsanitize=fuzzer-no-link" >/dev/null
}
