"""Reclassification at scale on PostgreSQL: total time, the longest transaction, a writer beside it.

    .venv/bin/python benchmarks/reclassify.py                     # 100,000 artifacts
    .venv/bin/python benchmarks/reclassify.py --artifacts 20000   # smaller
    .venv/bin/python benchmarks/reclassify.py --pg-url URL        # an existing server

Prints exactly one JSON document on stdout; progress goes to stderr.

A. ``reclassify_all`` (500 artifacts per transaction, ADR 0030) over ``--artifacts`` artifacts
   catalogued straight into the tables (benchmarks/classify.py ``insert_artifacts``), each
   decided for the first time: a decision and an ``artifact.classified`` event each. Meanwhile
   a writer thread makes an access request (``request_access``: a transaction that takes the
   log's head lock) every ``--writer-every`` seconds, and a monitor samples PostgreSQL's
   ``pg_stat_activity`` every 0.1 s for the oldest open transaction of the store. Reported:
   total time, per-batch time (commit to commit: an upper bound on each transaction and on
   its hold of the head lock), the oldest transaction seen, and the writer's latencies,
   which must stay within about one batch.
B. After a policy edit (every artifact's answer changes), a child process reclassifies again
   and is killed with SIGKILL halfway; a re-run in this process finishes the work, and every
   artifact must then have exactly one decision and one event under the new policy version.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.api import database_url, note, percentile, postgres  # noqa: E402
from benchmarks.classify import insert_artifacts  # noqa: E402

BATCH = 500
CHILD = """
import json, sys
from governance.app import App
from governance.classification import reclassify_all
from governance.config import load_settings
app = App(load_settings(json.loads(sys.argv[1])).model_copy(update={"user": "admin"}))
reclassify_all(app, after_batch=lambda b, n: print(b, n, flush=True))
"""


def _app(env: dict[str, str], user: str) -> Any:
    from governance.app import App
    from governance.config import load_settings

    return App(load_settings(env).model_copy(update={"user": user}))


def build(env: dict[str, str], scratch: Path, m: int) -> tuple[Any, str]:
    """Admin, reader, dataset 'bench' (a 120-qubit computer) with one ingested file and m catalogued."""
    from governance.catalog import DatasetSpec, grant_initial_admin, list_artifacts, register_dataset
    from governance.ingest import finish_run, ingest_batch, plan_ingest
    from governance.keys import create_key_file
    from governance.requests import Person, register_person
    from tests.integration.test_classification import CLOSED, QC_120

    app = _app(env, "admin")
    create_key_file(app)
    grant_initial_admin(app)
    ds = register_dataset(app, DatasetSpec(name="bench", owner="admin", subject=QC_120, research=CLOSED))
    register_person(app, Person("reader", ["US"], False, None, "US", "Lab B", date.today().isoformat()), ["researcher"])
    folder = scratch / "seed"
    folder.mkdir()
    (folder / "seed.csv").write_text("q\n1\n")
    plan = plan_ingest(app, folder, "bench")
    finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    seed = list_artifacts(app, "bench")[0].id
    t0 = time.perf_counter()
    insert_artifacts(app, ds.id, m)
    note(f"{m} artifacts catalogued in {time.perf_counter() - t0:.1f} s")
    return app, seed


def oldest_transactions(app: Any, stop: threading.Event, seen: list[float]) -> None:
    """Sample the age of the oldest open transaction on the store (other than this one)."""
    from sqlalchemy import text

    query = text(
        "SELECT coalesce(max(extract(epoch FROM now() - xact_start)), 0) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
    )
    with app.engine.connect() as conn:
        while not stop.is_set():
            seen.append(float(conn.execute(query).scalar_one()))
            conn.rollback()
            stop.wait(0.1)


def writer(app: Any, seed: str, every: float, stop: threading.Event, latencies: list[float], errors: list[str]) -> None:
    from governance.requests import request_access

    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            request_access(app, [seed], "benchmark", 30, "US")
            latencies.append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - reported, never hidden
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
        stop.wait(every)


def measure(app: Any, seed: str, every: float) -> dict[str, Any]:
    from governance.classification import reclassify_all

    stop = threading.Event()
    ages: list[float] = []
    lat: list[float] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=oldest_transactions, args=(app, stop, ages)),
        threading.Thread(target=writer, args=(app.acting_for("reader"), seed, every, stop, lat, errors)),
    ]
    for th in threads:
        th.start()
    marks = [time.perf_counter()]
    try:
        changes = reclassify_all(app, BATCH, after_batch=lambda b, n: marks.append(time.perf_counter()))
    finally:
        stop.set()
        for th in threads:
            th.join()
    total = marks[-1] - marks[0] if len(marks) > 1 else 0.0
    batches = [b - a for a, b in zip(marks, marks[1:], strict=False)]
    longest = max(batches)
    return {
        "changed": len(changes),
        "total_s": round(total, 1),
        "artifacts_per_s": round(len(changes) / total),
        "batches": len(batches),
        "batch_s": {
            "p50": round(percentile(batches, 0.5), 3),
            "p99": round(percentile(batches, 0.99), 3),
            "max": round(longest, 3),
        },
        "oldest_transaction_seen_s": round(max(ages, default=0.0), 3),
        "monitor_samples": len(ages),
        "writer": {
            "requests": len(lat),
            "errors": sorted(set(errors)),
            "latency_s": {
                "p50": round(percentile(lat, 0.5), 3),
                "p99": round(percentile(lat, 0.99), 3),
                "max": round(max(lat), 3),
            }
            if lat
            else None,
            "longest_wait_in_batches": round(max(lat) / longest, 2) if lat else None,
        },
    }


def killed_and_resumed(app: Any, env: dict[str, str], scratch: Path, m: int) -> dict[str, Any]:
    """B: a policy edit, a SIGKILL halfway through, a re-run; each artifact decided once."""
    from governance.classification import reclassify_all
    from governance.policy_store import publish_policy
    from tests.integration.test_reclassify_batches import EDIT, _under

    org = scratch / "org-policy"
    org.mkdir()
    (org / "override.yaml").write_text(EDIT)
    publish_policy(app, org, "benchmark: a.2 error bound")
    version = app.policies.get("US-EAR").version
    half = (m + 1) // BATCH // 2 or 1
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(env)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    reported = 0
    try:
        assert child.stdout is not None
        for line in child.stdout:
            reported = int(line.split()[0])
            if reported >= half:
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)  # mid-flight: likely inside the next batch's transaction
        child.wait(timeout=60)
        if child.stdout is not None:
            child.stdout.close()
    before, _ = _under(app, version)
    t0 = time.perf_counter()
    resumed = reclassify_all(app, BATCH)
    resume_s = time.perf_counter() - t0
    decisions, events = _under(app, version)
    everyone = m + 1
    return {
        "killed_after_batches_reported": reported,
        "child_exit": child.returncode,
        "decided_before_resume": sum(before.values()),
        "changed_by_resume": len(resumed),
        "resume_s": round(resume_s, 1),
        "artifacts_with_one_decision": sum(1 for v in decisions.values() if v == 1),
        "artifacts_with_one_event": sum(1 for v in events.values() if v == 1),
        "artifacts": everyone,
        "each_artifact_exactly_once": len(decisions) == everyone
        and set(decisions.values()) == {1}
        and Counter(events) == Counter(decisions),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=int, default=100_000)
    parser.add_argument("--writer-every", type=float, default=0.2, help="seconds between the writer's requests")
    parser.add_argument("--pg-url", help="an existing PostgreSQL server instead of starting one")
    parser.add_argument("--skip-kill", action="store_true", help="only part A")
    args = parser.parse_args()
    os.environ.update({"DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "ERROR"})
    scratch = Path(tempfile.mkdtemp(prefix="qgov-bench-reclassify-"))
    pg_parent = Path(tempfile.mkdtemp(prefix="qgov-bench-pg-"))
    pg_parent.chmod(0o755)  # as root, the server runs as 'postgres', which must reach pg_parent/pg
    load_before = os.getloadavg()
    try:
        with postgres(args.pg_url, pg_parent) as pg:
            if pg is None:
                raise SystemExit("PostgreSQL could not be started (scripts/postgres.sh)")
            env = {"QGOV_HOME": str(scratch / "home"), "QGOV_DATABASE_URL": database_url("postgresql", pg, scratch)}
            app, seed = build(env, scratch, args.artifacts)
            note("A: reclassifying with a writer beside it")
            first = measure(app, seed, args.writer_every)
            note(f"A: {first['total_s']} s, longest batch {first['batch_s']['max']} s")
            second = None if args.skip_kill else killed_and_resumed(app, env, scratch, args.artifacts)
            app.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(pg_parent, ignore_errors=True)
    report = {
        "benchmark": "reclassify",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "database": "PostgreSQL (scripts/postgres.sh, fsync=off)",
        "artifacts": args.artifacts + 1,
        "batch_size": BATCH,
        "writer_every_s": args.writer_every,
        "reclassify": first,
        "sigkill_and_resume": second,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "median_of_runs": "one run (shared 2-core machine)",
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
