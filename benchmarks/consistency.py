"""What checking a decision's row against the log adds to one DP release and one fetch.

    .venv/bin/python benchmarks/consistency.py [--url postgresql+psycopg://…] [--releases 40] [--noise 100000]

Builds a store (SQLite under a temporary QGOV_HOME unless --url names an empty database): one
calibration table, its privacy profile, ``--releases`` releases, a grant with one fetch, then
``--noise`` unrelated events so the log is large. Prints one JSON document: the median time of
``check_budget`` (what a release adds before it reserves) and ``check_grant`` (what a fetch
adds, per authority check), each beside the whole decision it is part of, and the time of
``audit verify``'s recomputation of every derived table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from governance import tables as t  # noqa: E402
from governance.app import App  # noqa: E402
from governance.catalog import DatasetSpec, grant_initial_admin, list_artifacts, register_dataset  # noqa: E402
from governance.config import load_settings  # noqa: E402
from governance.consistency import check_budget, check_grant, recompute  # noqa: E402
from governance.content import fetch
from governance.db import transaction  # noqa: E402
from governance.ingest import finish_run, ingest_batch, plan_ingest  # noqa: E402
from governance.keys import create_key_file  # noqa: E402
from governance.privacy import set_profile  # noqa: E402
from governance.releases import request_release  # noqa: E402
from governance.requests import Person, register_person, request_access  # noqa: E402
from governance.sample_data import calibration_table  # noqa: E402
from lineage import EventLog, NewEvent  # noqa: E402


def _median_ms(fn, n: int = 30) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=None)
    parser.add_argument("--releases", type=int, default=40)
    parser.add_argument("--noise", type=int, default=100_000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="qgov-consistency-"))
    env = {"QGOV_HOME": str(home / "home")}
    if args.url:
        env["QGOV_DATABASE_URL"] = args.url
    app = App(load_settings(env).model_copy(update={"user": "alice"}))
    create_key_file(app)
    grant_initial_admin(app)
    trained = (date.today() - timedelta(days=60)).isoformat()
    register_person(app, Person("alice", ["US"], False, None, "US", "Lab B", trained), ["admin"])
    folder = home / "calib"
    folder.mkdir()
    calibration_table(qubits=24, seed=3).to_csv(folder / "calibration.csv", index=False)
    register_dataset(app, DatasetSpec(name="calib", owner="alice", subject={"type": "none"}))
    plan = plan_ingest(app, folder, "calib")
    finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    profile = {
        "contributions": 1,
        "budget": {"epsilon": "100", "delta": "0"},
        "columns": {"t1_us": {"bounds": [0, 400]}},
    }
    set_profile(app, "calib", profile)
    print(f"{args.releases} releases…", file=sys.stderr)
    started = time.perf_counter()
    for i in range(args.releases):
        request_release(app, "calib", "count", "t1_us", f"0.{i + 10}", purpose=f"r{i}")
    release_s = (time.perf_counter() - started) / args.releases
    artifact = list_artifacts(app, "calib")[0].id
    grant_id = request_access(app, [artifact], "bench", 30, "US")["grant"]
    print(f"{args.noise} other events…", file=sys.stderr)
    for start in range(0, args.noise, 5000):
        with transaction(app.engine) as conn:
            EventLog(conn).append_many(
                [NewEvent("artifact.fetched", "alice", [f"other-{start + i}"], {"n": start + i}) for i in range(5000)]
            )
    out = home / "out.csv"
    fetch_ms = _median_ms(lambda: fetch(app, artifact, out), 10)
    with app.engine.connect() as conn:
        ds = conn.execute(select(t.datasets.c.id).where(t.datasets.c.name == "calib")).scalar_one()
        grant = conn.execute(select(t.grants).where(t.grants.c.id == grant_id)).one()
        budget_ms = _median_ms(lambda: check_budget(conn, ds))
        grant_ms = _median_ms(lambda: check_grant(conn, grant))
        started = time.perf_counter()
        problems = recompute(conn)
        recompute_s = time.perf_counter() - started
        size = EventLog(conn).head()[0]
    print(
        json.dumps(
            {
                "database": app.engine.dialect.name,
                "events": size,
                "releases_on_the_dataset": args.releases,
                "release_ms_whole": round(release_s * 1000, 1),
                "check_budget_ms": budget_ms,
                "fetch_ms_whole": fetch_ms,
                "check_grant_ms_per_authority_check": grant_ms,
                "fetch_checks_per_fetch": 2,
                "audit_verify_recompute_s": round(recompute_s, 2),
                "disagreements": len(problems),
            },
            indent=2,
        )
    )
    app.close()


if __name__ == "__main__":
    main()
