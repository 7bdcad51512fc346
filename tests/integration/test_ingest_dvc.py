"""A real DVC project cloned without its data: what DVC declares but the workspace lacks is
recorded with DVC's hashes, the whole stage graph is kept, and --dvc-pull fetches it from
the project's (directory) remote through DVC's own API, then ingests it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from flows.ingest import IngestReport, ingest_flow
from flows.session import flow_args
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.provenance import trace_lineage
from lineage import EventLog, schema
from qgov.errors import InputError, StorageError
from tests.dvc_pipeline import OUTPUTS, clone

STAGES = {"dvc.yaml:prepare", "dvc.yaml:featurize", "dvc.yaml:train", "dvc.yaml:evaluate"}


@pytest.fixture
def cloned(dvc_pipeline: Path, tmp_path: Path) -> Path:
    return clone(dvc_pipeline, tmp_path / "clone")


def _declared(repo: Path) -> dict[str, str]:
    """What DVC recorded for each output, read from its files here (not through qgov)."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    found = {o["path"]: o["md5"] for s in lock["stages"].values() for o in s["outs"]}
    found["data/data.xml"] = yaml.safe_load((repo / "data/data.xml.dvc").read_text())["outs"][0]["md5"]
    return found


@pytest.fixture
def ingest(app, run_flow):  # type: ignore[no-untyped-def]
    register_dataset(app, DatasetSpec(name="egs", owner="alice"))

    def _ingest(path: Path, **kwargs) -> IngestReport:  # type: ignore[no-untyped-def]
        return run_flow(ingest_flow, *flow_args(app.settings), str(path), "egs", **kwargs)

    return _ingest


def _types(doc: dict) -> dict[str, set[str]]:  # type: ignore[type-arg]
    by_type: dict[str, set[str]] = {}
    for n in doc["nodes"]:
        by_type.setdefault(n["type"], set()).add(n["name"])
    return by_type


def test_absent_outputs_are_recorded_with_dvc_hashes_and_the_stage_graph_is_whole(app, ingest, cloned: Path) -> None:  # type: ignore[no-untyped-def]
    report = ingest(cloned)
    declared = _declared(cloned)
    assert report.dvc_stages == 4 and report.ingested == len(list_artifacts(app, "egs"))
    assert not any(a["path"].startswith(("data/prepared", "model.pkl", "eval")) for a in report.artifacts)
    absent = {a["path"]: a for a in report.dvc_absent}
    assert set(absent) == set(OUTPUTS)
    assert {p: a["hash"]["md5"] for p, a in absent.items()} == declared
    assert absent["data/data.xml"]["declared_by"] == "data/data.xml.dvc"
    assert absent["model.pkl"]["declared_by"] == "dvc.yaml:train" and absent["data/prepared"]["nfiles"] == 2
    assert report.dvc_remote is not None and report.dvc_remote["name"] == "storage"
    with app.engine.connect() as conn:
        nodes = conn.execute(select(schema.nodes).where(schema.nodes.c.type == "dvc_output")).all()
        assert {n.name: n.attributes["hash"] for n in nodes} == declared
        assert all(n.attributes["ingested"] is False and n.attributes["status"] == "absent" for n in nodes)
        events = [e.body for e in EventLog(conn).iter_events() if e.body.type == "lineage.output_absent"]
        assert {e.payload["path"]: e.payload["hash"] for e in events} == declared
    prepare = next(a["id"] for a in report.artifacts if a["path"] == "src/prepare.py")
    downstream = _types(trace_lineage(app, prepare, "downstream"))
    assert downstream["dvc_stage"] == STAGES
    assert downstream["dvc_output"] == {"data/prepared", "data/features", "model.pkl", "eval"}
    # recorded once: a second run adds no entity and no stage
    again = ingest(cloned)
    assert again.dvc_stages == 0 and len(again.dvc_absent) == 5
    with app.engine.connect() as conn:
        assert len(conn.execute(select(schema.nodes).where(schema.nodes.c.type == "dvc_output")).all()) == 5


def test_dvc_pull_fetches_from_the_remote_and_completes_the_lineage(app, ingest, cloned: Path) -> None:  # type: ignore[no-untyped-def]
    first = ingest(cloned)
    declared = _declared(cloned)
    pulled = ingest(cloned, dvc_pull=True)
    assert pulled.dvc_pulled is not None and pulled.dvc_pulled["remote"] == "storage"
    assert pulled.dvc_pulled["fetched"] >= 6  # data.xml, model.pkl and the directories' files
    assert pulled.dvc_absent == [] and pulled.dvc_stages == 4  # each stage completed
    arts = {a.path: a for a in list_artifacts(app, "egs")}
    model = arts["model.pkl"]
    assert hashlib.md5((cloned / "model.pkl").read_bytes()).hexdigest() == declared["model.pkl"]
    assert model.source["dvc_md5"] == declared["model.pkl"] and model.source["dvc_status"] == "matches"
    assert arts["data/data.xml"].source["dvc_status"] == "matches"
    member = arts["data/prepared/train.tsv"]  # checked against the directory's manifest in DVC's cache
    assert member.source["dvc_status"] == "matches"
    assert member.source["dvc_member_md5"] == hashlib.md5((cloned / "data/prepared/train.tsv").read_bytes()).hexdigest()
    # the lineage now runs through the ingested artifacts, end to end
    prepare = next(a["id"] for a in first.artifacts if a["path"] == "src/prepare.py")
    downstream = _types(trace_lineage(app, prepare, "downstream"))
    assert downstream["dvc_stage"] == STAGES and "dvc_output" not in downstream
    assert {"model.pkl", "eval/metrics.json", "data/features/train.txt"} <= downstream["artifact"]
    upstream = _types(trace_lineage(app, arts["eval/metrics.json"].id))
    assert {"src/prepare.py", "data/data.xml", "model.pkl", "src/train.py"} <= upstream["artifact"]
    # ... and a trace as of before the pull still shows what was declared but absent
    with app.engine.connect() as conn:
        before = next(e.body.occurred_at for e in EventLog(conn).iter_events() if e.body.type == "ingest.completed")
    assert "model.pkl" in _types(trace_lineage(app, prepare, "downstream", as_of=before))["dvc_output"]
    assert ingest(cloned).dvc_stages == 0  # completed once


def test_dvc_pull_from_an_unreachable_remote_is_one_line_naming_it(app, ingest, cloned: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.dvc_pipeline import DVC, _run

    _run([*DVC, "remote", "modify", "storage", "url", str(tmp_path / "gone")], cloned)
    with pytest.raises(StorageError, match=r"^dvc pull from remote 'storage' \(.*gone\) failed: 5 output\(s\)") as err:
        ingest(cloned, dvc_pull=True)
    assert "\n" not in str(err.value)
    assert not list_artifacts(app, "egs")  # nothing ingested after a failed pull


def test_dvc_pull_needs_a_dvc_repository_with_a_remote(app, ingest, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from governance.ingest_dvc import check_dvc_pull

    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="--dvc-pull needs a DVC repository"):
        check_dvc_pull(tmp_path / "plain")
