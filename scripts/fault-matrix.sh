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
#   statement-timeout  statement_timeout set on the database: 10 ms on its first run (so it always lands),
#                      then random values below a third of the sync time
#   sigterm / sigint   the signal sent to pgsplit
# A fault must land: backend-kill, server-stop, sigterm and sigint wait (in the server, polling
# pg_stat_activity / pg_stat_progress_copy every 5 ms) for the point they target (the COPY started or
# a random number of rows into it) and fire there; every such run must then end with its kind's exit
# code. The setting-based kinds (disk-full, temp-file-limit, statement-timeout) must land at least once
# each and exit with their code when they do. The matrix fails on a kind with no hit, a fault that
# found nothing to hit, a run killed by `timeout` (a hang) or an exit code outside the kind's set.
# After each run: intact = the month holds exactly the old rows or exactly the new rows, as DuckDB
# computes them from the two Delta versions (tests/fixtures/lib/oracle.mjs: row count and a digest of
# every value, floats by their bits, both tables), never an earlier pgsplit result; recorded =
# ranking.signal_sync_state tells the truth (rows equal what is in the month; status success after a
# success, failed with an error after a failure the server could see; after server-stop the previous
# success stays); recovered = the next run without a fault exits 0 and leaves exactly the new rows.
# Exit 1 if any check fails.
# Environment: PGSPLIT_BIN (default build/pgsplit, built if missing), FAULT_SEED (default: time),
# FAULT_KEEP=1 keeps the work directory (logs of every run) for a look afterwards, FAULT_SKIP="kind
# reason" skips one kind on purpose (printed in the table); a kind that cannot run is otherwise a
# failure.
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
node tests/fixtures/bench/signals.mjs "$work/A" "$month" "$rows" "$comp" --oracle >/dev/null
node tests/fixtures/bench/signals.mjs "$work/B" "$month" $((rows + rows / 9)) $((comp + comp / 9)) --oracle >/dev/null

# The month in both tables summarised the way DuckDB summarised each version (row count and a digest
# of every value, see tests/fixtures/lib/oracle.mjs): a half-copied, mixed or mangled month matches
# neither version.
json() { # FILE KEY... -> the value at that path (node is already a dependency, for the fixtures)
  node -e 'const o = require(process.argv[1]); console.log(process.argv.slice(2).reduce((v, k) => v[k], o))' "$@"
}
oracle() { echo "$(json "$work/$1/oracle.json" ranking_signal "$2")/$(json "$work/$1/oracle.json" composite_signal_daily "$2")"; }
rank_sql=$(json "$work/A/oracle.json" ranking_signal sql)
comp_sql=$(json "$work/A/oracle.json" composite_signal_daily sql)
fingerprint() { echo "$(sql "$rank_sql")/$(sql "$comp_sql")"; }
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
fp[A]=$(oracle A digest)
fp[B]=$(oracle B digest)
[[ ${fp[A]} != "${fp[B]}" ]] || { echo "fault-matrix: A and B have the same fingerprint" >&2; exit 1; }
sync_from A
[[ $(fingerprint) == "${fp[A]}" ]] || { echo "fault-matrix: a clean sync of A does not hold DuckDB's rows: $(fingerprint) vs ${fp[A]}" >&2; exit 1; }
t0=$(now)
sync_from B
sync_ms=$((($(now) - t0) / 1000000))
[[ $(fingerprint) == "${fp[B]}" ]] || { echo "fault-matrix: a clean sync of B does not hold DuckDB's rows: $(fingerprint) vs ${fp[B]}" >&2; exit 1; }
for v in A B; do
  counts[$v]=$(sed -E 's/^([0-9]+):[^/]*\/([0-9]+):.*/\1|\2/' <<<"${fp[$v]}")
done
echo "fault-matrix: a clean replace of the month takes ${sync_ms} ms; faults land at random moments within it"
current=B

restart_server() {
  as_postgres "$bindir/pg_ctl" -D "$work/pg/data" -o "-p $port" -l "$work/pg/server.log" -w -t 60 start >/dev/null
}
random_ms() { echo $((RANDOM * 32768 + RANDOM)) | awk -v max="$1" '{ printf "%d", $1 % (max + 1) }'; }

