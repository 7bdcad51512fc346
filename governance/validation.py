"""Data validation at ingest with Great Expectations.

A dataset may declare expectations when it is registered, as a list of
``{"expectation": "expect_column_values_to_be_between", "column": "cnot_error",
"min_value": 0, "max_value": 1, "files": ["calibration*.csv", "runs/*.parquet"]}``.
Everything but ``expectation`` and ``files`` is passed to the Great Expectations class of
that name. ``files`` (a glob or a list of globs, optional) says which tables the
expectation applies to: each glob is matched against the file's path inside the ingested
folder from the right (``pathlib.PurePosixPath.match``), so ``*.csv`` is every CSV at any
depth and ``runs/*.csv`` every CSV directly inside a ``runs`` folder. Without ``files`` an
expectation applies to every table. Each tabular file ingested into the dataset is checked
against the expectations that apply to it; a failing file is quarantined with the report
and not governed. A column an expectation names but the table lacks is a failure of that
expectation, reported in one line naming the column and the expectation.

Reports keep counts and percentages, never sample values: the values of a controlled
table must not leak into the catalog through its validation report.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from qgov.errors import InputError

_lock = threading.Lock()
_context: Any = None


@dataclass(frozen=True)
class ValidationOutcome:
    success: bool
    report: dict[str, Any]

    @property
    def reason(self) -> str:
        failed = [r for r in self.report["results"] if not r["success"]]
        return "; ".join(r["summary"] for r in failed) or "validation failed"


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _gx() -> Any:
    import logging

    import great_expectations as gx

    # GE logs an INFO line per ephemeral context ("Created temporary directory …") from
    # loggers it configures itself, so quieten each of them, not only the parent.
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("great_expectations")]:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    return gx


def build_expectations(specs: list[dict[str, Any]], source: str = "expectations") -> list[Any]:
    """Turn declared specs into GE expectation objects; InputError names a bad entry."""
    if not isinstance(specs, list):
        raise InputError(f"{source}: expected a list of expectations, got {type(specs).__name__}")
    gx = _gx()
    built = []
    for index, spec in enumerate(specs):
        where = f"{source}[{index}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("expectation"), str):
            raise InputError(f"{where}: expected a mapping with an 'expectation' name")
        _globs(spec, where)
        kwargs = {k: v for k, v in spec.items() if k not in {"expectation", "files"}}
        cls = getattr(gx.expectations, _camel(spec["expectation"]), None)
        if cls is None or not spec["expectation"].startswith("expect_"):
            raise InputError(f"{where}.expectation: unknown Great Expectations expectation {spec['expectation']!r}")
        try:
            built.append(cls(**kwargs))
        except Exception as exc:  # noqa: BLE001 - pydantic validation errors from GE
            detail = " ".join(str(exc).split())[:200]
            raise InputError(f"{where}: invalid arguments for {spec['expectation']} ({detail})") from None
    return built


def _globs(spec: dict[str, Any], where: str) -> list[str] | None:
    """The ``files`` globs of one spec (None: every table); InputError names a bad value."""
    files = spec.get("files")
    if files is None:
        return None
    globs = [files] if isinstance(files, str) else files
    if not isinstance(globs, list) or not globs or not all(isinstance(g, str) and g.strip() for g in globs):
        raise InputError(f"{where}.files: expected a glob or a non-empty list of globs, got {files!r}")
    return globs


def applicable(specs: list[dict[str, Any]], rel_path: str) -> list[dict[str, Any]]:
    """The expectations of ``specs`` that apply to the table at ``rel_path`` (see the module)."""
    path = PurePosixPath(rel_path)
    out = []
    for index, spec in enumerate(specs):
        globs = _globs(spec, f"expectations[{index}]")
        if globs is None or any(path.match(g) for g in globs):
            out.append(spec)
    return out


_COLUMN_ARGS = ("column", "column_A", "column_B")


def _missing_columns(specs: list[dict[str, Any]], columns: list[str]) -> list[dict[str, Any]]:
    """A failed result for each expectation that names a column the table does not have: GE
    would only say its batch lacks the column, in its own internal words. The table's own
    header is not quoted: in a file without one, pandas takes the first row's values for it."""
    have = set(map(str, columns))
    results = []
    for spec in specs:
        named = [spec[a] for a in _COLUMN_ARGS if isinstance(spec.get(a), str)]
        named += [c for c in spec.get("column_list") or [] if isinstance(c, str)]
        for column in named:
            if column not in have:
                results.append(
                    {
                        "expectation": spec["expectation"],
                        "column": column,
                        "success": False,
                        "summary": f"{spec['expectation']}: column {column!r} is not in the table "
                        f"(the table has {len(have)} column(s); an expectation's 'files' globs limit it "
                        "to the tables it is for)",
                    }
                )
    return results


