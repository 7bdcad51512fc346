"""Correcting a dataset: subject and parameters, owner, description, expectations, research.

Each field that changes is its own ``dataset.updated`` event (``field`` says which), in the
same transaction as the change; a change of subject or research context reclassifies the
dataset's artifacts and everything derived from them. The dataset's owner may always
correct it; anyone else needs ``dataset.update``. A new owner must be a registered person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize, can
from governance.catalog import RESEARCH_FIELDS, get_dataset
from governance.classification import Change, Classifier
from governance.db import transaction
from governance.validation import build_expectations
from governance.vocabulary import check_subject_parameters, require_person
from lineage import EventLog, NewEvent
from policies.bundle import SUBJECT_TYPES
from policies.classify import check_item
from qgov.canonical import canonical_hash
from qgov.errors import InputError


@dataclass(frozen=True)
class DatasetChanges:
    """What to change; None leaves a field as it is. In ``params`` a None value removes that
    parameter (so a misspelt one stored before it was refused can be taken out)."""

    subject_type: str | None = None
    params: dict[str, Any | None] = field(default_factory=dict)
    owner: str | None = None
    description: str | None = None
    expectations: list[dict[str, Any]] | None = None
    research: dict[str, bool | None] = field(default_factory=dict)

    def empty(self) -> bool:
        return (
            self.subject_type is None
            and not self.params
            and self.owner is None
            and self.description is None
            and self.expectations is None
            and not self.research
        )


@dataclass(frozen=True)
class DatasetUpdate:
    dataset: str
    changed: list[str]
    reclassified: list[Change]

    def to_json(self) -> dict[str, Any]:
        """Like every reclassifying command's document (``changed``, ``changes``), with the
        fields that changed."""
        return {
            "dataset": self.dataset,
            "fields": self.changed,
            "changed": len(self.reclassified),
            "changes": [c.to_json() for c in self.reclassified],
        }


def update_dataset(app: App, name: str, changes: DatasetChanges) -> DatasetUpdate:
    """Apply ``changes`` to dataset ``name``; only fields that really change are recorded."""
    if changes.empty():
        raise InputError(
            "dataset update: give at least one change (--subject-type, --param, --owner, --description, "
            "--expectations, --fundamental, --intended-for-publication, --restrictions-accepted)"
        )
    unknown = sorted(set(changes.research) - set(RESEARCH_FIELDS))
    if unknown:
        raise InputError(f"research.{unknown[0]}: unknown field; expected one of {', '.join(RESEARCH_FIELDS)}")
    if changes.expectations is not None:
        build_expectations(changes.expectations, "expectations")
    with transaction(app.engine) as conn:
        ds = get_dataset(conn, name)
        if ds.owner != app.user:  # the dataset's owner may always correct it
            authorize(conn, app.user, "dataset.update")
        values: dict[str, Any] = {}
        payloads: list[dict[str, Any]] = []
        log = EventLog(conn)
        subject = _new_subject(ds.subject, changes)
        if subject != ds.subject:
            check_subject_parameters(app.policies, subject)
            check_item({"kind": ds.kind, "subject": subject}, "dataset")
            values["subject"] = subject
            payloads.append({"field": "subject", "subject": subject})
        if changes.owner is not None and changes.owner.strip() != ds.owner:
            owner = changes.owner.strip()
            require_person(conn, owner, "owner", hint=can(conn, app.user, "person.read"))
            values["owner"] = owner
            payloads.append({"field": "owner", "owner_ref": log.actor_ref(owner)})
        if changes.description is not None and changes.description != ds.description:
            values["description"] = changes.description
            payloads.append({"field": "description", "description": changes.description})
        if changes.expectations is not None and changes.expectations != ds.expectations:
            values["expectations"] = changes.expectations
            payloads.append(
                {
                    "field": "expectations",
                    "expectations": len(changes.expectations),
                    "expectations_hash": canonical_hash(changes.expectations),
                }
            )
        research = dict(ds.research) | changes.research
        if research != ds.research:
            values["research"] = research
            payloads.append({"field": "research", "research": research})
        if not values:
            return DatasetUpdate(ds.name, [], [])
        conn.execute(update(t.datasets).where(t.datasets.c.id == ds.id).values(**values))
        log.append_many([NewEvent("dataset.updated", app.user, [ds.id], {"dataset": ds.name} | p) for p in payloads])
        reclassified: list[Change] = []
        if "subject" in values or "research" in values:
            ids = [r.id for r in conn.execute(select(t.artifacts.c.id).where(t.artifacts.c.dataset_id == ds.id))]
            reclassified = Classifier(app, conn).refresh(ids, f"dataset {ds.name} corrected")
    return DatasetUpdate(ds.name, [p["field"] for p in payloads], reclassified)


def _new_subject(current: dict[str, Any], changes: DatasetChanges) -> dict[str, Any]:
    if changes.subject_type is not None:
        if changes.subject_type not in SUBJECT_TYPES:
            raise InputError(
                f"--subject-type: expected one of {', '.join(SUBJECT_TYPES)}, got {changes.subject_type!r}"
            )
        subject: dict[str, Any] = {"type": changes.subject_type}
    else:
        subject = dict(current)
    for key, value in changes.params.items():
        if key == "type":
            raise InputError("--param type: the subject type is set with --subject-type")
        if value is None:
            subject.pop(key, None)
        else:
            subject[key] = value
    return subject


__all__ = ["DatasetChanges", "DatasetUpdate", "update_dataset"]
