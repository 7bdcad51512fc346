#!/usr/bin/env bash
# The whole test suite on SQLite and on a real PostgreSQL started (and stopped) here.
# With CI=true the PostgreSQL and browser tests must run: failing to start the server or to
# install Chromium fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
pgdir=$(mktemp -d /tmp/qgov-pg.XXXXXX)
cleanup() { bash scripts/postgres.sh stop "$pgdir" || true; rm -rf "$pgdir"; }
trap cleanup EXIT
if url=$(bash scripts/postgres.sh start "$pgdir"); then
  export QGOV_TEST_PG_URL="$url"
  echo "PostgreSQL test server: $url (pid $(cat "$pgdir/server.pid"))"
elif [ "${CI:-}" = "true" ]; then
  echo "error: PostgreSQL could not be started; its tests must run in CI" >&2
  exit 1
else
  echo "warning: PostgreSQL not available; its tests will be skipped" >&2
fi
if [ "${CI:-}" = "true" ]; then
  bash scripts/chromium.sh  # the audit report's and the web interface's browser tests must run in CI
  bash scripts/tools.sh     # jq and curl: the README tour's test must run in CI
fi
# Two workers (pytest-xdist): each test has its own database, so they run side by side.
.venv/bin/python -m pytest -n "${QGOV_TEST_WORKERS:-auto}" "$@"
