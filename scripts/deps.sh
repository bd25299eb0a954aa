#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need.
# Idempotent: quiet when everything is already present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates openssl
  clang clang-format libclang-rt-14-dev
  libpq-dev postgresql-15 postgresql-client-15
  libcli11-dev libfmt-dev libyaml-cpp-dev nlohmann-json3-dev doctest-dev
  libssl-dev zlib1g-dev libsnappy-dev libzstd-dev liblz4-dev libbrotli-dev
  libthrift-dev thrift-compiler libboost-dev libcurl4-openssl-dev
  nodejs npm
  zsh fish groff-base
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# The machine may carry its own node/npm outside dpkg; accept those.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do
    [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p")
  done
  missing=("${filtered[@]}")
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
