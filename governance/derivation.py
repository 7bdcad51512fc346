"""Recording derivations between artifacts (the lineage that classification inherits along).

``record_derivation(app, activity, used, generated)`` links existing artifacts: each
generated artifact ``wasGeneratedBy`` the activity, which ``used`` each input. A
derivation that would make an artifact its own ancestor is refused at write time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.classification import Change, Classifier, downstream_order
from governance.db import transaction
from governance.ids import resolve_all
from lineage import EdgeSpec, EventLog, NewEvent, NodeSpec
from qgov.errors import InputError, NotFoundError


def record_derivation(
    app: App, activity: str, used: Sequence[str], generated: Sequence[str]
) -> tuple[str, list[Change]]:
    if not activity.strip():
        raise InputError("--activity: expected a name for what was done, e.g. 'fit T1'")
    if not used or not generated:
        raise InputError("a derivation needs at least one --used and one --generated artifact")
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "lineage.record")
        used, generated = resolve_all(conn, "artifact", list(used)), resolve_all(conn, "artifact", list(generated))
        log = EventLog(conn)
        log.lock_head()
        known = {r.id for r in conn.execute(select(t.artifacts.c.id).where(t.artifacts.c.id.in_([*used, *generated])))}
        for artifact in [*used, *generated]:
            if artifact not in known:
                raise NotFoundError(f"artifact {artifact!r} does not exist")
        downstream = set(downstream_order(conn, list(generated)))
        loop = sorted(set(used) & (downstream | set(generated)))
        if loop:
            raise InputError(f"artifact {loop[0]} cannot be derived from itself (the derivation would create a cycle)")
        activity_id = str(uuid.uuid4())
        person = NodeSpec.person(log.actor_ref(app.user))
        edges = [
            *(EdgeSpec(activity_id, u, "used", activity) for u in used),
            *(EdgeSpec(g, activity_id, "wasGeneratedBy", activity) for g in generated),
            EdgeSpec(activity_id, person.id, "wasAssociatedWith", activity),
        ]
        log.append_many(
            [
                NewEvent(
                    "lineage.derivation_recorded",
                    app.user,
                    nodes=[NodeSpec.activity(activity_id, "derivation", activity), person],
                    subjects=[activity_id, *used, *generated],
                    payload={
                        "activity": activity_id,
                        "name": activity,
                        "used": list(used),
                        "generated": list(generated),
                    },
                )
            ],
            edges=edges,
        )
        changes = Classifier(app, conn).refresh(list(generated), f"derived by {activity}")
    return activity_id, changes


__all__ = ["record_derivation"]
