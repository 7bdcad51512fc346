"""The DVC part of an ingest: pipeline stages as lineage, outputs DVC declares but the
workspace lacks, and fetching those through DVC when asked.

A DVC project keeps its data in a remote; a clone without ``dvc pull`` holds only what git
tracks. Each output DVC declares with a recorded hash (a ``.dvc`` file's outs, a
``dvc.lock`` stage's deps and outs) that is not in the workspace becomes a ``dvc_output``
entity, recorded once by a ``lineage.output_absent`` event: its path, the hash as DVC
recorded it (md5 or etag), size, the ``.dvc`` file or stage that declares it, and the git
revision, marked absent (not ingested). Stages join artifacts where the files are present
and these entities where they are not, so the whole stage graph is kept and a trace from a
source file runs through every stage.

When a later ingest finds such an output present (after ``dvc pull`` or ``qgov ingest
--dvc-pull``), the stage is completed: a ``lineage.stage_recorded`` event adds the edges to
the ingested artifacts and the edges to the absent entity stop being true from then on (a
trace as of earlier still shows them). Whether the pulled file matches the hash DVC
recorded is in each artifact's ``source`` (``dvc_status``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from governance.app import App
from governance.classification import Classifier
from governance.db import transaction
from governance.ingest import _ACTIVITY_NS, IngestPlan, check_ingest
from lineage import EdgeSpec, EventLog, NewEvent, NodeSpec, schema
from qgov.errors import InputError
from storage import dvc
from storage.dvc import DvcOutput, DvcRemote, DvcStage

ABSENT = "dvc_output"  # the node type of a declared output the workspace lacks


def absent_outputs(plan: IngestPlan) -> tuple[DvcOutput, ...]:
    """What DVC declares that the folder does not hold (a file skipped with a reason is held)."""
    if plan.dvc is None:
        return ()
    return plan.dvc.absent({f.rel for f in plan.files} | {s["path"] for s in plan.skipped})


def absent_entity_id(plan: IngestPlan, out: DvcOutput) -> str:
    """One entity per dataset, path and recorded hash: the same declaration is one node."""
    return str(uuid.uuid5(_ACTIVITY_NS, f"dvc-output|{plan.dataset_id}|{out.path}|{out.md5}"))


def absent_summary(plan: IngestPlan) -> list[dict[str, Any]]:
    """The absent outputs as the run's summary lists them."""
    return [
        {
            "path": out.path,
            "entity": absent_entity_id(plan, out),
            "hash": {out.hash_name or "md5": out.md5},
            "declared_by": out.stage,
            "status": "absent: declared by DVC, not in the workspace, not ingested",
        }
        | ({"size": out.size} if out.size is not None else {})
        | ({"nfiles": out.nfiles} if out.nfiles is not None else {})
        for out in absent_outputs(plan)
    ]


def check_dvc_pull(path: Path) -> DvcRemote:
    """Before a flow starts: ``--dvc-pull`` needs a DVC repository with a default remote."""
    if not dvc.is_dvc_repo(path.resolve()):
        raise InputError(f"{path}: --dvc-pull needs a DVC repository (a folder with a .dvc directory)")
    remote = dvc.read_dvc_repo(path).remote
    if remote is None:
        raise InputError(
            f"{path}: --dvc-pull needs a default DVC remote and none is configured "
            "(add one with 'dvc remote add -d NAME URL')"
        )
    return remote


def pull_outputs(app: App, path: Path, dataset: str) -> dict[str, Any]:
    """Fetch the DVC outputs the workspace lacks from the repo's default remote (DVC's own
    ``Repo.pull``), after the same checks as the ingest that follows it."""
    check_ingest(app, path, dataset)
    remote, fetched = dvc.pull(path)
    return {"remote": remote.name, "url": remote.url, "fetched": fetched}


def _activity_recorded(conn: Connection, activity: str) -> bool:
    return (
        conn.execute(
            select(schema.event_subjects.c.seq).where(schema.event_subjects.c.subject_id == activity).limit(1)
        ).first()
        is not None
    )


