#!/usr/bin/env bash
# Secret canary scan. Every credential the test suite hands to pgsplit is recognisable: passwords
# contain "Canary-", SAS tokens carry a "sig=" signature, the account key is Azurite's well-known
# dev key. This scans what the run left behind (captured stdout/stderr of every child process, the
# PostgreSQL server log written with log_statement=all, the fake az argv records, the suite logs) and
# fails when any of them shows up, with two documented exceptions: the admin password given to
# `az postgres flexible-server create` as `--admin-password=…` (SPEC §6; az has no other way in), and
# GitHub Actions `::add-mask::SECRET` lines (consumed by the runner, never displayed; they are what
# makes the runner mask the secret everywhere else); and the stdout of a command run with
# `--emit-secrets`, whose whole purpose is to print the DSNs with their passwords (SPEC §6).
#
#   scripts/canary-scan.sh PATH...     files or directories (searched recursively)
#
# *.argv files (the command lines the tests ran, i.e. inputs) are not scanned. Prints one summary
# line: files, bytes, allowed occurrences, leaks; each leak is listed with the secret masked.
# Exit 0 when clean, 1 on a leak, 2 on bad usage.
set -euo pipefail

(($# > 0)) || { echo "usage: $0 PATH..." >&2; exit 2; }

password_re='[A-Za-z0-9_.-]*Canary-[A-Za-z0-9_.-]*'
sas_re='sig=[A-Za-z0-9%+/=]{16,}'
key_re='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq'
any_re="($password_re|$sas_re|$key_re)"

files=0
bytes=0
allowed=0
masks=0
emitted=0
hits=""

for path in "$@"; do
  [[ -e $path ]] || { echo "canary-scan: $path does not exist" >&2; exit 2; }
done

# Everything but the command lines; the az argv records are read separately below.
while IFS= read -r -d '' f; do
  files=$((files + 1))
  bytes=$((bytes + $(stat -c %s "$f")))
  if [[ $(basename "$f") == az-argv*.jsonl ]]; then
    # The one documented place: `az postgres flexible-server create ... --admin-password=SECRET`.
    create='^\["postgres","flexible-server","create"'
    n=$(grep -E "$create" "$f" | grep -cE "\"--admin-password=$password_re\"" || true)
    allowed=$((allowed + n))
    more=$(sed -E "/$create/ s/\"--admin-password=$password_re\"/\"--admin-password=<allowed>\"/" "$f" |
      grep -naE -- "$any_re" | sed "s|^|$f:|" || true)
  elif [[ $f == *.out && -f ${f%.out}.argv ]] && grep -qE -- "(^| )--emit-secrets( |$)" "${f%.out}.argv"; then
    # `pgsplit provision --emit-secrets` prints the DSNs with their passwords on stdout: that is what the
    # operator asked for (SPEC §6). Its stderr is still scanned.
    n=$(grep -caE -- "$any_re" "$f" || true)
    emitted=$((emitted + n))
    more=""
  else
    # `::add-mask::SECRET` is how a GitHub Actions step registers a secret for masking; the runner
    # consumes the line and never shows it. pgsplit prints one per secret before anything else.
    n=$(grep -caE -- "^::add-mask::" "$f" || true)
    masks=$((masks + n))
    more=$(grep -HnaE -- "$any_re" "$f" | grep -vE -- "^[^:]*:[0-9]+:::add-mask::" || true)
  fi
  [[ -n $more ]] && hits+="$more"$'\n'
done < <(find "$@" -type f ! -name '*.argv' -print0 | sort -z)

leaks=0
[[ -n $hits ]] && leaks=$(grep -c . <<<"$hits")
echo "canary scan: ${files} files, ${bytes} bytes scanned; ${allowed} allowed (az flexible-server create --admin-password), ${masks} ::add-mask:: line(s), ${emitted} in --emit-secrets output; ${leaks} leak(s)"
if ((leaks > 0)); then
  grep . <<<"$hits" | sed -E "s/$password_re/[canary]/g; s/$sas_re/sig=[canary]/g; s/$key_re/[canary]/g; s/^/  /" |
    cut -c1-300
  echo "canary scan: a credential was printed or logged; see the lines above (secrets masked)"
  exit 1
fi
