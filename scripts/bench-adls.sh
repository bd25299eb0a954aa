#!/usr/bin/env bash
# sync-signals from ADLS against sync-signals from local disk: what a remote lake costs.
#
#   scripts/bench-adls.sh                     5M ranking + 20k composite rows, 20 ms RTT, 50 MB/s
#   BENCH_ROWS=200000 BENCH_RUNS=1 scripts/bench-adls.sh        a quick run
#   BENCH_DIRECT=0 scripts/bench-adls.sh      the README's figures (no Azurite-without-proxy mode)
#
# One month of ranking_signal + composite_signal_daily (tests/fixtures/bench/signals-files.mjs: the
# rows of signals.mjs, DuckDB writes the Parquet) in two layouts of the ranking month:
#   many files  BENCH_MANY_FILES (200) files of consecutive rows, one row group each
#   big files   BENCH_BIG_FILES (4) files, BENCH_ROW_GROUP rows per row group (default: 5 row groups
#               per file)
# Each layout is synced with `pgsplit sync-signals --month M` (the month already present: the steady
# state) from
#   local       the Delta directories on disk
#   azurite     Azurite (the Azure Blob emulator) on loopback, no proxy: the emulator's own cost
#   remote      Azurite through scripts/lib/slow-proxy.mjs, which waits BENCH_RTT_MS before forwarding
#               each request and caps each client connection at BENCH_MBPS MB/s: a far-away account.
#               With the default I/O concurrency, and with --io-concurrency 1 (sequential reads) when
#               the binary has that flag.
# as abfss://bench@devstoreaccount1.dfs.core.windows.net/<layout>/<table> with the emulator's
# published account key. Modes are interleaved run by run; each figure is the median of BENCH_RUNS
# (3) runs. Prints per layout and mode: seconds, the ratio to local, peak RSS (max over the runs),
# and what the proxy saw during one run: requests, connections, peak requests in flight, MiB sent;
# and the floor of a sequential reader over that link (requests x RTT + bytes / bandwidth).
# The ratios against local (same machine, same run) are the figures that matter.
#
# Knobs: BENCH_ROWS (5000000), BENCH_COMPOSITE_ROWS (20000), BENCH_RUNS (3), BENCH_RTT_MS (20),
# BENCH_MBPS (50, MB = 10^6 bytes, per connection), BENCH_MANY_FILES (200), BENCH_BIG_FILES (4),
# BENCH_ROW_GROUP, BENCH_LAYOUTS ("many big"), BENCH_DIRECT (1; 0 skips the no-proxy mode),
# BENCH_PROXY_LOG=FILE (append the proxy's per-request log there), PGSPLIT_BUILD_DIR (build-release,
# built here), PGSPLIT_BIN (a pgsplit binary to use as it is, no build).
# pgsplit reads the first 4 MiB of a blob in its first request: a "big" file smaller than that is one
# request. At 5M rows the 4 big files are ~8.5 MiB each, so they are read by ranges (head, footer,
# then 8 MiB windows); fewer rows, or BENCH_BIG_FILES=1, keep that true.
# Everything listens on 127.0.0.1 only; the PostgreSQL cluster, Azurite, the proxy and the data go
# at exit.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
rows=${BENCH_ROWS:-5000000}
comp=${BENCH_COMPOSITE_ROWS:-20000}
runs=${BENCH_RUNS:-3}
rtt=${BENCH_RTT_MS:-20}
mbps=${BENCH_MBPS:-50}
many=${BENCH_MANY_FILES:-200}
big=${BENCH_BIG_FILES:-4}
direct=${BENCH_DIRECT:-1}
layouts=${BENCH_LAYOUTS:-many big}
month=2024-06
for v in rows comp runs rtt mbps many big; do
  [[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || { echo "bench-adls: $v must be a positive integer, not '${!v}'" >&2; exit 2; }
done
read -ra layouts <<<"$layouts"
for l in "${layouts[@]}"; do
  [[ $l == many || $l == big ]] || { echo "bench-adls: BENCH_LAYOUTS takes 'many' and/or 'big', not '$l'" >&2; exit 2; }
done
many_rg=$(( (rows + many - 1) / many ))
big_rg=${BENCH_ROW_GROUP:-$(( (rows / big + 4) / 5 ))}
[[ $big_rg =~ ^[0-9]+$ && $big_rg -gt 0 ]] || { echo "bench-adls: BENCH_ROW_GROUP must be a positive integer" >&2; exit 2; }

# Only the settings made here reach pgsplit: no real account, no HTTP proxy of the machine's.
unset AZURE_STORAGE_ENDPOINT AZURE_STORAGE_KEY AZURE_STORAGE_SAS_TOKEN AZURE_CLIENT_ID IDENTITY_ENDPOINT \
  IDENTITY_HEADER PGSPLIT_SIGNALS_TABLE PGSPLIT_COMPOSITE_TABLE PGSPLIT_READ_MEMORY_MB
noproxy=(-u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u all_proxy
  "NO_PROXY=127.0.0.1,localhost" "no_proxy=127.0.0.1,localhost")
devkey="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

scripts/deps.sh
scripts/fixtures.sh >/dev/null
build=${PGSPLIT_BUILD_DIR:-$root/build-release}
pgsplit=${PGSPLIT_BIN:-$build/pgsplit}
if [[ -z ${PGSPLIT_BIN:-} ]]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPGSPLIT_TESTS=OFF "${launcher[@]}" >/dev/null
  cmake --build "$build" -j"$(nproc)" --target pgsplit >/dev/null
fi
[[ -x $pgsplit ]] || { echo "bench-adls: no pgsplit binary at $pgsplit" >&2; exit 1; }
help=$("$pgsplit" sync-signals --help)
has_io=0
grep -q -- --io-concurrency <<<"$help" && has_io=1

work=$(mktemp -d /tmp/pgsplit-bench-adls-XXXXXX)
chmod 755 "$work"
cleanup() {
  if [[ -f $work/proxy.pid ]]; then
    kill "$(cat "$work/proxy.pid")" 2>/dev/null || true
  fi
  scripts/azurite.sh stop "$work/azurite" >/dev/null 2>&1 || true
  scripts/pg-cluster.sh destroy "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

read -r host port < <(scripts/pg-cluster.sh start "$work/pg")
psql_db() { psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d bench "$@"; }
psql -X -q -h "$host" -p "$port" -U postgres -d postgres -c "CREATE DATABASE bench"
dsn="host=$host port=$port user=postgres dbname=bench"
POSTGRES_DSN=$dsn "$pgsplit" -q migrate

echo "bench-adls: generating $rows ranking + $comp composite rows per layout (DuckDB)"
declare -A written=()
uploads=()
for layout in "${layouts[@]}"; do
  if [[ $layout == many ]]; then files=$many rg=$many_rg; else files=$big rg=$big_rg; fi
  written[$layout]=$(node tests/fixtures/bench/signals-files.mjs "$work/data/$layout" "$month" "$rows" "$comp" "$files" "$rg")
  printf '  %-5s %s\n' "$layout" "${written[$layout]}"
  uploads+=("$layout=$work/data/$layout")
done

azport=$(scripts/azurite.sh start "$work/azurite")
printf '  %s\n' "$(node scripts/lib/azurite-upload.mjs "http://127.0.0.1:$azport" bench "${uploads[@]}")"

proxy_args=(--listen-port 0 --target "http://127.0.0.1:$azport" --rtt-ms "$rtt" --mbps "$mbps"
  --port-file "$work/proxy.port")
[[ -n ${BENCH_PROXY_LOG:-} ]] && proxy_args+=(--log-file "$BENCH_PROXY_LOG")
node scripts/lib/slow-proxy.mjs "${proxy_args[@]}" >"$work/proxy.out" 2>"$work/proxy.err" &
echo $! >"$work/proxy.pid"
for _ in $(seq 1 100); do [[ -s $work/proxy.port ]] && break; sleep 0.05; done
[[ -s $work/proxy.port ]] || { echo "bench-adls: the proxy did not start:" >&2; cat "$work/proxy.err" >&2; exit 1; }
pport=$(cat "$work/proxy.port")

# The proxy's counters over bash's /dev/tcp: proxy_stats get|reset prints the JSON line.
proxy_stats() {
  local method=GET path=/__stats
  [[ $1 == reset ]] && method=POST path=/__stats/reset
  exec 3<>"/dev/tcp/127.0.0.1/$pport"
  printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' \
    "$method" "$path" "$pport" >&3
  sed -n '$p' <&3
  exec 3<&-
}
json_num() { grep -o "\"$1\":[0-9]*" | cut -d: -f2; }

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# run_sync LAYOUT MODE: one sync; appends "seconds rss_mib requests connections peak bytes" to
# $work/res/LAYOUT.MODE.
mkdir "$work/res"
run_sync() {
  local layout=$1 mode=$2 env=() extra=() t0 s stats="- - - -" json
  case $mode in
  local)
    env=(PGSPLIT_SIGNALS_TABLE="$work/data/$layout/ranking_signal"
      PGSPLIT_COMPOSITE_TABLE="$work/data/$layout/composite_signal_daily") ;;
  azurite | remote | remote-io1)
    local ep="http://127.0.0.1:$pport/devstoreaccount1"
    [[ $mode == azurite ]] && ep="http://127.0.0.1:$azport/devstoreaccount1"
    env=(AZURE_STORAGE_ENDPOINT="$ep" AZURE_STORAGE_KEY="$devkey"
      PGSPLIT_SIGNALS_TABLE="abfss://bench@devstoreaccount1.dfs.core.windows.net/$layout/ranking_signal"
      PGSPLIT_COMPOSITE_TABLE="abfss://bench@devstoreaccount1.dfs.core.windows.net/$layout/composite_signal_daily")
    [[ $mode == remote-io1 ]] && extra=(--io-concurrency 1) ;;
  esac
  [[ $mode == remote* ]] && proxy_stats reset >/dev/null
  t0=$(now)
  if ! env "${noproxy[@]}" POSTGRES_DSN="$dsn" "${env[@]}" /usr/bin/time -f %M -o "$work/rss" \
    "$pgsplit" -q sync-signals --month "$month" "${extra[@]}" >"$work/out" 2>"$work/err"; then
    cat "$work/out" "$work/err" >&2
    echo "bench-adls: sync-signals failed ($layout, $mode)" >&2
    exit 1
  fi
  s=$(secs "$t0" "$(now)")
  if [[ $mode == remote* ]]; then
    # The last response may still be closing in the proxy when pgsplit exits.
    for _ in $(seq 1 40); do
      json=$(proxy_stats get)
      [[ $(json_num in_flight <<<"$json") == 0 ]] && break
      sleep 0.05
    done
    stats="$(json_num requests <<<"$json") $(json_num connections <<<"$json") $(json_num peak_in_flight <<<"$json") $(json_num bytes_out <<<"$json")"
  fi
  echo "$s $(( $(tail -1 "$work/rss") / 1024 )) $stats" >>"$work/res/$layout.$mode"
}

modes=(local)
((direct)) && modes+=(azurite)
modes+=(remote)
((has_io)) && modes+=(remote-io1)
count_sql="SELECT (SELECT count(*) FROM ranking.ranking_signal WHERE year_month = '$month') || ' ' ||
  (SELECT count(*) FROM ranking.composite_signal_daily WHERE year_month = '$month')"
for layout in "${layouts[@]}"; do
  echo "bench-adls: $layout files, ${modes[*]} x $runs"
  run_sync "$layout" local
  : >"$work/res/$layout.local" # the first sync creates the month; the steady state replaces it
  for ((run = 1; run <= runs; run++)); do
    for mode in "${modes[@]}"; do
      run_sync "$layout" "$mode"
      if ((run == 1)); then
        got=$(psql_db -At -c "$count_sql")
        [[ $got == "$rows $comp" ]] || { echo "bench-adls: $layout/$mode left '$got' rows, expected '$rows $comp'" >&2; exit 1; }
      fi
    done
  done
done

median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -v c="$1" '{ print $c }' "$2"; }
span() { sort -n | uniq | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print (lo == hi ? lo : lo "-" hi) }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

