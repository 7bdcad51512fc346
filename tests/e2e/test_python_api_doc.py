"""docs/python-api.md runs as written: its shell block sets a store up, its Python block
prints exactly what the page says it prints."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from governance.app import App
from governance.config import load_settings
from governance.keys import create_key_file
from governance.os_identity import register_initial_admin
from governance.policy_store import publish_default_policy
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


def test_an_embedded_client_acts_as_its_accounts_person_and_only_an_admin_acts_as_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Client.embedded(home, user=)`` once set QGOV_USER, so any script acted as anyone."""
    import qgov
    from governance.os_account import os_account
    from governance.requests import Person, register_person
    from qgov.errors import AccessDenied
    from tests.e2e import server_support

    for env_key in ("QGOV_URL", "QGOV_TOKEN", "QGOV_DATABASE_URL", "QGOV_USER"):
        monkeypatch.delenv(env_key, raising=False)
    # a store whose admin is another account's; this process's account is the researcher li's
    home = tmp_path / "theirs"
    core = App(load_settings({"QGOV_HOME": str(home)}).model_copy(update={"user": "alice"}))
    create_key_file(core)
    publish_default_policy(core)
    register_initial_admin(core, "alice", "alice-elsewhere")
    for name, role in (("li", "researcher"), ("olga", "export_control_officer")):
        facts = Person(name, ["US"], False, None, "US", "Lab B", server_support.TRAINED)
        register_person(core, facts, [role], os_account() if name == "li" else None)
    core.close()
    with qgov.Client.embedded(home) as li:
        assert li.whoami()["name"] == "li"
    monkeypatch.setenv("QGOV_USER", "olga")  # names nobody any more
    with qgov.Client.embedded(home) as li:
        assert li.whoami()["name"] == "li"
    with pytest.raises(AccessDenied, match="user 'li' may not act as another person"):
        qgov.Client.embedded(home, user="olga")
    # a store whose admin, alice, is this process's account: she may act as li, and it is recorded
    lab = tmp_path / "ours"
    core = server_support.new_store({"QGOV_HOME": str(lab / "home")})
    ids = server_support.build_lab(core, lab)
    core.close()
    with qgov.Client.embedded(lab / "home", user="li") as li, qgov.Client.embedded(lab / "home") as alice:
        assert li.whoami()["name"] == "li" and alice.whoami()["name"] == "alice"
        asked = li.request_access(ids["sponsor"], purpose="readout")
        [event] = [e for e in alice.events(types=["access.requested"]) if e["subjects"][0] == asked["request"]]
        assert event["actor"] == "li" and event["acting_admin"] == "alice"
        with pytest.raises(AccessDenied, match="'ghost' is not a registered person"):
            qgov.Client.embedded(lab / "home", user="ghost")
