#!/usr/bin/env bash
# Make sure headless Chromium is at /usr/bin/chromium for the audit report's browser tests
# (tests/integration/test_report_browser.py). When it is missing, Debian's `chromium` is
# installed with apt-get; the package lists are refreshed only if the plain install fails.
# Quiet when all goes well; exits 1 with apt-get's last words when it cannot install.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "error: /usr/bin/chromium is missing and cannot be installed here (needs root and apt-get)" >&2
  exit 1
fi
echo "Chromium not found: installing it with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -qq -o DPkg::Lock::Timeout=300)  # wait for another apt-get rather than fail on its lock
log=$(mktemp /tmp/qgov-chromium.XXXXXX)
trap 'rm -f "$log"' EXIT
if ! "${apt[@]}" install -y chromium >"$log" 2>&1; then
  if ! { "${apt[@]}" update && "${apt[@]}" install -y chromium; } >"$log" 2>&1; then
    echo "error: apt-get could not install chromium:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "error: the chromium package is installed but /usr/bin/chromium is missing" >&2
  exit 1
fi
