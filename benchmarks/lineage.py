"""Provenance at scale: trace latency vs networkx, audit verify, sustained appends with checkpoints.

Prints one JSON document. Measures, in one run:
  A. build: a SQLite store of --events events (default 1,000,000) holding --edges lineage
     edges (default 1,000,000): a realistic DAG of analysis pipelines (depth 5–50, 1–3 inputs
     per step from the last three steps, shared code used across pipelines, 50 people),
     recorded through the real append path (hash chain, subjects index, PROV nodes, automatic
     signed checkpoint per transaction), plus access-style events to reach the event count;
  B. trace: ``lineage.trace`` upstream of --queries random leaves (p50/p95/max), and the same
     traversal (edges valid at a time, with relation/time, nodes with depth) in networkx on
     the same graph, whose build time and memory are reported too;
  C. ``qgov audit verify`` (chain + every checkpoint root recomputed) over the whole log;
  D. sustained appends with checkpointing, one event per transaction and 100 per transaction,
     on SQLite and on PostgreSQL (a throw-away server started by scripts/postgres.sh unless
     --pg-url is given);
  E. the trace of B on PostgreSQL, over a smaller store (--pg-trace-edges, default 200,000).
With --checkpoint-cost, only this instead (under 2 minutes): appends/s at 1 and 100 events
per transaction on a small store, with no checkpoint, with a checkpoint signed in every
transaction, and with that checkpoint also handed to the witness.
Targets: trace p50 <= 20 ms and within 3x of networkx per query; verify <= 10 s; >= 1,000 events/s.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
ROOT = Path(__file__).resolve().parents[1]

from governance.app import App  # noqa: E402
from governance.config import load_settings  # noqa: E402
from governance.db import transaction  # noqa: E402
from lineage import EdgeSpec, EventLog, NewEvent, NodeSpec  # noqa: E402

PEOPLE = [f"person{i:02d}" for i in range(50)]
SHARED_CODE = 500


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build(app: App, target_edges: int, target_events: int, seed: int = 11) -> dict[str, Any]:
    """Record the DAG through EventLog.append_many in transactions of ~2,000 events."""
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    clock = [t0]

    def tick() -> datetime:
        clock[0] += timedelta(milliseconds=rng.randint(1, 50))
        return clock[0]

    events: list[NewEvent] = []
    edges_total = 0
    leaves: list[str] = []
    entities: list[str] = []
    started = time.perf_counter()

    def flush(force: bool = False) -> None:
        if len(events) >= 2000 or (force and events):
            with transaction(app.engine) as conn:
                EventLog(conn).append_many(events)
            events.clear()

    refs: dict[str, str] = {}
    with app.engine.begin() as conn:
        log = EventLog(conn)
        refs = {p: log.actor_ref(p) for p in PEOPLE}
    code = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(SHARED_CODE)]
    code_ingest = str(uuid.UUID(int=rng.getrandbits(128)))
    events.append(
        NewEvent(
            "ingest.completed",
            PEOPLE[0],
            [code_ingest],
            {"artifacts": SHARED_CODE},
            occurred_at=tick(),
            nodes=[NodeSpec.activity(code_ingest, "ingest", "ingest code"), NodeSpec.person(refs[PEOPLE[0]])]
            + [NodeSpec.entity(c, "artifact", f"src/lib{i}.py") for i, c in enumerate(code)],
            edges=[EdgeSpec(c, code_ingest, "wasGeneratedBy", "ingest code") for c in code]
            + [EdgeSpec(code_ingest, refs[PEOPLE[0]], "wasAssociatedWith", "ingest code")],
        )
    )
    edges_total += SHARED_CODE + 1
    pipeline = 0
    while edges_total < target_edges:
        pipeline += 1
        who = rng.choice(PEOPLE)
        ingest = str(uuid.UUID(int=rng.getrandbits(128)))
        raw = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(rng.randint(2, 4))]
        events.append(
            NewEvent(
                "ingest.completed",
                who,
                [ingest, *raw],
                {"pipeline": pipeline},
                occurred_at=tick(),
                nodes=[NodeSpec.activity(ingest, "ingest", f"ingest p{pipeline}"), NodeSpec.person(refs[who])]
                + [NodeSpec.entity(r, "artifact", f"p{pipeline}/raw{i}.h5") for i, r in enumerate(raw)],
                edges=[EdgeSpec(r, ingest, "wasGeneratedBy", "ingest") for r in raw]
                + [EdgeSpec(ingest, refs[who], "wasAssociatedWith", "ingest")],
            )
        )
        edges_total += len(raw) + 1
        levels = [raw]
        used_ever: set[str] = set()
        for depth in range(1, rng.randint(5, 50) + 1):
            level = []
            for _ in range(rng.randint(1, 3)):
                pool = [e for lv in levels[-3:] for e in lv]
                inputs = rng.sample(pool, min(len(pool), rng.randint(1, 3)))
                if rng.random() < 0.5:
                    inputs.append(rng.choice(code))
                outputs = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(rng.randint(1, 2))]
                act = str(uuid.UUID(int=rng.getrandbits(128)))
                who = rng.choice(PEOPLE)
                name = f"step {depth}"
                spec_edges = [EdgeSpec(act, i, "used", name) for i in inputs]
                spec_edges += [EdgeSpec(o, act, "wasGeneratedBy", name) for o in outputs]
                spec_edges.append(EdgeSpec(act, refs[who], "wasAssociatedWith", name))
                events.append(
                    NewEvent(
                        "lineage.derivation_recorded",
                        who,
                        [act, *inputs, *outputs],
                        {"activity": act, "name": name, "used": inputs, "generated": outputs},
                        occurred_at=tick(),
                        nodes=[NodeSpec.activity(act, "derivation", name), NodeSpec.person(refs[who])]
                        + [NodeSpec.entity(o, "artifact", f"p{pipeline}/d{depth}/{o[:6]}.csv") for o in outputs],
                        edges=spec_edges,
                    )
                )
                edges_total += len(spec_edges)
                used_ever |= set(inputs)
                level += outputs
                flush()
            levels.append(level)
        pipeline_entities = [e for lv in levels for e in lv]
        entities += pipeline_entities
        leaves += [e for e in pipeline_entities if e not in used_ever]
    lineage_events = None
    with app.engine.connect() as conn:
        lineage_events = EventLog(conn).head()[0] + len(events)
    filler = max(0, target_events - lineage_events)
    for i in range(filler):
        subject = rng.choice(entities)
        events.append(
            NewEvent(
                rng.choice(["access.requested", "access.granted", "artifact.fetched"]),
                rng.choice(PEOPLE),
                [subject],
                {"request": f"r{i}", "purpose": "benchmark"},
                occurred_at=tick(),
            )
        )
        flush()
    flush(force=True)
    seconds = time.perf_counter() - started
    with app.engine.connect() as conn:
        size = EventLog(conn).head()[0]
    db = Path(app.settings.home) / "qgov.db"
    return {
        "pipelines": pipeline,
        "events": size,
        "edges": edges_total,
        "entities": len(entities) + SHARED_CODE,
        "leaves": len(leaves),
        "seconds": round(seconds, 1),
        "events_per_s": round(size / seconds),
        "db_mib": round(sum(p.stat().st_size for p in db.parent.glob("qgov.db*")) / 2**20),
        "_leaves": leaves,
        "_end": clock[0],
    }


def bench_trace(app: App, leaves: list[str], queries: int, end: datetime) -> dict[str, Any]:
    import networkx as nx
    from sqlalchemy import select

    from lineage import schema
    from lineage.trace import trace

    rng = random.Random(3)
    sample = rng.sample(leaves, min(queries, len(leaves)))
    as_of = end + timedelta(seconds=1)
    qgov_ms, sizes, answers = [], [], []
    with app.engine.connect() as conn:
        trace(conn, sample[0], as_of=as_of)  # warm the statement cache and the page cache
        for leaf in sample:
            start = time.perf_counter()
            found = trace(conn, leaf, as_of=as_of)
            qgov_ms.append((time.perf_counter() - start) * 1000)
            sizes.append((len(found.nodes), len(found.edges)))
            answers.append(({n.id: n.depth for n in found.nodes}, len(found.edges)))
    # the same graph in networkx: edges child -> parent with their relation and times
    gc.collect()
    rss0 = _rss_mib()
    tracemalloc.start()
    start = time.perf_counter()
    graph = nx.MultiDiGraph()
    e = schema.edges_by_id()
    with app.engine.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(
            select(e.c.child_id, e.c.parent_id, e.c.relation, e.c.activity, e.c.valid_from, e.c.valid_to, e.c.event_seq)
        )
        for row in result:
            graph.add_edge(
                row.child_id,
                row.parent_id,
                relation=row.relation,
                activity=row.activity,
                valid_from=row.valid_from,
                valid_to=row.valid_to,
                event_seq=row.event_seq,
            )
        n = schema.nodes
        nodes = conn.execution_options(stream_results=True).execute(
            select(n.c.id, n.c.kind, n.c.type, n.c.name, n.c.attributes, n.c.created_at, n.c.invalidated_at)
        )
        for row in nodes:  # what a trace returns about each node
            graph.add_node(
                row.id,
                kind=row.kind,
                type=row.type,
                name=row.name,
                attributes=row.attributes,
                created_at=row.created_at,
                invalidated_at=row.invalidated_at,
            )
    build_s = time.perf_counter() - start
    traced_mib = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    rss1 = _rss_mib()
    naive_as_of = as_of.replace(tzinfo=None)

    def nx_trace(root: str) -> tuple[int, int]:
        """Upstream edges valid at ``as_of`` (relation, time), then each node's generation depth."""
        seen, stack, found = {root}, [root], []
        while stack:
            node = stack.pop()
            for parent, keyed in graph.adj[node].items():
                for data in keyed.values():
                    vf = data["valid_from"]
                    vf = vf.replace(tzinfo=None) if vf.tzinfo else vf
                    if vf > naive_as_of or data["valid_to"] is not None:
                        continue
                    found.append((node, parent, data["relation"], data["valid_from"], data["event_seq"]))
                    if parent not in seen:
                        seen.add(parent)
                        stack.append(parent)
        out: dict[str, list[tuple[str, int]]] = {}
        for child, parent, relation, _, _ in found:
            out.setdefault(child, []).append((parent, 1 if relation in ("used", "wasDerivedFrom") else 0))
        depth, queue = {root: 0}, deque([root])
        while queue:
            node = queue.popleft()
            for parent, step in out.get(node, ()):
                d = depth[node] + step
                if d < depth.get(parent, d + 1):
                    depth[parent] = d
                    (queue.append if step else queue.appendleft)(parent)
        described = {node: graph.nodes[node] for node in depth}  # the node details a trace returns
        return {node: depth[node] for node in described}, len(found)

    nx_ms, nx_anc_ms = [], []
    for leaf, answer in zip(sample, answers, strict=True):
        start = time.perf_counter()
        got = nx_trace(leaf)
        nx_ms.append((time.perf_counter() - start) * 1000)
        if got != answer:  # same nodes at the same generation depths, same number of edges
            raise SystemExit(f"networkx and qgov disagree on {leaf}")
        start = time.perf_counter()
        nx.descendants(graph, leaf)
        nx_anc_ms.append((time.perf_counter() - start) * 1000)
    node_counts = [s[0] for s in sizes]
    return {
        "queries": len(sample),
        "trace_nodes_p50": statistics.median(node_counts),
        "trace_nodes_max": max(node_counts),
        "qgov_ms": {
            "p50": round(_pct(qgov_ms, 0.5), 2),
            "p95": round(_pct(qgov_ms, 0.95), 2),
            "max": round(max(qgov_ms), 2),
        },
        "networkx_same_traversal_ms": {"p50": round(_pct(nx_ms, 0.5), 3), "p95": round(_pct(nx_ms, 0.95), 3)},
        "networkx_descendants_only_ms": {"p50": round(_pct(nx_anc_ms, 0.5), 3), "p95": round(_pct(nx_anc_ms, 0.95), 3)},
        "ratio_p50_qgov_to_networkx": round(_pct(qgov_ms, 0.5) / _pct(nx_ms, 0.5), 2),
        "ratio_p95_qgov_to_networkx": round(_pct(qgov_ms, 0.95) / _pct(nx_ms, 0.95), 2),
        "networkx_build_s": round(build_s, 1),
        "networkx_graph_mib_traced": round(traced_mib),
        "networkx_rss_growth_mib": round(rss1 - rss0),
        "qgov_memory": "rows of one answer only; the graph stays in the database",
        "comparison": "both return every edge valid at as_of (relation, times) and every node with its kind, "
        f"type, name and attributes; networkx reads them from memory, qgov from {app.engine.dialect.name}",
        "target_p50_ms": 20,
        "meets_p50_target": _pct(qgov_ms, 0.5) <= 20,
        "within_3x_of_networkx_p50": _pct(qgov_ms, 0.5) <= 3 * _pct(nx_ms, 0.5),
    }


