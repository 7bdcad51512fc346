"""The suite is deterministic: a flow run in-process leaves nothing behind that draws from the
global ``random`` while a later test (e.g. a hypothesis property) runs in the same worker."""

from __future__ import annotations

import random
import time

import pytest
from prefect import flow, task

from tests.conftest import stop_prefect_event_workers


@task
def _add_one(x: int) -> int:
    return x + 1


@flow
def _two_tasks() -> int:
    return _add_one(1) + _add_one.submit(2).result()


@pytest.mark.slow
def test_no_background_thread_touches_global_random_after_a_flow_test(run_flow) -> None:  # type: ignore[no-untyped-def]
    assert run_flow(_two_tasks) == 5
    stop_prefect_event_workers()  # what the run_flow fixture does when a test ends
    before = random.getstate()
    # Measured: a worker left running connects (and pings) ~0.4 s after the flow returned, then
    # pings every 20 s (websocket keepalive), each ping drawing from the global random.
    time.sleep(23)
    assert random.getstate() == before
