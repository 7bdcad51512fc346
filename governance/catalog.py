"""Catalog service: datasets, artifacts, roles and decryption for authorised users.

Every state change here writes its provenance event in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize as check
from governance.capabilities import roles_of
from governance.db import transaction
from governance.validation import build_expectations
from governance.vocabulary import check_subject_parameters, require_person
from lineage import EventLog, NewEvent
from policies.bundle import ITEM_KINDS, SUBJECT_TYPES
from policies.classify import check_item
from policies.jurisdictions import LAB_JURISDICTION
from qgov.canonical import iso_utc
from qgov.errors import AccessDenied, InputError, NotFoundError

RESEARCH_FIELDS = ("fundamental", "intended_for_publication", "restrictions_accepted")
_NAMESPACE = uuid.UUID("6f1c0a52-7d0b-4c8e-9a55-0c6b3b9f1e21")


@dataclass(frozen=True)
class DatasetSpec:
    """What a data manager says about a dataset when registering it (DESIGN.md ITEM schema)."""

    name: str
    owner: str
    description: str = ""
    kind: str = "dataset"
    subject: dict[str, Any] = field(default_factory=lambda: {"type": "none"})
    research: dict[str, bool | None] = field(default_factory=dict)
    sponsor: str | None = None
    published: bool = False
    catalog_course: bool = False
    expectations: list[dict[str, Any]] = field(default_factory=list)
    # Jurisdictions whose rules apply besides the lab's own (ids or bundle folders: uk, eu).
    jurisdictions: list[str] = field(default_factory=list)

    @classmethod
    def from_mapping(cls, data: Any, source: str) -> DatasetSpec:
        if not isinstance(data, dict):
            raise InputError(f"{source}: expected a mapping of dataset fields")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"{source}: unknown field {unknown[0]!r}; expected one of {', '.join(sorted(known))}")
        for required in ("name", "owner"):
            if not isinstance(data.get(required), str) or not data[required].strip():
                raise InputError(f"{source}: field {required!r} is required (a non-empty string)")
        return cls(**data)

    def validated(self) -> DatasetSpec:
        name = self.name.strip()
        if not name or len(name) > 200 or any(c in name for c in "/\\\n\t"):
            raise InputError(
                f"dataset name {self.name!r}: expected 1-200 characters without slashes or control characters"
            )
        # The same shape rules as any ITEM (DESIGN.md), so a registered dataset can always be classified.
        check_item(
            {
                "kind": self.kind,
                "subject": self.subject,
                "research": self.research,
                "published": self.published,
                "catalog_course": self.catalog_course,
            },
            "dataset",
        )
        if self.subject.get("type") not in SUBJECT_TYPES:
            raise InputError(
                f"subject.type: expected one of {', '.join(SUBJECT_TYPES)}, got {self.subject.get('type')!r}"
            )
        unknown = sorted(set(self.research) - set(RESEARCH_FIELDS))
        if unknown:
            raise InputError(f"research.{unknown[0]}: unknown field; expected one of {', '.join(RESEARCH_FIELDS)}")
        if self.expectations:
            build_expectations(self.expectations, "expectations")
        return DatasetSpec(
            name=name,
            owner=self.owner.strip(),
            description=self.description,
            kind=self.kind,
            subject=dict(self.subject),
            # "unknown" in a spec file means what --fundamental unknown means: not known (null)
            research={k: None if self.research.get(k) == "unknown" else self.research.get(k) for k in RESEARCH_FIELDS},
            sponsor=self.sponsor,
            published=self.published,
            catalog_course=self.catalog_course,
            expectations=list(self.expectations),
            jurisdictions=list(self.jurisdictions),
        )


@dataclass(frozen=True)
class Dataset:
    id: str
    name: str
    owner: str
    description: str
    kind: str
    subject: dict[str, Any]
    research: dict[str, Any]
    sponsor: str | None
    published: bool
    catalog_course: bool
    expectations: list[dict[str, Any]]
    created_at: datetime
    jurisdictions: tuple[str, ...] = (LAB_JURISDICTION,)

    def as_item(self) -> dict[str, Any]:
        """The dataset as a DESIGN.md ITEM document (what classification reads)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "subject": self.subject,
            "research": self.research,
            "published": self.published,
            "catalog_course": self.catalog_course,
        }

    def to_json(self, count: int | None = None, size: int | None = None) -> dict[str, Any]:
        """The ``qgov dataset show --json`` document (with artifact count and bytes if given)."""
        doc: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "owner": self.owner,
            "description": self.description,
            "item": self.as_item(),
            "sponsor": self.sponsor,
            "expectations": self.expectations,
            "jurisdictions": list(self.jurisdictions),
            "created_at": iso_utc(self.created_at),
        }
        if count is not None:
            doc.update(artifacts=count, bytes=size)
        return doc


