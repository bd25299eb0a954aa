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

if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
else
    npm install --no-audit --no-fund --loglevel=error
fi

mkdir -p out
for script in ./*.mjs; do
    echo "fixtures.sh: running ${script#./}"
    node "$script"
done
