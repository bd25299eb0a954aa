#!/usr/bin/env bash
# Fault matrix for sync-signals: replace one month again and again while something goes wrong, and
# check after every run that nothing was lost or half-written.
#
#   scripts/fault-matrix.sh            full size: 1M ranking rows, 20 backend kills, ...
#   scripts/fault-matrix.sh small      CI size (scripts/test.sh runs this): 150k rows, fewer runs
#
# Two Delta versions of the same month (A and B, different row counts, written by DuckDB) are synced
# alternately; each run replaces the month currently in Postgres with the other one while a fault is
# injected at a random moment:
#   backend-kill     pg_terminate_backend on pgsplit's connection
#   server-stop      pg_ctl stop -m immediate while the COPY is running, then start again
#   disk-full        the stage goes to a 4 MiB tmpfs tablespace (ENOSPC); skipped where mount is refused
#   temp-file-limit  index builds spill and hit temp_file_limit (SQLSTATE 53400)
#   statement-timeout  statement_timeout set on the database, random value below the sync time
#   sigterm / sigint   the signal sent to pgsplit
# After each run: intact = the month holds exactly the old rows or exactly the new rows (row count and
# an order-independent hash of every row, both tables together); recorded = ranking.signal_sync_state
# tells the truth (rows equal what is in the month; status success after a success, failed with an
# error after a failure the server could see; after server-stop the previous success stays); recovered
# = the next run without a fault exits 0 and leaves exactly the new rows. Exit 1 if any check fails.
# Environment: PGSPLIT_BIN (default build/pgsplit, built if missing), FAULT_SEED (default: time),
# FAULT_KEEP=1 keeps the work directory (logs of every run) for a look afterwards.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
size=${1:-full}
case $size in
small) rows=150000 comp=20000 runs_kill=5 runs_stop=2 runs_disk=1 runs_temp=1 runs_stmt=2 runs_sig=3 ;;
full) rows=1000000 comp=100000 runs_kill=20 runs_stop=5 runs_disk=3 runs_temp=3 runs_stmt=5 runs_sig=10 ;;
*) echo "usage: $0 [small|full]" >&2; exit 2 ;;
esac
seed=${FAULT_SEED:-$(date +%s)}
RANDOM=$seed
month=2024-06

pgsplit=${PGSPLIT_BIN:-$root/build/pgsplit}
if [[ ! -x $pgsplit ]]; then
  cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$root/build" -j"$(nproc)" --target pgsplit >/dev/null
fi
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V -r | head -1)

work=$(mktemp -d /tmp/pgsplit-faults-XXXXXX)
chmod 755 "$work"
mkdir -p "$work/logs"
tiny=""
cleanup() {
  "$root/scripts/pg-cluster.sh" destroy "$work/pg" >/dev/null 2>&1 || true
  if [[ -n $tiny ]]; then umount "$tiny" 2>/dev/null || true; fi
  if [[ ${FAULT_KEEP:-0} == 1 ]]; then echo "fault-matrix: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

read -r host port < <("$root/scripts/pg-cluster.sh" start "$work/pg")
as_postgres() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
sql() { psql -X -qAt -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d "${DB:-faults}" -c "$1"; }
DB=postgres sql "CREATE DATABASE faults"
export POSTGRES_DSN="host=$host port=$port user=postgres dbname=faults"
"$pgsplit" -q migrate >/dev/null

echo "fault-matrix: size $size, seed $seed, $rows ranking + $comp composite rows; $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
node tests/fixtures/bench/signals.mjs "$work/A" "$month" "$rows" "$comp" >/dev/null
node tests/fixtures/bench/signals.mjs "$work/B" "$month" $((rows + rows / 9)) $((comp + comp / 9)) >/dev/null

# Order-independent fingerprint of the month in both tables: row count and the sum of a hash of
# every row (a half-copied or mixed month cannot match either version).
fingerprint() {
  sql "SELECT (SELECT count(*) || ':' || coalesce(sum(hashtextextended(r::text, 0)), 0)
                 FROM ranking.ranking_signal r WHERE year_month = '$month') || '/' ||
              (SELECT count(*) || ':' || coalesce(sum(hashtextextended(c::text, 0)), 0)
                 FROM ranking.composite_signal_daily c WHERE year_month = '$month')"
}
ledger() {
  sql "SELECT coalesce(status, '') || '|' || coalesce(signals_rows, -1) || '|' || coalesce(composite_rows, -1)
              || '|' || (error IS NOT NULL AND error <> '')
         FROM ranking.signal_sync_state WHERE year_month = '$month'"
}
sync_from() { # VERSION [LOG] -> runs pgsplit in the foreground
  PGSPLIT_SIGNALS_TABLE="$work/$1/ranking_signal" PGSPLIT_COMPOSITE_TABLE="$work/$1/composite_signal_daily" \
    timeout 300 "$pgsplit" --log-format json sync-signals --month "$month" >"${2:-/dev/null}" 2>&1
}

