"""The catalog and audit documents that the clients and the API both return.

``qgov.Client`` on the local store (:class:`governance.client_ops.EmbeddedOps`) and the HTTP
API (:mod:`governance.api.catalog_routes`) answer with the same JSON: the datasets and
artifacts with what the caller may not see redacted, the what-if classification and the
event log. Building it here, at the service level, lets the API call a service instead of a
client (``.importlinter``: the API sits below the clients).
"""

from __future__ import annotations

from typing import Any

from governance.app import App
from governance.audit import EventFilter, list_events
from governance.catalog import find_artifact, find_dataset, list_artifacts, list_datasets, list_quarantine
from governance.disclosure import Disclosure
from policies.classify import check_item, classify
from qgov.errors import InputError


def datasets_doc(app: App) -> list[dict[str, Any]]:
    """Every dataset with its artifact count and size."""
    return [ds.to_json(n, b) for ds, n, b in list_datasets(app)]


def dataset_doc(app: App, name: str) -> dict[str, Any]:
    """One dataset with its artifacts and quarantined files, redacted for the caller."""
    ds = find_dataset(app, name)
    arts = list_artifacts(app, name)
    summaries = [a.summary() | {"classification": a.classification} for a in arts]
    listed, quarantined = Disclosure(app).redact([summaries, list_quarantine(app, name)])
    return ds.to_json(len(arts), sum(a.size for a in arts)) | {"artifact_list": listed, "quarantine": quarantined}


def register_doc(
    app: App,
    spec: dict[str, Any],
    privacy: Any = None,
    source: str = "dataset",
    privacy_source: str = "privacy profile",
) -> dict[str, Any]:
    """Register a dataset from its fields (DESIGN.md DATASET; the owner defaults to the caller)
    and, when given, its privacy profile, checked before anything is registered."""
    from governance.catalog import DatasetSpec, register_dataset
    from governance.privacy import Profile, privacy_policy, set_profile

    if not isinstance(spec, dict):
        raise InputError(f"{source}: expected a mapping of dataset fields")
    dataset_spec = DatasetSpec.from_mapping({"owner": app.user} | spec, source)
    if privacy is not None:
        Profile.parse(privacy, privacy_policy(app), privacy_source)  # a bad profile registers nothing
    ds = register_dataset(app, dataset_spec)
    if privacy is not None:
        set_profile(app, ds.name, privacy, privacy_source)
    return dict(ds.to_json(None, None))


def artifacts_doc(app: App, dataset: str | None = None) -> list[dict[str, Any]]:
    """The artifacts (of one dataset, or all), redacted for the caller."""
    rows = [
        a.summary() | {"dataset": a.dataset, "classification": a.classification} for a in list_artifacts(app, dataset)
    ]
    return list(Disclosure(app).redact(rows))


def artifact_doc(app: App, artifact: str) -> dict[str, Any]:
    """One artifact with its classification and its history, format, source (DVC origin) and
    provenance events, redacted for the caller (``qgov artifact show``)."""
    from governance.classification import history
    from qgov.canonical import iso_utc

    art = find_artifact(app, artifact)
    doc = art.summary() | {
        "classification": art.classification,
        "controlled": art.controlled,
        "classification_basis": art.classification_basis,
        "classification_history": history(app, art.id),
        "dataset": art.dataset,
        "format": art.format,
        "source": art.source,
        "created_at": iso_utc(art.created_at),
        "events": [
            {k: e[k] for k in ("seq", "type", "occurred_at", "actor")} for e in list_events(app, subject=art.id)
        ],
    }
    return dict(Disclosure(app).redact(doc))


def classify_doc(app: App, item: dict[str, Any], jurisdiction: str = "US-EAR") -> dict[str, Any]:
    """What-if: an ITEM document classified against the policy in force; nothing is recorded."""
    return classify(check_item(item, "item"), app.policies.get(jurisdiction)).to_json()


def events_doc(
    app: App, subject: str | None = None, where: EventFilter | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Provenance events, oldest first, redacted for the caller."""
    disclosure = Disclosure(app)
    # a digest the user may not see is looked up as an unknown id: no answer confirms a guess
    if not disclosure.may_look_up(subject):
        return []
    return list(disclosure.redact(list_events(app, subject, limit, where)))


__all__ = ["artifact_doc", "artifacts_doc", "classify_doc", "dataset_doc", "datasets_doc", "events_doc"]
