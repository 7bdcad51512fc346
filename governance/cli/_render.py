"""Output for the command line: results on stdout, diagnostics on stderr, exit codes.

The contract (DESIGN.md, docs/adr/0025): a command's result goes to stdout — with ``--json``
exactly one JSON document, otherwise text and tables for people (:data:`console`), so that
``qgov artifact list | grep`` works; progress bars, notes about files written and error
lines go to stderr (:data:`diagnostics`). Exit codes: 0 ok (including every what-if
answer); 1 a negative verdict on something done or verified (tamper found, an access
request denied, files quarantined); 2 bad input, with one line naming the field or file;
3 not permitted; 4 not found. Errors are mapped to codes here and nowhere else, by
:func:`exit_with_error`; with ``--json`` it also prints the error document
(:func:`error_document`) on stdout.

Names come from outside (file names, dataset and person names): a name holding an ANSI
escape sequence or other control character must not reach the terminal as one (terminal
injection). :data:`console` escapes control characters in every piece of text it writes,
whatever table or message it comes from; :func:`escape` and :func:`plain` additionally keep
a name from being read as Rich markup or from breaking a line.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from rich.console import Console
from rich.markup import escape as escape_markup
from rich.segment import Segment
from rich.text import Text

from qgov.errors import QgovError

if TYPE_CHECKING:
    from rich.progress import Progress

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


# Results (stdout) and diagnostics (stderr). Neither binds a stream at import: Rich looks up
# sys.stdout / sys.stderr at each write, so a test harness that swaps them sees the output.
# Piped into grep or a file, a table must not fold a name across lines at Rich's 80-column
# default: without a terminal (and without COLUMNS, which Rich reads), lines may be 200 wide.
console = _SafeConsole(
    highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200
)
diagnostics = _SafeConsole(stderr=True, highlight=False, soft_wrap=True)

# Set by the entry point when the command line carries --json: errors then also print their
# JSON document on stdout (the one document the contract promises).
_json_errors = False


def set_json_errors(enabled: bool) -> None:
    global _json_errors  # noqa: PLW0603 - one flag per process, set once by the entry point
    _json_errors = enabled


def progress(*columns: Any, **options: Any) -> Progress:  # rich.progress: imported when used
    """A progress bar on stderr, for a person at a terminal only (a log or a pipe gets none)."""
    from rich.progress import Progress

    return Progress(*columns, console=diagnostics, disable=not diagnostics.is_terminal, **options)


def print_json(document: Any) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(document, sort_keys=True, default=str, indent=2) + "\n")
    sys.stdout.flush()


USAGE_ERROR = "usage"
INTERNAL_ERROR = "internal"


def error_document(code: str, message: str, exit_code: int, error_type: str, **details: object) -> dict[str, Any]:
    """The JSON error document: ``{"error": {"code", "message", "exit_code", "type", …}}``.

    ``code`` is stable (``bad_input``, ``not_found``, ``not_permitted``, ``integrity``, …;
    ``usage`` for a command line the parser refused, ``internal`` for a bug); ``message`` is
    the one line a person would read; extra facts (``candidates`` of an ambiguous id) follow."""
    return {
        "error": {"code": code, "message": message, "exit_code": exit_code, "type": error_type}
        | {k: v for k, v in details.items() if v is not None}
    }


def _fail(label: str, doc: dict[str, Any]) -> NoReturn:
    error = doc["error"]
    if _json_errors:
        print_json(doc)
    diagnostics.print(f"[bold red]{label}:[/] {escape(error['message'])}", highlight=False)
    raise SystemExit(error["exit_code"])


def exit_with_error(error: BaseException) -> NoReturn:
    """Report ``error`` (one line on stderr; its document on stdout with --json) and exit with its code."""
    if isinstance(error, QgovError):
        message = error.diagnostics()
        _fail("error", error_document(error.code, message, error.exit_code, type(error).__name__, **error.details()))
    message = f"{type(error).__name__}: {' '.join(str(error).split()) or type(error).__name__}"
    _fail("internal error", error_document(INTERNAL_ERROR, message, 1, type(error).__name__))


def exit_with_usage_error(message: str) -> NoReturn:
    """The parser refused the command line (an unknown option, a missing argument): exit 2."""
    _fail("usage error", error_document(USAGE_ERROR, " ".join(message.split()), 2, "UsageError"))


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


__all__ = [
    "console",
    "diagnostics",
    "error_document",
    "escape",
    "escape_control",
    "exit_with_error",
    "exit_with_usage_error",
    "human_size",
    "plain",
    "print_json",
    "progress",
    "set_json_errors",
]
