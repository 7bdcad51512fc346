#!/usr/bin/env bash
# Make sure the command-line tools the README's tour uses (jq, curl) are installed: the tour's
# test (tests/e2e/test_readme_tour.py) must run in CI, not skip. Installs Debian's packages
# with apt-get when one is missing; quiet when all is there; exits 1 when it cannot install.
set -euo pipefail
missing=()
for tool in jq curl; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "error: ${missing[*]} missing and cannot be installed here (needs root and apt-get)" >&2
  exit 1
fi
echo "installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -qq -o DPkg::Lock::Timeout=300)
log=$(mktemp /tmp/qgov-tools.XXXXXX)
trap 'rm -f "$log"' EXIT
if ! "${apt[@]}" install -y "${missing[@]}" >"$log" 2>&1; then
  if ! { "${apt[@]}" update && "${apt[@]}" install -y "${missing[@]}"; } >"$log" 2>&1; then
    echo "error: apt-get could not install ${missing[*]}:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
fi
