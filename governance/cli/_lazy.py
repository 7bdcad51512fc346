"""Build only the command being run, so a cold ``qgov classify`` does not pay for ninety others.

Typer turns every registered command into a Click command (reading each function's
signature and annotations) before it parses a single argument; with ~100 commands that was
a quarter of a second of every invocation (measured with cProfile, ADR 0038). When the
first word after the global options names a top-level command or group, the Typer that
runs holds just that one; anything else (``--help``, no word, a misspelt command, shell
completion) runs the full application, so help and "no such command" read as before.
"""

from __future__ import annotations

import copy

import typer
from typer.main import get_command_name

_GLOBAL_OPTIONS_WITH_VALUE = ("--as",)


def _command_word(args: list[str]) -> str | None:
    """The first positional word of ``args`` (the command), or None when there is none
    before another option (``--help``, completion flags) or ``--``."""
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in _GLOBAL_OPTIONS_WITH_VALUE:
            skip = True
            continue
        if arg.startswith(tuple(f"{option}=" for option in _GLOBAL_OPTIONS_WITH_VALUE)):
            continue
        return None if arg.startswith("-") else arg
    return None


def invoked_only(app: typer.Typer, args: list[str]) -> typer.Typer:
    """``app`` narrowed to the command or group that ``args`` names (a copy; ``app`` is
    left whole), or ``app`` itself when ``args`` name none of them."""
    word = _command_word(args)
    if word is None:
        return app
    commands = [
        info
        for info in app.registered_commands
        if (info.name or (get_command_name(info.callback.__name__) if info.callback else None)) == word
    ]
    groups = [info for info in app.registered_groups if info.name == word]
    if not commands and not groups:
        return app
    narrowed = copy.copy(app)
    narrowed.registered_commands = commands
    narrowed.registered_groups = groups
    return narrowed


__all__ = ["invoked_only"]