declare -A fp counts
now() { date +%s%N; }
sync_from A
fp[A]=$(fingerprint)
t0=$(now)
sync_from B
sync_ms=$((($(now) - t0) / 1000000))
fp[B]=$(fingerprint)
[[ ${fp[A]} != "${fp[B]}" ]] || { echo "fault-matrix: A and B have the same fingerprint" >&2; exit 1; }
for v in A B; do
  counts[$v]=$(sed -E 's/^([0-9]+):[^/]*\/([0-9]+):.*/\1|\2/' <<<"${fp[$v]}")
done
echo "fault-matrix: a clean replace of the month takes ${sync_ms} ms; faults land at random moments within it"
current=B

restart_server() {
  as_postgres "$bindir/pg_ctl" -D "$work/pg/data" -o "-p $port" -l "$work/pg/server.log" -w -t 60 start >/dev/null
}
random_ms() { echo $((RANDOM * 32768 + RANDOM)) | awk -v max="$1" '{ printf "%d", $1 % (max + 1) }'; }

disk_ok=0
if mkdir -p "$work/tiny" && mount -t tmpfs -o size=4M,mode=0777 tmpfs "$work/tiny" 2>/dev/null; then
  tiny="$work/tiny"
  chown postgres: "$tiny" 2>/dev/null || true
  sql "CREATE TABLESPACE tiny LOCATION '$tiny'" && disk_ok=1
fi

