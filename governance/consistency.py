"""The tables decisions read, recomputed from the log they are derived from.

The log is the source of truth; ``privacy_budgets`` and ``privacy_ledger``, ``grants``,
``legal_holds``, ``classifications`` (with each artifact's effective classification) and the
``event_subjects`` index are derived from its events' payloads. Anyone who can write the
database can rewrite those tables consistently with each other, so they are checked against
the events, in two ways (ADR 0017):

- :func:`recompute` (``qgov audit verify``): every table recomputed from the whole log and
  compared; each disagreement is one :class:`Disagreement` line naming table, key and field.
- :func:`check_budget` and :func:`check_grant`: the one row a decision relies on, checked
  before the decision, failing closed with an :class:`~qgov.errors.IntegrityError`. They read
  the row's events through the subject index, check each against the event itself (its own
  subjects and payload), and look for newer events of the same types the index does not list
  (so deleting index rows cannot hide the latest events) — a cost that grows with the row's
  own history and the few events of those types since, never with the whole log.

New budget events carry the budget as it stands after them (``payload.budget``); the folded
sum must equal it at every such event, so deleting an index row in the middle of a budget's
history is noticed too. Events written before that (and before ``release.failed`` named its
dataset) still verify: their amounts come from the matching reservation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, select

from governance import tables as t
from governance.ledger import fraction_text
from lineage import schema
from qgov.canonical import as_utc
from qgov.chunks import chunked
from qgov.errors import IntegrityError

BUDGET_TYPES = ("privacy.configured", "budget.reserved", "release.published", "release.failed", "budget.reconciled")
GRANT_TYPES = ("access.granted", "access.revoked", "access.suspended", "access.reinstated", "access.expired")
HOLD_TYPES = ("hold.placed", "hold.released")
CLASSIFICATION_TYPES = ("artifact.classified", "classification.overridden")
_BUDGET_FIELDS = ("epsilon", "delta", "spent_epsilon", "spent_delta", "reserved_epsilon", "reserved_delta")
MAX_LINES = 200  # a verify report names at most this many disagreements, then counts the rest


@dataclass(frozen=True)
class Disagreement:
    """One field of one row that is not what the log says."""

    table: str
    key: str
    field: str
    table_value: object
    log_value: object

    def line(self) -> str:
        have, want = _text(self.table_value), _text(self.log_value)
        return f"{self.table}[{self.key}].{self.field}: table has {have}, the log says {want}"

    def to_json(self) -> dict[str, str]:
        return {
            "table": self.table,
            "key": self.key,
            "field": self.field,
            "table_value": _text(self.table_value),
            "log_value": _text(self.log_value),
        }


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, Fraction):
        return fraction_text(value)
    return "nothing" if value is None else str(value)


@dataclass(frozen=True)
class _Event:
    seq: int
    type: str
    subjects: tuple[str, ...]
    payload: dict[str, Any]
    occurred_at: datetime
    actor_ref: str


_E = schema.events
_COLUMNS = (_E.c.seq, _E.c.type, _E.c.subjects, _E.c.payload, _E.c.occurred_at, _E.c.actor_ref)


def _event(row: Any) -> _Event:
    return _Event(
        int(row.seq), row.type, tuple(row.subjects), dict(row.payload), as_utc(row.occurred_at), row.actor_ref
    )


def _by_type(conn: Connection, types: Sequence[str], after: int = 0) -> Iterator[_Event]:
    """Events of these types after ``after``, oldest first (the ``type`` index; pages of 5,000)."""
    last = after
    while True:
        rows = conn.execute(
            select(*_COLUMNS).where(_E.c.type.in_(types), _E.c.seq > last).order_by(_E.c.seq).limit(5000)
        ).all()
        if not rows:
            return
        yield from map(_event, rows)
        last = int(rows[-1].seq)


def _indexed(conn: Connection, subjects: Iterable[str], types: Sequence[str]) -> list[_Event]:
    """The events the subject index lists for any of ``subjects``, of these types, oldest first."""
    s = schema.event_subjects
    found: dict[int, _Event] = {}
    for chunk in chunked(sorted(set(subjects)), 500):
        query = select(*_COLUMNS).join(s, s.c.seq == _E.c.seq).where(s.c.subject_id.in_(chunk), _E.c.type.in_(types))
        found.update((int(r.seq), _event(r)) for r in conn.execute(query))
    return [found[k] for k in sorted(found)]


def _row_events(
    conn: Connection, key: str, ids: set[str], types: Sequence[str], more: Any = None, more_types: Sequence[str] = ()
) -> tuple[list[_Event], list[Disagreement]]:
    """A row's events: those the subject index lists for ``ids`` (and, of ``more_types``, for the
    ids ``more(events)`` adds, such as a budget's releases), each checked against its own subjects; then any newer
    event of these types about the row that the index does not list."""
    problems: list[Disagreement] = []
    found: dict[int, _Event] = {}

    def look(wanted: set[str], types: Sequence[str]) -> None:
        for event in _indexed(conn, wanted, types):
            if wanted.isdisjoint(event.subjects):
                problems.append(Disagreement("event_subjects", f"seq={event.seq}", "subjects", key, "not this row"))
            else:
                found[event.seq] = event

    look(ids, types)
    if more is not None:
        extra = more([found[k] for k in sorted(found)]) - ids
        if extra:
            look(extra, more_types)
            ids = ids | extra
    # ``seq + 0``: found through the type index alone. A plain ``seq >`` let PostgreSQL (its
    # statistics stale after a bulk append) AND in a primary-key range of every newer event:
    # 16 ms instead of 0.1 ms behind 100,000 events.
    newer = conn.execute(select(*_COLUMNS).where(_E.c.type.in_(types), _E.c.seq + 0 > max(found, default=0)))
    for event in sorted(map(_event, newer), key=lambda e: e.seq):
        if not ids.isdisjoint(_mentions(event)):
            problems.append(Disagreement("event_subjects", f"{key}, seq={event.seq}", "row", "missing", "present"))
    return [found[k] for k in sorted(found)], problems


def _mentions(event: _Event) -> set[str]:
    return set(event.subjects) | {str(event.payload[k]) for k in ("release", "grant", "hold") if k in event.payload}


# -- privacy budgets and their ledger -----------------------------------------------------
@dataclass
class BudgetFold:
    """A dataset's budget and ledger entries as its events add them up."""

    dataset: str
    values: dict[str, Fraction] = field(default_factory=lambda: dict.fromkeys(_BUDGET_FIELDS, Fraction(0)))
    reservations: dict[str, tuple[Fraction, Fraction]] = field(default_factory=dict)
    ledger: list[tuple[str, str | None, Fraction, Fraction]] = field(default_factory=list)
    problems: list[Disagreement] = field(default_factory=list)
    configured: bool = False

    def apply(self, event: _Event) -> None:
        p, v = event.payload, self.values
        if event.type == "privacy.configured":
            for release, change in sorted((p.get("rescaled") or {}).get("releases", {}).items()):
                v["spent_epsilon"] += _frac(change)
                self.ledger.append(("rescale", release, _frac(change), Fraction(0)))
            v["epsilon"], v["delta"] = _frac(p["epsilon"]), _frac(p["delta"])
            self.ledger.append(("total", None, v["epsilon"], v["delta"]))
            self.configured = True
        elif event.type == "budget.reserved":
            eps, dlt = _frac(p["epsilon"]), _frac(p["delta"])
            self.reservations[p["release"]] = (eps, dlt)
            v["reserved_epsilon"] += eps
            v["reserved_delta"] += dlt
            self.ledger.append(("reserve", p["release"], eps, dlt))
        else:
            release = p["release"]
            # a failure after the data were read keeps its charge (ADR 0020)
            charge = event.type == "release.published" or p.get("action") == "charge" or "charged_epsilon" in p
            if release not in self.reservations:
                self.problems.append(
                    Disagreement("events", f"seq={event.seq}", "release", release, "no reservation before it")
                )
                return
            eps, dlt = self.reservations.pop(release)
            v["reserved_epsilon"] -= eps
            v["reserved_delta"] -= dlt
            if charge:
                v["spent_epsilon"] += eps
                v["spent_delta"] += dlt
            self.ledger.append(("commit" if charge else "refund", release, eps, dlt))
        self._check_stated(event)

    def _check_stated(self, event: _Event) -> None:
        """An event that states the budget after it must agree with the events before it."""
        stated = event.payload.get("budget")
        if isinstance(stated, dict):
            for name in _BUDGET_FIELDS:
                if name in stated and stated[name] != fraction_text(self.values[name]):  # both normalised
                    self.problems.append(
                        Disagreement(
                            "event_subjects",
                            f"dataset={self.dataset}",
                            f"events before #{event.seq}",
                            f"{name} {fraction_text(self.values[name])}",
                            f"{name} {stated[name]} (an event of this budget is missing from the index)",
                        )
                    )
                    return
        elif event.type == "release.published" and "remaining_epsilon" in event.payload:
            v = self.values
            remaining = v["epsilon"] - v["spent_epsilon"] - v["reserved_epsilon"]
            if _frac(event.payload["remaining_epsilon"]) != remaining:
                self.problems.append(
                    Disagreement(
                        "event_subjects",
                        f"dataset={self.dataset}",
                        f"events before #{event.seq}",
                        f"remaining_epsilon {fraction_text(remaining)}",
                        f"remaining_epsilon {event.payload['remaining_epsilon']}",
                    )
                )

    def compare(self, row: Any, ledger_rows: Sequence[Any]) -> list[Disagreement]:
        key = f"dataset={self.dataset}"
        out = list(self.problems)
        if row is None:
            if self.configured:
                out.append(Disagreement("privacy_budgets", key, "row", "missing", "configured"))
        elif not self.configured:
            out.append(Disagreement("privacy_budgets", key, "row", "present", "no privacy.configured event"))
        else:
            out += [
                Disagreement("privacy_budgets", key, name, _frac(getattr(row, name)), self.values[name])
                for name in _BUDGET_FIELDS
                if _frac(getattr(row, name)) != self.values[name]
            ]
        table = [(r.entry, r.release_id, _frac(r.epsilon), _frac(r.delta)) for r in ledger_rows]
        for i, (have, want) in enumerate(zip(table, self.ledger, strict=False)):
            if have != want:
                out.append(Disagreement("privacy_ledger", f"{key}, entry {i + 1}", "entry", _entry(have), _entry(want)))
                break
        if len(table) != len(self.ledger):
            out.append(Disagreement("privacy_ledger", key, "entries", len(table), len(self.ledger)))
        return out