@dataclass(frozen=True)
class Artifact:
    id: str
    dataset: str
    path: str
    sha256: str
    size: int
    media_type: str
    format: dict[str, Any]
    source: dict[str, Any]
    created_at: datetime
    classification: str | None = None
    controlled: bool | None = None
    classification_basis: str | None = None
    kind: str | None = None

    def effective_classification(self) -> dict[str, Any]:
        """The catalog's answer in the shape access rules read (as a Classification's JSON)."""
        return {
            "classification": self.classification,
            "controlled": self.controlled,
            "subject_to_ear": self.classification != "NOT_SUBJECT",
        }

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "media_type": self.media_type,
        }


def parse_subject(subject_type: str, params: list[str], field: str) -> dict[str, Any]:
    """A subject from its type and ``KEY=VALUE`` parameters (numbers become numbers)."""
    subject: dict[str, Any] = {"type": subject_type}
    for param in params:
        key, sep, raw = param.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{field} {param!r}: expected KEY=VALUE, e.g. physical_qubits=120")
        value: Any = raw
        for kind in (int, float):
            try:
                value = kind(raw)
                break
            except ValueError:
                continue
        subject[key.strip()] = value
    return subject


def artifact_id(dataset_id: str, path: str, sha256: str) -> str:
    """Deterministic id: the same file content at the same path of a dataset is one artifact."""
    return str(uuid.uuid5(_NAMESPACE, f"{dataset_id}\x00{path}\x00{sha256}"))


# -- roles --------------------------------------------------------------------
def authorize(conn: Connection, person: str, action: str) -> None:
    """The capability table's check."""
    check(conn, person, action)


def require_role(conn: Connection, person: str, role: str, action: str) -> None:
    """Authorization lives here, in the service layer, whatever the entry point."""
    if role not in roles_of(conn, person):
        raise AccessDenied(f"user {person!r} may not {action}: it needs the {role} role")


def grant_initial_admin(app: App) -> bool:
    """On a fresh store the person running ``qgov init`` becomes its admin (and the built-in
    policy is published as version 1, so that a fresh store decides by it)."""
    from governance.policy_store import publish_default_policy

    publish_default_policy(app)
    with transaction(app.engine) as conn:
        if conn.execute(select(func.count()).select_from(t.role_assignments)).scalar_one():
            return False
        conn.execute(
            insert(t.role_assignments).values(
                person=app.user, role="admin", granted_at=datetime.now(UTC), granted_by=app.user
            )
        )
        EventLog(conn).append(
            NewEvent(
                "role.granted", app.user, subjects=[], payload={"role": "admin", "reason": "initial admin at qgov init"}
            )
        )
    return True


def grant_role(app: App, person: str, role: str) -> None:
    """An admin gives a person a role; recorded as an event."""
    if role not in t.ROLES:
        raise InputError(f"role {role!r}: expected one of {', '.join(t.ROLES)}")
    if not person.strip():
        raise InputError("person: expected a name")
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "role.manage")
        require_person(conn, person)  # a role for a misspelt name would go to nobody
        if role in roles_of(conn, person):
            return
        conn.execute(
            insert(t.role_assignments).values(
                person=person, role=role, granted_at=datetime.now(UTC), granted_by=app.user
            )
        )
        log = EventLog(conn)
        log.append(NewEvent("role.granted", app.user, [], {"role": role, "person_ref": log.actor_ref(person)}))