def _record_absent(conn: Connection, log: EventLog, app: App, plan: IngestPlan, absent: Iterable[DvcOutput]) -> None:
    assert plan.dvc is not None
    wanted = {absent_entity_id(plan, out): out for out in absent}
    known = {r.id for r in conn.execute(select(schema.nodes.c.id).where(schema.nodes.c.id.in_(sorted(wanted))))}
    events = []
    for entity, out in sorted(wanted.items(), key=lambda kv: kv[1].path):
        if entity in known:
            continue
        facts = {
            "hash_name": out.hash_name or "md5",
            "hash": out.md5,
            "size": out.size,
            "nfiles": out.nfiles,
            "is_dir": out.is_dir,
            "declared_by": out.stage,
            "git_rev": plan.dvc.git_rev,
            "status": "absent",
        }
        facts = {k: v for k, v in facts.items() if v is not None}
        events.append(
            NewEvent(
                "lineage.output_absent",
                app.user,
                subjects=[entity, plan.dataset_id],
                payload={"dataset": plan.dataset, "path": out.path, "entity": entity, **facts, "ingested": False},
                nodes=[NodeSpec.entity(entity, ABSENT, out.path, dataset=plan.dataset, ingested=False, **facts)],
            )
        )
    log.append_many(events)


class _Members:
    """What stands for a declared path in this run: its artifacts, or its absent entity."""

    def __init__(self, plan: IngestPlan, artifacts: Sequence[dict[str, Any]], absent: Iterable[DvcOutput]) -> None:
        self.plan = plan
        self.current = {a["path"]: a["id"] for a in artifacts}
        self.absent = {(o.path, o.md5) for o in absent}

    def artifacts(self, out: DvcOutput) -> list[str]:
        return sorted(aid for p, aid in self.current.items() if out.covers(p))

    def __call__(self, out: DvcOutput) -> list[str]:
        ids = self.artifacts(out)
        if not ids and (out.path, out.md5) in self.absent:
            return [absent_entity_id(self.plan, out)]
        return ids


def _side(outs: Sequence[DvcOutput], members: _Members) -> list[dict[str, Any]]:
    return [
        {"path": o.path, "md5": o.md5, "artifacts": members.artifacts(o)}
        | ({"absent": absent_entity_id(members.plan, o)} if not members.artifacts(o) and members(o) else {})
        for o in outs
    ]


def _record_stage(
    conn: Connection, log: EventLog, app: App, plan: IngestPlan, stage: DvcStage, activity: str, members: _Members
) -> None:
    assert plan.dvc is not None
    edge_specs = [EdgeSpec(activity, m, "used", stage.name) for d in stage.deps for m in members(d)]
    edge_specs += [EdgeSpec(m, activity, "wasGeneratedBy", stage.name) for o in stage.outs for m in members(o)]
    subjects = [activity, plan.dataset_id] + sorted(
        {e.parent_id for e in edge_specs} | {e.child_id for e in edge_specs} - {activity}
    )
    person = NodeSpec.person(log.actor_ref(app.user))
    edge_specs.append(EdgeSpec(activity, person.id, "wasAssociatedWith", stage.name))
    stage_node = NodeSpec.activity(
        activity, "dvc_stage", stage.name, cmd=stage.cmd, git_rev=plan.dvc.git_rev or "", dataset=plan.dataset
    )
    log.append_many(
        [
            NewEvent(
                "lineage.stage_recorded",
                app.user,
                nodes=[stage_node, person],
                subjects=subjects,
                payload={
                    "activity": activity,
                    "dataset": plan.dataset,
                    "stage": stage.name,
                    "cmd": stage.cmd,
                    "git_rev": plan.dvc.git_rev,
                    "deps": _side(stage.deps, members),
                    "outs": _side(stage.outs, members),
                },
            )
        ],
        edges=edge_specs,
    )
    outputs = sorted({e.child_id for e in edge_specs if e.relation == "wasGeneratedBy"})
    Classifier(app, conn).refresh(outputs, f"derived by DVC stage {stage.name}")  # inherit from inputs