# Waits in the server for a backend of this sync matching COND (a query returning its pid), polling
# every 5 ms with a fresh statistics snapshot, then terminates it (kill) or just reports it (wait).
# Prints killed, reached, or timeout.
DB=postgres sql "CREATE FUNCTION fault_wait(cond text, secs float8, kill boolean) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE p int; deadline timestamptz := clock_timestamp() + secs * interval '1 second';
BEGIN
  LOOP
    PERFORM pg_stat_clear_snapshot();
    EXECUTE cond INTO p;
    IF p IS NOT NULL THEN
      IF NOT kill THEN RETURN 'reached'; END IF;
      RETURN CASE WHEN pg_terminate_backend(p) THEN 'killed' ELSE 'gone' END;
    END IF;
    IF clock_timestamp() > deadline THEN RETURN 'timeout'; END IF;
    PERFORM pg_sleep(0.005);
  END LOOP;
END \$\$"
mine="a.datname = 'faults' AND a.application_name = 'pgsplit sync-signals'"
copy_at() { # ROWS -> the backend whose COPY has processed at least ROWS rows
  echo "SELECT a.pid FROM pg_stat_progress_copy p JOIN pg_stat_activity a USING (pid) WHERE $mine AND p.tuples_processed >= $1 LIMIT 1"
}
wait_for() { # COND kill|wait
  DB=postgres sql "SELECT fault_wait(\$q\$$1\$q\$, $((30 + sync_ms * 3 / 1000)), $([[ $2 == kill ]] && echo true || echo false))"
}