# -- datasets -----------------------------------------------------------------
def _dataset_from_row(row: Any) -> Dataset:
    return Dataset(
        id=row.id,
        name=row.name,
        owner=row.owner,
        description=row.description,
        kind=row.kind,
        subject=dict(row.subject),
        research=dict(row.research),
        sponsor=row.sponsor,
        published=bool(row.published),
        catalog_course=bool(row.catalog_course),
        expectations=list(row.expectations),
        created_at=row.created_at,
        jurisdictions=tuple(row.jurisdictions or (LAB_JURISDICTION,)),
    )


def _resolve_jurisdictions(app: App, names: list[str]) -> list[str]:
    """The lab's own jurisdiction and each one named (by id or bundle folder), sorted, once each.

    The lab's own always applies (its classification is the catalog's); more jurisdictions
    only add rules, so they can never make a decision less strict (ADR 0024).
    """
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError("jurisdictions: expected a list of jurisdiction names, e.g. [uk, eu]")
    resolved = {app.policies.resolve(name, "--jurisdiction") for name in names}
    return sorted(resolved | {LAB_JURISDICTION})


def register_dataset(app: App, spec: DatasetSpec) -> Dataset:
    spec = spec.validated()
    check_subject_parameters(app.policies, spec.subject)
    jurisdictions = _resolve_jurisdictions(app, spec.jurisdictions)
    now = datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "dataset.register")
        if conn.execute(select(t.datasets.c.id).where(t.datasets.c.name == spec.name)).first():
            raise InputError(f"dataset {spec.name!r} is already registered; choose another name")
        dataset_id = str(uuid.uuid4())
        conn.execute(
            insert(t.datasets).values(
                id=dataset_id,
                name=spec.name,
                owner=spec.owner,
                description=spec.description,
                kind=spec.kind,
                subject=spec.subject,
                research=spec.research,
                sponsor=spec.sponsor,
                published=spec.published,
                catalog_course=spec.catalog_course,
                expectations=spec.expectations,
                created_at=now,
                jurisdictions=jurisdictions,
            )
        )
        log = EventLog(conn)
        log.append(
            NewEvent(
                "dataset.registered",
                app.user,
                subjects=[dataset_id],
                payload={
                    "dataset": spec.name,
                    "owner_ref": log.actor_ref(spec.owner),
                    "kind": spec.kind,
                    "subject": spec.subject,
                    "research": spec.research,
                    "sponsor": spec.sponsor,
                    "published": spec.published,
                    "catalog_course": spec.catalog_course,
                    "expectations": len(spec.expectations),
                    "jurisdictions": jurisdictions,
                },
                occurred_at=now,
            )
        )
        row = conn.execute(select(t.datasets).where(t.datasets.c.id == dataset_id)).one()
    return _dataset_from_row(row)


def get_dataset(conn: Connection, name: str) -> Dataset:
    """A dataset by its name, or by its id or a unique prefix of it (governance.ids)."""
    from governance.ids import resolve

    row = conn.execute(select(t.datasets).where(t.datasets.c.name == name)).first()
    if row is None:
        row = conn.execute(select(t.datasets).where(t.datasets.c.id == resolve(conn, "dataset", name))).first()
    if row is None:
        raise NotFoundError(f"dataset {name!r} is not registered; register it with 'qgov dataset register {name}'")
    return _dataset_from_row(row)


def find_dataset(app: App, name: str) -> Dataset:
    with app.engine.connect() as conn:
        authorize(conn, app.user, "catalog.read")
        return get_dataset(conn, name)


def list_datasets(app: App) -> list[tuple[Dataset, int, int]]:
    """Datasets with their artifact count and stored bytes."""
    with app.engine.connect() as conn:
        authorize(conn, app.user, "catalog.read")
        counts = {
            r.dataset_id: (int(r.n), int(r.bytes or 0))
            for r in conn.execute(
                select(
                    t.artifacts.c.dataset_id, func.count().label("n"), func.sum(t.artifacts.c.size).label("bytes")
                ).group_by(t.artifacts.c.dataset_id)
            )
        }
        rows = conn.execute(select(t.datasets).order_by(t.datasets.c.name)).all()
    return [(_dataset_from_row(r), *counts.get(r.id, (0, 0))) for r in rows]