def _frac(text: str) -> Fraction:
    """An exact amount from its stored text ('n/d', as :func:`fraction_text` writes it, parsed
    without Fraction's regular expression: a budget check parses a few per release)."""
    numerator, slash, denominator = text.partition("/")
    try:
        return Fraction(int(numerator), int(denominator)) if slash else Fraction(text)
    except ValueError:
        return Fraction(text)


def _entry(e: tuple[str, str | None, Fraction, Fraction]) -> str:
    return f"{e[0]} {e[1] or '-'} ε {fraction_text(e[2])} δ {fraction_text(e[3])}"


def _ledger_rows(conn: Connection, dataset_id: str | None = None) -> list[Any]:
    query = select(t.privacy_ledger).order_by(t.privacy_ledger.c.id)
    if dataset_id is not None:
        query = query.where(t.privacy_ledger.c.dataset_id == dataset_id)
    return list(conn.execute(query))


def check_budget(conn: Connection, dataset_id: str, name: str | None = None) -> None:
    """Refuse (IntegrityError) when the dataset's budget row or ledger disagrees with its events."""

    def releases(events: list[_Event]) -> set[str]:
        return {e.payload["release"] for e in events if e.type == "budget.reserved"}

    # a refund written before release.failed named its dataset is found through its release
    events, problems = _row_events(
        conn, f"dataset={dataset_id}", {dataset_id}, BUDGET_TYPES, releases, ("release.failed",)
    )
    fold = BudgetFold(dataset_id)
    for event in events:
        fold.apply(event)
    row = conn.execute(select(t.privacy_budgets).where(t.privacy_budgets.c.dataset_id == dataset_id)).first()
    problems += fold.compare(row, _ledger_rows(conn, dataset_id))
    if problems:
        name = name or conn.execute(select(t.datasets.c.name).where(t.datasets.c.id == dataset_id)).scalar()
        raise IntegrityError(
            f"the privacy budget of {name or dataset_id} does not match the log, so nothing is reserved: "
            f"{problems[0].line()} ('qgov audit verify' lists every difference)"
        )


