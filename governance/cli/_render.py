"""Output for the command line: JSON on stdout, people-facing text on stderr, exit codes.

Exit codes (DESIGN.md): 0 ok; 1 a negative verdict the user must see (tamper found,
access refused, files quarantined); 2 a usage or input error, with one line naming
the field or file. Errors are mapped to codes here and nowhere else.

Names come from outside (file names, dataset and person names): a name holding an ANSI
escape sequence or other control character must not reach the terminal as one (terminal
injection). :data:`console` escapes control characters in every piece of text it writes,
whatever table or message it comes from; :func:`escape` and :func:`plain` additionally keep
a name from being read as Rich markup or from breaking a line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any, NoReturn

from rich.console import Console
from rich.markup import escape as escape_markup
from rich.segment import Segment
from rich.text import Text

from qgov.errors import QgovError

# C0 and C1 control characters, DEL, and the bidirectional overrides that reorder what a
# terminal shows ("Trojan Source"), as visible escapes: \x1b, \u202e.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))} | {
    c: f"\\u{c:04x}" for c in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}
_CONTROL_KEEP_LINES = {c: v for c, v in _CONTROL.items() if c not in (0x09, 0x0A)}


def escape_control(text: str, keep_lines: bool = False) -> str:
    """``text`` with every control character shown as an escape, never sent to the terminal."""
    return text.translate(_CONTROL_KEEP_LINES if keep_lines else _CONTROL)


def escape(value: object) -> str:
    """A name or value to interpolate into Rich markup: no control characters, no markup."""
    return escape_markup(escape_control(str(value)))


def plain(value: object) -> Text:
    """A table cell holding a name as literal text (no markup, no control characters)."""
    return Text(escape_control(str(value)))


class _SafeConsole(Console):
    """A Console that escapes control characters in the text it writes (not in its own styles
    and cursor controls, which are separate segments): the last line of defence against
    terminal injection through a name that reaches a table or message unescaped."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            segment if segment.control else Segment(escape_control(segment.text, keep_lines=True), segment.style)
            for segment in buffer
        )


console = _SafeConsole(stderr=True, highlight=False, soft_wrap=True)


def print_json(document: Any) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(document, sort_keys=True, default=str, indent=2) + "\n")
    sys.stdout.flush()


def exit_with_error(error: BaseException) -> NoReturn:
    if isinstance(error, QgovError):
        console.print(f"[bold red]error:[/] {error.diagnostics()}", markup=True, highlight=False)
        raise SystemExit(error.exit_code)
    message = " ".join(str(error).split()) or type(error).__name__
    console.print(f"[bold red]internal error:[/] {type(error).__name__}: {message}", highlight=False)
    raise SystemExit(1)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


__all__ = ["console", "escape", "escape_control", "exit_with_error", "human_size", "plain", "print_json"]