# -- artifacts ----------------------------------------------------------------
def _artifact_from_row(row: Any, dataset_name: str) -> Artifact:
    return Artifact(
        id=row.id,
        dataset=dataset_name,
        path=row.path,
        sha256=row.sha256,
        size=int(row.size),
        media_type=row.media_type,
        format=dict(row.format),
        source=dict(row.source),
        created_at=row.created_at,
        classification=row.classification,
        controlled=row.controlled,
        classification_basis=row.classification_basis,
        kind=row.kind,
    )


def get_artifact(conn: Connection, artifact: str) -> Artifact:
    """An artifact by its id or a unique prefix of it (governance.ids)."""
    from governance.ids import resolve

    artifact = resolve(conn, "artifact", artifact)
    row = conn.execute(
        select(t.artifacts, t.datasets.c.name.label("dataset_name"))
        .join(t.datasets, t.datasets.c.id == t.artifacts.c.dataset_id)
        .where(t.artifacts.c.id == artifact)
    ).first()
    if row is None:
        raise NotFoundError(f"artifact {artifact!r} does not exist; list artifacts with 'qgov artifact list'")
    return _artifact_from_row(row, row.dataset_name)


def find_artifact(app: App, artifact: str) -> Artifact:
    with app.engine.connect() as conn:
        authorize(conn, app.user, "catalog.read")
        return get_artifact(conn, artifact)


def list_artifacts(app: App, dataset: str | None = None) -> list[Artifact]:
    with app.engine.connect() as conn:
        authorize(conn, app.user, "catalog.read")
        query = (
            select(t.artifacts, t.datasets.c.name.label("dataset_name"))
            .join(t.datasets, t.datasets.c.id == t.artifacts.c.dataset_id)
            .order_by(t.datasets.c.name, t.artifacts.c.path, t.artifacts.c.created_at)
        )
        if dataset is not None:
            query = query.where(t.datasets.c.id == get_dataset(conn, dataset).id)
        return [_artifact_from_row(r, r.dataset_name) for r in conn.execute(query)]


def list_quarantine(app: App, dataset: str | None = None) -> list[dict[str, Any]]:
    with app.engine.connect() as conn:
        authorize(conn, app.user, "catalog.read")
        query = (
            select(t.quarantine, t.datasets.c.name.label("dataset_name"))
            .join(t.datasets, t.datasets.c.id == t.quarantine.c.dataset_id)
            .order_by(t.quarantine.c.created_at)
        )
        if dataset is not None:
            query = query.where(t.datasets.c.id == get_dataset(conn, dataset).id)
        return [
            {"dataset": r.dataset_name, "path": r.path, "sha256": r.sha256, "reason": r.reason, "report": r.report}
            for r in conn.execute(query)
        ]


class ArtifactDeletedError(NotFoundError):
    """The artifact was crypto-shredded: its tombstone stays, its content is gone for good."""


def deleted_message(row: Any) -> str:
    """How a deleted artifact's tombstone is reported: when, by whom, its certificate."""
    return (
        f"artifact {row.id} was deleted on {iso_utc(row.deleted_at)} by {row.deleted_by} "
        f"(certificate {row.deletion_certificate}); its data key was destroyed"
    )


def require_not_deleted(conn: Connection, artifact: str) -> None:
    """Refuse, naming the deletion and its certificate, when ``artifact`` has been deleted.

    Callers that act on the content check again under the log's head lock, the lock a
    deletion takes (ADR 0011), so that nothing is released after the shredding is logged.
    """
    row = conn.execute(select(t.artifacts).where(t.artifacts.c.id == artifact)).one()
    if row.deleted_at is not None:
        raise ArtifactDeletedError(deleted_message(row))


__all__ = [
    "ITEM_KINDS",
    "SUBJECT_TYPES",
    "Artifact",
    "ArtifactDeletedError",
    "Dataset",
    "DatasetSpec",
    "artifact_id",
    "deleted_message",
    "find_artifact",
    "find_dataset",
    "get_artifact",
    "get_dataset",
    "grant_initial_admin",
    "grant_role",
    "list_artifacts",
    "list_datasets",
    "list_quarantine",
    "register_dataset",
    "require_not_deleted",
    "require_role",
    "roles_of",
]