# -- grants ------------------------------------------------------------------------------
@dataclass
class GrantFold:
    grant: str
    values: dict[str, Any] = field(default_factory=dict)
    request_actor: str | None = None

    def apply(self, event: _Event) -> None:
        p = event.payload
        if event.type == "access.granted":
            self.values = {
                "request_id": p["request"],
                "artifacts": list(p["artifacts"]),
                "purpose": p["purpose"],
                "licence": p.get("licence"),
                "granted_at": event.occurred_at,
                "expires_at": as_utc(datetime.fromisoformat(p["expires_at"])),
                "revoked_at": None,
                "suspended_at": None,
                "expired_recorded": False,
                "person_ref": p.get("person_ref"),
            }
        elif event.type == "access.revoked":
            self.values["revoked_at"] = event.occurred_at
        elif event.type == "access.suspended":
            self.values["suspended_at"] = event.occurred_at
        elif event.type == "access.reinstated":  # a cleared screening match lifts the suspension
            self.values["suspended_at"] = None
        elif event.type == "access.expired":
            self.values["expired_recorded"] = True

    def compare(self, conn: Connection, row: Any, refs: dict[str, str] | None = None) -> list[Disagreement]:
        key = f"id={self.grant}"
        if not self.values:
            return [Disagreement("grants", key, "row", "present", "no access.granted event")]
        if row is None:
            return [Disagreement("grants", key, "row", "missing", "granted")]
        out = []
        for name, want in self.values.items():
            if name == "person_ref":
                continue
            have = getattr(row, name)
            have = as_utc(have) if isinstance(have, datetime) else have
            if name == "artifacts":
                have = list(have)
            if have != want:
                out.append(Disagreement("grants", key, name, have, want))
        ref = self.values.get("person_ref") or self.request_actor
        if ref is not None and not _is_person(conn, row.person, ref, refs):
            out.append(Disagreement("grants", key, "person", row.person, f"the person with actor ref {ref[:12]}…"))
        return out


