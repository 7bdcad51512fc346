"""Which tables a dataset's expectations apply to (``files`` globs), and the one line a
table gets when it lacks a column an expectation names."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance.validation import applicable, build_expectations, validate_table
from qgov.errors import InputError

BETWEEN = {"expectation": "expect_column_values_to_be_between", "column": "cnot_error", "min_value": 0, "max_value": 1}


@pytest.mark.parametrize(
    ("files", "path", "applies"),
    [
        (None, "any/table.csv", True),
        ("*.csv", "deep/in/calibration.csv", True),
        ("calibration*.csv", "calibration-2026.csv", True),
        ("calibration*.csv", "notes.csv", False),
        ("runs/*.csv", "2026/runs/r1.csv", True),
        ("runs/*.csv", "runs/deeper/r1.csv", False),
        (["a.csv", "b.parquet"], "b.parquet", True),
    ],
    ids=["no-files-every-table", "any-depth", "prefix", "other-name", "folder", "not-deeper", "list"],
)
def test_files_globs_match_the_path_from_the_right(files: object, path: str, applies: bool) -> None:
    spec = BETWEEN | ({"files": files} if files is not None else {})
    assert applicable([spec], path) == ([spec] if applies else [])


@pytest.mark.parametrize("files", [3, [], [""], ["ok", 4]], ids=["number", "empty", "blank", "mixed"])
def test_a_bad_files_value_is_refused_naming_the_entry(files: object) -> None:
    with pytest.raises(InputError, match=r"^expectations\[0\]\.files: expected a glob or a non-empty list of globs"):
        build_expectations([BETWEEN | {"files": files}])


def test_files_is_not_passed_to_great_expectations() -> None:
    (built,) = build_expectations([BETWEEN | {"files": "*.csv"}])
    assert built.column == "cnot_error"


def test_a_missing_column_fails_in_one_line_naming_column_and_expectation(tmp_path: Path) -> None:
    table = tmp_path / "other.csv"
    table.write_text("0.5,1.7\n0.1,2.0\n")  # no header: pandas would take these values for column names
    outcome = validate_table(table, "csv", [BETWEEN], display="runs/other.csv")
    assert not outcome.success
    assert outcome.reason == (
        "expect_column_values_to_be_between: column 'cnot_error' is not in the table "
        "(the table has 2 column(s); an expectation's 'files' globs limit it to the tables it is for)"
    )
    assert "1.7" not in str(outcome.report) and "BatchData" not in outcome.reason


def test_a_table_no_expectation_names_is_not_checked(tmp_path: Path) -> None:
    table = tmp_path / "other.csv"
    table.write_text("a,b\n1,2\n")
    outcome = validate_table(table, "csv", [BETWEEN | {"files": "calibration*.csv"}], display="other.csv")
    assert outcome.success and outcome.report["results"] == []
