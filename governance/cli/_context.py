"""The application context for one command-line invocation (settings read once, here)."""

from __future__ import annotations

from governance.app import App
from governance.config import load_settings


def open_app() -> App:
    return App(load_settings())


__all__ = ["open_app"]