def _is_person(conn: Connection, name: str, ref: str, refs: dict[str, str] | None = None) -> bool:
    """``name`` (or its pseudonym after erasure) is the person the log refers to by ``ref``;
    ``refs`` (name -> actor ref, every actor) saves a query per row on a whole-store check."""
    if name == f"erased-{ref[:12]}":
        return True
    if refs is not None:
        return refs.get(name) == ref
    found = conn.execute(select(schema.actors.c.ref).where(schema.actors.c.name == name)).scalar()
    return found == ref


def _actor_refs(conn: Connection) -> dict[str, str]:
    a = schema.actors
    return {r.name: r.ref for r in conn.execute(select(a.c.name, a.c.ref).where(a.c.name.is_not(None)))}


def check_grant(conn: Connection, grant: Any) -> None:
    """Refuse (IntegrityError) when the grant a fetch relies on disagrees with its events."""
    ids = {grant.id, grant.request_id}
    events, problems = _row_events(conn, f"grant={grant.id}", ids, (*GRANT_TYPES, "access.requested"))
    fold = GrantFold(grant.id)
    for event in events:
        if event.type == "access.requested":
            if event.payload.get("request") == grant.request_id:
                fold.request_actor = event.actor_ref
        elif event.payload.get("grant") == grant.id:
            fold.apply(event)
    problems += fold.compare(conn, grant)
    if problems:
        raise IntegrityError(
            f"grant {grant.id} does not match the log, so it authorises nothing: {problems[0].line()} "
            "('qgov audit verify' lists every difference)"
        )


def _effective(payload: dict[str, Any]) -> dict[str, Any]:
    """An artifact's effective classification as its ``artifact.classified`` event states it,
    named as the artifacts table's columns."""
    return {
        "classification": payload["classification"],
        "classification_basis": payload["basis"],
        "classification_decision": payload["decision_id"],
    }


def check_classification(conn: Connection, artifact_id: str) -> None:
    """Refuse (IntegrityError) when the classification an access decision reads for an artifact
    disagrees with the newest ``artifact.classified`` event about it."""
    events, problems = _row_events(conn, f"artifact={artifact_id}", {artifact_id}, CLASSIFICATION_TYPES)
    want: dict[str, Any] = dict.fromkeys(("classification", "classification_basis", "classification_decision"))
    for event in events:
        if event.type == "artifact.classified" and event.subjects and event.subjects[0] == artifact_id:
            want = _effective(event.payload)
    a = t.artifacts
    row = conn.execute(
        select(a.c.classification, a.c.classification_basis, a.c.classification_decision).where(a.c.id == artifact_id)
    ).first()
    if row is not None:
        problems += [
            Disagreement("artifacts", f"id={artifact_id}", name, getattr(row, name), value)
            for name, value in want.items()
            if getattr(row, name) != value
        ]
    if problems:
        raise IntegrityError(
            f"the classification of artifact {artifact_id} does not match the log, so no decision is made on it: "
            f"{problems[0].line()} ('qgov audit verify' lists every difference)"
        )


