#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests and the demo.
#   scripts/pg-cluster.sh start DIR   -> initdb into DIR (if new), start on a free port, print "HOST PORT"
#   scripts/pg-cluster.sh stop DIR    -> stop it (fast shutdown) and keep DIR
#   scripts/pg-cluster.sh restart DIR -> crash-like restart (immediate stop) on the same port
#   scripts/pg-cluster.sh destroy DIR -> stop it and remove DIR
#   scripts/pg-cluster.sh standby PRIMARY_DIR DIR -> a streaming read replica of the running cluster in
#                                     PRIMARY_DIR (pg_basebackup -R over its socket), started like start
# Runs the server as the `postgres` user when invoked as root (initdb refuses root). Only unix socket
# in DIR/sock and 127.0.0.1 are listened on. fsync is off: this cluster's data is disposable.
# Optional, read when a new cluster is created:
#   PGSPLIT_CLUSTER_SSL_DIR=D     D/server.crt and D/server.key are copied into the data directory (owned
#                                 by the server user, key mode 0600) and the server runs with ssl=on
#   PGSPLIT_CLUSTER_EXTRA_CONF=F  file F is appended to postgresql.conf
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[[ -n "$cmd" && -n "$dir" ]] || { echo "usage: $0 start|stop|destroy DIR | standby PRIMARY_DIR DIR" >&2; exit 2; }

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [[ -x "$d/initdb" ]]; then bindir=$d; break; fi
done
[[ -n "$bindir" ]] || { echo "pg-cluster: no PostgreSQL server binaries under /usr/lib/postgresql (run scripts/deps.sh)" >&2; exit 3; }

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# shellcheck source=lib/free-port.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/free-port.sh"

start_server() {
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -o "-p $port" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      echo "$dir/sock $port"
      exit 0
    fi
  done
  echo "pg-cluster: the server did not start; see $dir/server.log" >&2
  tail -20 "$dir/server.log" >&2 || true
  exit 1
}

case "$cmd" in
start)
  mkdir -p "$dir"
  if [[ $(id -u) -eq 0 ]]; then chown postgres: "$dir"; chmod 700 "$dir"; fi
  if [[ ! -f "$dir/data/PG_VERSION" ]]; then
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner mkdir -p "$dir/sock"
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 128MB
max_wal_size = 2GB
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
log_statement = 'all'
CONF
    if [[ -n "${PGSPLIT_CLUSTER_SSL_DIR:-}" ]]; then
      for f in server.crt server.key; do
        [[ -r "$PGSPLIT_CLUSTER_SSL_DIR/$f" ]] || { echo "pg-cluster: $PGSPLIT_CLUSTER_SSL_DIR/$f is not readable" >&2; exit 2; }
        install -m 0600 "$PGSPLIT_CLUSTER_SSL_DIR/$f" "$dir/data/$f"
        if [[ $(id -u) -eq 0 ]]; then chown postgres: "$dir/data/$f"; fi
      done
      printf "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n" >>"$dir/data/postgresql.conf"
    fi
    if [[ -n "${PGSPLIT_CLUSTER_EXTRA_CONF:-}" ]]; then
      cat "$PGSPLIT_CLUSTER_EXTRA_CONF" >>"$dir/data/postgresql.conf"
    fi
    # Password auth on TCP for every user; trust on the private unix socket for the test superuser.
    echo "host all all 127.0.0.1/32 scram-sha-256" >"$dir/data/pg_hba.conf"
    echo "local all all trust" >>"$dir/data/pg_hba.conf"
    echo "local replication all trust" >>"$dir/data/pg_hba.conf"
  fi
  start_server
  ;;
standby)
  primary=$dir
  dir=${3:-}
  [[ -n "$dir" && -f "$primary/port" ]] || { echo "usage: $0 standby PRIMARY_DIR DIR (the primary running)" >&2; exit 2; }
  mkdir -p "$dir"
  if [[ $(id -u) -eq 0 ]]; then chown postgres: "$dir"; chmod 700 "$dir"; fi
  if [[ ! -f "$dir/data/PG_VERSION" ]]; then
    as_owner "$bindir/pg_basebackup" -D "$dir/data" -R -X stream -c fast -h "$primary/sock" \
      -p "$(cat "$primary/port")" -U postgres >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; exit 1; }
    as_owner mkdir -p "$dir/sock"
    echo "unix_socket_directories = '$dir/sock'" >>"$dir/data/postgresql.conf"
  fi
  start_server
  ;;
stop)
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  ;;
restart)
  # A crash-like restart on the same port (immediate stop: backends are killed, no checkpoint), for
  # fault tests. pg_ctl restart reuses the options the server was started with.
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -l "$dir/server.log" -w -t 60 restart >/dev/null 2>&1
  ;;
destroy)
  "$0" stop "$dir"
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop|restart|destroy DIR" >&2; exit 2 ;;
esac
