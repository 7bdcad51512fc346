"""Cold latency of the qgov commands that run no flow, against ``python -c pass``.

Each run is a new interpreter (cold: nothing imported, the OS file cache warm), so the
figure is what a person typing the command waits for. Prints one JSON document: per
command the median of ``--repeats`` runs and that median minus the interpreter's own
start-up measured in the same run, with the load average before and after (the figures
move with the machine's load: read them together).

An installed qgov has its bytecode compiled (pip writes the ``.pyc`` files); a checkout run
with ``PYTHONDONTWRITEBYTECODE=1`` recompiles every module of its own on every start, about
0.15 s more. By default the runs keep bytecode in a private cache (``PYTHONPYCACHEPREFIX``,
written by the warm-up run); ``--no-bytecode-cache`` measures the recompiling start.

    PYTHONPATH=$PWD python benchmarks/cli_latency.py --repeats 7
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ITEM = {
    "name": "fidelity-sweep-2026-03",
    "kind": "technology",
    "subject": {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008},
    "research": {"fundamental": True, "intended_for_publication": True, "restrictions_accepted": True},
    "published": False,
    "catalog_course": False,
}
QGOV = [sys.executable, "-m", "governance.cli.main"]


def _timed(argv: list[str], env: dict[str, str], cpu: list[float] | None = None) -> float:
    """Wall seconds of one run; its CPU seconds (user + system) appended to ``cpu``: on a
    loaded machine the wall time mostly measures waiting for a core, the CPU time less so."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[2:])}: exit {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="cold runs per command (median reported; >= 5)")
    parser.add_argument("--no-bytecode-cache", action="store_true", help="recompile qgov's modules on every start")
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error("--repeats: expected at least 5")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, QGOV_HOME=str(Path(tmp) / "store"), QGOV_URL="", NO_COLOR="1")
        env.pop("QGOV_URL")
        if not args.no_bytecode_cache:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        subprocess.run([*QGOV, "init"], env=env, capture_output=True, check=True)
        item = Path(tmp) / "item.json"
        item.write_text(json.dumps(ITEM), encoding="utf-8")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "qgov --help": [*QGOV, "--help"],
            "qgov classify": [*QGOV, "classify", str(item)],
            "qgov screen": [*QGOV, "screen", "Acme Quantum Ltd"],
            "qgov dataset list": [*QGOV, "dataset", "list"],
        }
        load_before = os.getloadavg()
        for argv in commands.values():  # warms the file cache and writes the bytecode cache
            _timed(argv, env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):  # interleaved, so a burst of load hits every command alike
            for name, argv in commands.items():
                samples[name].append(_timed(argv, env, cpu[name]))
        load_after = os.getloadavg()
    baseline = statistics.median(samples["python -c pass"])
    result = {
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
        "bytecode_cache": not args.no_bytecode_cache,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "baseline_python_s": round(baseline, 3),
        "baseline_python_cpu_s": round(statistics.median(cpu["python -c pass"]), 3),
        "commands": {
            name: {
                "median_s": round(statistics.median(times), 3),
                "min_s": round(min(times), 3),
                "over_python_s": round(statistics.median(times) - baseline, 3),
                "median_cpu_s": round(statistics.median(cpu[name]), 3),
            }
            for name, times in samples.items()
            if name != "python -c pass"
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