skip_kind=${FAULT_SKIP:-}
skip_kind=${skip_kind%% *}
skip_reason=${FAULT_SKIP:-}
skip_reason=${skip_reason#* }
disk_ok=0
if [[ $skip_kind != disk-full ]]; then
  if mkdir -p "$work/tiny" && mount -t tmpfs -o size=4M,mode=0777 tmpfs "$work/tiny" 2>/dev/null; then
    tiny="$work/tiny"
    chown postgres: "$tiny" 2>/dev/null || true
    sql "CREATE TABLESPACE tiny LOCATION '$tiny'" && disk_ok=1
  fi
  if ((!disk_ok)); then
    echo "fault-matrix: disk-full cannot run here (mounting a 4 MiB tmpfs was refused); set FAULT_SKIP='disk-full <reason>' to skip it on purpose" >&2
    exit 1
  fi
fi

# The exit codes a run may end with when its fault landed (SPEC section 3: 4 = the connection was lost,
# 1 = the server refused a statement, 143/130 = interrupted).
declare -A expect=([backend-kill]=" 4 " [server-stop]=" 4 " [disk-full]=" 1 " [temp-file-limit]=" 1 "
  [statement-timeout]=" 1 " [sigterm]=" 143 " [sigint]=" 130 ")
# Kinds that fire at a point they waited for: every run must hit.
declare -A must_hit=([backend-kill]=1 [server-stop]=1 [sigterm]=1 [sigint]=1)

declare -A T_runs T_hit T_intact T_recorded T_recovered
problems=0
fail_run() { problems=$((problems + 1)); echo "fault-matrix: $*" >&2; }
run_fault() { # KIND INDEX
  local kind=$1 i=$2 target log rc=0 pid landed="" point
  target=$([[ $current == A ]] && echo B || echo A)
  log="$work/logs/$kind-$i.log"
  case $kind in
  disk-full) sql "ALTER DATABASE faults SET default_tablespace = tiny" ;;
  temp-file-limit) sql "ALTER DATABASE faults SET maintenance_work_mem = '1MB'"
    sql "ALTER DATABASE faults SET temp_file_limit = '256kB'" ;;
  statement-timeout) # the first run at 10 ms, below any COPY's duration, so the kind always lands; the
    # others at random below a third of the sync, on the COPY or an earlier statement
    local st=10
    ((i > 1)) && st=$((10 + $(random_ms $((sync_ms / 3)))))
    sql "ALTER DATABASE faults SET statement_timeout = '${st}ms'" ;;
  esac
  # In the background: `timeout` is $!, pgsplit its only child.
  PGSPLIT_SIGNALS_TABLE="$work/$target/ranking_signal" PGSPLIT_COMPOSITE_TABLE="$work/$target/composite_signal_daily" \
    timeout 300 "$pgsplit" --log-format json sync-signals --month "$month" >"$log" 2>&1 &
  pid=$!
  # A random point in the ranking COPY: 0 = as soon as it starts, up to 90% of its rows for a kill
  # (fired in the server), 60% for what bash fires after the wait returns (the rest of the sync must
  # still be ahead of it).
  local tenths=6
  [[ $kind == backend-kill ]] && tenths=9
  point=$(copy_at "$(random_ms $((rows * tenths / 10)))")
  case $kind in
  backend-kill)
    landed=$(wait_for "$point" kill)
    [[ $landed == killed ]] || landed="not landed ($landed)" ;;
  server-stop)
    landed=$(wait_for "$point" wait)
    if [[ $landed == reached ]] && kill -0 "$pid" 2>/dev/null; then
      as_postgres "$bindir/pg_ctl" -D "$work/pg/data" -m immediate -w stop >/dev/null && landed=stopped
    fi
    [[ $landed == stopped ]] || landed="not landed ($landed)" ;;
  sigterm | sigint)
    landed=$(wait_for "$point" wait)
    local child sig=${kind#sig}
    child=$(pgrep -P "$pid" || true)
    if [[ $landed == reached && -n $child ]] && kill -s "${sig^^}" "$child" 2>/dev/null; then
      landed=signalled
    else
      landed="not landed ($landed; pgsplit pid '${child}')"
    fi ;;
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
  if [[ $rc -eq 124 ]]; then
    fail_run "$kind run $i: killed by timeout after 300 s (a hang; log: $log)"
  elif [[ $rc -ne 0 && ${expect[$kind]} != *" $rc "* ]]; then
    fail_run "$kind run $i: exit $rc, expected one of${expect[$kind]}(log: $log)"
    tail -3 "$log" >&2 || true
  fi
  if [[ -n ${must_hit[$kind]:-} ]]; then
    if [[ $landed == "not landed"* ]]; then
      fail_run "$kind run $i: the fault did not land: $landed"
    elif [[ $rc -eq 0 ]]; then
      fail_run "$kind run $i: the fault fired ($landed) but the sync exited 0"
    fi
  fi
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

kinds=(backend-kill server-stop disk-full temp-file-limit statement-timeout sigterm sigint)
declare -A planned=([backend-kill]=$runs_kill [server-stop]=$runs_stop [disk-full]=$runs_disk
  [temp-file-limit]=$runs_temp [statement-timeout]=$runs_stmt [sigterm]=$runs_sig [sigint]=$runs_sig)
if [[ -n $skip_kind && -z ${planned[$skip_kind]:-} ]]; then
  echo "fault-matrix: FAULT_SKIP names no kind: '$skip_kind'" >&2
  exit 2
fi
for kind in "${kinds[@]}"; do
  [[ $kind == "$skip_kind" ]] && continue
  for i in $(seq 1 "${planned[$kind]}"); do
    run_fault "$kind" "$i"
  done
  if ((${T_hit[$kind]:-0} == 0)); then
    fail_run "$kind: no run hit (the fault never landed in ${T_runs[$kind]} runs)"
  fi
done

echo
printf '%-18s %5s %5s %7s %9s %10s\n' fault runs hit intact recorded recovered
for kind in "${kinds[@]}"; do
  if [[ $kind == "$skip_kind" ]]; then
    printf '%-18s skipped on purpose (FAULT_SKIP): %s\n' "$kind" "$skip_reason"
    continue
  fi
  printf '%-18s %5d %5d %7d %9d %10d\n' "$kind" "${T_runs[$kind]}" "${T_hit[$kind]:-0}" "${T_intact[$kind]}" \
    "${T_recorded[$kind]}" "${T_recovered[$kind]}"
done
echo "hit = the run ended with its kind's exit code (the fault landed before the commit); backend-kill,"
echo "server-stop, sigterm and sigint fire at a point of the COPY they waited for, so every run must hit"
if ((problems > 0)); then
  echo "fault-matrix: $problems run(s) failed a check (seed $seed)"
  exit 1
fi
echo "fault-matrix: every run left the month intact, the ledger truthful, and the next run recovered"
