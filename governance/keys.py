"""Key service: create the key-encryption key, rotate it by re-wrapping data keys.

Rotation never re-encrypts data. It is three steps, each safe to interrupt, each taken
under the log head lock (``EventLog.lock_head``), the lock every committing writer holds:
1. add a new primary key to the key file (old keys stay, so everything still opens) and
   record it in ``kek_keys`` as the primary, the others as retiring;
2. re-wrap every data key not yet under the primary, in batches, each batch committed
   with its own event;
3. in the transaction that finds no data key left under another key, drop the old keys
   from the key file and record them as retired.
Running ``qgov keys rotate`` again after a crash finishes the rotation it finds.

Writers and readers hold a key set loaded earlier, which a rotation may have overtaken
(ADR 0015). A writer calls ``fence_pending_keys`` in its committing transaction: a data
key wrapped under anything but the recorded primary is re-wrapped under the key file's
current primary before it is stored, and a retired key is never stored. A reader takes
its wrapped key through ``readable_key``, which reloads the key file (and re-reads the
row) when the row is wrapped under a key this process does not hold yet.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, insert, select, update

from governance import tables as t
from governance.app import App
from governance.db import snapshot, transaction
from lineage import EventLog, NewEvent
from qgov.errors import ConfigError, IntegrityError

if TYPE_CHECKING:  # storage (Tink, fsspec) loads with the first command that reads or writes a key
    from storage import PendingObject, TinkKeyset

REWRAP_BATCH = 500
PRIMARY, RETIRING, RETIRED = "primary", "retiring", "retired"
# The steps of a rotation, in order, as passed to ``rotate(on_step=...)`` (crash tests kill there).
STEPS = ("key-added", "recorded", "rewrapped-batch", "key-file-trimmed", "finished")


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
    from storage import TinkKeyset

    TinkKeyset.create(app.settings.key_file)
    return True


def _states(conn: Connection) -> dict[int, str]:
    return {int(r.key_id): str(r.state) for r in conn.execute(select(t.kek_keys.c.key_id, t.kek_keys.c.state))}


def _recorded_primary(states: dict[int, str]) -> int | None:
    return next((k for k, s in states.items() if s == PRIMARY), None)


def _require_current_file(kek: TinkKeyset, states: dict[int, str]) -> int:
    """The key file's primary, refused when rotation already moved the store past it."""
    primary = kek.primary_key_id
    if states.get(primary) in (RETIRING, RETIRED):
        raise ConfigError(
            f"{kek.source}: its primary key {primary} was {states[primary]} by a key rotation; "
            "the key file is older than the database: restore the key file the rotation wrote"
        )
    return primary


def fence_pending_keys(app: App, conn: Connection, pending: MutableMapping[str, PendingObject]) -> None:
    """Make every pending data key safe to store; call under the log head lock, before inserting.

    A data key wrapped under anything but the recorded primary (the writer loaded its
    key set before a rotation began) is re-wrapped under the key file's primary; the
    in-memory key set still holds the key that wrapped it, so this never fails for want
    of a key. A key a rotation retired is never stored.
    """
    if not pending:
        return
    from storage import rewrap_data_key

    states = _states(conn)
    target = _recorded_primary(states)
    if target is None:  # no rotation recorded yet: every key the file ever held is live
        return
    stale = [sha for sha, p in pending.items() if p.wrapped_key.kek_key_id != target]
    if not stale:
        return
    app.kek.refresh()
    _require_current_file(app.kek, states)
    for sha in stale:
        p = pending[sha]
        wrapped = rewrap_data_key(app.kek, p.wrapped_key.ciphertext, p.object_id)
        if states.get(wrapped.kek_key_id) in (RETIRING, RETIRED):  # pragma: no cover - refused above
            raise ConfigError(f"{app.kek.source}: key {wrapped.kek_key_id} is {states[wrapped.kek_key_id]}")
        pending[sha] = dataclasses.replace(p, wrapped_key=wrapped)


def readable_key(app: App, object_id: str, attempts: int = 3) -> bytes | None:
    """The object's wrapped data key, read so that this process's key set opens it.

    None when the data key was destroyed (crypto-shredded). A row re-wrapped by a rotation
    under a key this process has not loaded makes it reload the key file; keys stay in
    memory once loaded, so a key read here still opens after a rotation retires it.
    """
    key_id = None
    for _ in range(attempts):
        with snapshot(app.engine) as conn:
            row = conn.execute(
                select(t.blobs.c.wrapped_key, t.blobs.c.kek_key_id).where(t.blobs.c.object_id == object_id)
            ).first()
        if row is None or row.wrapped_key is None:
            return None
        key_id = row.kek_key_id
        if key_id in app.kek.key_ids:
            return bytes(row.wrapped_key)
        app.kek.refresh()
        if key_id in app.kek.key_ids:
            return bytes(row.wrapped_key)
    raise IntegrityError(
        f"object {object_id}: its data key is wrapped under key-encryption key {key_id}, "
        f"which {app.kek.source} does not hold"
    )


