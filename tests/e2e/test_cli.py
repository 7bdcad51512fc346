"""The `qgov` command as a user runs it: JSON contract, exit codes, one-line errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import cli_grant_self

EXPECTATIONS = """\
- expectation: expect_column_values_to_be_between
  column: cnot_error
  min_value: 0
  max_value: 1
"""


def _ok(proc) -> dict:  # type: ignore[no-untyped-def]
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _one_line_error(proc, code: int, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_story_init_register_ingest_fetch_verify(cli, sample_tree: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    init = _ok(cli("init", "--name", "alice", "--json"))
    assert init["admin_granted_to"] == "alice" and init["key_created"]
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "owner: Dr. Ada Byron\ndescription: transmon calibration, lab B\n"
        "subject: {type: quantum_computer, physical_qubits: 27}\n"
        "research: {fundamental: true, intended_for_publication: true, restrictions_accepted: false}\n"
    )
    registered = _ok(cli("dataset", "register", "calib-2026-03", "--spec", str(spec), "--json"))
    assert registered["item"]["subject"] == {"type": "quantum_computer", "physical_qubits": 27}
    ingested = _ok(cli("ingest", str(sample_tree), "--dataset", "calib-2026-03", "--json"))
    assert {a["path"] for a in ingested["artifacts"]} >= {"calibration.csv", "circuits/ghz5.qasm"}
    assert set(ingested["artifacts"][0]) == {"id", "path", "sha256", "size", "media_type", "classification"}
    qasm = next(a for a in ingested["artifacts"] if a["path"] == "circuits/ghz5.qasm")
    out = tmp_path / "ghz5.qasm"
    cli_grant_self(cli, [qasm["id"]])
    fetched = _ok(cli("fetch", qasm["id"], "-o", str(out), "--json"))
    assert fetched["sha256"] == qasm["sha256"] and out.read_bytes() == (sample_tree / "circuits/ghz5.qasm").read_bytes()
    again = _ok(cli("ingest", str(sample_tree), "--dataset", "calib-2026-03", "--json"))
    assert again["ingested"] == 0 and again["unchanged"] == len(ingested["artifacts"])
    verified = _ok(cli("audit", "verify", "--blobs", "--json"))
    assert verified["ok"] and verified["objects_checked"] == 5 and verified["bad_objects"] == []
    events = _ok(cli("audit", "events", "--subject", qasm["id"], "--json"))["events"]
    types = [e["type"] for e in events]
    assert types[:2] == ["artifact.ingested", "artifact.classified"] and types[-1] == "artifact.fetched"
    assert {"access.requested", "access.decided", "access.granted"} <= set(types)
    assert events[-1]["actor"] == "alice" and events[-1]["payload"]["authority"].startswith("grant:")


def test_quarantine_exits_1_and_says_why(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from governance.sample_data import calibration_table

    cli("init", "--name", "alice")
    exp = tmp_path / "exp.yaml"
    exp.write_text(EXPECTATIONS)
    _ok(cli("dataset", "register", "calib", "--expectations", str(exp), "--json"))
    bad = tmp_path / "bad.csv"
    calibration_table(bad_rows=2).to_csv(bad, index=False)
    proc = cli("ingest", str(bad), "-d", "calib")
    assert proc.returncode == 1
    assert "quarantined bad.csv: expect_column_values_to_be_between on cnot_error: 2 of 24 rows failed" in proc.stdout


def test_tampered_log_exits_1_naming_the_event(cli, env, sample_tree: Path) -> None:  # type: ignore[no-untyped-def]
    if not env["QGOV_DATABASE_URL"].startswith("sqlite"):
        pytest.skip("edits the SQLite file directly")
    cli("init", "--name", "alice")
    cli("dataset", "register", "calib")
    cli("ingest", str(sample_tree), "-d", "calib")
    db = env["QGOV_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        conn.execute("""UPDATE events SET payload = json_set(payload, '$.size', 1) WHERE seq = 4""")
    proc = cli("audit", "verify")
    assert proc.returncode == 1
    assert "log tampered at event #4" in proc.stdout
    doc = json.loads(cli("audit", "verify", "--json").stdout)
    assert doc["ok"] is False and doc["first_bad_event"]["seq"] == 4


def test_tampered_blob_is_named_by_verify_and_fetch_leaves_nothing(cli, env, sample_tree: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("init", "--name", "alice")
    cli("dataset", "register", "calib")
    arts = _ok(cli("ingest", str(sample_tree), "-d", "calib", "--json"))["artifacts"]
    h5 = next(a for a in arts if a["path"].endswith(".h5"))
    sha = h5["sha256"]
    blob = Path(env["QGOV_HOME"]) / "blobs" / "objects" / sha[:2] / sha
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))
    out = tmp_path / "out.h5"
    cli_grant_self(cli, [h5["id"]])
    _one_line_error(cli("fetch", h5["id"], "-o", str(out)), 1, f"object {sha}", "failed authentication")
    assert not out.exists() and not list(tmp_path.glob(".out.h5*"))
    doc = json.loads(cli("audit", "verify", "--blobs", "--json").stdout)
    assert doc["ok"] is False and [b["object_id"] for b in doc["bad_objects"]] == [sha]


BAD_INPUT = [
    (
        "missing path",
        ["ingest", "/nonexistent/run-7", "-d", "calib"],
        2,
        ["/nonexistent/run-7: no such file or directory"],
    ),
    ("unknown dataset", ["ingest", "{tree}", "-d", "nope"], 4, ["dataset 'nope' is not registered"]),
    ("unknown artifact", ["fetch", "0000", "-o", "{tmp}/x"], 4, ["artifact '0000' does not exist"]),
    (
        "bad subject type",
        ["dataset", "register", "x", "--subject-type", "toaster"],
        2,
        ["subject.type: expected one of"],
    ),
    (
        "bad tristate",
        ["dataset", "register", "x", "--fundamental", "maybe"],
        2,
        ["--fundamental: expected yes, no or unknown"],
    ),
    (
        "bad param",
        ["dataset", "register", "x", "--subject-type", "qkd", "--param", "oops"],
        2,
        ["--param 'oops': expected KEY=VALUE"],
    ),
    ("missing spec file", ["dataset", "register", "x", "--spec", "{tmp}/none.yaml"], 2, ["spec file", "no such file"]),
    (
        "unknown expectation",
        ["dataset", "register", "x", "--expectations", "{tmp}/exp.yaml"],
        2,
        ["expectations[0].expectation: unknown Great Expectations expectation"],
    ),
    ("duplicate dataset", ["dataset", "register", "calib"], 2, ["dataset 'calib' is already registered"]),
    ("unknown option", ["ingest", "--frobnicate"], 2, ["No such option"]),
    ("malformed HDF5", ["ingest", "{tmp}/broken.h5", "-d", "calib"], 2, ["broken.h5: not a valid HDF5 file"]),
    ("malformed QASM", ["ingest", "{tmp}/broken.qasm", "-d", "calib"], 2, ["broken.qasm: not a valid OpenQASM file"]),
    ("not a regular file", ["ingest", "/dev/null", "-d", "calib"], 2, ["/dev/null: not a regular file or directory"]),
]


@pytest.mark.parametrize(("case", "argv", "code", "fragments"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_gets_one_line_naming_the_problem(
    cli, sample_tree: Path, tmp_path: Path, case, argv, code, fragments
) -> None:  # type: ignore[no-untyped-def]
    cli("init", "--name", "alice")
    cli("dataset", "register", "calib")
    (tmp_path / "exp.yaml").write_text("- expectation: expect_the_moon\n  column: x\n")
    (tmp_path / "broken.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    (tmp_path / "broken.qasm").write_text("OPENQASM 3.0;\nqubit[2 q;\n")
    args = [a.replace("{tree}", str(sample_tree)).replace("{tmp}", str(tmp_path)) for a in argv]
    _one_line_error(cli(*args), code, *fragments)


def test_commands_before_init_say_what_to_do(cli, env, sample_tree: Path) -> None:  # type: ignore[no-untyped-def]
    _one_line_error(cli("dataset", "register", "calib"), 4, f"no qgov store at {env['QGOV_HOME']}", "run 'qgov init'")
    _one_line_error(cli("ingest", str(sample_tree), "-d", "calib"), 4, "run 'qgov init'")
    assert not Path(env["QGOV_HOME"]).exists()


def test_key_file_readable_by_others_is_refused(cli, env, sample_tree: Path) -> None:  # type: ignore[no-untyped-def]
    cli("init", "--name", "alice")
    cli("dataset", "register", "calib")
    key = Path(env["QGOV_HOME"]) / "keys" / "kek.json"
    key.chmod(0o644)
    _one_line_error(cli("ingest", str(sample_tree), "-d", "calib"), 2, "readable by group or others", "chmod 600")


def test_key_rotation_from_the_cli(cli, sample_tree: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("init", "--name", "alice")
    cli("dataset", "register", "calib")
    arts = _ok(cli("ingest", str(sample_tree), "-d", "calib", "--json"))["artifacts"]
    rotated = _ok(cli("keys", "rotate", "--json"))
    assert rotated["rewrapped"] == 5 and len(rotated["retired_key_ids"]) == 1
    cli_grant_self(cli, [arts[0]["id"]])
    _ok(cli("fetch", arts[0]["id"], "-o", str(tmp_path / "after-rotation"), "--json"))


@pytest.mark.slow
def test_demo_tells_the_whole_story(cli, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if not env["QGOV_DATABASE_URL"].startswith("sqlite"):
        pytest.skip("the demo builds its own embedded store; one run is enough")
    proc = cli("demo", "--workdir", str(tmp_path / "demo"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    for line in (
        "quarantined calibration-fridge-b.csv",
        "wasGeneratedBy stage dvc.yaml:fit",
        "0 new, 5 unchanged",
        "header 'qubit,frequency' in ciphertext: False",
        "sha256 matches the original: True",
        "log intact",
        "tamper detected at event #4",
        "calibration.csv    │ text/csv",
        "data/calibration.csv: 4E906 (automatic)",
        "override  EAR99  by olga.officer",
        "ada.byron     → approve (granted)",
        "li.wei        → license_required (queued)",
        "chen.q        → deny (denied)",
        "denied_burst (medium, for the export_control_officer)",
        "contained: suspend",
        "closed: hours to detect",
    ):
        assert line in proc.stdout, line