def bench_verify(app: App) -> dict[str, Any]:
    from governance.audit import verify_log

    start = time.perf_counter()
    report = verify_log(app)
    seconds = time.perf_counter() - start
    return {
        "events": report.chain.events_checked,
        "checkpoints": report.checkpoints.checkpoints_checked,
        "ok": report.ok,
        "seconds": round(seconds, 2),
        "events_per_s": round(report.chain.events_checked / seconds),
        "target_s": 10,
        "meets_target": seconds <= 10,
    }


def bench_appends(app: App, seconds: float) -> dict[str, Any]:
    from governance.signing import checkpoint
    from lineage.checkpoints import MerkleStore

    checkpoint(app)
    out: dict[str, Any] = {}
    for per_tx in (1, 100):
        with app.engine.connect() as conn:
            before = len(MerkleStore(conn).all())
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            with transaction(app.engine) as conn:
                EventLog(conn).append_many(
                    [NewEvent("artifact.fetched", "bench", [f"a{n + i}"], {"i": n + i}) for i in range(per_tx)]
                )
            n += per_tx
        elapsed = time.perf_counter() - start
        with app.engine.connect() as conn:
            signed = len(MerkleStore(conn).all()) - before
        out[f"{per_tx}_per_transaction"] = {
            "events": n,
            "seconds": round(elapsed, 1),
            "events_per_s": round(n / elapsed),
            "checkpoints_signed": signed,
        }
    out["meets_target_1000_per_s"] = max(v["events_per_s"] for v in out.values() if isinstance(v, dict)) >= 1000
    return out


