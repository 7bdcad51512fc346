"""`qgov ingest` on a hostile folder, as a user runs it: every file accounted for, the exit
code says something was left out, and no name reaches the terminal as control characters."""

from __future__ import annotations

import json
import os
from pathlib import Path


def test_hostile_names_and_links_are_reported_escaped_and_exit_1(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("init", "--name", "alice").returncode == 0
    assert cli("dataset", "register", "calib", "--subject-type", "none").returncode == 0
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "ok.json").write_text('{"t1": 50}')
    (folder / "\x1b[31mred\x1b[0m.json").write_text('{"t1": 51}')
    (folder / "[bold]x.json").write_text('{"t1": 52}')
    first = cli("ingest", str(folder), "--dataset", "calib")
    assert first.returncode == 0, first.stderr
    assert "\x1b" not in first.stdout + first.stderr

    listed = cli("artifact", "list", extra_env={"COLUMNS": "250"})  # one table row per line
    assert listed.returncode == 0, listed.stderr
    assert "\x1b" not in listed.stdout + listed.stderr
    assert "\\x1b[31mred\\x1b[0m.json" in listed.stdout
    assert "[bold]x.json" in listed.stdout

    (folder / "kek.json").symlink_to(tmp_path / "home" / "keys" / "kek.json")
    fd = os.open(os.fsencode(folder) + b"/caf\xe9.json", os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    again = cli("ingest", str(folder), "--dataset", "calib")
    assert again.returncode == 1, again.stderr
    assert "Traceback" not in again.stderr and "\x1b" not in again.stdout + again.stderr
    assert "0 new, 3 unchanged, 0 quarantined, 2 skipped, 0 unreadable" in again.stdout
    assert "skipped kek.json: a symbolic link; not followed" in again.stdout
    assert "skipped caf\\xe9.json: file name is not valid UTF-8" in again.stdout

    as_json = cli("ingest", str(folder), "--dataset", "calib", "--json")
    assert as_json.returncode == 1
    doc = json.loads(as_json.stdout)
    assert (doc["ingested"], doc["unchanged"], len(doc["skipped"]), doc["failed"]) == (0, 3, 2, [])


def test_csv_errors_name_row_and_column_never_a_value(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("init", "--name", "alice").returncode == 0
    assert cli("dataset", "register", "calib", "--subject-type", "none").returncode == 0
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "table.csv").write_text("qubit,cnot_error\n0,0.01\n1,0.02,TOPSECRET-ROW\n")
    (folder / "empty.qasm").write_text("")
    ingest = cli("ingest", str(folder), "--dataset", "calib")
    assert ingest.returncode == 2, ingest.stderr
    assert "TOPSECRET" not in ingest.stderr and "NoneType" not in ingest.stderr
    lines = [line for line in ingest.stderr.splitlines() if line.strip()]
    assert lines == [
        "error: empty.qasm: not a valid OpenQASM file (the file is empty, expected an OpenQASM program)",
        "error: table.csv: not a valid CSV file (row 3: expected 2 columns, got 3)",
    ]
