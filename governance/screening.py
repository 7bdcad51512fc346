"""Screening service: versioned restricted-party lists, and re-screening on every refresh.

``load_list`` keeps each loaded list whole, under its content version; the newest is in
force (the bundled sample until one is loaded). ``refresh`` re-screens every registered
person's name and affiliation against the list in force: a *new* hit suspends that
person's grants and queues an officer review; every step is a provenance event.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.classification import JURISDICTION
from governance.db import transaction
from governance.screening_clearance import cleared_entries
from lineage import EventLog, NewEvent
from policies.list_age import ListCheck, ListInForce, check_list
from policies.screening import Matcher, ScreeningList, parse_list
from qgov.errors import InputError

SAMPLE_LIST = Path(__file__).resolve().parent.parent / "policies" / "data" / "restricted-parties-sample.csv"


_SAMPLE_SOURCE = "bundled sample (Entity List entries)"
_MATCHERS: dict[str, tuple[Matcher, ListInForce]] = {}


def _sample() -> ScreeningList:
    return parse_list(SAMPLE_LIST.read_text(encoding="utf-8"), _SAMPLE_SOURCE, "csv")[0]


def list_in_force(app: App) -> tuple[Matcher, ListInForce]:
    """The matcher over the newest loaded list (or the bundled sample), and which list that is.

    Cached by list version: a check reads only the version of the list in force, and the
    list's text (the official CSL is megabytes) is read and indexed once per version. A
    loaded copy of the bundled sample is still the sample (compared by content version).
    """
    with app.engine.connect() as conn:
        row = conn.execute(
            select(t.screening_lists.c.version, t.screening_lists.c.loaded_at)
            .order_by(t.screening_lists.c.loaded_at.desc())
            .limit(1)
        ).first()
        key = row.version if row else f"sample:{SAMPLE_LIST.stat().st_mtime_ns}"
        if key not in _MATCHERS:
            if row is None:
                parsed, loaded_at, source = _sample(), None, _SAMPLE_SOURCE
            else:
                stored = conn.execute(select(t.screening_lists).where(t.screening_lists.c.version == key)).one()
                parsed = parse_list(stored.content, stored.source, stored.format)[0]
                loaded_at, source = _aware(stored.loaded_at), stored.source
            if len(_MATCHERS) >= 4:
                _MATCHERS.clear()
            sample = parsed.version == _sample().version
            _MATCHERS[key] = (Matcher(parsed), ListInForce(parsed.version, source, loaded_at, sample))
    return _MATCHERS[key]


def current_matcher(app: App) -> Matcher:
    """The matcher over the list in force (see :func:`list_in_force`)."""
    return list_in_force(app)[0]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite drops the zone; we store UTC


def screening_warnings(app: App, at: datetime | None = None) -> tuple[ListInForce, ListCheck]:
    """The list in force, and whether it can clear anyone at ``at`` (the bundle's maximum age applies)."""
    _, listed = list_in_force(app)
    bundle = app.policies.get(JURISDICTION)
    policy = bundle.access.screening if bundle.access else None
    return listed, check_list(listed, at or datetime.now(UTC), policy)


def load_list(app: App, path: Path, fmt: str | None = None) -> dict[str, Any]:
    """Load a CSL CSV/JSON or FtM file as a new list version (idempotent for the same content).

    ``fmt`` (csv, json, ftm) overrides what the content shows.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"list file {path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"list file {path}: is a directory; expected a CSV, JSON or FtM file") from None
    except UnicodeDecodeError:
        raise InputError(f"list file {path}: not UTF-8 text; expected a CSV, JSON or FtM file") from None
    except OSError as exc:
        raise InputError(f"list file {path}: cannot be read ({exc.strerror})") from None
    parsed, fmt = parse_list(text, path.name, fmt)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "screening.load")
        if conn.execute(
            select(t.screening_lists.c.version).where(t.screening_lists.c.version == parsed.version)
        ).first():
            return {"version": parsed.version, "entries": len(parsed.entries), "format": fmt, "new": False}
        conn.execute(
            insert(t.screening_lists).values(
                version=parsed.version,
                source=path.name,
                format=fmt,
                content=text,
                entries=len(parsed.entries),
                loaded_at=datetime.now(UTC),
                loaded_by=app.user,
            )
        )
        EventLog(conn).append(
            NewEvent(
                "screening.list_loaded",
                app.user,
                [parsed.version],
                {"version": parsed.version, "source": path.name, "entries": len(parsed.entries), "format": fmt},
            )
        )
    return {"version": parsed.version, "entries": len(parsed.entries), "format": fmt, "new": True}


def refresh(app: App, at: datetime | None = None) -> list[dict[str, Any]]:
    """Re-screen every registered person; new hits suspend grants and queue a review."""
    at = at or datetime.now(UTC)
    matcher = current_matcher(app)
    version = matcher.list.version
    new_hits: list[dict[str, Any]] = []
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "screening.load")
        log = EventLog(conn)
        previous = {r.person: r for r in conn.execute(select(t.person_screenings))}
        for person in conn.execute(select(t.people)).all():
            hits = sorted(
                {
                    m.entry_id
                    # the affiliation's country is not the person's location (none is registered)
                    # an erased person's stand-in has no location ("" is no country code)
                    for field, country in ((person.name, person.location or None), (person.affiliation, None))
                    for m in matcher.screen(field, country).matches
                }
            )
            before = set(previous[person.name].hits) if person.name in previous else set()
            values = {"list_version": version, "hits": hits, "screened_at": at}
            if person.name in previous:
                conn.execute(
                    update(t.person_screenings).where(t.person_screenings.c.person == person.name).values(**values)
                )
            else:
                conn.execute(insert(t.person_screenings).values(person=person.name, **values))
            fresh = sorted(set(hits) - before - cleared_entries(conn, person.name, version))
            if not fresh:
                continue
            suspended = []
            for grant in conn.execute(
                select(t.grants).where(
                    t.grants.c.person == person.name, t.grants.c.revoked_at.is_(None), t.grants.c.suspended_at.is_(None)
                )
            ).all():
                conn.execute(update(t.grants).where(t.grants.c.id == grant.id).values(suspended_at=at))
                suspended.append(grant)
            ref = log.actor_ref(person.name)
            events = [
                NewEvent(
                    "screening.hit",
                    "qgov",
                    [ref, *fresh],
                    {"person_ref": ref, "entries": fresh, "list_version": version},
                    at,
                )
            ]
            for grant in suspended:
                review_id = str(uuid.uuid4())
                conn.execute(
                    insert(t.access_requests).values(
                        id=review_id,
                        requester=person.name,
                        artifacts=grant.artifacts,
                        purpose=f"re-screening hit on list {version[:12]}",
                        destination="US",
                        duration_days=1,
                        status="queued",
                        outcome="review",
                        decision={
                            "outcome": "review",
                            "artifacts": [
                                {
                                    "artifact": a,
                                    "classification": "",
                                    "outcome": "review",
                                    "reasons": [
                                        {
                                            "rule": "ear.access.screening-hit",
                                            "outcome": "review",
                                            "text": f"new match on {', '.join(fresh)}: grant {grant.id} suspended",
                                            "citation": "15 CFR 744; project rule",
                                            "status": "V",
                                        }
                                    ],
                                    "input_hash": "",
                                }
                                for a in grant.artifacts
                            ],
                            # what clearing this review needs: the grant as it stood, the hit
                            "suspended_grant": grant.id,
                            "entries": fresh,
                            "list_version": version,
                        },
                        created_at=at,
                    )
                )
                events.append(
                    NewEvent(
                        "access.suspended",
                        "qgov",
                        [grant.id, review_id, *grant.artifacts],
                        {"grant": grant.id, "review": review_id, "entries": fresh},
                        at,
                    )
                )
            log.append_many(events)
            new_hits.append({"person": person.name, "entries": fresh, "suspended_grants": [g.id for g in suspended]})
    return new_hits


__all__ = ["current_matcher", "list_in_force", "load_list", "refresh", "screening_warnings"]
