"""The commands that run no flow load none of the heavy machinery they do not use (ADR 0038).

A cold ``qgov --help`` or ``qgov classify`` is what a person waits for at the prompt; each
import of Prefect, pandas, Tink, Great Expectations or scikit-learn costs it tenths of a
second. This is the structural guard: it runs the real command in a fresh interpreter and
reads ``sys.modules`` when it exits (timings live in ``benchmarks/cli_latency.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from governance.cli._lazy import invoked_only

ROOT = Path(__file__).resolve().parents[2]
_PROBE = """
import atexit, json, sys
def _report():
    sys.stderr.write("LOADED " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})) + "\\n")
atexit.register(_report)
sys.argv = ["qgov", *sys.argv[1:]]
from governance.cli.main import main
main()
"""
# Never needed to show help, classify an item, screen a name or list datasets.
NEVER = {
    "prefect",
    "pandas",
    "tink",
    "great_expectations",
    "sklearn",
    "fsspec",
    "opendp",
    "dvc",
    "fastapi",
    "uvicorn",
    "alembic",
    "jinja2",
}
ITEM = {
    "name": "fidelity-sweep-2026-03",
    "kind": "technology",
    "subject": {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008},
    "research": {"fundamental": True, "intended_for_publication": True, "restrictions_accepted": True},
    "published": False,
    "catalog_course": False,
}


def _loaded(home: str, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QGOV_")}
    env |= {"PYTHONPATH": str(ROOT), "QGOV_HOME": home, "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED "))
    return done, set(json.loads(line.removeprefix("LOADED ")))


@pytest.fixture(scope="module")
def item(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("item") / "item.json"
    path.write_text(json.dumps(ITEM), encoding="utf-8")
    return str(path)


def test_help_loads_neither_the_store_nor_any_heavy_package(whatif_home: str) -> None:
    done, loaded = _loaded(whatif_home, "--help")
    assert done.returncode == 0, done.stderr
    assert "classify" in done.stdout
    assert loaded.isdisjoint(NEVER | {"sqlalchemy", "pydantic", "numpy", "rigour", "cryptography", "yaml"})


@pytest.mark.parametrize(
    "args",
    [("classify", "ITEM"), ("screen", "Acme Quantum Ltd"), ("dataset", "list")],
    ids=["classify", "screen", "dataset-list"],
)
def test_what_if_and_listing_commands_load_no_flow_crypto_or_dataframe_package(
    whatif_home: str, item: str, args: tuple[str, ...]
) -> None:
    done, loaded = _loaded(whatif_home, *(item if a == "ITEM" else a for a in args))
    assert done.returncode == 0, done.stderr
    assert sorted(loaded & NEVER) == []


def test_classify_does_not_load_the_name_matcher(whatif_home: str, item: str) -> None:
    done, loaded = _loaded(whatif_home, "classify", item, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["classification"] == "4E906"
    assert loaded.isdisjoint({"rigour", "numpy", "rapidfuzz"})


def test_a_misspelt_command_still_gets_the_suggestions_of_the_whole_application(whatif_home: str) -> None:
    done, _ = _loaded(whatif_home, "clasify", "x")
    assert done.returncode == 2
    assert "No such command 'clasify'" in done.stderr and "'classify'" in done.stderr


@pytest.mark.parametrize(
    ("args", "kept"),
    [
        (["classify", "x.json"], "classify"),
        (["--as", "olga", "dataset", "list"], "dataset"),
        (["--as=olga", "screen", "Acme"], "screen"),
        (["--help"], None),
        ([], None),
        (["--", "classify"], None),
        (["no-such-command"], None),
    ],
    ids=["command", "as-then-group", "as-equals", "help", "nothing", "dashdash", "unknown"],
)
def test_only_the_named_top_level_command_is_built(args: list[str], kept: str | None) -> None:
    from governance.cli.main import app

    narrowed = invoked_only(app, args)
    if kept is None:
        assert narrowed is app
        return
    names = [c.name for c in narrowed.registered_commands] + [g.name for g in narrowed.registered_groups]
    assert names == [kept]
    assert len(app.registered_commands) > 1  # the application itself is left whole
