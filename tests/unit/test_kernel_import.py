"""The shared kernel loads nothing of the application: ``qgov.Client`` is resolved on first use.

``.importlinter`` cannot see the lazy re-export (it is an ``importlib`` call, not an import
statement), so this is what keeps the kernel contract honest at run time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_PROBE = """
import json, sys
import qgov
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"governance", "flows"})
print(json.dumps(loaded))
qgov.Client
print(json.dumps("governance.sdk" in sys.modules))
"""


def _run(code: str) -> list[str]:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_importing_qgov_loads_no_application_module() -> None:
    before, after = _run(_PROBE)
    assert json.loads(before) == []
    # the convenience still works: the first use of qgov.Client loads the SDK
    assert json.loads(after) is True


def test_an_unknown_name_is_an_attribute_error() -> None:
    (line,) = _run("import qgov\ntry:\n    qgov.Nope\nexcept AttributeError as e:\n    print(e)")
    assert line == "module 'qgov' has no attribute 'Nope'"