def bench_checkpoint_cost(app: App, seconds: float, preload: int = 2000) -> dict[str, Any]:
    """Appends/s on a small store with a checkpoint signed in every transaction (and handed to
    the witness) against the same appends with no checkpoint at all (what nearly every
    transaction did before: one in 1,000 events signed)."""
    from governance.db import on_events_appended
    from governance.signing import checkpoint

    for k in range(0, preload, 500):
        with transaction(app.engine) as conn:
            EventLog(conn).append_many(
                [NewEvent("artifact.fetched", "bench", [f"p{k + i}"], {"i": k + i}) for i in range(500)]
            )
    modes = {
        "no_checkpoint": (lambda conn: None, None),
        "checkpoint_per_transaction": (app._checkpoint, None),
        "checkpoint_and_witness_per_transaction": (app._checkpoint, app._witness),
    }
    out: dict[str, Any] = {"store_events_at_start": preload + 1}
    n = 0
    for per_tx in (1, 100):
        row: dict[str, Any] = {}
        for mode, (before, after) in modes.items():
            on_events_appended(app.engine, before, after)
            done, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                with transaction(app.engine) as conn:
                    EventLog(conn).append_many(
                        [NewEvent("artifact.fetched", "bench", [f"c{n + i}"], {"i": n + i}) for i in range(per_tx)]
                    )
                done += per_tx
                n += per_tx
            row[mode] = round(done / (time.perf_counter() - start))
            # the next mode starts from a signed log, as qgov leaves it
            on_events_appended(app.engine, app._checkpoint, app._witness)
            checkpoint(app)
        row["cost_of_signing_pct"] = round(
            100 * (1 - row["checkpoint_and_witness_per_transaction"] / row["no_checkpoint"])
        )
        out[f"events_per_s_{per_tx}_per_transaction"] = row
    return out


