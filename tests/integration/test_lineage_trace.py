"""Lineage traces in the database (SQLite and PostgreSQL): shape, depth, time, DVC, cycles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.classification import override
from governance.db import transaction
from governance.derivation import record_derivation
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.provenance import retract, trace_lineage
from lineage import EdgeSpec, EventLog, NewEvent, NodeSpec, schema
from lineage.trace import trace
from qgov.errors import InputError, NotFoundError

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _graph(app, edges: list[tuple[str, str, str]], at: datetime = T0) -> None:  # type: ignore[no-untyped-def]
    """Record entities and activities named in ``(child, relation, parent)`` triples at ``at``."""
    nodes = []
    for child, _relation, parent in edges:
        for node in (child, parent):
            kind = "activity" if node.startswith("act") else "agent" if node.startswith("who") else "entity"
            nodes.append(
                NodeSpec(node, kind, {"entity": "artifact", "activity": "derivation", "agent": "person"}[kind], node)
            )
    with transaction(app.engine) as conn:
        EventLog(conn).append(
            NewEvent(
                "lineage.derivation_recorded",
                "alice",
                subjects=sorted({n.id for n in nodes}),
                occurred_at=at,
                nodes=nodes,
                edges=[EdgeSpec(c, p, r, "test") for c, r, p in edges],
            )
        )


def _derive(output: str, activity: str, inputs: list[str]) -> list[tuple[str, str, str]]:
    return [(output, "wasGeneratedBy", activity)] + [(activity, "used", i) for i in inputs]


def _trace(app, root: str, **kw):  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        return trace(conn, root, **kw)


def _ids(found) -> set[str]:  # type: ignore[no-untyped-def]
    return {n.id for n in found.nodes}


def test_a_diamond_is_traced_once_per_node_and_edge(app) -> None:  # type: ignore[no-untyped-def]
    # raw -> (b, c) -> d ; both branches use raw
    _graph(
        app,
        _derive("b", "act-b", ["raw"]) + _derive("c", "act-c", ["raw"]) + _derive("d", "act-d", ["b", "c"]),
    )
    up = _trace(app, "d")
    assert _ids(up) == {"d", "act-d", "b", "c", "act-b", "act-c", "raw"}
    assert len(up.edges) == 7
    depth = {n.id: n.depth for n in up.nodes}
    assert depth == {"d": 0, "act-d": 0, "b": 1, "c": 1, "act-b": 1, "act-c": 1, "raw": 2}
    down = _trace(app, "raw", direction="downstream")
    assert _ids(down) == {"raw", "act-b", "act-c", "b", "c", "act-d", "d"}


def test_depth_limits_count_generations(app) -> None:  # type: ignore[no-untyped-def]
    chain = []
    for i in range(1, 6):
        chain += _derive(f"e{i}", f"act{i}", [f"e{i - 1}"])
    _graph(app, chain)
    assert _ids(_trace(app, "e5", depth=0)) == {"e5"}
    assert _ids(_trace(app, "e5", depth=1)) == {"e5", "act5", "e4"}
    assert _ids(_trace(app, "e5", depth=2)) == {"e5", "act5", "e4", "act4", "e3"}
    assert len(_ids(_trace(app, "e5"))) == 11
    assert _ids(_trace(app, "e0", direction="downstream", depth=1)) == {"e0", "act1", "e1"}
    with pytest.raises(InputError, match="--depth"):
        _trace(app, "e5", depth=-1)


def test_as_of_shows_the_graph_before_and_after_an_edge_was_added(app) -> None:  # type: ignore[no-untyped-def]
    _graph(app, _derive("fit", "act1", ["raw"]), at=T0)
    _graph(app, [("act1", "used", "code")], at=T0 + timedelta(days=10))  # learned later: the fit used code
    before = _trace(app, "fit", as_of=T0 + timedelta(days=1))
    after = _trace(app, "fit", as_of=T0 + timedelta(days=10))
    assert "code" not in _ids(before) and "code" in _ids(after)
    with pytest.raises(NotFoundError, match="did not exist yet"):
        _trace(app, "fit", as_of=T0 - timedelta(seconds=1))
    with pytest.raises(NotFoundError, match="no lineage node"):
        _trace(app, "nothing-here")


def test_deleted_nodes_show_as_they_were_before_the_deletion(app) -> None:  # type: ignore[no-untyped-def]
    _graph(app, _derive("fit", "act1", ["raw"]), at=T0)
    with app.engine.begin() as conn:
        conn.execute(
            update(schema.nodes).where(schema.nodes.c.id == "raw").values(invalidated_at=T0 + timedelta(days=5))
        )
    then = {n.id: n for n in _trace(app, "fit", as_of=T0 + timedelta(days=1)).nodes}
    now = {n.id: n for n in _trace(app, "fit").nodes}
    assert then["raw"].invalidated_at is None
    assert now["raw"].invalidated_at == T0 + timedelta(days=5)


def test_downstream_traces_show_who_carried_out_each_activity(app) -> None:  # type: ignore[no-untyped-def]
    _graph(app, _derive("fit", "act1", ["raw"]) + [("act1", "wasAssociatedWith", "who-alice")])
    down = _trace(app, "raw", direction="downstream")
    assert "who-alice" in _ids(down)
    assert ("act1", "who-alice", "wasAssociatedWith") in {(e.child, e.parent, e.relation) for e in down.edges}


# -- through the services, with real ingested artifacts -----------------------------------
def _ingest(app, tmp_path: Path, files: dict[str, str], name: str = "calib") -> dict[str, str]:  # type: ignore[no-untyped-def]
    folder = tmp_path / name
    folder.mkdir()
    for rel, text in files.items():
        (folder / rel).write_text(text)
    register_dataset(
        app,
        DatasetSpec(
            name=name,
            owner="alice",
            subject={"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008},
            research={"fundamental": False, "intended_for_publication": False, "restrictions_accepted": True},
        ),
    )
    plan = plan_ingest(app, folder, name)
    finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    return {a.path: a.id for a in list_artifacts(app, name)}


def test_cycles_are_refused_when_a_derivation_is_recorded(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = _ingest(app, tmp_path, {"a.json": "{}", "b.json": "[]", "c.json": "1"})
    record_derivation(app, "step 1", [ids["a.json"]], [ids["b.json"]])
    record_derivation(app, "step 2", [ids["b.json"]], [ids["c.json"]])
    with pytest.raises(InputError, match="cycle"):
        record_derivation(app, "loop", [ids["c.json"]], [ids["a.json"]])
    with pytest.raises(InputError, match="cycle"):
        record_derivation(app, "self", [ids["a.json"]], [ids["a.json"]])
    assert len(_trace(app, ids["c.json"]).nodes) > 0  # and the graph is still a DAG


def test_an_edge_to_an_unregistered_node_is_refused_and_nothing_is_recorded(app) -> None:  # type: ignore[no-untyped-def]
    _graph(app, _derive("fit", "act1", ["raw"]))
    with app.engine.connect() as conn:
        before = EventLog(conn).head()
    refused = r"lineage edge: 'nobody' is not a registered lineage node"
    with pytest.raises(InputError, match=refused), transaction(app.engine) as conn:
        EventLog(conn).append(
            NewEvent(
                "lineage.derivation_recorded",
                "alice",
                nodes=[NodeSpec.activity("act2", "derivation", "refit")],
                edges=[
                    EdgeSpec("act2", "raw", "used", "refit"),
                    EdgeSpec("act2", "nobody", "wasAssociatedWith", "refit"),
                ],
            )
        )
    with app.engine.connect() as conn:
        assert EventLog(conn).head() == before
        assert conn.execute(select(schema.nodes.c.id).where(schema.nodes.c.id == "act2")).first() is None
    assert _ids(_trace(app, "fit")) == {"fit", "act1", "raw"}


def test_service_trace_names_people_and_gives_classifications_as_they_were(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from governance.catalog import grant_role

    ids = _ingest(app, tmp_path, {"raw.json": "{}", "fit.json": "[]"})
    record_derivation(app, "fit T1", [ids["raw.json"]], [ids["fit.json"]])
    before_override = datetime.now(UTC)
    grant_role(app, "alice", "export_control_officer")
    override(app, ids["fit.json"], "EAR99", "per-qubit fits only")
    then = trace_lineage(app, ids["fit.json"], as_of=before_override)
    now = trace_lineage(app, ids["fit.json"])
    cls_then = next(n for n in then["nodes"] if n["id"] == ids["fit.json"])["classification"]
    cls_now = next(n for n in now["nodes"] if n["id"] == ids["fit.json"])["classification"]
    assert cls_then["classification"] == "4E906" and cls_then["controlled"] is True
    assert cls_now["classification"] == "EAR99" and cls_now["basis"] == "override"
    people = [n for n in now["nodes"] if n["type"] == "person"]
    assert [p["name"] for p in people] == ["alice"]
    kinds = {n["type"] for n in now["nodes"]}
    assert {"artifact", "derivation", "ingest", "person", "flow"} <= kinds


def test_retracted_derivation_disappears_from_now_on_but_not_from_the_past(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from governance.catalog import grant_role

    ids = _ingest(app, tmp_path, {"raw.json": "{}", "fit.json": "[]"})
    activity, _ = record_derivation(app, "fit T1", [ids["raw.json"]], [ids["fit.json"]])
    recorded = datetime.now(UTC)
    grant_role(app, "alice", "export_control_officer")
    retract(app, activity, "recorded against the wrong input")
    assert ids["raw.json"] not in _ids(_trace(app, ids["fit.json"]))
    assert ids["raw.json"] in _ids(_trace(app, ids["fit.json"], as_of=recorded))
    with pytest.raises(InputError, match="already retracted"):
        retract(app, activity, "again")


def test_dvc_stages_are_traced_from_output_to_inputs_and_people(app, dvc_repo: Path) -> None:  # type: ignore[no-untyped-def]
    from governance.ingest_dvc import record_dvc_lineage

    register_dataset(app, DatasetSpec(name="pipeline", owner="alice"))
    plan = plan_ingest(app, dvc_repo, "pipeline")
    result = ingest_batch(app, plan, plan.files)
    stages = record_dvc_lineage(app, plan, result.ingested)
    finish_run(app, plan, result, datetime.now(UTC), stages)
    arts = {a.path: a.id for a in list_artifacts(app, "pipeline")}
    doc = trace_lineage(app, arts["results/fit_params.json"])
    by_type: dict[str, set[str]] = {}
    for n in doc["nodes"]:
        by_type.setdefault(n["type"], set()).add(n["name"])
    assert {"data/calibration.csv", "src/fit.py", "results/fit_params.json"} <= by_type["artifact"]
    assert by_type["dvc_stage"] == {"dvc.yaml:fit"} and by_type["ingest"] == {"ingest pipeline"}
    assert by_type["person"] == {"alice"} and by_type["flow"] == {"qgov-ingest"}
    stage = next(n for n in doc["nodes"] if n["type"] == "dvc_stage")
    assert stage["attributes"]["git_rev"] == plan.dvc.git_rev
    version = [n for n in trace_lineage(app, stage["id"], "downstream")["nodes"] if n["type"] == "artifact"]
    assert {v["name"] for v in version} == {"results/fit_params.json"}


def test_a_trace_answers_while_a_writer_holds_its_transaction_open(app) -> None:  # type: ignore[no-untyped-def]
    """Traces and verification read a snapshot: they neither wait for an open write
    transaction (an ingest committing 1,000 files) nor see what it has not committed."""
    import threading

    from governance.audit import verify_log

    _graph(app, _derive("fit", "act1", ["raw"]))
    writing, finish = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with transaction(app.engine) as conn:
                _graph_in(conn)
                writing.set()
                finish.wait(30)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
            writing.set()

    def _graph_in(conn) -> None:  # type: ignore[no-untyped-def]
        EventLog(conn).append(
            NewEvent(
                "lineage.derivation_recorded",
                "alice",
                nodes=[NodeSpec.entity("code", "artifact", "code")],
                edges=[EdgeSpec("act1", "code", "used", "fit")],
            )
        )

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(30) and not errors
        answered: list[object] = []

        def reader() -> None:
            answered.append({n["id"] for n in trace_lineage(app, "fit")["nodes"]})
            answered.append(verify_log(app).ok)

        thread_r = threading.Thread(target=reader)
        thread_r.start()
        thread_r.join(10)
        assert answered == [{"fit", "act1", "raw"}, True], "a read waited for the writer or saw uncommitted edges"
    finally:
        finish.set()
        thread.join(30)
    assert not errors
    assert _ids(_trace(app, "fit")) == {"fit", "act1", "raw", "code"}
