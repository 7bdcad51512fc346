"""`qgov lineage` and the provenance side of `qgov audit` as a user runs them.

A researcher records a fit from a calibration table and traces it; an officer retracts it;
an auditor checks the log, proves an event to a third party who holds nothing but the
public key, exports the log and writes a report page. Each CLI call starts Prefect, so
each test tells one story rather than one call.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

# C2SP signed-note verifier key: <name>+<8 hex key hash>+<base64 of type byte and Ed25519 key>
VERIFIER_KEY = re.compile(r"[\w./-]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+={0,2}")


def _key_id(verifier_key: str) -> str:
    """``<name>+<key hash>``, how messages name a key (the base64 part may itself hold '+')."""
    name, key_hash, _ = verifier_key.split("+", 2)
    return f"{name}+{key_hash}"


def _ok(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _done(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, proc.stderr
    return proc


def _verdict(proc: subprocess.CompletedProcess[str], code: int, match: str) -> None:
    """Exit ``code`` with the verdict as the one line of the result, on stdout."""
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stdout
    assert re.match(match, lines[0]), lines[0]


def _fails(proc: subprocess.CompletedProcess[str], code: int, match: str) -> None:
    """Exit ``code``, nothing on stdout, and one line on stderr matching ``match`` from its start."""
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert re.match(match, lines[0]), lines[0]


@dataclass(frozen=True)
class Fit:
    """A calibration table ingested and a T1 fit recorded as derived from it."""

    raw: str
    fit: str
    activity: str
    before: datetime  # just before the fit was recorded


def _record_fit(cli, sample_tree: Path, tmp_path: Path) -> Fit:  # type: ignore[no-untyped-def]
    _ok(cli("init", "--name", "alice", "--json"))
    _ok(cli("dataset", "register", "calib", "--json"))
    ingested = _ok(cli("ingest", str(sample_tree), "-d", "calib", "--json"))["artifacts"]
    raw = next(a["id"] for a in ingested if a["path"] == "calibration.csv")
    output = tmp_path / "results" / "t1_fit.csv"
    output.parent.mkdir()
    output.write_text("qubit,t1_us\n0,81.2\n1,77.9\n")
    before = datetime.now(UTC)
    recorded = _ok(
        cli("lineage", "record", "--activity", "fit T1", "--used", raw, "--generated", str(output), "--json")
    )
    assert recorded["name"] == "fit T1" and recorded["dataset"] == "calib" and recorded["used"] == [raw]
    assert [g["path"] for g in recorded["generated"]] == ["t1_fit.csv"]
    return Fit(raw, recorded["generated"][0]["id"], recorded["activity"], before)


def _by_type_and_name(doc: dict) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = {}
    for node in doc["nodes"]:
        out.setdefault((node["type"], node["name"]), []).append(node)
    return out


def _links(doc: dict) -> set[tuple[str, str, str]]:
    return {(e["child"], e["parent"], e["relation"]) for e in doc["edges"]}


def test_recorded_fit_traces_upstream_to_its_input_the_ingests_and_who_ran_them(
    cli, sample_tree: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    f = _record_fit(cli, sample_tree, tmp_path)

    doc = _ok(cli("lineage", "trace", f.fit, "--json"))
    assert (doc["schema"], doc["root"], doc["direction"], doc["depth"]) == ("qgov.trace/v1", f.fit, "upstream", None)
    nodes = _by_type_and_name(doc)
    (fit,) = nodes[("artifact", "t1_fit.csv")]
    (raw,) = nodes[("artifact", "calibration.csv")]
    (derivation,) = nodes[("derivation", "fit T1")]
    (person,) = nodes[("person", "alice")]
    (flow,) = nodes[("flow", "qgov-ingest")]
    assert len(nodes[("ingest", "ingest calib")]) == 2  # the sample folder's ingest and the fit's
    assert (fit["id"], fit["depth"], raw["id"], raw["depth"]) == (f.fit, 0, f.raw, 1)
    assert (derivation["id"], derivation["kind"]) == (f.activity, "activity")
    assert (person["kind"], flow["kind"]) == ("agent", "agent")
    for artifact in (fit, raw):
        assert artifact["kind"] == "entity" and artifact["attributes"]["dataset"] == "calib"
        assert artifact["classification"]["classification"] == "EAR99"
        assert artifact["classification"]["controlled"] is False
    assert {
        (f.activity, f.raw, "used"),
        (f.fit, f.activity, "wasGeneratedBy"),
        (f.activity, person["id"], "wasAssociatedWith"),
    } <= _links(doc)
    assert all(datetime.fromisoformat(e["valid_from"]) >= f.before for e in doc["edges"] if e["activity"] == "fit T1")

    tree = cli("lineage", "trace", f.fit)
    assert tree.returncode == 0 and tree.stderr == "", tree.stderr
    assert tree.stdout.startswith("upstream lineage as of ")
    assert f"(7 nodes, {len(doc['edges'])} edges)" in tree.stdout.splitlines()[0]
    assert tree.stdout.splitlines()[1].startswith(f"t1_fit.csv artifact {f.fit[:12]} EAR99")
    for branch in (
        f"├── wasGeneratedBy fit T1 derivation {f.activity[:12]}",
        f"│   ├── used calibration.csv artifact {f.raw[:12]} EAR99",
        "wasAssociatedWith alice person",
        "wasAssociatedWith qgov-ingest flow",
    ):
        assert branch in tree.stdout, branch

    only = _ok(cli("lineage", "trace", f.fit, "--depth", "0", "--json"))
    assert [n["id"] for n in only["nodes"]] == [f.fit] and only["edges"] == [] and only["depth"] == 0

    down = _ok(cli("lineage", "trace", f.raw, "--downstream", "--json"))
    assert down["direction"] == "downstream"
    assert {(n["id"], n["depth"]) for n in down["nodes"] if n["type"] == "artifact"} == {(f.raw, 0), (f.fit, 1)}
    assert {(f.activity, f.raw, "used"), (f.fit, f.activity, "wasGeneratedBy")} <= _links(down)

    # a user in India asks for the fit as of a moment before it was recorded
    earlier = f.before - timedelta(seconds=1)
    local = earlier.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    at = earlier.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    _fails(
        cli("lineage", "trace", f.fit, "--as-of", local),
        4,
        rf"error: '{f.fit}' did not exist yet at {re.escape(at)} \(recorded \S+Z\)$",
    )


def test_trace_exports_as_prov_json_and_openlineage_run_events(cli, sample_tree: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from prov.model import ProvDocument

    f = _record_fit(cli, sample_tree, tmp_path)

    out = tmp_path / "fit.prov.json"
    written = cli("lineage", "export", f.fit, "--format", "prov-json", "-o", str(out))
    assert written.returncode == 0 and written.stdout == f"wrote {out}\n", written.stderr
    document = ProvDocument.deserialize(source=str(out), format="json")
    labels = {str(r.identifier): str(r.label) for r in document.get_records() if r.identifier is not None}
    assert labels[f"qgov:artifact/{f.fit}"] == "t1_fit.csv"
    assert labels[f"qgov:artifact/{f.raw}"] == "calibration.csv"
    assert labels[f"qgov:derivation/{f.activity}"] == "fit T1"

    proc = cli("lineage", "export", f.fit, "--format", "openlineage")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(events) == 3 and {e["eventType"] for e in events} == {"COMPLETE"}
    (fit_run,) = [e for e in events if e["job"]["name"] == "fit T1"]
    assert fit_run["run"]["runId"] == f.activity
    assert [d["name"] for d in fit_run["inputs"]] == ["calibration.csv"]
    assert [d["name"] for d in fit_run["outputs"]] == ["t1_fit.csv"]


def test_retraction_needs_an_officer_and_leaves_earlier_traces_intact(cli, sample_tree: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = _record_fit(cli, sample_tree, tmp_path)
    _fails(
        cli("lineage", "retract", f.activity, "--reason", "wrong input"),
        3,
        r"error: user 'alice' may not retract derivations: it needs the export_control_officer role$",
    )
    _ok(cli("role", "grant", "alice", "export_control_officer", "--json"))
    before = datetime.now(UTC)
    retracted = _ok(cli("lineage", "retract", f.activity, "--reason", "wrong input", "--json"))
    assert retracted["activity"] == f.activity

    now = _ok(cli("lineage", "trace", f.fit, "--json"))
    ids = {n["id"] for n in now["nodes"]}
    assert f.fit in ids and f.raw not in ids and f.activity not in ids

    then = _ok(cli("lineage", "trace", f.fit, "--as-of", before.isoformat(), "--json"))
    assert {f.fit, f.raw, f.activity} <= {n["id"] for n in then["nodes"]}
    (used,) = [e for e in then["edges"] if e["relation"] == "used"]
    assert used["parent"] == f.raw and datetime.fromisoformat(used["valid_to"]) > before

    _fails(
        cli("lineage", "retract", f.activity, "--reason", "again"),
        2,
        rf"error: activity {f.activity} was already retracted$",
    )
    events = _ok(cli("audit", "events", "--subject", f.activity, "--json"))["events"]
    assert [e["type"] for e in events] == ["lineage.derivation_recorded", "lineage.retracted"]
    assert events[-1]["payload"]["reason"] == "wrong input" and f.fit in events[-1]["subjects"]


def test_proofs_verify_offline_with_only_the_public_key(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from lineage.note import NoteSigner, generate_signing_key

    init = _ok(cli("init", "--name", "alice", "--json"))
    old = _ok(cli("audit", "checkpoint", "--json"))
    _ok(cli("dataset", "register", "calib", "--json"))
    new = _ok(cli("audit", "checkpoint", "--json"))
    assert new["size"] > old["size"] >= 1 and new["key_name"] == old["key_name"]
    assert new["note"].startswith(f"{new['key_name']}\n{new['size']}\n")
    public_key = _done(cli("audit", "public-key")).stdout.strip()
    assert VERIFIER_KEY.fullmatch(public_key) and public_key == init["public_key"]
    assert public_key.startswith(new["key_name"] + "+")
    (registered,) = [e for e in _ok(cli("audit", "events", "--json"))["events"] if e["type"] == "dataset.registered"]
    proof, cons = tmp_path / "proof.json", tmp_path / "cons.json"
    _done(cli("audit", "prove", registered["event_id"], "-o", str(proof)))
    _done(cli("audit", "consistency", str(old["size"]), str(new["size"]), "-o", str(cons)))

    # the third party: no store, no database, only the key (as text, and as a file)
    offline = tmp_path / "third-party"
    offline.mkdir()
    (tmp_path / "qgov-log.vkey").write_text(public_key + "\n")
    away = {"QGOV_HOME": str(offline), "QGOV_DATABASE_URL": f"sqlite:///{offline / 'qgov.db'}"}

    def verify(path: Path, key: str, *flags: str) -> subprocess.CompletedProcess[str]:
        return cli("audit", "verify-proof", str(path), "--key", key, *flags, extra_env=away)

    included = _ok(verify(proof, public_key, "--json"))
    assert included == {
        "ok": True,
        "kind": "inclusion",
        "event_id": registered["event_id"],
        "seq": registered["seq"],
        "tree_size": new["size"],
        "root_hash": new["root_hash"],
    }
    extended = _ok(verify(cons, str(tmp_path / "qgov-log.vkey"), "--json"))
    assert (extended["kind"], extended["old_size"], extended["tree_size"]) == ("consistency", old["size"], new["size"])

    text = proof.read_text()
    assert text.count('"dataset": "calib"') == 1
    edited = tmp_path / "edited.json"
    edited.write_text(text.replace('"dataset": "calib"', '"dataset": "calic"'))
    _verdict(
        verify(edited, public_key),
        1,
        r"proof does not verify: event hash mismatch: the event's content hashes to [0-9a-f]{16}…, "
        rf"the proof claims {registered['hash'][:16]}… \(the event was edited\)$",
    )
    other = NoteSigner(generate_signing_key("other.lab/log")).verifier_key()
    _verdict(
        verify(proof, other),
        1,
        rf"proof does not verify: no signature by key {re.escape(_key_id(other))}; "
        rf"found {re.escape(_key_id(public_key))}$",
    )
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json\n")
    _fails(
        verify(garbage, public_key),
        2,
        rf"error: proof file {re.escape(str(garbage))}: not a JSON proof document \(Expecting value: line 1 column 1",
    )
    assert list(offline.iterdir()) == []


def test_verify_proof_without_a_key_and_without_a_store_asks_for_the_key(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("init", "--name", "alice")
    proof = tmp_path / "proof.json"
    _done(cli("audit", "prove", "1", "-o", str(proof)))
    offline = tmp_path / "third-party"
    offline.mkdir()
    away = {"QGOV_HOME": str(offline), "QGOV_DATABASE_URL": f"sqlite:///{offline / 'qgov.db'}"}
    _fails(
        cli("audit", "verify-proof", str(proof), extra_env=away),
        2,
        r"error: --key: expected the log's public key \(text or a file\), as printed by 'qgov audit public-key'$",
    )
    assert list(offline.iterdir()) == []


@pytest.mark.parametrize("key", ["", "{tmp}"], ids=["empty key", "directory as key"])
def test_unusable_key_is_an_input_error_naming_the_key(cli, tmp_path: Path, key: str) -> None:  # type: ignore[no-untyped-def]
    proof = tmp_path / "proof.json"
    proof.write_text("{}\n")
    offline = tmp_path / "third-party"
    offline.mkdir()
    away = {"QGOV_HOME": str(offline), "QGOV_DATABASE_URL": f"sqlite:///{offline / 'qgov.db'}"}
    proc = cli("audit", "verify-proof", str(proof), "--key", key.replace("{tmp}", str(tmp_path)), extra_env=away)
    _fails(proc, 2, r"error: (--key|verifier key)")


def test_verify_passes_then_names_the_event_edited_in_the_database(cli, env) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, update

    from lineage import schema

    _ok(cli("init", "--name", "alice", "--json"))
    _ok(cli("dataset", "register", "calib", "--json"))
    _ok(cli("dataset", "register", "readout", "--json"))
    events = _ok(cli("audit", "events", "--json"))["events"]
    intact = _ok(cli("audit", "verify", "--json"))
    assert intact["ok"] is True and intact["checkpoints_checked"] >= 1 and intact["events_checked"] == len(events)
    assert intact["head_hash"] == events[-1]["hash"]

    (calib,) = [e for e in events if e["type"] == "dataset.registered" and e["payload"]["dataset"] == "calib"]
    engine = create_engine(env["QGOV_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.execute(
                update(schema.events)
                .where(schema.events.c.seq == calib["seq"])
                .values(payload=calib["payload"] | {"dataset": "calic"})
            )
    finally:
        engine.dispose()

    proc = cli("audit", "verify")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"log tampered at event #{calib['seq']} ({calib['event_id']}): " in proc.stdout
    doc = json.loads(cli("audit", "verify", "--json").stdout)
    assert doc["ok"] is False
    assert (doc["first_bad_event"]["seq"], doc["first_bad_event"]["event_id"]) == (calib["seq"], calib["event_id"])


def test_log_exports_to_csv_and_parquet_with_every_event(cli, sample_tree: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd
    import pyarrow.parquet as pq

    cli("init", "--name", "alice")
    cli("dataset", "register", "calib")
    _done(cli("ingest", str(sample_tree), "-d", "calib"))
    events = _ok(cli("audit", "events", "--json"))["events"]
    tables = {}
    for fmt in ("csv", "parquet"):
        path = tmp_path / f"events.{fmt}"
        proc = cli("audit", "export", "--format", fmt, "-o", str(path))
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        assert proc.stdout == f"wrote {len(events)} events to {path}\n"
        tables[fmt] = pd.read_csv(path, dtype=str) if fmt == "csv" else pd.read_parquet(path)
    for table in tables.values():
        assert len(table) == len(events)
        assert table["event_id"].tolist() == [e["event_id"] for e in events]
        assert table["hash"].tolist() == [e["hash"] for e in events]
        assert table["type"].tolist() == [e["type"] for e in events]
    assert pq.read_schema(tmp_path / "events.parquet").metadata[b"schema"] == b"qgov.events/v1"


def test_audit_report_is_one_self_contained_page(cli, sample_tree: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = _record_fit(cli, sample_tree, tmp_path)
    page = tmp_path / "out" / "report.html"
    summary = _ok(cli("audit", "report", f.fit, "-o", str(page), "--json"))
    assert summary == {"output": str(page), "nodes": 7, "access_events": 0, "integrity_ok": True}
    html = page.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert not re.search(r"https?://", html), re.findall(r"https?://\S{0,40}", html)
    assert "<svg" in html
    for text in ("t1_fit.csv", "calibration.csv", "fit T1", "Integrity verified"):
        assert text in html, text


def test_audit_report_shows_declassifications_retractions_released_holds_and_keep_until(
    cli, sample_tree: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    f = _record_fit(cli, sample_tree, tmp_path)
    _ok(cli("role", "grant", "alice", "export_control_officer", "--json"))
    _ok(cli("declassify", f.fit, "--reason", "reviewed: no design data", "--json"))
    hold = _ok(cli("hold", "add", "--artifact", f.fit, "--reason", "paper under review", "--json"))
    _ok(cli("hold", "release", hold["hold"], "--reason", "published", "--json"))
    _ok(cli("lineage", "retract", f.activity, "--reason", "wrong input", "--json"))
    page = tmp_path / "report.html"
    _ok(cli("audit", "report", f.fit, "-o", str(page), "--json"))
    html = page.read_text(encoding="utf-8")
    changes = html[html.index('<section id="changes">') : html.index('<section id="retention">')]
    assert "classification.declassified" in changes and "lineage.retracted" in changes, changes
    assert "reviewed: no design data" in changes and "wrong input" in changes
    kept = html[html.index('<section id="retention">') : html.index('<section id="integrity">')]
    assert "hold.placed" in kept and "hold.released" in kept and "published" in kept, kept
    assert "Keep-until dates" in kept and re.search(r"t1_fit\.csv</td><td>\d{4}-\d{2}-\d{2}</td>", kept), kept


BAD_INPUT = [
    (
        "trace unknown id",
        ["lineage", "trace", "0000"],
        r"error: no lineage node '0000' \(an artifact, activity or agent id\)$",
    ),
    ("report unknown id", ["audit", "report", "0000", "-o", "{tmp}/r.html"], r"error: no lineage node '0000'"),
    (
        "as-of not a time",
        ["lineage", "trace", "0000", "--as-of", "yesterday"],
        r"error: --as-of: expected an ISO 8601 time such as 2026-03-01T12:00:00Z, got 'yesterday'$",
    ),
    (
        "export as-of not a time",
        ["lineage", "export", "0000", "--as-of", "yesterday"],
        r"error: --as-of: .*'yesterday'$",
    ),
    (
        "both directions",
        ["lineage", "trace", "0000", "--upstream", "--downstream"],
        r"error: --upstream and --downstream: choose one direction$",
    ),
    ("negative depth", ["lineage", "trace", "0000", "--depth", "-1"], r"usage error: Invalid value for '--depth'"),
    (
        "unknown export format",
        ["lineage", "export", "0000", "--format", "bogus"],
        r"error: --format: expected prov-json or openlineage, got 'bogus'$",
    ),
    (
        "unknown log format",
        ["audit", "export", "--format", "xml", "-o", "{tmp}/e.xml"],
        r"error: --format: expected csv or parquet, got 'xml'$",
    ),
    ("unknown event", ["audit", "prove", "nope"], r"error: no event 'nope' in the log$"),
    (
        "proof not an object",
        ["audit", "verify-proof", "{tmp}/list.json"],
        r"error: proof file \S+/list.json: expected a JSON object$",
    ),
    (
        "missing proof file",
        ["audit", "verify-proof", "{tmp}/none.json"],
        r"error: proof file \S+/none.json: no such file$",
    ),
    (
        "unknown input artifact",
        ["lineage", "record", "--activity", "fit", "--used", "0000", "--generated", "{tmp}/fit.csv"],
        r"error: --used 0000: no such artifact$",
    ),
    (
        "missing output",
        ["lineage", "record", "--activity", "fit", "--used", "0000", "--generated", "{tmp}/none.csv"],
        r"error: --generated \S+/none.csv: no such file or directory$",
    ),
]


NOT_FOUND = {"trace unknown id", "report unknown id", "unknown event", "unknown input artifact"}


@pytest.mark.parametrize(("case", "argv", "match"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_gets_one_line_naming_it_and_exit_2(cli, tmp_path: Path, case, argv, match) -> None:  # type: ignore[no-untyped-def]
    """Bad input is exit 2; an id that names nothing is exit 4 (not found)."""
    cli("init", "--name", "alice")
    (tmp_path / "fit.csv").write_text("qubit,t1_us\n0,81.2\n")
    (tmp_path / "list.json").write_text("[1]\n")
    code = 4 if case in NOT_FOUND else 2
    _fails(cli(*[a.replace("{tmp}", str(tmp_path)) for a in argv]), code, match)
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "e.xml").exists()