def _context_once() -> Any:
    global _context
    with _lock:
        if _context is None:
            gx = _gx()
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            _context = context
        return _context


def _load_table(path: Path, kind: str, open_source: Callable[[], IO[bytes]] | None, name: str) -> Any:
    import pandas as pd

    try:
        with open_source() if open_source is not None else open(path, "rb") as handle:
            if kind == "parquet":
                return pd.read_parquet(handle)
            return pd.read_csv(handle, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    except (InputError, OSError):
        raise
    except Exception as exc:  # noqa: BLE001 - pandas/pyarrow raise many types, and quote the data
        from governance.formats import safe_detail

        raise InputError(f"{name}: cannot be read as a table ({safe_detail(exc)})") from None


def validate_table(
    path: Path,
    kind: str,
    specs: list[dict[str, Any]],
    open_source: Callable[[], IO[bytes]] | None = None,
    display: str | None = None,
) -> ValidationOutcome:
    """Validate one CSV/Parquet file against the dataset's declared expectations that apply
    to it (``display``, its path in the folder, is what ``files`` globs match).

    ``open_source`` opens the file (the ingest's refuses links and special files)."""
    gx = _gx()
    specs = applicable(specs, display or path.name)
    if not specs:
        return ValidationOutcome(success=True, report={"engine": f"great_expectations {gx.__version__}", "results": []})
    frame = _load_table(path, kind, open_source, display or str(path))
    missing = _missing_columns(specs, list(frame.columns))
    if missing:
        return ValidationOutcome(
            success=False,
            report={"engine": f"great_expectations {gx.__version__}", "rows": len(frame), "results": missing},
        )
    expectations = build_expectations(specs)
    context = _context_once()
    with _lock:  # the ephemeral context is not safe to mutate from several threads
        name = f"qgov-{threading.get_ident()}"
        try:
            source = context.data_sources.get(name)
        except Exception:  # noqa: BLE001 - GE raises its own lookup error type
            source = context.data_sources.add_pandas(name)
        asset = source.add_dataframe_asset(f"a{len(source.assets)}")
        batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(gx.ExpectationSuite(name="ingest", expectations=expectations))
    results = [_summarise(res) for res in result.results]
    return ValidationOutcome(
        success=all(r["success"] for r in results),
        report={"engine": f"great_expectations {gx.__version__}", "rows": len(frame), "results": results},
    )


def _raised(exception_info: Any) -> str | None:
    """GE nests exception info per metric; return the first message of a raised one."""
    if not isinstance(exception_info, dict):
        return None
    if exception_info.get("raised_exception"):
        return str(exception_info.get("exception_message") or "error")
    for value in exception_info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message") or "error")
    return None


def _without_values(message: str) -> str:
    """An evaluation error without what it quotes: pandas and GE quote the offending cell."""
    return re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", " ".join(message.split()))[:160]


def _summarise(res: Any) -> dict[str, Any]:
    info = res.result or {}
    kind = res.expectation_config.type
    column = res.expectation_config.kwargs.get("column")
    label = kind + (f" on {column}" if column else "")
    error = _raised(res.exception_info)
    if error:
        summary = f"{label}: could not be evaluated ({_without_values(error)})"
    elif res.success:
        summary = f"{label}: passed"
    elif "unexpected_count" in info:
        summary = f"{label}: {info['unexpected_count']} of {info.get('element_count')} rows failed"
    else:
        summary = f"{label}: failed"
    return {
        "expectation": kind,
        "column": column,
        "success": bool(res.success) and error is None,
        "unexpected_count": info.get("unexpected_count"),
        "element_count": info.get("element_count"),
        "unexpected_percent": info.get("unexpected_percent"),
        # Row positions, never values: the values may be controlled technical data.
        "first_failing_rows": list(info.get("partial_unexpected_index_list") or [])[:10],
        "summary": summary,
    }


__all__ = ["ValidationOutcome", "applicable", "build_expectations", "validate_table"]