def _complete_stage(
    conn: Connection, log: EventLog, app: App, plan: IngestPlan, stage: DvcStage, activity: str, members: _Members
) -> bool:
    """Join a stage recorded with absent entities (or, before they were recorded, with nothing)
    to the artifacts now ingested in their place. A path the stage already joins to an
    artifact is left alone: a file changed since is not what the stage made or used."""
    named = schema.edges_by_id()
    live = conn.execute(
        select(named.c.id, named.c.child_id, named.c.parent_id).where(
            (named.c.child_id == activity) | (named.c.parent_id == activity), named.c.valid_to.is_(None)
        )
    ).all()
    ends = {r.child_id if r.parent_id == activity else r.parent_id: r.id for r in live}
    names = {
        r.id: r.name
        for r in conn.execute(
            select(schema.nodes.c.id, schema.nodes.c.name).where(
                schema.nodes.c.id.in_(sorted(ends)), schema.nodes.c.type == "artifact"
            )
        )
    }
    new_edges: list[EdgeSpec] = []
    ended: list[int] = []
    completed: list[dict[str, Any]] = []
    for relation, declared in (("used", stage.deps), ("wasGeneratedBy", stage.outs)):
        for out in declared:
            entity = absent_entity_id(plan, out)
            ids = members.artifacts(out)
            if not ids or any(out.covers(name) for name in names.values()):
                continue
            if entity in ends:
                ended.append(ends[entity])
            new_edges += [
                EdgeSpec(activity, a, "used", stage.name)
                if relation == "used"
                else EdgeSpec(a, activity, "wasGeneratedBy", stage.name)
                for a in ids
            ]
            completed.append({"path": out.path, "md5": out.md5, "entity": entity, "artifacts": ids})
    if not completed:
        return False
    stored = log.append(
        NewEvent(
            "lineage.stage_recorded",
            app.user,
            subjects=[activity, plan.dataset_id, *sorted({a for c in completed for a in c["artifacts"]})],
            payload={
                "activity": activity,
                "dataset": plan.dataset,
                "stage": stage.name,
                "git_rev": plan.dvc.git_rev if plan.dvc else None,
                "completed": completed,  # absent outputs now ingested: their edges replace the entity's
            },
            edges=new_edges,
        )
    )
    conn.execute(update(schema.edges).where(schema.edges.c.id.in_(ended)).values(valid_to=stored.body.occurred_at))
    outputs = sorted({e.child_id for e in new_edges if e.relation == "wasGeneratedBy"})
    Classifier(app, conn).refresh(outputs, f"derived by DVC stage {stage.name}")
    return True


def record_dvc_lineage(app: App, plan: IngestPlan, artifacts: Sequence[dict[str, Any]]) -> int:
    """Record absent outputs, then turn each ``dvc.lock`` stage into an activity with
    used/wasGeneratedBy edges; returns how many stages were recorded or completed.

    ``artifacts`` are this run's artifacts (new and unchanged), so edges join exactly the
    file versions of the revision being ingested. Idempotent: a stage at the same git
    revision with the same recorded hashes is the same activity and is recorded once (and
    completed once its absent outputs are ingested).
    """
    if plan.dvc is None:
        return 0
    absent = absent_outputs(plan)
    if not plan.dvc.stages and not absent:
        return 0
    recorded = 0
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()
        _record_absent(conn, log, app, plan, absent)
        members = _Members(plan, artifacts, absent)
        for stage in plan.dvc.stages:
            fingerprint = "|".join(f"{o.path}={o.md5}" for o in (*stage.deps, *stage.outs))
            activity = str(uuid.uuid5(_ACTIVITY_NS, f"{plan.dataset_id}|{plan.dvc.git_rev}|{stage.name}|{fingerprint}"))
            if not _activity_recorded(conn, activity):
                _record_stage(conn, log, app, plan, stage, activity, members)
                recorded += 1
            elif _complete_stage(conn, log, app, plan, stage, activity, members):
                recorded += 1
    return recorded


__all__ = [
    "ABSENT",
    "absent_entity_id",
    "absent_outputs",
    "absent_summary",
    "check_dvc_pull",
    "pull_outputs",
    "record_dvc_lineage",
]
