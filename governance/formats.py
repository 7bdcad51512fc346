"""Format metadata extracted at ingest: what a file is, without keeping its content.

CSV and Parquet give their schema and row count (streamed through pyarrow, so a large
table is never held in memory); HDF5 gives its groups, datasets and attributes;
OpenQASM 2/3 circuits give qubit count and gate counts (parsed with the reference
``openqasm3`` parser); JSON gives its top-level shape. Anything else is opaque bytes.
A file that claims a format and does not parse is an :class:`~qgov.errors.InputError`
naming the file.
"""

from __future__ import annotations

import json
import mimetypes
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qgov.errors import InputError

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class FormatInfo:
    """Media type and a small JSON summary of a file's structure."""

    media_type: str
    kind: str
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def tabular(self) -> bool:
        return self.kind in {"csv", "parquet"}


def sniff_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv"}:
        return "csv"
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    if suffix in {".h5", ".hdf5", ".hdf", ".he5"}:
        return "hdf5"
    if suffix == ".qasm":
        return "qasm"
    if suffix == ".json":
        return "json"
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return "opaque"
    if head.startswith(_HDF5_MAGIC):
        return "hdf5"
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.startswith(b"OPENQASM"):
        return "qasm"
    return "opaque"


def extract(path: Path, display: str | None = None) -> FormatInfo:
    """Describe ``path``; ``display`` is the name used in error messages."""
    name = display or str(path)
    kind = sniff_kind(path)
    reader = _READERS.get(kind)
    if reader is None:
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FormatInfo(media, "opaque", {})
    try:
        return reader(path, name)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - third-party parsers raise anything; we name the file
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(f"{name}: not a valid {_LABEL[kind]} file ({detail})") from None


def _csv(path: Path, name: str) -> FormatInfo:
    import pyarrow.csv as pcsv

    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = pcsv.open_csv(path, parse_options=pcsv.ParseOptions(delimiter=delimiter))
    rows = 0
    for batch in reader:
        rows += batch.num_rows
    schema = {f.name: str(f.type) for f in reader.schema}
    return FormatInfo("text/csv", "csv", {"rows": rows, "columns": schema})


def _parquet(path: Path, name: str) -> FormatInfo:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path)
    schema = {f.name: str(f.type) for f in meta.schema_arrow}
    return FormatInfo(
        "application/vnd.apache.parquet",
        "parquet",
        {"rows": meta.metadata.num_rows, "columns": schema, "row_groups": meta.metadata.num_row_groups},
    )


def _hdf5(path: Path, name: str) -> FormatInfo:
    import h5py

    groups: list[str] = []
    datasets: dict[str, dict[str, Any]] = {}
    # Attribute *names* only: attribute values (temperatures, calibration constants)
    # can be controlled technical data and must not reach the plaintext catalog.
    with h5py.File(path, "r") as handle:
        attrs = sorted(handle.attrs.keys())

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Group):
                groups.append(name)
            elif isinstance(obj, h5py.Dataset):
                datasets[name] = {
                    "shape": list(obj.shape),
                    "dtype": str(obj.dtype),
                    "attrs": sorted(obj.attrs.keys()),
                }

        handle.visititems(visit)
    return FormatInfo("application/x-hdf5", "hdf5", {"groups": sorted(groups), "datasets": datasets, "attrs": attrs})


def _qasm(path: Path, name: str) -> FormatInfo:
    import openqasm3
    from openqasm3 import ast

    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not a valid OpenQASM file (not UTF-8 text)") from None
    try:
        program = openqasm3.parse(source)
    except Exception as exc:  # noqa: BLE001 - the ANTLR parser raises several types
        detail = " ".join(str(exc).split())[:200] or "syntax error"
        raise InputError(f"{name}: not a valid OpenQASM file ({detail})") from None
    qubits = 0
    gates: Counter[str] = Counter()
    measurements = 0

    def walk(statements: list[Any]) -> None:
        nonlocal qubits, measurements
        for stmt in statements:
            if isinstance(stmt, ast.QubitDeclaration):
                size = stmt.size
                qubits += int(size.value) if isinstance(size, ast.IntegerLiteral) else 1
            elif isinstance(stmt, ast.QuantumGate):
                gates[stmt.name.name] += 1
            elif isinstance(stmt, (ast.QuantumMeasurementStatement, ast.QuantumMeasurement)):
                measurements += 1
            for child_name in ("block", "if_block", "else_block", "body"):
                child = getattr(stmt, child_name, None)
                if isinstance(child, list):
                    walk(child)

    walk(program.statements)
    return FormatInfo(
        "text/x-openqasm",
        "qasm",
        {
            "version": program.version,
            "qubits": qubits,
            "gate_counts": dict(sorted(gates.items())),
            "gates": sum(gates.values()),
            "measurements": measurements,
        },
    )


_JSON_SUMMARY_LIMIT = 64 << 20


def _json(path: Path, name: str) -> FormatInfo:
    if path.stat().st_size > _JSON_SUMMARY_LIMIT:  # keep memory bounded; the bytes are still stored
        return FormatInfo("application/json", "json", {"top_level": "not summarised (over 64 MiB)"})
    with open(path, "rb") as handle:
        try:
            value = json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{name}: not a valid JSON file ({exc})") from None
    summary: dict[str, Any] = {"top_level": type(value).__name__}
    if isinstance(value, dict):
        summary["keys"] = sorted(value)[:64]
    elif isinstance(value, list):
        summary["length"] = len(value)
    return FormatInfo("application/json", "json", summary)


_READERS = {"csv": _csv, "parquet": _parquet, "hdf5": _hdf5, "qasm": _qasm, "json": _json}
_LABEL = {"csv": "CSV", "parquet": "Parquet", "hdf5": "HDF5", "qasm": "OpenQASM", "json": "JSON"}

__all__ = ["FormatInfo", "extract", "sniff_kind"]
