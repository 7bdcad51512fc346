"""How long submitting an ingest to the lab stack's work pool takes (ADR 0036).

Run against a started stack (``make up``; ``source .stack/stack.env``) with a registered
dataset and a folder to ingest. Times ``flows.submit.submit`` (one ``run_deployment(...,
timeout=0)``: the run's id back, nothing waited for) ``--repeats`` times in one process after
one warm-up call (Prefect's imports and client start-up), and the whole ``qgov ingest``
command (a new interpreter each time) as a person waits for it. Prints one JSON document
with the medians and the load average (the figures move with the machine's load).

    PYTHONPATH=$PWD python benchmarks/submit.py DATASET FOLDER --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# The repository first: this folder's own lineage.py would otherwise shadow the lineage package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from flows.runtime import configure_prefect
    from governance.config import load_settings

    settings = load_settings()
    if not settings.work_pool:
        raise SystemExit("QGOV_WORK_POOL is not set: source the stack's stack.env first")
    configure_prefect(settings.home)
    from flows.session import flow_args
    from flows.submit import submit

    home, principal = flow_args(settings)
    params = {"home": home, "principal": principal, "path": str(args.folder.resolve()), "dataset": args.dataset}
    load_before = os.getloadavg()[0]
    submit("qgov-ingest", settings.work_pool, params)  # warm-up: imports, client, first connection
    calls = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        submit("qgov-ingest", settings.work_pool, params)
        calls.append(time.perf_counter() - start)
    commands = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "governance.cli.main", "ingest", str(args.folder), "-d", args.dataset],
            check=True,
            capture_output=True,
        )
        commands.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "submit_call_s": {"median": round(statistics.median(calls), 3), "all": [round(c, 3) for c in calls]},
                "qgov_ingest_command_s": {
                    "median": round(statistics.median(commands), 3),
                    "all": [round(c, 3) for c in commands],
                },
                "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
