#!/usr/bin/env bash
# The container image's runtime, proven offline (no registry is reachable here, and there is no
# docker daemon), as one step of scripts/test.sh:
#
#   scripts/image-test.sh [BINARY]      (default build/pgsplit)
#
# 1. The Dockerfile: a debian:12 build stage and a debian:12-slim runtime stage; the runtime stage
#    installs packages only through `scripts/install.sh --runtime-deps-only`; it runs as a fixed
#    non-root uid; ENTRYPOINT ["pgsplit"]; no az CLI, no secret-looking ARG/ENV.
# 2. Link closure: every library `ldd BINARY` resolves belongs (dpkg -S) to a package of
#    scripts/lib/packages-runtime.txt or to one of their installed dependencies; every library the
#    binary itself names (DT_NEEDED) is listed there directly; and every listed package provides
#    one of those libraries (or is marked "extra"). A new link dependency fails here.
# 3. An OCI image built with podman (vfs storage, --pull=never, --network=none) FROM scratch holding
#    only the binary, the files ldd lists, the CA bundle and /etc/passwd + /etc/group, with the
#    Dockerfile runtime stage's own WORKDIR/USER/ENTRYPOINT/CMD lines. Run with runc: the default
#    CMD (--help), --version, `migrate` + `migrate status` against a throwaway PostgreSQL over its
#    unix socket (mounted in), `inspect delta` on a fixture table, and a root-only file that pgsplit
#    must fail to read (it would, as root). The image's config must say User 10001:10001.
#
# Not proven here: `docker build` of the Dockerfile itself (needs debian:12 from a registry), that the
# real slim image's apt resolves the same library versions, and TLS to a public CA with the bundle.
#
# Environment: PGSPLIT_TEST_PGHOST/PGSPLIT_TEST_PGPORT (the suite's cluster; else one is started),
# PGSPLIT_IMAGE_TEST_KEEP=1 keeps the scratch directory.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
binary=${1:-$root/build/pgsplit}
dockerfile=$root/Dockerfile
runtime_list=$root/scripts/lib/packages-runtime.txt
uid=10001

fail=0
problem() {
  echo "image-test: FAIL: $*" >&2
  fail=1
}
ok() { echo "image-test: ok: $*"; }

[[ -x $binary ]] || { echo "image-test: no binary at $binary (build first)" >&2; exit 1; }

# --- 1. the Dockerfile ------------------------------------------------------------------------------
froms=$(grep -cE '^FROM ' "$dockerfile" || true)
first_from=$(grep -m1 -E '^FROM ' "$dockerfile" | awk '{print $2}')
last_from_line=$(grep -nE '^FROM ' "$dockerfile" | tail -1 | cut -d: -f1)
runtime_stage=$(tail -n +"$last_from_line" "$dockerfile" | sed -e 's/#.*//')
last_from=$(head -1 <<<"$runtime_stage" | awk '{print $2}')
[[ $froms == 2 && $first_from == debian:12 && $last_from == debian:12-slim ]] ||
  problem "the Dockerfile should build FROM debian:12 and run FROM debian:12-slim (found $froms FROM: $first_from .. $last_from)"
# Package installs in the runtime stage go through the shared list only.
if grep -qE 'apt-get[[:space:]]+install' <<<"$runtime_stage"; then
  problem "the runtime stage runs apt-get install itself; use scripts/install.sh --runtime-deps-only"
fi
grep -q 'install.sh --runtime-deps-only' <<<"$runtime_stage" ||
  problem "the runtime stage does not install scripts/lib/packages-runtime.txt through install.sh --runtime-deps-only"
user_line=$(grep -E '^USER ' <<<"$runtime_stage" | tail -1 | awk '{print $2}')
[[ $user_line == "$uid:$uid" ]] || problem "the runtime stage's last USER is '$user_line', want $uid:$uid"
grep -qxE 'ENTRYPOINT \["pgsplit"\]' <<<"$runtime_stage" || problem 'the runtime stage lacks ENTRYPOINT ["pgsplit"]'
grep -qE "useradd .*--uid $uid" <<<"$runtime_stage" || problem "the runtime stage does not create uid $uid"
if grep -qiE '(^|[^a-z])(azure-cli|az login|curl .*\| *(ba)?sh)' "$dockerfile"; then
  problem "the Dockerfile installs the az CLI or pipes a download into a shell"
fi
if grep -qiE '^(ARG|ENV) .*(PASSWORD|SECRET|TOKEN|SAS|KEY|DSN)' "$dockerfile"; then
  problem "the Dockerfile has a secret-looking ARG/ENV"
fi
((fail)) || ok "Dockerfile: debian:12 -> debian:12-slim, runtime packages via install.sh, USER $uid:$uid, ENTRYPOINT [\"pgsplit\"]"

# --- 2. the link closure ----------------------------------------------------------------------------
mapfile -t listed < <("$root/scripts/install.sh" --print-runtime-packages)
declare -A is_listed=()
for p in "${listed[@]}"; do is_listed[$p]=1; done

