"""The DVC remote qgov names in summaries and errors never carries a password."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from storage.dvc import read_dvc_repo


def test_a_password_in_the_remote_url_is_not_repeated(tmp_path: Path) -> None:
    dvc = [sys.executable, "-m", "dvc"]
    subprocess.run([*dvc, "init", "-q", "--no-scm"], cwd=tmp_path, check=True)
    url = "https://bob:s3cret@data.lab.example:8443/dvc-store"
    subprocess.run([*dvc, "remote", "add", "-d", "lab", url], cwd=tmp_path, check=True)
    remote = read_dvc_repo(tmp_path).remote
    assert remote is not None
    assert str(remote) == "remote 'lab' (https://data.lab.example:8443/dvc-store)"
    assert "s3cret" not in repr(remote)