def check_holds(conn: Connection) -> None:
    """Refuse (IntegrityError) when the legal holds a deletion reads disagree with their events
    (a hold row deleted or released behind the log's back). Holds are few: all are folded."""
    problems = _holds(conn)
    if problems:
        raise IntegrityError(
            f"the legal holds do not match the log, so nothing is deleted: {problems[0].line()} "
            "('qgov audit verify' lists every difference)"
        )


# -- the whole log -----------------------------------------------------------------------
def recompute(conn: Connection) -> list[Disagreement]:
    """Every derived table recomputed from the log and compared (``qgov audit verify``)."""
    return [
        *_subject_index(conn),
        *_budgets(conn),
        *_grants(conn),
        *_holds(conn),
        *_classifications(conn),
    ]


def _subject_index(conn: Connection) -> Iterator[Disagreement]:
    """``event_subjects`` against every event's own subjects: one pass over each, in sequence
    order (compared per event, so no collation order of subject ids matters)."""
    s = schema.event_subjects

    def from_events() -> Iterator[tuple[int, set[str]]]:
        last = 0
        while rows := conn.execute(
            select(_E.c.seq, _E.c.subjects).where(_E.c.seq > last).order_by(_E.c.seq).limit(20000)
        ).all():
            yield from ((int(r.seq), set(r.subjects)) for r in rows)
            last = int(rows[-1].seq)

    def from_index() -> Iterator[tuple[int, set[str]]]:
        rows = conn.execution_options(yield_per=20000).execute(select(s.c.seq, s.c.subject_id).order_by(s.c.seq))
        for seq, group in groupby(rows, key=lambda r: int(r.seq)):
            yield seq, {r.subject_id for r in group}

    log, index = from_events(), from_index()
    a, b = next(log, None), next(index, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] < b[0]):
            have, want, seq = set(), a[1], a[0]  # type: ignore[index]  # a is not None here
            a = next(log, None)
        elif a is None or b[0] < a[0]:
            have, want, seq = b[1], set(), b[0]
            b = next(index, None)
        else:
            have, want, seq = b[1], a[1], a[0]
            a, b = next(log, None), next(index, None)
        for subject in sorted(want - have):
            yield Disagreement("event_subjects", f"subject={subject}, seq={seq}", "row", "missing", "present")
        for subject in sorted(have - want):
            yield Disagreement("event_subjects", f"subject={subject}, seq={seq}", "row", "present", "absent")


def _budgets(conn: Connection) -> list[Disagreement]:
    folds: dict[str, BudgetFold] = {}
    owner: dict[str, str] = {}  # release -> dataset
    for event in _by_type(conn, BUDGET_TYPES):
        p = event.payload
        if event.type == "privacy.configured":
            dataset = event.subjects[0]
        elif event.type == "budget.reserved":
            dataset = p.get("dataset") or event.subjects[1]
            owner[p["release"]] = dataset
        else:
            dataset = owner.get(p["release"], "")
        folds.setdefault(dataset, BudgetFold(dataset)).apply(event)
    rows = {r.dataset_id: r for r in conn.execute(select(t.privacy_budgets))}
    ledger: dict[str, list[Any]] = defaultdict(list)
    for r in _ledger_rows(conn):
        ledger[r.dataset_id].append(r)
    out: list[Disagreement] = []
    for dataset in sorted(set(folds) | set(rows) | set(ledger)):
        out += folds.get(dataset, BudgetFold(dataset)).compare(rows.get(dataset), ledger.get(dataset, []))
    return out


def _grants(conn: Connection) -> list[Disagreement]:
    folds: dict[str, GrantFold] = {}
    requesters: dict[str, str] = {}
    for event in _by_type(conn, (*GRANT_TYPES, "access.requested")):
        if event.type == "access.requested":
            requesters[event.payload["request"]] = event.actor_ref
        else:
            folds.setdefault(event.payload["grant"], GrantFold(event.payload["grant"])).apply(event)
    rows = {r.id: r for r in conn.execute(select(t.grants))}
    refs = _actor_refs(conn)
    out: list[Disagreement] = []
    for grant in sorted(set(folds) | set(rows)):
        fold = folds.get(grant, GrantFold(grant))
        fold.request_actor = requesters.get(fold.values.get("request_id", ""))
        out += fold.compare(conn, rows.get(grant), refs)
    return out


