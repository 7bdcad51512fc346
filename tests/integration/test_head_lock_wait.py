"""The always-on counter of time spent waiting for the log's head lock (benchmarks/scale.py)."""

from __future__ import annotations

import threading
import time

from governance.db import transaction
from lineage import EventLog
from lineage.store import HEAD_LOCK_WAIT

HOLD_S = 0.5


def test_a_writer_waiting_for_the_head_lock_is_counted(app) -> None:  # type: ignore[no-untyped-def]
    with transaction(app.engine) as conn:  # the head row exists before the race
        EventLog(conn).lock_head()
    HEAD_LOCK_WAIT.snapshot(reset=True)
    locked = threading.Event()

    def holder() -> None:
        with transaction(app.engine) as conn:
            EventLog(conn).lock_head()
            locked.set()
            time.sleep(HOLD_S)

    thread = threading.Thread(target=holder)
    thread.start()
    assert locked.wait(10)
    started = time.perf_counter()
    with transaction(app.engine) as conn:
        EventLog(conn).lock_head()
    blocked = time.perf_counter() - started
    thread.join()
    seen = HEAD_LOCK_WAIT.snapshot(reset=True)
    assert seen["locks"] == 2
    assert blocked >= HOLD_S * 0.8  # the second writer did wait for the first
    if app.engine.dialect.name == "postgresql":
        # SELECT … FOR UPDATE is where PostgreSQL makes it wait: the counter sees it
        assert HOLD_S * 0.8 <= seen["longest_wait_s"] <= blocked
        assert seen["wait_s"] >= seen["longest_wait_s"]
    else:
        # SQLite queues writers at BEGIN IMMEDIATE, before lock_head: nothing to count there
        assert seen["longest_wait_s"] < HOLD_S * 0.8
    assert HEAD_LOCK_WAIT.snapshot() == {"locks": 0, "wait_s": 0.0, "longest_wait_s": 0.0}