declare -A T_runs T_hit T_intact T_recorded T_recovered
problems=0
run_fault() { # KIND INDEX
  local kind=$1 i=$2 target log rc=0 pid delay
  target=$([[ $current == A ]] && echo B || echo A)
  log="$work/logs/$kind-$i.log"
  case $kind in
  disk-full) sql "ALTER DATABASE faults SET default_tablespace = tiny" ;;
  temp-file-limit) sql "ALTER DATABASE faults SET maintenance_work_mem = '1MB'"
    sql "ALTER DATABASE faults SET temp_file_limit = '256kB'" ;;
  statement-timeout) # below the COPY's duration, so it lands on the COPY or an earlier statement
    sql "ALTER DATABASE faults SET statement_timeout = '$((10 + $(random_ms $((sync_ms / 3)))))ms'" ;;
  esac
  sync_from "$target" "$log" &
  pid=$!
  delay=$(random_ms "$sync_ms")
  case $kind in
  backend-kill)
    sleep "$(awk -v d="$delay" 'BEGIN { print d / 1000 }')"
    sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE application_name = 'pgsplit sync-signals' AND datname = 'faults'" >/dev/null ;;
  server-stop)
    for _ in $(seq 1 3000); do
      [[ -n $(sql "SELECT 1 FROM pg_stat_progress_copy LIMIT 1" 2>/dev/null || true) ]] && break
      sleep 0.01
    done
    as_postgres "$bindir/pg_ctl" -D "$work/pg/data" -m immediate -w stop >/dev/null ;;
  sigterm | sigint)
    sleep "$(awk -v d="$delay" 'BEGIN { print d / 1000 }')"
    # the pgsplit process is the child of `timeout` in the background subshell
    local child sig=${kind#sig}
    child=$(pgrep -f -n "^$pgsplit --log-format json sync-signals" || true)
    [[ -n $child ]] && kill -s "${sig^^}" "$child" 2>/dev/null || true ;;
  esac
  wait "$pid" || rc=$?
  case $kind in
  server-stop) restart_server ;;
  disk-full) sql "ALTER DATABASE faults RESET default_tablespace" ;;
  temp-file-limit) sql "ALTER DATABASE faults RESET maintenance_work_mem"
    sql "ALTER DATABASE faults RESET temp_file_limit" ;;
  statement-timeout) sql "ALTER DATABASE faults RESET statement_timeout" ;;
  esac

  local got state="" led status rows_s rows_c err ok_intact=0 ok_recorded=0 ok_recovered=0
  got=$(fingerprint)
  [[ $got == "${fp[$current]}" ]] && state=$current
  [[ $got == "${fp[$target]}" ]] && state=$target
  [[ -n $state ]] && ok_intact=1
  led=$(ledger)
  IFS='|' read -r status rows_s rows_c err <<<"$led"
  if [[ -n $state && "$rows_s|$rows_c" == "${counts[$state]}" ]]; then
    if [[ $rc -eq 0 ]]; then
      [[ $state == "$target" && $status == success ]] && ok_recorded=1
    elif [[ $state == "$target" ]]; then
      [[ $status == success ]] && ok_recorded=1 # committed just before the fault landed
    elif [[ $kind == server-stop ]]; then
      [[ $status == success ]] && ok_recorded=1 # the server was gone: the previous success stands
    else
      [[ $status == failed && $err == true ]] && ok_recorded=1
    fi
  fi
  local rc2=0
  sync_from "$target" "$work/logs/$kind-$i.recovery.log" || rc2=$?
  [[ $rc2 -eq 0 && $(fingerprint) == "${fp[$target]}" ]] && ok_recovered=1
  current=$target

  T_runs[$kind]=$((${T_runs[$kind]:-0} + 1))
  [[ $rc -ne 0 ]] && T_hit[$kind]=$((${T_hit[$kind]:-0} + 1))
  T_intact[$kind]=$((${T_intact[$kind]:-0} + ok_intact))
  T_recorded[$kind]=$((${T_recorded[$kind]:-0} + ok_recorded))
  T_recovered[$kind]=$((${T_recovered[$kind]:-0} + ok_recovered))
  if ((ok_intact + ok_recorded + ok_recovered < 3)); then
    problems=$((problems + 1))
    echo "fault-matrix: $kind run $i: exit $rc, intact=$ok_intact recorded=$ok_recorded recovered=$ok_recovered" \
      "(month: ${state:-neither version}; ledger: $led; log: $log)" >&2
    tail -3 "$log" >&2 || true
  fi
}

kinds=(backend-kill server-stop temp-file-limit statement-timeout sigterm sigint)
declare -A planned=([backend-kill]=$runs_kill [server-stop]=$runs_stop [disk-full]=$runs_disk
  [temp-file-limit]=$runs_temp [statement-timeout]=$runs_stmt [sigterm]=$runs_sig [sigint]=$runs_sig)
((disk_ok)) && kinds=(backend-kill server-stop disk-full temp-file-limit statement-timeout sigterm sigint)
for kind in "${kinds[@]}"; do
  for i in $(seq 1 "${planned[$kind]}"); do
    run_fault "$kind" "$i"
  done
done

echo
printf '%-18s %5s %5s %7s %9s %10s\n' fault runs hit intact recorded recovered
for kind in "${kinds[@]}"; do
  printf '%-18s %5d %5d %7d %9d %10d\n' "$kind" "${T_runs[$kind]}" "${T_hit[$kind]:-0}" "${T_intact[$kind]}" \
    "${T_recorded[$kind]}" "${T_recovered[$kind]}"
done
((disk_ok)) || echo "(disk-full skipped: mounting a tmpfs for a tiny tablespace is not permitted here)"
echo "hit = the run ended with a non-zero exit (the fault landed before the commit)"
if ((problems > 0)); then
  echo "fault-matrix: $problems run(s) failed a check (seed $seed)"
  exit 1
fi
echo "fault-matrix: every run left the month intact, the ledger truthful, and the next run recovered"