def _holds(conn: Connection) -> list[Disagreement]:
    want: dict[str, dict[str, Any]] = {}
    for event in _by_type(conn, HOLD_TYPES):
        p = event.payload
        if event.type == "hold.placed":
            want[p["hold"]] = {
                "scope": p["scope"],
                "target": p["target"],
                "reason": p["reason"],
                "placed_at": event.occurred_at,
                "released_at": None,
                "release_reason": None,
            }
        elif p["hold"] in want:
            want[p["hold"]] |= {"released_at": event.occurred_at, "release_reason": p["reason"]}
    rows = {r.id: r for r in conn.execute(select(t.legal_holds))}
    refs = _actor_refs(conn)
    out: list[Disagreement] = []
    for hold in sorted(set(want) | set(rows)):
        key, row, values = f"id={hold}", rows.get(hold), want.get(hold)
        if values is None or row is None:
            out.append(
                Disagreement(
                    "legal_holds",
                    key,
                    "row",
                    "missing" if row is None else "present",
                    "placed" if values else "no hold.placed event",
                )
            )
            continue
        for name, value in values.items():
            have = getattr(row, name)
            have = as_utc(have) if isinstance(have, datetime) else have
            if name == "target" and row.scope == "person":
                if not _is_person(conn, have, value, refs):
                    out.append(Disagreement("legal_holds", key, name, have, f"the person with actor ref {value[:12]}…"))
            elif have != value:
                out.append(Disagreement("legal_holds", key, name, have, value))
    return out


def _classifications(conn: Connection) -> list[Disagreement]:
    decisions: dict[str, dict[str, Any]] = {}
    effective: dict[str, dict[str, Any]] = {}
    automatic_order: dict[str, list[str]] = defaultdict(list)
    latest_override: dict[str, str] = {}
    for event in _by_type(conn, CLASSIFICATION_TYPES):
        p, artifact = event.payload, event.subjects[0]
        if event.type == "classification.overridden":
            decisions[p["decision_id"]] = {
                "artifact_id": artifact,
                "source": "override",
                "classification": p["classification"],
                "reason": p["reason"],
            }
            latest_override[artifact] = p["decision_id"]
            continue
        effective[artifact] = _effective(p)
        if p["decision_id"] not in decisions:
            decisions[p["decision_id"]] = {
                "artifact_id": artifact,
                "classification": p["automatic"],
                "policy_version": p["policy_version"],
                "jurisdiction": p["jurisdiction"],
                "input_hash": p["input_hash"],
            }
            automatic_order[artifact].append(p["decision_id"])
    out: list[Disagreement] = []
    rows = {r.decision_id: r for r in conn.execute(select(t.classifications))}
    newest_automatic = {a: ids[-1] for a, ids in automatic_order.items()}
    for decision in sorted(set(rows) | set(decisions)):
        key, row, values = f"decision_id={decision}", rows.get(decision), decisions.get(decision)
        if row is None or values is None:
            out.append(
                Disagreement(
                    "classifications",
                    key,
                    "row",
                    "missing" if row is None else "present",
                    "decided" if values else "no event",
                )
            )
            continue
        for name, value in values.items():
            if getattr(row, name) != value:
                out.append(Disagreement("classifications", key, name, getattr(row, name), value))
        latest = latest_override if row.source == "override" else newest_automatic
        if bool(row.active) != (latest.get(row.artifact_id) == decision):
            out.append(Disagreement("classifications", key, "active", row.active, not row.active))
    a = t.artifacts
    for row in conn.execute(
        select(a.c.id, a.c.classification, a.c.classification_basis, a.c.classification_decision).order_by(a.c.id)
    ):
        for name, value in effective.get(
            row.id, dict.fromkeys(("classification", "classification_basis", "classification_decision"))
        ).items():
            if getattr(row, name) != value:
                out.append(Disagreement("artifacts", f"id={row.id}", name, getattr(row, name), value))
    return out


__all__ = [
    "BUDGET_TYPES",
    "BudgetFold",
    "Disagreement",
    "GrantFold",
    "MAX_LINES",
    "check_budget",
    "check_classification",
    "check_grant",
    "check_holds",
    "recompute",
]
