"""Realistic sample quantum data for the demo and the tests (generated, seeded).

* a qubit calibration table (CSV): T1/T2, readout and two-qubit gate errors per qubit;
* an HDF5 measurement file: IQ readout samples per qubit with run attributes;
* an OpenQASM 3 circuit (GHZ preparation and measurement) and an OpenQASM 2 one;
* a device description (JSON);
* a small DVC pipeline: raw calibration data tracked with ``dvc add`` and a ``fit``
  stage that derives per-qubit fit parameters, committed to git.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from qgov.errors import InputError


def calibration_table(qubits: int = 24, seed: int = 7, bad_rows: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "qubit": np.arange(qubits),
            "frequency_ghz": np.round(rng.normal(5.1, 0.15, qubits), 4),
            "t1_us": np.round(rng.gamma(9.0, 12.0, qubits), 2),
            "t2_us": np.round(rng.gamma(6.0, 11.0, qubits), 2),
            "readout_error": np.round(rng.beta(2, 80, qubits), 5),
            "cnot_error": np.round(rng.beta(2, 300, qubits), 6),
            "calibrated_at": pd.date_range("2026-03-02T06:00:00Z", periods=qubits, freq="min").strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
        }
    )
    if bad_rows:
        frame.loc[: bad_rows - 1, "cnot_error"] = 1.7  # an instrument fault: not a probability
    return frame


def measurement_hdf5(path: Path, qubits: int = 8, shots: int = 2000, seed: int = 11) -> None:
    import h5py

    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as handle:
        handle.attrs["device"] = "transmon-27q-lab-b"
        handle.attrs["fridge_temperature_mk"] = 11.5
        handle.attrs["experiment"] = "readout-fidelity"
        for q in range(qubits):
            group = handle.create_group(f"qubit_{q:02d}")
            group.attrs["readout_frequency_ghz"] = float(7.0 + 0.05 * q)
            ground = rng.normal((1.0, 0.0), 0.3, (shots // 2, 2))
            excited = rng.normal((-1.0, 0.4), 0.3, (shots // 2, 2))
            group.create_dataset("iq_ground", data=ground.astype("float32"))
            group.create_dataset("iq_excited", data=excited.astype("float32"))
            group.create_dataset("labels", data=np.repeat([0, 1], shots // 2).astype("int8"))


GHZ_QASM3 = """OPENQASM 3.0;
include "stdgates.inc";
// 5-qubit GHZ state preparation used for the readout benchmark
qubit[5] q;
bit[5] c;
h q[0];
cx q[0], q[1];
cx q[1], q[2];
cx q[2], q[3];
cx q[3], q[4];
barrier q;
c = measure q;
"""

BELL_QASM2 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0],q[1];
measure q -> c;
"""

DEVICE_JSON = {
    "device": "transmon-27q-lab-b",
    "physical_qubits": 27,
    "coupling_map": [[i, i + 1] for i in range(26)],
    "basis_gates": ["rz", "sx", "x", "cx"],
}

FIT_SCRIPT = """import json, sys
import csv
rows = list(csv.DictReader(open("data/calibration.csv")))
fit = {r["qubit"]: {"t1_us": float(r["t1_us"]), "t2_over_t1": float(r["t2_us"]) / float(r["t1_us"])} for r in rows}
json.dump(fit, open("results/fit_params.json", "w"), indent=1, sort_keys=True)
"""


def write_sample_folder(root: Path) -> Path:
    """Calibration table, HDF5 measurements, two circuits and a device file under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    calibration_table().to_csv(root / "calibration.csv", index=False)
    measurement_hdf5(root / "readout_measurements.h5")
    (root / "circuits").mkdir(exist_ok=True)
    (root / "circuits" / "ghz5.qasm").write_text(GHZ_QASM3, encoding="utf-8")
    (root / "circuits" / "bell.qasm").write_text(BELL_QASM2, encoding="utf-8")
    (root / "device.json").write_text(json.dumps(DEVICE_JSON, indent=1), encoding="utf-8")
    return root


def _run(cmd: list[str], cwd: Path) -> None:
    env = dict(os.environ, DVC_NO_ANALYTICS="1", GIT_TERMINAL_PROMPT="0")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = " ".join((proc.stderr or proc.stdout).split())[:200]
        raise InputError(f"building the sample DVC repo: {' '.join(cmd[:3])} failed ({detail})")


def write_dvc_repo(root: Path) -> Path:
    """A git + DVC repo with a tracked raw table and a ``fit`` stage, committed."""
    root.mkdir(parents=True, exist_ok=True)
    git = ["git", "-c", "user.name=qgov demo", "-c", "user.email=demo@qgov.invalid", "-c", "init.defaultBranch=main"]
    dvc = [sys.executable, "-m", "dvc"]
    _run([*git, "init", "-q"], root)
    _run([*dvc, "init", "-q"], root)
    _run([*dvc, "config", "core.analytics", "false"], root)
    (root / "data").mkdir(exist_ok=True)
    (root / "src").mkdir(exist_ok=True)
    (root / "results").mkdir(exist_ok=True)
    calibration_table(qubits=27, seed=21).to_csv(root / "data" / "calibration.csv", index=False)
    (root / "src" / "fit.py").write_text(FIT_SCRIPT, encoding="utf-8")
    _run([*dvc, "add", "-q", "data/calibration.csv"], root)
    _run(
        [
            *dvc,
            "stage",
            "add",
            "-q",
            "-n",
            "fit",
            "-d",
            "src/fit.py",
            "-d",
            "data/calibration.csv",
            "-o",
            "results/fit_params.json",
            f"{sys.executable} src/fit.py",
        ],
        root,
    )
    _run([*dvc, "repro", "-q"], root)
    _run([*git, "add", "-A"], root)
    _run([*git, "commit", "-q", "-m", "calibration pipeline"], root)
    return root


__all__ = ["calibration_table", "measurement_hdf5", "write_dvc_repo", "write_sample_folder"]
