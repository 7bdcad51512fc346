"""Scale benchmark: N ingest workers on PostgreSQL + S3 while clients ask for access and traces.

    .venv/bin/python benchmarks/scale.py                       # full: 100,000 files, 1/2/4 workers, 3 runs
    .venv/bin/python benchmarks/scale.py --artifacts 5000      # what a shared 2-core machine finishes

Prints exactly one JSON document on stdout; progress goes to stderr.

Set-up: a throw-away PostgreSQL (``scripts/postgres.sh``) and moto's S3 server (``python -m
moto.server``, as tests/integration/test_s3_backend.py does), both stopped by PID at the end.
``--artifacts`` small random files (``--file-bytes`` each) in 4 shards of 100 directories.

Each run, for each worker count W: a fresh database and S3 prefix (``QGOV_STORAGE_URL=s3://…``,
``QGOV_S3_ENDPOINT_URL``), 200 seed artifacts the clients use, then W worker processes ingest
the 4 shards (shard k goes to worker k mod W) while ``--client-procs`` processes of
``--clients`` threads in all loop over: a what-if access check (``what_if``), an access
request (``request_access``, a write under the log's head lock) and an upstream lineage trace
(``trace_lineage``) of a seed artifact, with ``--think`` seconds between requests.

Workers are plain ``multiprocessing`` (spawn) processes calling exactly what the ingest flow's
tasks call (``plan_ingest``, ``ingest_batch`` per batch, ``finish_run``; flows/ingest.py holds
no logic of its own). A Prefect process pool would add its API server and a state round trip
per task run on the same two cores, measuring Prefect instead of the store.

Reported per W (median of the runs): throughput (artifacts/s from the common start to the last
worker's end), the time the workers and clients waited for the log's head lock
(``lineage.store.HEAD_LOCK_WAIT``: PostgreSQL ``SELECT … FOR UPDATE``), client latencies
p50/p99 per kind, and ``qgov audit verify --blobs --json`` on the store afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.api import database_url, note, percentile, postgres  # noqa: E402

SHARDS = 4
SEED_FILES = 200
BUCKET = "qgov-bench"
ADMIN, READER = "admin", "reader"
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
QUIET = {"DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "ERROR", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


# -- servers --------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def moto(scratch: Path) -> Iterator[str]:
    """moto's S3 server in its own process group, stopped by its PID."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with open(scratch / "moto.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start: see {scratch / 'moto.log'}") from None
                time.sleep(0.2)
        import boto3

        boto3.client("s3", endpoint_url=url, **_boto_kwargs()).create_bucket(Bucket=BUCKET)
        note(f"moto server pid {proc.pid} on {url}")
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _boto_kwargs() -> dict[str, str]:
    return {
        "aws_access_key_id": S3_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_ENV["AWS_SECRET_ACCESS_KEY"],
        "region_name": S3_ENV["AWS_DEFAULT_REGION"],
    }


# -- the store --------------------------------------------------------------------------
def make_files(root: Path, count: int, size: int) -> list[Path]:
    """``count`` files of random bytes (all distinct) in SHARDS shards of 100 directories."""
    shards = [root / f"shard{k}" for k in range(SHARDS)]
    for i in range(count):
        d = shards[i % SHARDS] / f"d{i % 100:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:06d}.bin").write_bytes(os.urandom(size))
    seed = root / "seed"
    seed.mkdir()
    for i in range(SEED_FILES):
        (seed / f"s{i:04d}.bin").write_bytes(os.urandom(size))
    return shards


def _app(env: dict[str, str], user: str) -> Any:
    from governance.app import App
    from governance.config import load_settings

    return App(load_settings(env).model_copy(update={"user": user}))


def build_store(env: dict[str, str], seed: Path) -> list[str]:
    """Admin, key, the reader (a researcher), dataset 'bench' with the seed artifacts."""
    from governance.catalog import DatasetSpec, grant_initial_admin, list_artifacts, register_dataset
    from governance.db import transaction
    from governance.ingest import finish_run, ingest_batch, plan_ingest
    from governance.keys import create_key_file
    from governance.os_account import map_account, os_account
    from governance.requests import Person, register_person

    core = _app(env, ADMIN)
    create_key_file(core)
    grant_initial_admin(core)
    with transaction(core.engine) as conn:  # the CLI (audit verify) acts as the admin
        map_account(conn, ADMIN, os_account(), ADMIN)
    register_dataset(core, DatasetSpec(name="bench", owner=ADMIN, subject={"type": "none"}))
    person = Person(READER, ["US"], False, None, "US", "Lab B", date.today().isoformat())
    register_person(core, person, ["researcher"])
    plan = plan_ingest(core, seed, "bench")
    finish_run(core, plan, ingest_batch(core, plan, plan.files), datetime.now(UTC), 0)
    ids = [a.id for a in list_artifacts(core, "bench")]
    core.close()
    return ids


