"""What a researcher without a grant learns about content: nothing that confirms a guess.

The SHA-256 of a small file confirms a guessed content (hash the candidates, compare); only
holders of a grant and the roles that administer the store see it, others a keyed reference."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import date
from pathlib import Path

from tests.conftest import cli_add_self

CONTENT = b"bias point 0.4127 V for device Q-7\n"  # small enough to guess
GUESS = hashlib.sha256(CONTENT).hexdigest()


def _ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, proc.stderr
    return proc


def _store(cli, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    """alice (admin) ingests one small file; bob is a registered researcher with no grant."""
    _ok(cli("init", "--name", "alice"))
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "bias.txt").write_bytes(CONTENT)
    _ok(cli("dataset", "register", "notes", "--subject-type", "none"))
    _ok(cli("ingest", str(folder), "-d", "notes"))
    cli_add_self(cli)
    today = date.today().isoformat()
    person = ["--citizenship", "US", "--location", "US", "--affiliation", "Lab B", "--training-completed-on", today]
    _ok(cli("person", "add", "bob", *person, "--role", "researcher"))
    return str(json.loads(_ok(cli("artifact", "list", "--json")).stdout)["artifacts"][0]["id"])


def _everything_bob_sees(cli, artifact: str) -> str:  # type: ignore[no-untyped-def]
    views = [
        ("artifact", "list"),
        ("artifact", "list", "--json"),
        ("artifact", "show", artifact),
        ("artifact", "show", artifact, "--json"),
        ("dataset", "show", "notes"),
        ("dataset", "show", "notes", "--json"),
        ("lineage", "trace", artifact, "--json"),
    ]
    out = []
    for view in views:
        proc = _ok(cli(*view, acting_as="bob"))
        out.append(proc.stdout + proc.stderr)
    for view in (("audit", "events"), ("audit", "events", "--json")):  # the whole log is for auditors
        proc = cli(*view, acting_as="bob")
        assert proc.returncode != 0 and "may not read the provenance log" in proc.stderr, proc.stderr
        out.append(proc.stdout + proc.stderr)
    return "\n".join(out)


def test_a_researcher_without_grant_cannot_confirm_a_guessed_content(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifact = _store(cli, tmp_path)
    seen = _everything_bob_sees(cli, artifact)
    assert GUESS[:12] not in seen and "hmac-sha256:" in seen
    # a lookup by the guessed digest answers exactly as for a digest nobody stored
    guessed = json.loads(_ok(cli("audit", "events", "--subject", GUESS, "--json", acting_as="bob")).stdout)
    unknown = json.loads(_ok(cli("audit", "events", "--subject", "0" * 64, "--json", acting_as="bob")).stdout)
    assert guessed == unknown == {"events": []}
    # the keyed reference is stable: the same in every view, so listings can still be compared
    listed = json.loads(_ok(cli("artifact", "list", "--json", acting_as="bob")).stdout)["artifacts"][0]["sha256"]
    shown = json.loads(_ok(cli("artifact", "show", artifact, "--json", acting_as="bob")).stdout)["sha256"]
    assert listed == shown and listed.startswith("hmac-sha256:")


def test_the_digest_is_shown_under_a_grant_and_to_administrators(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifact = _store(cli, tmp_path)
    admin = json.loads(_ok(cli("artifact", "show", artifact, "--json")).stdout)
    assert admin["sha256"] == GUESS
    asked = cli("access", "request", "--artifact", artifact, "--purpose", "analysis", "--json", acting_as="bob")
    assert json.loads(_ok(asked).stdout)["status"] == "granted"
    assert json.loads(_ok(cli("artifact", "show", artifact, "--json", acting_as="bob")).stdout)["sha256"] == GUESS
