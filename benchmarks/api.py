"""API benchmark: `qgov serve` under 32 concurrent clients against the same service calls in-process.

    .venv/bin/python benchmarks/api.py                 # SQLite, and PostgreSQL if it can be started
    .venv/bin/python benchmarks/api.py --quick         # smaller: 16 MiB download, fewer requests
    .venv/bin/python benchmarks/api.py --pg-url URL    # use this PostgreSQL server instead of starting one

Prints exactly one JSON document on stdout; progress goes to stderr.

For each database:
  whoami        token authentication + principal, N requests from 32 concurrent clients
                (httpx, asyncio); in-process: ``authenticate_token`` from 32 threads;
  access check  a what-if decision for a registered artifact (POST /api/v1/access-checks);
                in-process: ``what_if`` from 32 threads;
  download      32 concurrent downloads of a 100 MiB artifact under a grant (each verified
                whole, logged, then streamed); in-process: ``open_content`` consumed by
                32 threads;
  one download  one client writes the 100 MiB to a file and fsyncs it, against
                ``content.fetch`` (what ``qgov fetch`` runs: verify, decrypt to a 0600 temp
                file, fsync, rename) in-process: the rate ratio (target >= 0.8).
Each figure is the median of 3 runs. The load generator shares the machine's two cores with
the server, as a lab's own scripts would; the load average is recorded before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QGOV = str(Path(sys.executable).parent / "qgov")
CLIENTS = 32
RUNS = 3
TARGET_DOWNLOAD_RATIO = 0.8


def note(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@contextlib.contextmanager
def postgres(url: str | None, scratch: Path) -> Iterator[str | None]:
    if url:
        yield url
        return
    pgdir = scratch / "pg"
    started = subprocess.run(
        ["bash", str(ROOT / "scripts/postgres.sh"), "start", str(pgdir)], capture_output=True, text=True, check=False
    )
    if started.returncode != 0:
        note(f"PostgreSQL not started ({started.stderr.strip()[-200:]}); SQLite only")
        yield None
        return
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run(["bash", str(ROOT / "scripts/postgres.sh"), "stop", str(pgdir)], check=False)


def database_url(kind: str, base: str | None, scratch: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{scratch / 'qgov.db'}"
    import psycopg

    assert base is not None
    name = f"qgov_bench_{secrets.token_hex(4)}"
    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + f"/{name}"


def build_store(env: dict[str, str], scratch: Path, size: int) -> dict[str, Any]:
    from governance.access_views import what_if  # noqa: F401 - imported here so the timing excludes it
    from governance.app import App
    from governance.catalog import DatasetSpec, grant_initial_admin, list_artifacts, register_dataset
    from governance.config import load_settings
    from governance.identity import create_token
    from governance.ingest import finish_run, ingest_batch, plan_ingest
    from governance.keys import create_key_file
    from governance.requests import Person, register_person, request_access

    core = App(load_settings(env).model_copy(update={"user": "admin"}))
    create_key_file(core)
    grant_initial_admin(core)
    folder = scratch / "data"
    folder.mkdir()
    with open(folder / "big.bin", "wb") as out:
        left = size
        while left:
            step = min(left, 8 << 20)
            out.write(os.urandom(step))
            left -= step
    register_dataset(core, DatasetSpec(name="bench", owner="bench", subject={"type": "none"}))
    plan = plan_ingest(core, folder, "bench")
    finish_run(core, plan, ingest_batch(core, plan, plan.files), datetime.now(UTC), 0)
    artifact = list_artifacts(core, "bench")[0].id
    register_person(core, Person("bench", ["US"], False, None, "US", "Lab B", date.today().isoformat()), ["researcher"])
    bench = core.acting_for("bench")
    assert request_access(bench, [artifact], "benchmark", 30, "US")["status"] == "granted"
    token = create_token(core, "bench", 30).token
    request = {
        "requester": {
            "name": "Li Wei",
            "citizenships": ["CN"],
            "us_permanent_resident": False,
            "location": "US",
            "affiliation": "University of Maryland",
            "training_completed_on": "2026-05-01",
        },
        "item": {"artifact": artifact},
        "purpose": "benchmark",
        "destination": "US",
    }
    return {"core": core, "bench": bench, "artifact": artifact, "token": token, "request": request}


async def _http_load(base: str, token: str, method: str, path: str, body: Any, total: int) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    failures = 0
    size = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600, limits=limits) as client:

        async def worker() -> None:
            nonlocal failures, size
            while True:
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                async with client.stream(method, path, json=body) as resp:
                    async for chunk in resp.aiter_raw(1 << 20):
                        size += len(chunk)
                    if resp.status_code >= 300:
                        failures += 1
                latencies.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        wall = time.perf_counter() - t0
    return {"wall": wall, "latencies": latencies, "failures": failures, "bytes": size}


def _inproc_load(call: Callable[[], int], total: int) -> dict[str, Any]:
    latencies: list[float] = []

    def one(_: int) -> int:
        t0 = time.perf_counter()
        n = call()
        latencies.append(time.perf_counter() - t0)
        return n

    t0 = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        size = sum(pool.map(one, range(total)))
    return {"wall": time.perf_counter() - t0, "latencies": latencies, "failures": 0, "bytes": size}


def summarise(runs: list[dict[str, Any]], total: int, bulk: bool) -> dict[str, Any]:
    rates = [total / r["wall"] for r in runs]
    best = sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]  # the median run
    out = {
        "requests": total,
        "requests_per_s": round(statistics.median(rates), 1),
        "p50_ms": round(percentile(best["latencies"], 0.5) * 1000, 2),
        "p99_ms": round(percentile(best["latencies"], 0.99) * 1000, 2),
        "failures": sum(r["failures"] for r in runs),
    }
    if bulk:
        out["MiB_per_s"] = round(statistics.median(r["bytes"] / r["wall"] for r in runs) / (1 << 20), 1)
    return out


def measure(kind: str, pg_base: str | None, scratch: Path, size: int, small: int, checks: int) -> dict[str, Any]:
    from governance.access_views import what_if
    from governance.content import fetch, open_content
    from governance.identity import authenticate_token

    scratch.mkdir()
    env = {
        "QGOV_HOME": str(scratch / "home"),
        "QGOV_DATABASE_URL": database_url(kind, pg_base, scratch),
    }
    note(f"{kind}: building the store ({size >> 20} MiB artifact)")
    store = build_store(env, scratch, size)
    core, bench, artifact, token, request = (store[k] for k in ("core", "bench", "artifact", "token", "request"))
    from governance.serve_process import serving

    with serving(env) as served:
        base = served.base
        result: dict[str, Any] = {}
        plan: list[tuple[str, str, str, Any, int, Callable[[], int]]] = [
            ("whoami", "GET", "/api/v1/whoami", None, small, lambda: len(authenticate_token(core, token).name)),
            (
                "access_check",
                "POST",
                "/api/v1/access-checks",
                request,
                checks,
                lambda: len(what_if(bench, request)["outcome"]),
            ),
            (
                "download_32",
                "GET",
                f"/api/v1/artifacts/{artifact}/content",
                None,
                CLIENTS,
                lambda: sum(len(c) for c in open_content(bench, artifact, channel="benchmark").chunks),
            ),
        ]
        for name, method, path, body, total, call in plan:
            http_runs, inproc_runs = [], []
            for run in range(RUNS):
                note(f"{kind}: {name} run {run + 1}/{RUNS} ({total} requests)")
                http_runs.append(asyncio.run(_http_load(base, token, method, path, body, total)))
                inproc_runs.append(_inproc_load(call, total))
            bulk = name.startswith("download")
            http, inproc = summarise(http_runs, total, bulk), summarise(inproc_runs, total, bulk)
            result[name] = {
                "api": http,
                "in_process": inproc,
                "api_over_in_process_throughput": round(http["requests_per_s"] / inproc["requests_per_s"], 3),
            }
        result["one_download_vs_fetch"] = one_download(base, token, artifact, bench, scratch, fetch)
    core.close()
    return result


def one_download(base: str, token: str, artifact: str, bench: Any, scratch: Path, fetch: Any) -> dict[str, Any]:
    import httpx

    api_rates, fetch_rates = [], []
    for run in range(RUNS):
        note(f"one download vs fetch, run {run + 1}/{RUNS}")
        out = scratch / f"api-{run}.bin"
        t0 = time.perf_counter()
        size = 0
        with (
            httpx.stream(
                "GET",
                f"{base}/api/v1/artifacts/{artifact}/content",
                headers={"Authorization": f"Bearer {token}"},
                timeout=600,
            ) as resp,
            open(out, "wb") as fh,
        ):
            for chunk in resp.iter_raw(1 << 20):
                fh.write(chunk)
                size += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        api_rates.append(size / (time.perf_counter() - t0))
        out.unlink()
        target = scratch / f"fetch-{run}.bin"
        t0 = time.perf_counter()
        fetched = fetch(bench, artifact, target)
        fetch_rates.append(fetched.size / (time.perf_counter() - t0))
        target.unlink()
    api, local = statistics.median(api_rates), statistics.median(fetch_rates)
    return {
        "api_MiB_per_s": round(api / (1 << 20), 1),
        "fetch_MiB_per_s": round(local / (1 << 20), 1),
        "ratio": round(api / local, 3),
        "target_ratio": TARGET_DOWNLOAD_RATIO,
        "met": api / local >= TARGET_DOWNLOAD_RATIO,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="16 MiB download, fewer requests")
    parser.add_argument("--pg-url", help="an existing PostgreSQL server (SQLAlchemy URL of its postgres database)")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    size = (16 if args.quick else 100) << 20
    small, checks = (320, 160) if args.quick else (3200, 640)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    report: dict[str, Any] = {
        "benchmark": "api",
        "started_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_before": os.getloadavg()},
        "clients": CLIENTS,
        "runs": RUNS,
        "artifact_MiB": size >> 20,
    }
    scratch = Path(tempfile.mkdtemp(prefix="qgov-bench-api-"))
    try:
        report["sqlite"] = measure("sqlite", None, scratch / "sqlite", size, small, checks)
        if not args.sqlite_only:
            with postgres(args.pg_url, scratch) as pg:
                if pg:
                    report["postgresql"] = measure("postgresql", pg, scratch / "postgresql", size, small, checks)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report["machine"]["load_after"] = os.getloadavg()
    print(json.dumps(report, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
