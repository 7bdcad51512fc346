"""A reclassification process killed with SIGKILL (no exception handler, no rollback code runs)
leaves its committed batches, and a re-run finishes the rest: every artifact decided once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from governance.classification import reclassify_all
from governance.policy_store import publish_policy
from tests.integration.test_classification import CLOSED, _folder, _ingest
from tests.integration.test_reclassify_batches import EDIT, _under

ROOT = Path(__file__).resolve().parents[2]
# The child reclassifies 5 per transaction and, after its second commit, says so and waits to be killed.
CHILD = """
import json, sys, time
from governance.app import App
from governance.classification import reclassify_all
from governance.config import load_settings
app = App(load_settings(json.loads(sys.argv[1])).model_copy(update={"user": "alice"}))
def after(batches, done):
    print(batches, done, flush=True)
    if batches == 2:
        time.sleep(600)
reclassify_all(app, batch_size=5, after_batch=after)
"""


def test_a_sigkilled_reclassification_resumes_and_does_each_artifact_once(app, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = {f"k{i:02}.csv": f"q\n{i}\n" for i in range(12)}
    ids = _ingest(app, _folder(tmp_path, "run", files), "calib", CLOSED)
    org = tmp_path / "org-policy"
    org.mkdir()
    (org / "override.yaml").write_text(EDIT)
    publish_policy(app, org, "a.2 error bound")
    version = app.policies.get("US-EAR").version

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(env)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().split() == ["1", "5"]
        assert child.stdout.readline().split() == ["2", "10"]
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    decisions, events = _under(app, version)
    assert sum(decisions.values()) == 10 and sum(events.values()) == 10  # what two commits wrote, no more

    done: list[int] = []
    changes = reclassify_all(app, batch_size=5, after_batch=lambda b, n: done.append(n))
    assert done == [2] and len(changes) == 2  # only the two the kill left
    decisions, events = _under(app, version)
    assert decisions == Counter(dict.fromkeys(ids.values(), 1))
    assert events == Counter(dict.fromkeys(ids.values(), 1))