def _set_state(conn: Connection, states: dict[int, str], key_id: int, state: str, now: datetime) -> None:
    if key_id in states:
        values = {"state": state, "retired_at": now if state == RETIRED else None}
        conn.execute(update(t.kek_keys).where(t.kek_keys.c.key_id == key_id).values(**values))
    else:
        retired_at = now if state == RETIRED else None
        conn.execute(insert(t.kek_keys).values(key_id=key_id, state=state, added_at=now, retired_at=retired_at))


def _record_rotation(conn: Connection, new_id: int, file_ids: list[int], states: dict[int, str]) -> None:
    """Step 1's database half: the new key is the primary, every other live key is retiring."""
    now = datetime.now(UTC)
    for key_id in sorted({*file_ids, *states} - {new_id}):
        if states.get(key_id) != RETIRED:
            _set_state(conn, states, key_id, RETIRING, now)
    _set_state(conn, states, new_id, PRIMARY, now)


def rotate(
    app: App,
    progress: Callable[[int, int], None] | None = None,
    *,
    batch: int = REWRAP_BATCH,
    on_step: Callable[[str], None] | None = None,
) -> RotationReport:
    """Rotate the key-encryption key, or finish a rotation a crash interrupted (see the module docstring)."""
    from storage import rewrap_data_key

    step = on_step or (lambda _name: None)
    kek = app.kek
    with app.engine.connect() as conn:
        from governance.capabilities import authorize  # capabilities imports catalog, which imports this module

        authorize(conn, app.user, "keys.rotate")
    with transaction(app.engine) as conn:  # step 1
        EventLog(conn).lock_head()  # also serialises rotations: one key-file writer at a time
        states = _states(conn)
        file_primary, file_ids = kek.file_keys()
        resumed = len(file_ids) > 1 or RETIRING in states.values()
        recorded = _recorded_primary(states)
        if recorded is not None and recorded not in file_ids:
            raise ConfigError(
                f"{kek.source}: it does not hold key {recorded}, the primary key the last rotation recorded; "
                "restore the key file that rotation wrote"
            )
        if resumed:
            new_id = file_primary
        else:
            new_id = kek.begin_rotation()
            step("key-added")
            file_ids = [*file_ids, new_id]
        kek.refresh()
        _record_rotation(conn, new_id, file_ids, states)
    step("recorded")
    with app.engine.connect() as conn:
        todo = conn.execute(
            select(func.count())
            .select_from(t.blobs)
            .where(t.blobs.c.wrapped_key.is_not(None), t.blobs.c.kek_key_id != new_id)
        ).scalar_one()
    done = 0
    while True:
        with transaction(app.engine) as conn:
            log = EventLog(conn)
            log.lock_head()  # committers, deletions and other rotations wait: nothing changes under us
            rows = conn.execute(
                select(t.blobs.c.object_id, t.blobs.c.wrapped_key, t.blobs.c.kek_key_id)
                .where(t.blobs.c.wrapped_key.is_not(None), t.blobs.c.kek_key_id != new_id)
                .limit(batch)
            ).all()
            if not rows:  # step 3, decided while no writer can store a data key
                retired = _finish(app, conn, log, new_id, done, resumed, step)
                break
            for row in rows:
                wrapped = rewrap_data_key(kek, row.wrapped_key, row.object_id)
                conn.execute(
                    update(t.blobs)
                    .where(t.blobs.c.object_id == row.object_id, t.blobs.c.kek_key_id == row.kek_key_id)
                    .values(wrapped_key=wrapped.ciphertext, kek_key_id=wrapped.kek_key_id)
                )
            log.append(
                NewEvent(
                    "keys.rewrapped",
                    app.user,
                    subjects=[r.object_id for r in rows],
                    payload={"kek_key_id": new_id, "objects": len(rows)},
                )
            )
        done += len(rows)
        step("rewrapped-batch")
        if progress is not None:
            progress(done, todo)
    step("finished")
    return RotationReport(new_id, done, retired, resumed)


def _finish(
    app: App, conn: Connection, log: EventLog, new_id: int, rewrapped: int, resumed: bool, step: Callable[[str], None]
) -> list[int]:
    states = _states(conn)
    retiring = {k for k, s in states.items() if s == RETIRING}
    from governance.accounts import reseal_totp_secrets  # accounts imports identity, which imports catalog

    resealed = reseal_totp_secrets(app, conn)  # second factors sealed under an old key move too
    dropped = app.kek.finish_rotation()  # a crash before the commit: the next run records it
    step("key-file-trimmed")
    retired = sorted(retiring | set(dropped))
    now = datetime.now(UTC)
    for key_id in retired:
        _set_state(conn, states, key_id, RETIRED, now)
    log.append(
        NewEvent(
            "keys.rotated",
            app.user,
            subjects=[],
            payload={
                "kek_key_id": new_id,
                "retired_key_ids": retired,
                "rewrapped": rewrapped,
                "totp_secrets_resealed": resealed,
                "resumed": resumed,
                "finished_at": datetime.now(UTC).isoformat(),
            },
        )
    )
    return retired


__all__ = ["STEPS", "RotationReport", "create_key_file", "fence_pending_keys", "readable_key", "rotate"]
