#!/usr/bin/env bash
# Generates the test fixtures with DuckDB (npm @duckdb/node-api, pinned in tests/fixtures/package-lock.json):
# installs the generator's packages, then runs every tests/fixtures/*.mjs. Output goes to
# tests/fixtures/out/ (gitignored). pgsplit never writes its own fixtures.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/tests/fixtures"

if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
    echo "fixtures.sh: node and npm are needed (apt-get install nodejs npm)" >&2
    exit 1
fi

# npm ci installs exactly the lock file; some npm releases call a lock "out of sync" when it omits
# other platforms' optional DuckDB bindings, and then npm install (which honours the lock) is used.
if [ ! -f package-lock.json ] || ! npm ci --no-audit --no-fund --loglevel=error 2> /dev/null; then
    npm install --no-audit --no-fund --loglevel=error
fi

mkdir -p out
for script in ./*.mjs; do
    echo "fixtures.sh: running ${script#./}"
    node "$script"
done
