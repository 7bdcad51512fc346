"""What the command line writes to a terminal: names never arrive as control characters."""

from __future__ import annotations

import io
import json

import pytest
from rich.table import Table

from governance.cli._render import _SafeConsole, escape, exit_with_error, plain, set_json_errors
from qgov.errors import AccessDenied, AmbiguousIdError, InputError, IntegrityError, NotFoundError


def _terminal() -> _SafeConsole:
    return _SafeConsole(file=io.StringIO(), force_terminal=True, color_system="standard", width=200, highlight=False)


def test_control_characters_in_any_text_are_escaped_but_our_styles_render() -> None:
    console = _terminal()
    console.print("[bold]name:[/] \x1b[2Jevil\x9b31m\u202eflipped", highlight=False)
    table = Table("path")
    table.add_row("\x1b]0;owned\x07title.csv")
    console.print(table)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b[2J" not in out and "\x9b" not in out and "\u202e" not in out and "\x1b]0;" not in out
    assert "\\x1b[2Jevil\\x9b31m\\u202eflipped" in out and "\\x1b]0;ownedtitle.csv" in out  # Rich drops BEL itself
    assert "\x1b[1m" in out  # bold, from our own markup


def test_a_name_is_never_read_as_markup_or_split_across_lines() -> None:
    console = _terminal()
    name = "[/]x[red]\nerror: forged.csv"
    console.print(f"skipped {escape(name)}: a symbolic link")
    table = Table("path")
    table.add_row(plain("[bold]x.json"))
    console.print(table)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "skipped [/]x[red]\\x0aerror: forged.csv: a symbolic link" in out
    assert "[bold]x.json" in out


@pytest.mark.parametrize(
    ("error", "code", "slug"),
    [
        (InputError("--days: expected a whole number"), 2, "bad_input"),
        (NotFoundError("no legal hold 'abcd'"), 4, "not_found"),
        (AccessDenied("user 'bob' may not see the review queue"), 3, "not_permitted"),
        (IntegrityError("event #3: hash mismatch"), 1, "integrity"),
        (AmbiguousIdError("request id 'abcd' is ambiguous", ["abcd1", "abcd2"]), 2, "ambiguous_id"),
        (RuntimeError("boom\nsecond line"), 1, "internal"),
    ],
    ids=["bad input", "not found", "not permitted", "verdict", "ambiguous", "bug"],
)
def test_errors_map_to_one_exit_code_and_one_json_document(
    error: BaseException, code: int, slug: str, capsys: pytest.CaptureFixture[str]
) -> None:
    set_json_errors(True)
    try:
        with pytest.raises(SystemExit) as exited:
            exit_with_error(error)
    finally:
        set_json_errors(False)
    assert exited.value.code == code
    out, err = capsys.readouterr()
    doc = json.loads(out)["error"]
    assert (doc["code"], doc["exit_code"]) == (slug, code) and "\n" not in doc["message"]
    assert len(err.strip().splitlines()) == 1 and doc["message"] in err.replace("\\[", "[")
    if isinstance(error, AmbiguousIdError):
        assert doc["candidates"] == ["abcd1", "abcd2"]


def test_without_json_an_error_leaves_stdout_empty(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        exit_with_error(NotFoundError("no release 'x'"))
    out, err = capsys.readouterr()
    assert exited.value.code == 4 and out == "" and err.strip() == "error: no release 'x'"
