"""The application context for one command-line invocation (settings read once, here).

With ``QGOV_URL`` set the command line is a client of that server: the commands that go
through :func:`open_client` work the same way against it, and every other command refuses
(one line) instead of quietly opening a local store. ``init``, ``serve``, ``token`` and
``account`` administer a store on its own machine and use :func:`open_local_app`.
"""

from __future__ import annotations

from governance.app import App
from governance.client import Client, settings_client
from governance.config import Settings, load_settings
from qgov.errors import ConfigError

_acting_as: str | None = None  # the global ``qgov --as NAME`` option


def set_acting_as(name: str | None) -> None:
    global _acting_as
    _acting_as = name.strip() if name else None


def embedded_settings() -> Settings:
    """Settings for a local store: the acting person is the one mapped to this process's
    operating-system account, or with ``--as`` (admins only, recorded) the person named
    (:func:`governance.os_identity.resolve_embedded_user`)."""
    return load_settings().model_copy(update={"acting_as": _acting_as})


def open_local_app() -> App:
    return App(embedded_settings())


def open_app() -> App:
    settings = embedded_settings()
    if settings.server_url:
        raise ConfigError(
            f"QGOV_URL is set ({settings.server_url}): this command is not available through the server yet; "
            "run it on the server's machine, or unset QGOV_URL to use a local store"
        )
    return App(settings)


def open_client() -> Client:
    settings = embedded_settings()
    if settings.server_url and _acting_as:
        raise ConfigError(f"--as {_acting_as}: not available with QGOV_URL (the token says who acts)")
    return settings_client(settings)


__all__ = ["embedded_settings", "open_app", "open_client", "open_local_app", "set_acting_as"]