echo
# shellcheck disable=SC1091 # /etc/os-release is the machine's, not part of this repository
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)," \
  "$(. /etc/os-release; echo "$PRETTY_NAME"), PostgreSQL $(psql_db -At -c 'SHOW server_version' | awk '{print $1}')" \
  "(fsync off, throwaway cluster), node $(node --version); load average at start $load_start"
echo "rows: ranking_signal $rows, composite_signal_daily $comp (month $month, one file); median of $runs run(s)"
echo "link: Azurite $(node -p "require('./tests/azurite/package.json').dependencies.azurite") on loopback behind" \
  "slow-proxy, ${rtt} ms per request, ${mbps} MB/s per connection"
((has_io)) || echo "(this pgsplit has no --io-concurrency flag: default I/O only)"
for layout in "${layouts[@]}"; do
  echo
  echo "$layout files, ranking month: ${written[$layout]}"
  printf '  %-37s %7s %13s %6s %8s %9s %6s %5s %8s %8s\n' mode seconds "(min-max)" ratio "RSS MiB" requests conns peak \
    "MiB out" "floor s"
  loc=$(col 1 "$work/res/$layout.local" | median)
  for mode in "${modes[@]}"; do
    f="$work/res/$layout.$mode"
    t=$(col 1 "$f" | median)
    spread="($(col 1 "$f" | sort -n | sed -n '1p;$p' | paste -sd-))"
    rss=$(col 2 "$f" | sort -n | tail -1)
    case $mode in
    local) label="local Delta directories" ;;
    azurite) label="Azurite direct (no proxy)" ;;
    remote) label="remote via proxy, default I/O" ;;
    remote-io1) label="remote via proxy, --io-concurrency 1" ;;
    esac
    req=- conns=- peak=- out=- floor=-
    if [[ $mode == remote* ]]; then
      req=$(col 3 "$f" | span)
      conns=$(col 4 "$f" | span)
      peak=$(col 5 "$f" | span)
      bytes=$(col 6 "$f" | sort -n | tail -1)
      out=$(mib "$bytes")
      floor=$(awk -v n="$(col 3 "$f" | sort -n | tail -1)" -v b="$bytes" -v r="$rtt" -v m="$mbps" \
        'BEGIN { printf "%.2f", n * r / 1000 + b / (m * 1e6) }')
    fi
    printf '  %-37s %7s %13s %6s %8s %9s %6s %5s %8s %8s\n' "$label" "$t" "$spread" \
      "$(awk -v x="$t" -v y="$loc" 'BEGIN { printf "%.2f", x / y }')" "$rss" "$req" "$conns" "$peak" "$out" "$floor"
  done
done
echo
echo "seconds = median (min-max) of the runs; ratio = seconds / local seconds; RSS = max over the runs;"
echo "requests, conns (connections opened), peak (most requests in flight at once) and MiB out (response"
echo "bytes): what the proxy saw during one run (a-b when runs differed); floor = requests x RTT + bytes /"
echo "bandwidth, the time one connection reading in sequence cannot beat"
