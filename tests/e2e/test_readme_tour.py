"""The README's tour of the command line runs as written, in an empty directory and a new store."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN

README = Path(__file__).resolve().parents[2] / "README.md"
START = "## A tour of the command line"
END = "<!-- end of the tour"


def tour_script() -> str:
    """Every ```bash block of the tour, in order, as one script."""
    text = README.read_text(encoding="utf-8")
    assert START in text and END in text, "README.md: the tour's heading or its end marker is missing"
    tour = text[text.index(START) : text.index(END)]
    blocks = re.findall(r"^```bash\n(.*?)^```$", tour, flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) >= 5, "README.md: the tour should hold its commands in ```bash blocks"
    return "\n".join(blocks)


def test_the_tour_uses_no_placeholders() -> None:
    """Runnable as written: no NAME / ID placeholders and no `a | b` alternatives between commands."""
    script = tour_script()
    commands = [line.split("#", 1)[0] for line in script.splitlines()]
    assert not [c for c in commands if re.search(r"\b(ID|NAME|[A-Z]+_ID)\b", c)]
    assert not [c for c in commands if re.search(r"\bqgov\b[^|]*\|\s*qgov\b", c)], "`a | qgov b` reads as a pipe"


@pytest.mark.skipif(shutil.which("jq") is None or shutil.which("curl") is None, reason="the tour needs jq and curl")
def test_the_readme_tour_runs_as_written(tmp_path: Path, prefect_api: str) -> None:
    script = tmp_path / "tour.sh"
    script.write_text(tour_script())
    work = tmp_path / "work"
    work.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("QGOV_") and k not in ("COLUMNS", "LINES")}
    environ |= {"HOME": str(tmp_path), "PATH": f"{VENV_BIN}:{environ.get('PATH', '')}", "PREFECT_API_URL": prefect_api}
    proc = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-x", str(script)],
        cwd=work,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the tour starts a server: nothing it starts outlives the test
    )
    try:
        out, err = proc.communicate(timeout=1500)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    tail = "\n".join(err.splitlines()[-40:])
    assert proc.returncode == 0, f"the tour stopped (exit {proc.returncode}):\n{tail}"
    assert (tmp_path / "lab-b" / "qgov").is_dir()
    assert (work / "report.html").is_file() and (work / "cert.json").is_file() and (work / "calibration.csv").is_file()
    assert "Traceback" not in err
