# Sourced by the scripts that start a local server (pg-cluster.sh, azurite.sh).
# free_port: prints a TCP port on 127.0.0.1 that nothing listens on (random in 20000-49999, 200 tries).
# Another process may still take it before the caller binds (pg-cluster.sh retries a failed start).
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}
