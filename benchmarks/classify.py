"""Classification throughput: decisions per second on one core, and a full reclassification.

Prints one JSON document. Measures:
  A. classify() on N generated items (default 100,000) on one core, against a baseline in
     the same run: canonical hashing alone (qgov.canonical), which every decision includes;
  B. reclassify_all() over M catalogued artifacts (default 100,000) in a fresh SQLite store,
     inserted directly (the ingest path is measured by benchmarks/ingest.py), first after a
     policy edit (every artifact changes) and then again (nothing changes).
Targets: A >= 20,000 decisions/s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policies.bundle import ITEM_KINDS, SUBJECT_TYPES, load_policies  # noqa: E402
from policies.classify import classify  # noqa: E402
from qgov.canonical import canonical_hash  # noqa: E402


def generate(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    items = []
    for _ in range(n):
        subject_type = rng.choice(SUBJECT_TYPES)
        subject: dict = {"type": subject_type}
        if subject_type == "quantum_computer":
            if rng.random() > 0.05:
                subject["physical_qubits"] = rng.randint(0, 3000)
            if rng.random() > 0.05:
                subject["cnot_error"] = rng.uniform(0, 0.01)
        item = {"kind": rng.choice(ITEM_KINDS), "subject": subject}
        if rng.random() < 0.3:
            item["research"] = {"fundamental": rng.random() < 0.5, "intended_for_publication": rng.random() < 0.5}
        if rng.random() < 0.1:
            item["published"] = True
        items.append(item)
    return items


def bench_decisions(n: int) -> dict:
    bundle = load_policies().get("US-EAR")
    items = generate(n)
    classify(items[0], bundle)  # warm the rule index
    start = time.perf_counter()
    for item in items:
        canonical_hash(item)
    baseline = time.perf_counter() - start
    start = time.perf_counter()
    counts: dict[str, int] = {}
    for item in items:
        answer = classify(item, bundle)
        counts[answer.classification] = counts.get(answer.classification, 0) + 1
    elapsed = time.perf_counter() - start
    return {
        "items": n,
        "seconds": round(elapsed, 3),
        "decisions_per_s": round(n / elapsed),
        "baseline_canonical_hash_per_s": round(n / baseline),
        "ratio_to_hash_only": round(elapsed / baseline, 2),
        "target_decisions_per_s": 20000,
        "meets_target": n / elapsed >= 20000,
        "answers": dict(sorted(counts.items())),
    }


def insert_artifacts(app, dataset_id: str, m: int) -> None:  # type: ignore[no-untyped-def]
    """Catalogue ``m`` artifacts straight into the tables (no ingest, no classification yet)."""
    from sqlalchemy import insert

    from governance import tables as t

    now = datetime.now(UTC)
    with app.engine.begin() as conn:
        for start in range(0, m, 10000):
            chunk = range(start, min(m, start + 10000))
            shas = [uuid.uuid4().hex * 2 for _ in chunk]
            conn.execute(
                insert(t.blobs),
                [{"object_id": s, "size": 1, "ciphertext_size": 57, "created_at": now} for s in shas],
            )
            conn.execute(
                insert(t.artifacts),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "dataset_id": dataset_id,
                        "path": f"f{i}.csv",
                        "sha256": s,
                        "size": 1,
                        "media_type": "text/csv",
                        "format": {},
                        "source": {},
                        "ingest_run_id": "bench",
                        "created_at": now,
                    }
                    for i, s in zip(chunk, shas, strict=True)
                ],
            )


def bench_reclassify(m: int) -> dict:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from governance.app import App
    from governance.catalog import DatasetSpec, register_dataset
    from governance.classification import reclassify_all
    from governance.config import load_settings

    scratch = Path(tempfile.mkdtemp(prefix="qgov-bench-classify-"))
    try:
        app = App(load_settings({"QGOV_HOME": str(scratch)}).model_copy(update={"user": "bench"}))
        ds = register_dataset(
            app,
            DatasetSpec(
                name="bench",
                owner="bench",
                subject={"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 8.0e-4},
            ),
        )
        insert_artifacts(app, ds.id, m)
        start = time.perf_counter()
        first = reclassify_all(app)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        second = reclassify_all(app)
        second_s = time.perf_counter() - start
        app.close()
        return {
            "artifacts": m,
            "first_run_s": round(first_s, 2),
            "first_run_changed": len(first),
            "second_run_s": round(second_s, 2),
            "second_run_changed": len(second),
            "artifacts_per_s_first": round(m / first_s),
            "note": "SQLite, one transaction; the first run records a decision and an event per artifact",
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--artifacts", type=int, default=100_000)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    report = {
        "benchmark": "classify",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "cpus_used": 1,
        "decisions": bench_decisions(args.items),
        "reclassify": bench_reclassify(args.artifacts),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
