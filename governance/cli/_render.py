"""Output for the command line: JSON on stdout, people-facing text on stderr, exit codes.

Exit codes (DESIGN.md): 0 ok; 1 a negative verdict the user must see (tamper found,
access refused, files quarantined); 2 a usage or input error, with one line naming
the field or file. Errors are mapped to codes here and nowhere else.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

from rich.console import Console

from qgov.errors import QgovError

console = Console(stderr=True, highlight=False, soft_wrap=True)


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


__all__ = ["console", "exit_with_error", "human_size", "print_json"]
