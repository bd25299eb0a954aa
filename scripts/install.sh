#!/usr/bin/env bash
# Builds pgsplit (Release, no tests) and installs it with what running it needs, nothing more: no
# PostgreSQL server, no test toolchain (that is scripts/deps.sh). Debian 12, as root or with sudo.
#
#   scripts/install.sh                          build deps + runtime deps, build, install to /usr/local
#   scripts/install.sh --prefix DIR             install under DIR (DIR/bin/pgsplit, DIR/share/man/man1)
#   scripts/install.sh --destdir DIR            stage the install under DIR (as DESTDIR does)
#   scripts/install.sh --runtime-deps-only      only apt-get install the runtime packages; no build
#   scripts/install.sh --deps-only              only apt-get install the build and runtime packages
#   scripts/install.sh --print-runtime-packages print the runtime package list, one a line
#   scripts/install.sh --print-build-packages   print the build package list (without the runtime one)
#   scripts/install.sh --no-apt                 build and install; install no package
#
# The package lists are scripts/lib/packages-runtime.txt and packages-build.txt: the Dockerfile and
# runbooks/examples/deploy.yml go through this script, and scripts/image-test.sh checks the runtime
# list against what the built binary links.
# Environment: PGSPLIT_BUILD_DIR (default build-install), PGSPLIT_JOBS (default nproc),
# PGSPLIT_COMMIT_ID (the commit --version shows, when the source is not a git checkout).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Prints the packages of a list file: comments and blank lines dropped.
read_list() {
  sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^[[:space:]]*$/d' "$root/scripts/lib/$1"
}

apt_install() {
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

prefix=/usr/local
destdir=""
mode=install
apt=1
while (($# > 0)); do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
    --runtime-deps-only) mode=runtime; shift ;;
    --deps-only) mode=deps; shift ;;
    --print-runtime-packages) read_list packages-runtime.txt; exit 0 ;;
    --print-build-packages) read_list packages-build.txt; exit 0 ;;
    --no-apt) apt=0; shift ;;
    -h | --help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

mapfile -t runtime < <(read_list packages-runtime.txt)
if [[ $mode == runtime ]]; then
  echo "install: runtime packages: ${runtime[*]}" >&2
  apt_install "${runtime[@]}"
  exit 0
fi

if ((apt)); then
  mapfile -t build < <(read_list packages-build.txt)
  echo "install: build and runtime packages" >&2
  apt_install "${build[@]}" "${runtime[@]}"
fi
if [[ $mode == deps ]]; then exit 0; fi

build_dir=${PGSPLIT_BUILD_DIR:-$root/build-install}
commit=()
if [[ -n ${PGSPLIT_COMMIT_ID:-} ]]; then commit=("-DPGSPLIT_COMMIT_ID=$PGSPLIT_COMMIT_ID"); fi
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DPGSPLIT_TESTS=OFF \
  -DCMAKE_INSTALL_PREFIX="$prefix" "${commit[@]}" >/dev/null
cmake --build "$build_dir" -j"${PGSPLIT_JOBS:-$(nproc)}"
DESTDIR=$destdir cmake --install "$build_dir" --strip >/dev/null
echo "install: $("$destdir$prefix/bin/pgsplit" --version) in $destdir$prefix/bin" >&2