def _app(home: Path, url: str | None = None) -> App:
    env = {"QGOV_HOME": str(home)}
    if url:
        env["QGOV_DATABASE_URL"] = url
    return App(load_settings(env).model_copy(update={"user": "bench"}))


def checkpoint_cost(seconds: float, pg_url: str | None) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="qgov-bench-checkpoints-"))
    report: dict[str, Any] = {
        "benchmark": "lineage --checkpoint-cost",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "seconds_per_case": seconds,
    }
    try:
        for name, url in (("sqlite", None), ("postgresql", pg_url)):
            if name == "postgresql" and url is None:
                continue
            app = _app(scratch / name, url)
            try:
                report[name] = bench_checkpoint_cost(app, seconds)
            finally:
                app.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--append-seconds", type=float, default=10.0)
    parser.add_argument("--pg-url", default=os.environ.get("QGOV_BENCH_PG_URL"))
    parser.add_argument(
        "--pg-trace-edges",
        type=int,
        default=200_000,
        help="also build a store of this many events/edges on PostgreSQL and trace it (0: skip)",
    )
    parser.add_argument("--keep", type=Path, help="build (or reuse) the store in this directory")
    parser.add_argument(
        "--checkpoint-cost",
        action="store_true",
        help="only measure what a checkpoint per transaction costs, on a small store (SQLite; "
        "PostgreSQL too with --pg-url), --append-seconds per case",
    )
    args = parser.parse_args()
    if args.checkpoint_cost:
        print(json.dumps(checkpoint_cost(args.append_seconds, args.pg_url), indent=2))
        return
    os.environ.setdefault("DO_NOT_TRACK", "1")
    scratch = Path(tempfile.mkdtemp(prefix="qgov-bench-lineage-"))
    home = args.keep or scratch / "home"
    report: dict[str, Any] = {
        "benchmark": "lineage",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
    }
    pg_dir = None
    try:
        app = _app(home)
        built = build(app, args.edges, args.events)
        leaves, end = built.pop("_leaves"), built.pop("_end")
        report["build_sqlite"] = built
        report["trace_sqlite"] = bench_trace(app, leaves, args.queries, end)
        report["verify_sqlite"] = bench_verify(app)
        report["appends_sqlite"] = bench_appends(app, args.append_seconds)
        app.close()
        url = args.pg_url
        if url is None:
            pg_dir = Path(tempfile.mkdtemp(prefix="qgov-bench-pg-"))
            url = subprocess.run(
                ["bash", str(ROOT / "scripts" / "postgres.sh"), "start", str(pg_dir)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
        pg = _app(scratch / "pg-home", url)
        if args.pg_trace_edges:
            built = build(pg, args.pg_trace_edges, args.pg_trace_edges)
            leaves, end = built.pop("_leaves"), built.pop("_end")
            built.pop("db_mib")
            report["build_postgresql"] = built
            report["trace_postgresql"] = bench_trace(pg, leaves, args.queries, end)
        report["appends_postgresql"] = bench_appends(pg, args.append_seconds)
        pg.close()
        report["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    finally:
        if pg_dir is not None:
            subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), "stop", str(pg_dir)], check=False)
            shutil.rmtree(pg_dir, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
