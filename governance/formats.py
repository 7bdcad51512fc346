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
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

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


Opener = Callable[[], IO[bytes]]


def sniff_kind(path: Path, open_source: Opener | None = None) -> str:
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
        with _opener(path, open_source)() as handle:
            head = handle.read(8)
    except (OSError, InputError):
        return "opaque"
    if head.startswith(_HDF5_MAGIC):
        return "hdf5"
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.startswith(b"OPENQASM"):
        return "qasm"
    return "opaque"


def _opener(path: Path, open_source: Opener | None) -> Opener:
    return open_source if open_source is not None else lambda: open(path, "rb")


def extract(path: Path, display: str | None = None, open_source: Opener | None = None) -> FormatInfo:
    """Describe ``path``; ``display`` is the name used in error messages.

    ``open_source`` opens the file (the ingest passes one that refuses links and special
    files); by default ``path`` is opened. Error messages name the file, and a row, line
    or column where the parser says, never a value read from the file: the content may be
    controlled technical data.
    """
    name = display or str(path)
    opener = _opener(path, open_source)
    kind = sniff_kind(path, opener)
    reader = _READERS.get(kind)
    if reader is None:
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FormatInfo(media, "opaque", {})
    try:
        return reader(path, name, opener)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - third-party parsers raise anything; we name the file
        raise InputError(f"{name}: not a valid {_LABEL[kind]} file ({safe_detail(exc)})") from None


def safe_detail(exc: BaseException) -> str:
    """What went wrong without what was read: parsers quote the offending row or bytes."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text at byte {exc.start}"
    text = str(exc)
    where = [f"{word} {number}" for word, number in re.findall(r"\b(line|column|row|offset)\b:? #?(\d+)", text, re.I)]
    return ", ".join(where) or f"{type(exc).__name__}, no position given"


def _csv(path: Path, name: str, opener: Opener) -> FormatInfo:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    rows = 0
    with opener() as handle:
        try:
            reader = pcsv.open_csv(handle, parse_options=pcsv.ParseOptions(delimiter=delimiter))
            for batch in reader:
                rows += batch.num_rows
        except pa.ArrowInvalid as exc:
            problem = str(exc)
            where = locate_csv_problem(opener, delimiter, problem)
            raise InputError(f"{name}: not a valid CSV file ({where}{_csv_problem(problem)})") from None
    schema = {f.name: str(f.type) for f in reader.schema}
    return FormatInfo("text/csv", "csv", {"rows": rows, "columns": schema})


_CSV_SHAPE = re.compile(r"Expected (\d+) columns, got (\d+)")
_CSV_CONVERSION = re.compile(r"column #(\d+): CSV conversion error to (\w+)")


def _csv_problem(message: str) -> str:
    """pyarrow's CSV error, reduced to what it is about: pyarrow appends the row's text."""
    if shape := _CSV_SHAPE.search(message):
        return f"expected {shape[1]} columns, got {shape[2]}"
    if conversion := _CSV_CONVERSION.search(message):
        return f"a value is not of the column's type {conversion[2]}"
    if "UTF8" in message or "UTF-8" in message:
        return "not UTF-8 text"
    return "cannot be parsed"


def locate_csv_problem(opener: Opener, delimiter: str, message: str) -> str:
    """``row N, column C: `` for the first row pyarrow's error is about (header = row 1), or ''."""
    import csv
    import io

    shape = _CSV_SHAPE.search(message)
    conversion = _CSV_CONVERSION.search(message)
    if not (shape or conversion):
        return ""
    check = _CONVERTERS.get(conversion[2]) if conversion else None
    if conversion and check is None:
        return ""
    try:
        with opener() as handle:
            text = io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline="")
            reader = csv.reader(text, delimiter=delimiter)
            header = next(reader, [])
            for number, row in enumerate(reader, start=2):
                if shape and len(row) != len(header):
                    return f"row {number}: "
                if conversion and check is not None:
                    index = int(conversion[1])
                    value = row[index] if index < len(row) else ""
                    if value not in _NULLS and not check(value):
                        label = header[index] if index < len(header) else f"#{index + 1}"
                        return f"row {number}, column {label!r}: "
    except (OSError, InputError, csv.Error):
        return ""
    return ""


def _parses(convert: Callable[[str], object]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            convert(value)
        except ValueError:
            return False
        return True

    return check


_NULLS = frozenset(
    ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "N/A", "NA", "NULL"]
    + ["NaN", "n/a", "nan", "null"]
)
_CONVERTERS: dict[str, Callable[[str], bool]] = {
    "int64": _parses(int),
    "double": _parses(float),
    "bool": lambda v: v.lower() in {"true", "false", "1", "0"},
}


def _parquet(path: Path, name: str, opener: Opener) -> FormatInfo:
    import pyarrow.parquet as pq

    with opener() as handle:
        meta = pq.ParquetFile(handle)
        schema = {f.name: str(f.type) for f in meta.schema_arrow}
    return FormatInfo(
        "application/vnd.apache.parquet",
        "parquet",
        {"rows": meta.metadata.num_rows, "columns": schema, "row_groups": meta.metadata.num_row_groups},
    )


def _hdf5(path: Path, name: str, opener: Opener) -> FormatInfo:
    import h5py

    groups: list[str] = []
    datasets: dict[str, dict[str, Any]] = {}
    # Attribute *names* only: attribute values (temperatures, calibration constants)
    # can be controlled technical data and must not reach the plaintext catalog.
    with opener() as raw, h5py.File(raw, "r") as handle:
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


def _qasm(path: Path, name: str, opener: Opener) -> FormatInfo:
    import openqasm3
    from openqasm3 import ast

    try:
        with opener() as handle:
            source = handle.read().decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not a valid OpenQASM file (not UTF-8 text)") from None
    if not source.strip():
        raise InputError(f"{name}: not a valid OpenQASM file (the file is empty, expected an OpenQASM program)")
    try:
        program = openqasm3.parse(source)
    except Exception as exc:  # noqa: BLE001 - the ANTLR parser raises several types
        # The parser quotes the offending tokens (circuit source may be controlled): position only.
        at = re.search(r"L(\d+):C(\d+)", str(exc))
        detail = f"syntax error at line {at[1]}, column {at[2]}" if at else "syntax error"
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


def _json(path: Path, name: str, opener: Opener) -> FormatInfo:
    with opener() as handle:
        if os.fstat(handle.fileno()).st_size > _JSON_SUMMARY_LIMIT:  # memory bounded; the bytes are still stored
            return FormatInfo("application/json", "json", {"top_level": "not summarised (over 64 MiB)"})
        try:
            value = json.load(handle)
        except json.JSONDecodeError as exc:
            detail = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
            raise InputError(f"{name}: not a valid JSON file ({detail})") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{name}: not a valid JSON file ({safe_detail(exc)})") from None
    summary: dict[str, Any] = {"top_level": type(value).__name__}
    if isinstance(value, dict):
        summary["keys"] = sorted(value)[:64]
    elif isinstance(value, list):
        summary["length"] = len(value)
    return FormatInfo("application/json", "json", summary)


_READERS = {"csv": _csv, "parquet": _parquet, "hdf5": _hdf5, "qasm": _qasm, "json": _json}
_LABEL = {"csv": "CSV", "parquet": "Parquet", "hdf5": "HDF5", "qasm": "OpenQASM", "json": "JSON"}

__all__ = ["FormatInfo", "Opener", "extract", "locate_csv_problem", "safe_detail", "sniff_kind"]
