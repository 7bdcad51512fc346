"""What the command line writes to a terminal: names never arrive as control characters."""

from __future__ import annotations

import io

from rich.table import Table

from governance.cli._render import _SafeConsole, escape, plain


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
