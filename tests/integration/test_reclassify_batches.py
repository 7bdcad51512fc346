"""Reclassification in batches (one transaction each), resumed after a kill without repeats."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from governance import tables as t
from governance.app import App
from governance.classification import reclassify_all
from governance.policy_store import publish_policy
from lineage import schema
from tests.integration.test_classification import CLOSED, _folder, _ingest

EDIT = (
    "jurisdiction: US-EAR\nrules:\n"
    "  - {id: ear.4A906.a.2, entry: 4A906.a.2, subject: quantum_computer,\n"
    "     when: {physical_qubits: {min: 100, below: 200}, cnot_error: {max: 5.0e-4}},\n"
    "     hardware: 4A906, software: 4D906, technology: 4E906,\n"
    "     citation: 'org reading of 4A906.a.2', status: P, effective: 2026-11-01}\n"
)


class KilledError(RuntimeError):
    pass


def _under(app: App, version: str) -> tuple[Counter[str], Counter[str]]:
    """Per artifact: automatic decisions made under ``version``, and classification events for it."""
    with app.engine.connect() as conn:
        decisions = Counter(
            conn.execute(
                select(t.classifications.c.artifact_id).where(
                    t.classifications.c.source == "automatic", t.classifications.c.policy_version == version
                )
            ).scalars()
        )
        events = Counter(
            s
            for row in conn.execute(select(schema.events).where(schema.events.c.type == "artifact.classified"))
            if row.payload.get("policy_version") == version
            for s in row.subjects
        )
    return decisions, events


def test_a_killed_reclassification_resumes_and_does_each_artifact_once(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = {f"t{i:02}.csv": f"q\n{i}\n" for i in range(12)}
    ids = _ingest(app, _folder(tmp_path, "run", files), "calib", CLOSED)
    org = tmp_path / "org-policy"
    org.mkdir()
    (org / "override.yaml").write_text(EDIT)
    before = app.policies.get("US-EAR").version
    publish_policy(app, org, "a.2 error bound")
    edited = app
    version = edited.policies.get("US-EAR").version
    assert version != before

    def kill_after_two(batches: int, done: int) -> None:
        if batches == 2:
            raise KilledError(f"killed after {done} artifacts")

    with pytest.raises(KilledError, match="after 10 artifacts"):
        reclassify_all(edited, batch_size=5, after_batch=kill_after_two)
    decisions, _ = _under(edited, version)
    assert sum(decisions.values()) == 10  # two batches committed, the third never started

    resumed: list[int] = []
    changes = reclassify_all(edited, batch_size=5, after_batch=lambda b, done: resumed.append(done))
    assert resumed == [2]  # only what the kill left: the committed batches were skipped
    assert {c.artifact for c in changes} <= set(ids.values()) and len(changes) == 2

    decisions, events = _under(edited, version)
    assert decisions == Counter(dict.fromkeys(ids.values(), 1))  # every artifact exactly once
    assert events == Counter(dict.fromkeys(ids.values(), 1))  # and one event each, none repeated
    assert reclassify_all(edited, batch_size=5) == []  # nothing left
    assert _under(edited, version) == (decisions, events)


def test_batch_size_must_be_positive(app) -> None:  # type: ignore[no-untyped-def]
    from qgov.errors import InputError

    with pytest.raises(InputError, match="batch size 0"):
        reclassify_all(app, batch_size=0)