# The installed dependency closure of the listed packages (Depends and Pre-Depends, local dpkg data).
declare -A closure=()
queue=("${listed[@]}")
while ((${#queue[@]} > 0)); do
  p=${queue[0]}
  queue=("${queue[@]:1}")
  [[ -n ${closure[$p]:-} ]] && continue
  closure[$p]=1
  deps=$(dpkg-query -W -f='${Pre-Depends}, ${Depends}' "$p" 2>/dev/null || true)
  for d in $(tr ',|' '\n' <<<"$deps" | sed -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' | sort -u); do
    [[ -n $d && -z ${closure[$d]:-} ]] && queue+=("$d")
  done
done

# ldd path -> package; merged /usr means dpkg may know the file under either spelling.
package_of() {
  local f=$1 alt out
  case $f in /usr/*) alt=${f#/usr} ;; *) alt=/usr$f ;; esac
  for candidate in "$f" "$alt" "$(readlink -f "$f")"; do
    if out=$(dpkg -S "$candidate" 2>/dev/null); then
      head -1 <<<"$out" | cut -d: -f1
      return 0
    fi
  done
  return 1
}

ldd_out=$(ldd "$binary")
if grep -q 'not found' <<<"$ldd_out"; then problem "ldd: $(grep 'not found' <<<"$ldd_out" | tr '\n' ' ')"; fi
mapfile -t libs < <(grep -oE '(^|[[:space:]])/[^ ]+' <<<"$ldd_out" | sed 's/^[[:space:]]*//' | sort -u)
mapfile -t needed < <(objdump -p "$binary" | awk '$1 == "NEEDED" {print $2}')
declare -A used=()
for f in "${libs[@]}"; do
  if ! pkg=$(package_of "$f"); then
    problem "$f (from ldd) belongs to no Debian package"
    continue
  fi
  used[$pkg]=1
  [[ -n ${closure[$pkg]:-} ]] ||
    problem "$f is in package $pkg, which neither scripts/lib/packages-runtime.txt nor its dependencies install"
  if printf '%s\n' "${needed[@]}" | grep -qxF "$(basename "$f")" && [[ -z ${is_listed[$pkg]:-} ]]; then
    problem "the binary links $(basename "$f") directly; add its package $pkg to scripts/lib/packages-runtime.txt"
  fi
done
for p in "${listed[@]}"; do
  if [[ -z ${used[$p]:-} ]] && ! grep -qE "^${p}[[:space:]]+#[[:space:]]*extra" "$runtime_list"; then
    problem "scripts/lib/packages-runtime.txt lists $p, but the binary links no library of it (mark it '# extra: why' or drop it)"
  fi
done
((fail)) || ok "link closure: ${#libs[@]} libraries from ldd (${#needed[@]} direct) in ${#used[@]} packages, all installed by the ${#listed[@]} listed ones"

# --- 3. the image -----------------------------------------------------------------------------------
if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
  echo "image-test: installing podman and runc (Debian packages; no image is pulled)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends podman runc >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends podman runc >/dev/null; }
fi

work=$(mktemp -d /tmp/pgsplit-image-XXXXXX)
chmod 755 "$work"
cluster=""
podman_args=(--root "$work/store" --runroot "$work/run" --storage-driver vfs --runtime runc
  --cgroup-manager cgroupfs --events-backend none)
cleanup() {
  podman "${podman_args[@]}" rmi -af >/dev/null 2>&1 || true
  if [[ -n $cluster ]]; then "$root/scripts/pg-cluster.sh" destroy "$cluster" >/dev/null 2>&1 || true; fi
  if [[ ${PGSPLIT_IMAGE_TEST_KEEP:-0} != 1 ]]; then rm -rf "$work"; fi
}
trap cleanup EXIT
# This sandbox's kernel refuses setrlimit from the OCI runtime; podman's default ulimits are dropped.
printf '[containers]\ndefault_ulimits = []\n' >"$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf

rootfs=$work/ctx/rootfs
mkdir -p "$rootfs"/{usr/bin,usr/lib,usr/lib64,usr/local/bin,etc/ssl/certs,tmp,home/pgsplit}
ln -s usr/lib "$rootfs/lib"
ln -s usr/lib64 "$rootfs/lib64"
ln -s usr/bin "$rootfs/bin"
chmod 1777 "$rootfs/tmp"
strip --strip-debug -o "$rootfs/usr/local/bin/pgsplit" "$binary"
for f in "${libs[@]}"; do
  dest=$rootfs/usr${f#/usr}
  mkdir -p "$(dirname "$dest")"
  cp -L "$f" "$dest"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\npgsplit:x:%s:%s::/home/pgsplit:/usr/sbin/nologin\n' \
  "$uid" "$uid" >"$rootfs/etc/passwd"
printf 'root:x:0:\npgsplit:x:%s:\n' "$uid" >"$rootfs/etc/group"
chown "$uid:$uid" "$rootfs/home/pgsplit"
{
  echo "FROM scratch"
  echo "COPY rootfs/ /"
  echo "ENV PATH=/usr/local/bin:/usr/bin"
  grep -E '^(WORKDIR|USER|ENTRYPOINT|CMD) ' <<<"$runtime_stage"
} >"$work/ctx/Containerfile"
if ! podman "${podman_args[@]}" build --pull=never --network=none -q -t localhost/pgsplit:image-test \
  -f "$work/ctx/Containerfile" "$work/ctx" >"$work/build.log" 2>&1; then
  cat "$work/build.log" >&2
  problem "podman build from scratch failed"
  exit 1
fi
config=$(podman "${podman_args[@]}" image inspect --format '{{.Config.User}} {{json .Config.Entrypoint}}' \
  localhost/pgsplit:image-test)
[[ $config == "$uid:$uid [\"pgsplit\"]" ]] || problem "the image's config is '$config'"
size=$(du -sm "$rootfs" | cut -f1)
ok "image built from scratch offline ($size MiB rootfs: the binary, ${#libs[@]} libraries, the CA bundle)"

# Runs the image; prints stdout+stderr; returns the container's exit code.
run_image() {
  podman "${podman_args[@]}" run --rm --network=none "$@" 2>&1
}

if out=$(run_image localhost/pgsplit:image-test) && grep -qE '^ +migrate ' <<<"$out"; then
  ok "the default CMD (--help) exits 0"
else
  problem "the default CMD failed: $(head -5 <<<"$out")"
fi
if out=$(run_image localhost/pgsplit:image-test --version) && [[ $out == "pgsplit "* ]]; then
  ok "--version: $out"
else
  problem "--version failed: $out"
fi

# A real command over the wire: the cluster's unix socket mounted in, the database made for this run.
if [[ -n ${PGSPLIT_TEST_PGHOST:-} && -n ${PGSPLIT_TEST_PGPORT:-} ]]; then
  pghost=$PGSPLIT_TEST_PGHOST pgport=$PGSPLIT_TEST_PGPORT
else
  cluster=$work/pg
  read -r pghost pgport < <("$root/scripts/pg-cluster.sh" start "$cluster")
fi
db=pgsplit_image_test_$$
psql -X -q -h "$pghost" -p "$pgport" -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null
dsn="host=/pgsock port=$pgport user=postgres dbname=$db"
pg_run() { run_image -v "$pghost:/pgsock" -e POSTGRES_DSN="$dsn" localhost/pgsplit:image-test "$@"; }
if out=$(pg_run migrate) && out2=$(pg_run migrate status --json) && grep -q '"current_version"' <<<"$out2"; then
  ok "migrate and migrate status in the image: $(grep -oE '"current_version": *"[0-9]+"' <<<"$out2")"
else
  problem "migrate in the image failed: $(tail -5 <<<"$out") $(tail -5 <<<"${out2:-}")"
fi
owner=$(psql -X -At -h "$pghost" -p "$pgport" -U postgres -d "$db" \
  -c "SELECT count(*) FROM public.schema_migrations" 2>/dev/null || echo 0)
[[ $owner -ge 1 ]] || problem "the image's migrate recorded nothing in schema_migrations"
psql -X -q -h "$pghost" -p "$pgport" -U postgres -d postgres -c "DROP DATABASE $db" >/dev/null || true

# The Delta/Parquet path (snappy, zstd, thrift...) on a fixture table, mounted read-only.
table=$root/tests/fixtures/out/delta/ranking_signal
if [[ -d $table/_delta_log ]]; then
  if out=$(run_image -v "$table:/data/ranking_signal:ro" localhost/pgsplit:image-test inspect delta /data/ranking_signal); then
    ok "inspect delta on the fixture table in the image"
  else
    problem "inspect delta in the image failed: $(tail -5 <<<"$out")"
  fi
else
  problem "no fixture table at $table (run scripts/fixtures.sh)"
fi

# Not root: a file only root may read is refused (root in the container would read it).
mkdir -p "$work/private"
echo "log: {format: json}" >"$work/private/pgsplit.yaml"
chmod 600 "$work/private/pgsplit.yaml"
if out=$(run_image -v "$work/private:/private:ro" localhost/pgsplit:image-test --config /private/pgsplit.yaml migrate status); then
  problem "pgsplit in the image read a root-only file: it runs as root ($out)"
elif grep -qi 'permission denied\|cannot be read' <<<"$out"; then
  ok "runs as uid $uid: a root-only config file is refused ($(head -1 <<<"$out"))"
else
  problem "the root-only file check failed for another reason: $out"
fi

if ((fail)); then
  echo "image-test: failed" >&2
  exit 1
fi
echo "image-test: passed (not proven here: docker build of the Dockerfile itself, the slim image's apt resolution, TLS to a public CA)"
