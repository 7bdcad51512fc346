"""Format metadata: what qgov reads from each kind of file, and one-line errors when it can't."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from governance.formats import extract
from governance.sample_data import BELL_QASM2, GHZ_QASM3, measurement_hdf5
from qgov.errors import InputError


def test_csv_schema_and_rows_are_streamed(tmp_path: Path) -> None:
    path = tmp_path / "cal.csv"
    pd.DataFrame({"qubit": range(1000), "t1_us": [50.5] * 1000}).to_csv(path, index=False)
    info = extract(path)
    assert (info.media_type, info.summary["rows"]) == ("text/csv", 1000)
    assert info.summary["columns"] == {"qubit": "int64", "t1_us": "double"}
    assert info.tabular


def test_parquet_schema_rows_and_row_groups(tmp_path: Path) -> None:
    path = tmp_path / "cal.parquet"
    pd.DataFrame({"qubit": range(10), "cnot_error": [0.001] * 10}).to_parquet(path)
    info = extract(path)
    assert info.summary["rows"] == 10 and info.summary["columns"]["cnot_error"] == "double"


def test_hdf5_lists_structure_and_attribute_names_not_values(tmp_path: Path) -> None:
    path = tmp_path / "m.h5"
    measurement_hdf5(path, qubits=2, shots=10)
    info = extract(path)
    assert info.summary["groups"] == ["qubit_00", "qubit_01"]
    assert info.summary["datasets"]["qubit_00/iq_ground"] == {"shape": [5, 2], "dtype": "float32", "attrs": []}
    assert "fridge_temperature_mk" in info.summary["attrs"]
    assert "11.5" not in str(info.summary)  # an attribute value is technical data: never copied


@pytest.mark.parametrize(
    ("source", "version", "qubits", "gates"),
    [(GHZ_QASM3, "3.0", 5, {"cx": 4, "h": 1}), (BELL_QASM2, "2.0", 2, {"cx": 1, "h": 1})],
    ids=["openqasm3", "openqasm2"],
)
def test_qasm_qubits_and_gate_counts(tmp_path: Path, source: str, version: str, qubits: int, gates: dict) -> None:
    path = tmp_path / "c.qasm"
    path.write_text(source)
    info = extract(path)
    assert info.summary["version"] == version
    assert (info.summary["qubits"], info.summary["gate_counts"]) == (qubits, gates)


def test_json_shape_only(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text('{"device": "x", "secret_setting": 42}')
    info = extract(path)
    assert info.summary == {"top_level": "dict", "keys": ["device", "secret_setting"]}


def test_unknown_files_are_opaque(tmp_path: Path) -> None:
    path = tmp_path / "firmware.bin"
    path.write_bytes(b"\x00\x01\x02")
    assert extract(path).kind == "opaque"


MALFORMED = [
    ("broken.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 32, "not a valid HDF5 file"),
    ("broken.qasm", b"OPENQASM 3.0;\nqubit[2 q;\n", "not a valid OpenQASM file"),
    ("binary.qasm", b"\xff\xfe\x00", "not a valid OpenQASM file (not UTF-8 text)"),
    ("broken.json", b'{"a": ', "not a valid JSON file"),
    ("broken.parquet", b"PAR1 nonsense", "not a valid Parquet file"),
    ("ragged.csv", b"a,b\n1,2,3\n", "not a valid CSV file"),
]


@pytest.mark.parametrize(("name", "content", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_files_get_one_line_naming_the_file(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        extract(path, f"run-7/{name}")
    text = caught.value.diagnostics()
    assert text.startswith(f"run-7/{name}: {message}") and "\n" not in text


SECRET_BEARING = [
    ("ragged.csv", b"qubit,t1\n0,51.2\n1,48.9,SECRET-7\n", "not a valid CSV file (row 3: expected 2 columns, got 3)"),
    (
        "late-text.csv",
        b"qubit,t1\n" + b"".join(b"%d,%d.5\n" % (i, i) for i in range(200_000)) + b"7,SECRET-7\n",
        "not a valid CSV file (row 200002, column 't1': a value is not of the column's type double)",
    ),
    ("latin1.json", b'{"k": "SECRET-7 \xe9"}', "not a valid JSON file (not UTF-8 text at byte 16)"),
    ("empty.qasm", b"", "not a valid OpenQASM file (the file is empty, expected an OpenQASM program)"),
    ("blank.qasm", b"\n  \n", "not a valid OpenQASM file (the file is empty, expected an OpenQASM program)"),
]


@pytest.mark.parametrize(("name", "content", "message"), SECRET_BEARING, ids=[m[0] for m in SECRET_BEARING])
def test_errors_name_the_row_and_column_never_a_value(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        extract(path, name)
    assert caught.value.diagnostics() == f"{name}: {message}"
