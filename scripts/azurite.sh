#!/usr/bin/env bash
# Azurite (the Azure Storage emulator, blob service only) for the ADLS tests, on loopback.
#   scripts/azurite.sh start DIR  -> install the pinned azurite (tests/azurite) if missing, start
#                                    azurite-blob on a free 127.0.0.1 port with its data in DIR, print the port
#   scripts/azurite.sh stop DIR   -> stop the instance started for DIR (by its recorded pid)
# The well-known development account devstoreaccount1 is the only account; nothing listens beyond
# 127.0.0.1.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[[ -n "$cmd" && -n "$dir" ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pkg="$root/tests/azurite"
bin="$pkg/node_modules/.bin/azurite-blob"

# shellcheck source=lib/free-port.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/free-port.sh"

case "$cmd" in
start)
  if [[ ! -x "$bin" ]]; then
    command -v npm >/dev/null || { echo "azurite.sh: node and npm are needed (apt-get install nodejs npm)" >&2; exit 1; }
    # npm ci installs exactly what the lock file pins; an npm that calls the lock out of sync falls
    # back to npm install, which still honours it.
    (cd "$pkg" && { npm ci --no-audit --no-fund --loglevel=error 2>/dev/null \
                    || npm install --no-audit --no-fund --loglevel=error; }) >&2
  fi
  mkdir -p "$dir"
  if [[ -f "$dir/azurite.pid" ]] && kill -0 "$(cat "$dir/azurite.pid")" 2>/dev/null; then
    cat "$dir/azurite.port"; exit 0
  fi
  port=$(free_port) || { echo "azurite.sh: no free port" >&2; exit 1; }
  # setsid: the emulator outlives this script and is not hit by the caller's terminal signals.
  # --disableTelemetry: azurite >= 3.33 otherwise reports usage to Application Insights (off-host).
  setsid "$bin" --blobHost 127.0.0.1 --blobPort "$port" --location "$dir" --silent \
    --skipApiVersionCheck --loose --disableTelemetry >"$dir/azurite.log" 2>&1 < /dev/null &
  echo $! >"$dir/azurite.pid"
  echo "$port" >"$dir/azurite.port"
  for _ in $(seq 1 150); do
    if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
      echo "$port"; exit 0
    fi
    if ! kill -0 "$(cat "$dir/azurite.pid")" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "azurite.sh: azurite did not start on port $port:" >&2
  cat "$dir/azurite.log" >&2
  exit 1
  ;;
stop)
  [[ -f "$dir/azurite.pid" ]] || exit 0
  pid=$(cat "$dir/azurite.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$dir/azurite.pid" "$dir/azurite.port"
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2; exit 2
  ;;
esac
