"""Key service: create the key-encryption key, rotate it by re-wrapping data keys.

Rotation never re-encrypts data. It is three steps, each safe to interrupt:
1. add a new primary key to the key file (old keys stay, so everything still opens);
2. re-wrap every data key not yet under the primary, in batches, each batch committed
   with its own event;
3. once none is left under an old key, drop the old keys from the file.
Running ``qgov keys rotate`` again after a crash finishes the rotation it finds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from governance import tables as t
from governance.app import App
from governance.catalog import require_role
from governance.db import transaction
from lineage import EventLog, NewEvent
from storage import TinkKeyset, rewrap_data_key

REWRAP_BATCH = 500


@dataclass(frozen=True)
class RotationReport:
    new_key_id: int
    rewrapped: int
    retired_key_ids: list[int]
    resumed: bool


def create_key_file(app: App) -> bool:
    """Write a fresh key file (0600) unless a key is already configured."""
    if app.settings.kek_json is not None or app.settings.key_file.exists():
        return False
    TinkKeyset.create(app.settings.key_file)
    return True


def rotate(app: App, progress: Callable[[int, int], None] | None = None) -> RotationReport:
    kek = app.kek
    with app.engine.connect() as conn:
        require_role(conn, app.user, "admin", "rotate keys")
    resumed = len(kek.key_ids) > 1
    new_id = kek.primary_key_id if resumed else kek.begin_rotation()
    with app.engine.connect() as conn:
        todo = conn.execute(
            select(func.count())
            .select_from(t.blobs)
            .where(t.blobs.c.wrapped_key.is_not(None), t.blobs.c.kek_key_id != new_id)
        ).scalar_one()
    done = 0
    while True:
        with transaction(app.engine) as conn:
            rows = conn.execute(
                select(t.blobs.c.object_id, t.blobs.c.wrapped_key)
                .where(t.blobs.c.wrapped_key.is_not(None), t.blobs.c.kek_key_id != new_id)
                .limit(REWRAP_BATCH)
            ).all()
            if not rows:
                break
            for row in rows:
                wrapped = rewrap_data_key(kek, row.wrapped_key, row.object_id)
                conn.execute(
                    update(t.blobs)
                    .where(t.blobs.c.object_id == row.object_id)
                    .values(wrapped_key=wrapped.ciphertext, kek_key_id=wrapped.kek_key_id)
                )
            EventLog(conn).append(
                NewEvent(
                    "keys.rewrapped",
                    app.user,
                    subjects=[r.object_id for r in rows],
                    payload={"kek_key_id": new_id, "objects": len(rows)},
                )
            )
        done += len(rows)
        if progress is not None:
            progress(done, todo)
    retired = kek.finish_rotation()
    with transaction(app.engine) as conn:
        EventLog(conn).append(
            NewEvent(
                "keys.rotated",
                app.user,
                subjects=[],
                payload={
                    "kek_key_id": new_id,
                    "retired_key_ids": retired,
                    "rewrapped": done,
                    "resumed": resumed,
                    "finished_at": datetime.now(UTC).isoformat(),
                },
            )
        )
    return RotationReport(new_id, done, retired, resumed)


__all__ = ["RotationReport", "create_key_file", "rotate"]
