#!/usr/bin/env bash
# Secret canary scan. Every credential the test suite hands to pgsplit is recognisable: passwords
# contain "Canary-", SAS tokens carry a "sig=" signature, the account key is Azurite's well-known
# dev key, access tokens are JWTs (and the fakes' ones contain "Canary-" too), and a secret pgsplit generates (provision's passwords) is registered by the test that
# learns it, one per line in a file named *.secrets under a scanned directory. This scans what the
# run left behind (captured stdout/stderr of every child process, the PostgreSQL server log written
# with log_statement=all, the fake az argv records, the suite logs) and fails when any of them shows
# up. Three exemptions, each exactly the secret's own occurrence and nothing else on the line:
#   - the admin password as the `"--admin-password=SECRET"` argument of `az postgres flexible-server
#     create` (SPEC §6; az has no other way in);
#   - SECRET in a GitHub Actions line that is exactly `::add-mask::SECRET` (consumed by the runner,
#     never displayed; it is what makes the runner mask the secret everywhere else);
#   - the password field of a DSN (`://user:SECRET@`) on the stdout of a command run with
#     `--emit-secrets`, whose purpose is to print the DSNs with their passwords (SPEC §6).
#
#   scripts/canary-scan.sh [--min-files N] [--min-bytes N] PATH...
#
# Files or directories (searched recursively). *.argv files (the command lines the tests ran, i.e.
# inputs) and *.secrets files are not scanned. Fewer than --min-files files or --min-bytes bytes
# scanned is a failure (a scan of nothing proves nothing). Prints one summary line: files, bytes,
# allowed occurrences, leaks; each leak is listed with the secret masked.
# Exit 0 when clean, 1 on a leak or below the floor, 2 on bad usage.
set -euo pipefail

min_files=1
min_bytes=1
while (($# > 0)); do
  case $1 in
  --min-files) min_files=$2; shift 2 ;;
  --min-bytes) min_bytes=$2; shift 2 ;;
  *) break ;;
  esac
done
(($# > 0)) || { echo "usage: $0 [--min-files N] [--min-bytes N] PATH..." >&2; exit 2; }
for path in "$@"; do
  [[ -e $path ]] || { echo "canary-scan: $path does not exist" >&2; exit 2; }
done

# Registered secrets become alternatives of the password pattern; they must be plain tokens.
registered=""
nregistered=0
while IFS= read -r -d '' f; do
  while IFS= read -r s || [[ -n $s ]]; do
    [[ -z $s ]] && continue
    if [[ ! $s =~ ^[A-Za-z0-9_.-]{8,}$ ]]; then
      echo "canary-scan: $f registers a secret that is not a plain token of 8+ characters" >&2
      exit 2
    fi
    registered+="|$s"
    nregistered=$((nregistered + 1))
  done <"$f"
done < <(find "$@" -type f -name '*.secrets' -print0)

password_re="([A-Za-z0-9_.-]*Canary-[A-Za-z0-9_.-]*$registered)"
sas_re='sig=[A-Za-z0-9%+/=]{16,}'
key_re='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq'
# An access token: a JWT (header and claims are base64url JSON, so both start with "eyJ"). Every token the
# fakes issue also carries "Canary-"; this catches one that does not (az's default, Azurite's).
jwt_re='eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}'
any_re="($password_re|$sas_re|$key_re|$jwt_re)"
token='[^[:space:]]+'

files=0
bytes=0
allowed=0
masks=0
emitted=0
hits=""

# Everything but the command lines and the registries.
while IFS= read -r -d '' f; do
  files=$((files + 1))
  bytes=$((bytes + $(stat -c %s "$f")))
  if [[ $(basename "$f") == az-argv*.jsonl ]]; then
    # `az postgres flexible-server create ... "--admin-password=SECRET"`: that argument only.
    create='^\["postgres","flexible-server","create"'
    n=$(grep -E "$create" "$f" | grep -oE "\"--admin-password=$password_re\"" | wc -l || true)
    allowed=$((allowed + n))
    exempt=(sed -E "/$create/ s/\"--admin-password=$password_re\"/\"--admin-password=<allowed>\"/g")
  elif [[ $f == *.out && -f ${f%.out}.argv ]] && grep -qE -- "(^| )--emit-secrets( |$)" "${f%.out}.argv"; then
    # `--emit-secrets` prints DSNs with their passwords on stdout: the DSN's password field only.
    n=$(grep -oaE -- "://[^:/@[:space:]\"]*:$password_re@" "$f" | wc -l || true)
    emitted=$((emitted + n))
    exempt=(sed -E "s#(://[^:/@[:space:]\"]*:)$password_re@#\\1<emitted>@#g")
  else
    exempt=(cat)
  fi
  # `::add-mask::SECRET` as the whole line: the SECRET only (anything after it is still scanned).
  n=$(grep -caE -- "^::add-mask::$token\$" "$f" || true)
  masks=$((masks + n))
  more=$("${exempt[@]}" <"$f" | grep -naE -- "$any_re" | sed -E "s/^([0-9]+):::add-mask::$token\$/\1:<mask>/" |
    grep -aE -- "$any_re" | sed "s|^|$f:|" || true)
  [[ -n $more ]] && hits+="$more"$'\n'
done < <(find "$@" -type f ! -name '*.argv' ! -name '*.secrets' -print0 | sort -z)

leaks=0
[[ -n $hits ]] && leaks=$(grep -c . <<<"$hits")
echo "canary scan: ${files} files, ${bytes} bytes scanned (floor ${min_files} files, ${min_bytes} bytes);" \
  "${nregistered} registered secret(s); ${allowed} allowed (az flexible-server create --admin-password)," \
  "${masks} ::add-mask:: line(s), ${emitted} DSN password(s) in --emit-secrets output; ${leaks} leak(s)"
status=0
if ((files < min_files || bytes < min_bytes)); then
  echo "canary scan: below the floor: the run left less behind than a real run does; nothing was proven"
  status=1
fi
if ((leaks > 0)); then
  grep . <<<"$hits" | sed -E "s/$password_re/[canary]/g; s/$sas_re/sig=[canary]/g; s/$key_re/[canary]/g; s/$jwt_re/[token]/g; s/^/  /" |
    cut -c1-300
  echo "canary scan: a credential was printed or logged; see the lines above (secrets masked)"
  status=1
fi
exit $status