# -- processes ---------------------------------------------------------------------------
def worker(env: dict[str, str], shards: list[str], batch: int, ready: Any, go: Any, out: Any) -> None:
    from governance.ingest import BatchResult, finish_run, ingest_batch, plan_ingest
    from lineage.store import HEAD_LOCK_WAIT

    app = _app(env, ADMIN)
    _ = app.engine, app.blobs, app.signer
    ready.release()
    go.wait()
    HEAD_LOCK_WAIT.snapshot(reset=True)
    ingested = failed = 0
    for shard in shards:
        started = datetime.now(UTC)
        plan = plan_ingest(app, Path(shard), "bench")
        total = BatchResult()
        for files in plan.batches(max_files=batch):
            total.merge(ingest_batch(app, plan, files))
        finish_run(app, plan, total, started, 0)
        ingested += len(total.ingested)
        failed += len(total.failed) + len(total.quarantined)
    out.put({"role": "worker", "end": time.monotonic(), "ingested": ingested, "failed": failed} | _lock(HEAD_LOCK_WAIT))
    app.close()


def clients(
    env: dict[str, str], threads: int, seeds: list[str], think: float, ready: Any, go: Any, stop: Any, out: Any
) -> None:
    from governance.access_views import what_if
    from governance.provenance import trace_lineage
    from governance.requests import request_access
    from lineage.store import HEAD_LOCK_WAIT

    app = _app(env, READER)
    _ = app.engine
    requester = {"name": READER, "citizenships": ["US"], "us_permanent_resident": False, "location": "US"}
    requester |= {"affiliation": "Lab B", "training_completed_on": date.today().isoformat()}
    calls = {
        "check": lambda a: what_if(app, {"requester": requester, "item": {"artifact": a}, "destination": "US"}),
        "request": lambda a: request_access(app, [a], "benchmark", 30, "US"),
        "trace": lambda a: trace_lineage(app, a, "upstream"),
    }
    latencies: dict[str, list[float]] = {k: [] for k in calls}
    errors: dict[str, str] = {}

    def loop(n: int) -> None:
        kinds = list(calls)
        i = n
        while not stop.is_set():
            kind, artifact = kinds[i % len(kinds)], seeds[(i * 7 + n) % len(seeds)]
            t0 = time.perf_counter()
            try:
                calls[kind](artifact)
                latencies[kind].append(time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001 - counted and reported, never hidden
                errors[f"{kind}: {type(exc).__name__}"] = str(exc)[:200]
            i += 1
            stop.wait(think)

    ready.release()
    go.wait()
    HEAD_LOCK_WAIT.snapshot(reset=True)
    pool = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    out.put({"role": "clients", "latencies": latencies, "errors": errors} | _lock(HEAD_LOCK_WAIT))
    app.close()


def _lock(counter: Any) -> dict[str, float]:
    return {f"lock_{k}": v for k, v in counter.snapshot().items()}


# -- one run ------------------------------------------------------------------------------
def one_run(
    args: argparse.Namespace, pg: str, s3: str, scratch: Path, shards: list[Path], w: int, n: int
) -> dict[str, Any]:
    home = scratch / f"home-w{w}-r{n}"
    env = {
        "QGOV_HOME": str(home),
        "QGOV_DATABASE_URL": database_url("postgresql", pg, scratch),
        "QGOV_STORAGE_URL": f"s3://{BUCKET}/w{w}-r{n}-{secrets.token_hex(3)}",
        "QGOV_S3_ENDPOINT_URL": s3,
    }
    seeds = build_store(env, scratch / "files" / "seed")
    ctx = mp.get_context("spawn")
    ready, go, stop, out = ctx.Semaphore(0), ctx.Event(), ctx.Event(), ctx.Queue()
    parts = [[str(s) for k, s in enumerate(shards) if k % w == i] for i in range(w)]
    procs = [ctx.Process(target=worker, args=(env, p, args.batch, ready, go, out)) for p in parts]
    per = [args.clients // args.client_procs + (i < args.clients % args.client_procs) for i in range(args.client_procs)]
    procs += [ctx.Process(target=clients, args=(env, k, seeds, args.think, ready, go, stop, out)) for k in per]
    load_before = os.getloadavg()
    for p in procs:
        p.start()
    for _ in procs:
        if not ready.acquire(timeout=300):
            raise RuntimeError("a benchmark process did not start")
    start = time.monotonic()
    go.set()
    results = []
    while len([r for r in results if r["role"] == "worker"]) < w:
        results.append(out.get(timeout=args.timeout))
    end = max(r["end"] for r in results if r["role"] == "worker")
    stop.set()
    while len(results) < len(procs):
        results.append(out.get(timeout=300))
    for p in procs:
        p.join(timeout=60)
    load_after = os.getloadavg()
    work = [r for r in results if r["role"] == "worker"]
    cli = [r for r in results if r["role"] == "clients"]
    ingested = sum(r["ingested"] for r in work)
    elapsed = end - start
    lat = {k: [x for c in cli for x in c["latencies"][k]] for k in ("check", "request", "trace")}
    t0 = time.perf_counter()
    verify = subprocess.run(
        [sys.executable, "-m", "governance.cli.main", "audit", "verify", "--blobs", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    verify_s = time.perf_counter() - t0
    try:
        verdict = json.loads(verify.stdout)
    except json.JSONDecodeError:
        verdict = {"stdout": verify.stdout[-500:], "stderr": verify.stderr[-500:]}
    row = {
        "workers": w,
        "run": n,
        "ingested": ingested,
        "failed_or_quarantined": sum(r["failed"] for r in work),
        "seconds": round(elapsed, 2),
        "artifacts_per_s": round(ingested / elapsed, 1),
        "worker_lock_wait_s": round(sum(r["lock_wait_s"] for r in work), 2),
        "worker_lock_wait_share": round(sum(r["lock_wait_s"] for r in work) / (elapsed * w), 3),
        "worker_longest_lock_wait_s": round(max(r["lock_longest_wait_s"] for r in work), 3),
        "worker_locks": sum(r["lock_locks"] for r in work),
        "client_lock_wait_s": round(sum(r["lock_wait_s"] for r in cli), 2),
        "client_longest_lock_wait_s": round(max(r["lock_longest_wait_s"] for r in cli), 3),
        "client_requests": {k: len(v) for k, v in lat.items()},
        "client_latency_ms": {
            k: {"p50": round(percentile(v, 0.5) * 1000, 1), "p99": round(percentile(v, 0.99) * 1000, 1)}
            for k, v in lat.items()
            if v
        },
        "client_errors": {k: v for c in cli for k, v in c["errors"].items()},
        "audit_verify_blobs": {"exit": verify.returncode, "seconds": round(verify_s, 1), "result": verdict},
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
    }
    note(
        f"W={w} run {n}: {row['artifacts_per_s']} artifacts/s, lock wait {row['worker_lock_wait_s']} s, "
        f"audit exit {verify.returncode}"
    )
    note("row " + json.dumps(row))  # each run's figures as they come (a partial run still tells)
    shutil.rmtree(home, ignore_errors=True)
    return row


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    med = statistics.median
    out: dict[str, Any] = {}
    for w in sorted({r["workers"] for r in rows}):
        mine = [r for r in rows if r["workers"] == w]
        out[str(w)] = {
            "runs": len(mine),
            "artifacts_per_s_median": med(r["artifacts_per_s"] for r in mine),
            "worker_lock_wait_share_median": med(r["worker_lock_wait_share"] for r in mine),
            "worker_lock_wait_s_median": med(r["worker_lock_wait_s"] for r in mine),
            "client_latency_ms_median": {
                k: {
                    q: med(r["client_latency_ms"][k][q] for r in mine if k in r["client_latency_ms"])
                    for q in ("p50", "p99")
                }
                for k in ("check", "request", "trace")
            },
            "audit_verify_blobs_all_ok": all(r["audit_verify_blobs"]["exit"] == 0 for r in mine),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=int, default=100_000)
    parser.add_argument("--file-bytes", type=int, default=256)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--client-procs", type=int, default=4)
    parser.add_argument("--think", type=float, default=0.1, help="seconds each client waits between requests")
    parser.add_argument("--batch", type=int, default=1000, help="files per ingest batch (the flow's default)")
    parser.add_argument("--pg-url", help="an existing PostgreSQL server instead of starting one")
    parser.add_argument("--timeout", type=float, default=7200)
    args = parser.parse_args()
    os.environ.update(S3_ENV | QUIET)
    scratch = Path(tempfile.mkdtemp(prefix="qgov-bench-scale-"))
    pg_parent = Path(tempfile.mkdtemp(prefix="qgov-bench-pg-"))
    pg_parent.chmod(0o755)  # as root, the server runs as 'postgres', which must reach pg_parent/pg
    load_start = os.getloadavg()
    rows: list[dict[str, Any]] = []
    try:
        t0 = time.perf_counter()
        shards = make_files(scratch / "files", args.artifacts, args.file_bytes)
        note(f"{args.artifacts} files in {time.perf_counter() - t0:.1f} s")
        with postgres(args.pg_url, pg_parent) as pg, moto(scratch) as s3:
            if pg is None:
                raise SystemExit("PostgreSQL could not be started (scripts/postgres.sh)")
            for n in range(args.runs):
                for w in [int(x) for x in args.workers.split(",")]:
                    rows.append(one_run(args, pg, s3, scratch, shards, w, n))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(pg_parent, ignore_errors=True)
    report = {
        "benchmark": "scale",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "artifacts": args.artifacts,
        "file_bytes": args.file_bytes,
        "batch_files": args.batch,
        "clients": {"threads": args.clients, "processes": args.client_procs, "think_s": args.think},
        "workers_as": "multiprocessing (spawn) processes calling plan_ingest / ingest_batch / finish_run",
        "database": "PostgreSQL (scripts/postgres.sh, fsync=off)",
        "storage": "moto S3 server over HTTP (s3fs)",
        "load_average_before": [round(x, 2) for x in load_start],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "summary": summarise(rows),
        "runs": rows,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
