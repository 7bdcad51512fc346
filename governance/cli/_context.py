"""The application context for one command-line invocation (settings read once, here).

With ``QGOV_URL`` set the command line is a client of that server: the commands that go
through :func:`open_client` work the same way against it, and every other command refuses
(one line) instead of quietly opening a local store. ``init``, ``serve``, ``token`` and
``account`` administer a store on its own machine and use :func:`open_local_app`.
"""

from __future__ import annotations

from governance.app import App
from governance.client import Client, settings_client
from governance.config import load_settings
from qgov.errors import ConfigError


def open_local_app() -> App:
    return App(load_settings())


def open_app() -> App:
    settings = load_settings()
    if settings.server_url:
        raise ConfigError(
            f"QGOV_URL is set ({settings.server_url}): this command is not available through the server yet; "
            "run it on the server's machine, or unset QGOV_URL to use a local store"
        )
    return App(settings)


def open_client() -> Client:
    return settings_client(load_settings())


__all__ = ["open_app", "open_client", "open_local_app"]
