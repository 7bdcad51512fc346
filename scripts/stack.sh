#!/usr/bin/env bash
# The lab stack on one machine: PostgreSQL, an S3-compatible store (moto's server), a Prefect
# server with a process work pool and one worker, and `qgov serve` (docs/adr/0036).
#   scripts/stack.sh up DIR      -> starts everything under DIR; writes DIR/stack.env and DIR/client.env
#   scripts/stack.sh down DIR    -> stops every process it started, each by its recorded PID
#   scripts/stack.sh status DIR  -> one line per process: running or stopped
# Each process is started with setsid, so its PID is also its process group: `down` signals
# the group (a Prefect worker's flow runs, the server's children) and waits for it to end.
# Settings: QGOV_PYTHON (default .venv/bin/python, else python3), QGOV_STACK_ADMIN (the first
# admin's name, default the OS account), QGOV_WORK_POOL (default qgov-lab).
set -Eeuo pipefail
cmd=${1:?usage: stack.sh up|down|status DIR}
dir=${2:?usage: stack.sh up|down|status DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
[ "$cmd" = up ] && mkdir -p "$dir"
dir=$(cd "$dir" 2>/dev/null && pwd || echo "$dir")  # absolute: the worker starts from the repo
py=${QGOV_PYTHON:-}
if [ -z "$py" ]; then
  if [ -x "$repo/.venv/bin/python" ]; then py="$repo/.venv/bin/python"; else py=$(command -v python3); fi
fi
pool=${QGOV_WORK_POOL:-qgov-lab}
components=(qgov-serve prefect-worker prefect-server moto)  # the order `down` stops them in

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

wait_http() {  # URL NAME PID: until URL answers, or fail naming the log
  for _ in $(seq 1 600); do
    if "$py" -c 'import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=1)' "$1" 2>/dev/null; then return 0; fi
    if ! alive "$3"; then echo "stack: $2 exited; see $dir/logs/$2.log" >&2; return 1; fi
    sleep 0.2
  done
  echo "stack: $2 did not answer on $1 within 120 s; see $dir/logs/$2.log" >&2; return 1
}

start() {  # NAME CMD...: in its own session, output to DIR/logs/NAME.log, PID to DIR/pids/NAME
  local name=$1; shift
  setsid "$@" </dev/null >"$dir/logs/$name.log" 2>&1 &
  echo $! >"$dir/pids/$name"
}

stop_one() {  # NAME: TERM to its process group, KILL after 15 s
  local file="$dir/pids/$1" pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if alive "$pid"; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  kill -KILL -- "-$pid" 2>/dev/null || true  # whatever of its group outlived it
  rm -f "$file"
}

up() {
  if [ -d "$dir/pids" ] && [ -n "$(ls -A "$dir/pids" 2>/dev/null)" ]; then
    echo "stack: already started in $dir (run: scripts/stack.sh down $dir)" >&2; exit 2
  fi
  if [ -e "$dir/pg" ] || [ -e "$dir/qgov" ]; then  # moto kept the objects in memory: they are gone
    echo "stack: $dir holds a stopped stack whose S3 objects are gone; remove it (rm -rf $dir) or use another DIR" >&2
    exit 2
  fi
  mkdir -p "$dir/logs" "$dir/pids"
  chmod 711 "$dir"  # PostgreSQL runs as 'postgres' when we are root: it must reach DIR/pg
  chmod 700 "$dir/logs" "$dir/pids"
  trap 'echo "stack: start failed; stopping what was started" >&2; down' ERR
  local db_url moto_port prefect_port serve_port
  db_url=$(bash "$repo/scripts/postgres.sh" start "$dir/pg")
  cp "$dir/pg/server.pid" "$dir/pids/postgres"

  export AWS_ACCESS_KEY_ID=qgov-lab AWS_SECRET_ACCESS_KEY=qgov-lab-secret AWS_DEFAULT_REGION=us-east-1
  moto_port=$(free_port)
  start moto "$py" -m moto.server -H 127.0.0.1 -p "$moto_port"
  wait_http "http://127.0.0.1:$moto_port/" moto "$(cat "$dir/pids/moto")"
  "$py" -c 'import sys, boto3; boto3.client("s3", endpoint_url=sys.argv[1]).create_bucket(Bucket="qgov")' \
    "http://127.0.0.1:$moto_port"

  prefect_port=$(free_port)
  export PREFECT_HOME="$dir/prefect" PREFECT_API_URL="http://127.0.0.1:$prefect_port/api"
  export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 PREFECT_UI_ENABLED=false
  mkdir -p "$PREFECT_HOME" && chmod 700 "$PREFECT_HOME"  # its database holds flow parameters
  start prefect-server "$py" -m prefect server start --host 127.0.0.1 --port "$prefect_port"
  wait_http "$PREFECT_API_URL/health" prefect-server "$(cat "$dir/pids/prefect-server")"
  "$py" -m prefect --no-prompt work-pool create "$pool" --type process --overwrite >"$dir/logs/work-pool.log" 2>&1

  export QGOV_HOME="$dir/qgov" QGOV_DATABASE_URL="$db_url" QGOV_STORAGE_URL="s3://qgov/store"
  export QGOV_S3_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
  export QGOV_WORK_POOL="$pool" PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
  if [ ! -d "$QGOV_HOME" ]; then
    "$py" -m governance.cli.main init --name "${QGOV_STACK_ADMIN:-$(id -un)}" >"$dir/logs/init.log" 2>&1 \
      || { echo "stack: qgov init failed; see $dir/logs/init.log" >&2; false; }
  fi
  (cd "$repo" && "$py" -m flows.deployments "$pool" >"$dir/logs/deployments.log" 2>&1) \
    || { echo "stack: registering the deployments failed; see $dir/logs/deployments.log" >&2; false; }
  # The worker reads the store's settings from this environment, never from a flow's parameters.
  (cd "$repo" && start prefect-worker "$py" -m prefect worker start --pool "$pool" --type process \
    --name "$pool-worker-1" --limit 2)  # two flow runs at a time: each is a Python process

  serve_port=$(free_port)
  start qgov-serve "$py" -m governance.cli.main serve --host 127.0.0.1 --port "$serve_port"
  wait_http "http://127.0.0.1:$serve_port/api/v1/healthz" qgov-serve "$(cat "$dir/pids/qgov-serve")"
  trap - ERR

  (umask 077 && cat >"$dir/stack.env" <<EOF
# source this on the stack's machine: the store, its object store and the Prefect work pool
export QGOV_HOME='$QGOV_HOME'
export QGOV_DATABASE_URL='$QGOV_DATABASE_URL'
export QGOV_STORAGE_URL='$QGOV_STORAGE_URL'
export QGOV_S3_ENDPOINT_URL='$QGOV_S3_ENDPOINT_URL'
export AWS_ENDPOINT_URL='$AWS_ENDPOINT_URL'
export AWS_ACCESS_KEY_ID='$AWS_ACCESS_KEY_ID'
export AWS_SECRET_ACCESS_KEY='$AWS_SECRET_ACCESS_KEY'
export AWS_DEFAULT_REGION='$AWS_DEFAULT_REGION'
export PREFECT_API_URL='$PREFECT_API_URL'
export QGOV_WORK_POOL='$QGOV_WORK_POOL'
# the API (qgov serve) is http://127.0.0.1:$serve_port; client.env makes the CLI its client
EOF
  )
  local token
  token=$("$py" -m governance.cli.main token create "${QGOV_STACK_ADMIN:-$(id -un)}" --json \
    | "$py" -c 'import json, sys; print(json.load(sys.stdin)["token"])')
  (umask 077 && printf "# source this to use the stack's API as its client (the admin's token)\nexport QGOV_URL='%s'\nexport QGOV_TOKEN='%s'\n" \
    "http://127.0.0.1:$serve_port" "$token" >"$dir/client.env")
  echo "stack up in $dir: source $dir/stack.env (work pool $pool; API http://127.0.0.1:$serve_port, client.env)"
}

down() {
  for name in "${components[@]}"; do stop_one "$name"; done
  if [ -f "$dir/pids/postgres" ]; then bash "$repo/scripts/postgres.sh" stop "$dir/pg"; rm -f "$dir/pids/postgres"; fi
}

status() {
  local any=1
  for name in "${components[@]}" postgres; do
    if [ -f "$dir/pids/$name" ]; then
      pid=$(cat "$dir/pids/$name")
      if alive "$pid"; then echo "$name running (pid $pid)"; any=0; else echo "$name stopped (pid $pid)"; fi
    else
      echo "$name not started"
    fi
  done
  return $any
}

case "$cmd" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: stack.sh up|down|status DIR" >&2; exit 2 ;;
esac
