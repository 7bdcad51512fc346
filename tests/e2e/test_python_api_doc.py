"""docs/python-api.md runs as written: its shell block sets a store up, its Python block
prints exactly what the page says it prints."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import QGOV, ROOT

DOC = ROOT / "docs" / "python-api.md"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_python_api_page_runs_as_written(tmp_path: Path, prefect_api: str) -> None:
    story = DOC.read_text(encoding="utf-8").split("## A whole story, runnable", 1)[1]
    shell = re.search(r"```bash\n(.*?)```", story, flags=re.S)
    code = re.search(r"```python\n(.*?)```", story, flags=re.S)
    printed = re.search(r"```text\n(.*?)```", story, flags=re.S)
    assert shell and code and printed
    (tmp_path / "run-2026-03").mkdir()
    (tmp_path / "run-2026-03" / "t1.csv").write_bytes(b"q,t1\n0,50\n1,48\n")
    env = {
        **os.environ,
        "QGOV_HOME": str(tmp_path / "home"),
        "PREFECT_API_URL": prefect_api,
        "PYTHONPATH": str(ROOT),
    }
    for env_key in ("QGOV_URL", "QGOV_TOKEN", "QGOV_DATABASE_URL"):
        env.pop(env_key, None)
    for line in shell.group(1).strip().splitlines():
        args = shlex.split(line)
        assert args[0] == "qgov", line
        done = subprocess.run(
            [QGOV, *args[1:]], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
        )
        assert done.returncode == 0, (line, done.stderr)
    ran = subprocess.run(
        [sys.executable, "-c", code.group(1)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == printed.group(1)
    assert (tmp_path / "t1.csv").read_bytes() == b"q,t1\n0,50\n1,48\n"
    assert oct((tmp_path / "t1.csv").stat().st_mode & 0o777) == "0o600"


def test_every_python_block_on_the_page_at_least_compiles() -> None:
    for block in _blocks("python"):
        compile(block, str(DOC), "exec")
