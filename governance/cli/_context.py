"""The application context for one command-line invocation (settings read once, here).

Only ``qgov init`` creates a store (``serve`` and ``demo`` create their own when needed):
every other command opens the store the settings name and refuses, naming where it looked,
when there is none — a typo in QGOV_HOME, or a command run from the wrong directory, must
not leave an empty ``./.qgov`` behind and answer from it.

With ``QGOV_URL`` set the command line is a client of that server: the commands that go
through :func:`open_client` (or :func:`call`) work the same way against it, and every other command refuses
(one line) instead of quietly opening a local store. ``init``, ``serve``, ``token`` and
``account`` administer a store on its own machine and use :func:`open_local_app`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qgov.errors import ConfigError, NoStoreError

if TYPE_CHECKING:  # imported when a command opens the store, not when the CLI is built (--help)
    from governance.app import App
    from governance.client import Client
    from governance.config import Settings

_acting_as: str | None = None  # the global ``qgov --as NAME`` option


def set_acting_as(name: str | None) -> None:
    global _acting_as
    _acting_as = name.strip() if name else None


def embedded_settings() -> Settings:
    """Settings for a local store: the acting person is the one mapped to this process's
    operating-system account, or with ``--as`` (admins only, recorded) the person named
    (:func:`governance.os_identity.resolve_embedded_user`)."""
    from governance.config import load_settings

    return load_settings().model_copy(update={"acting_as": _acting_as})


def require_store(settings: Settings) -> Settings:
    """``settings`` if their store exists; otherwise NoStoreError naming where it looked."""
    if settings.home.is_dir():
        return settings
    default = settings.home == Path(".qgov").resolve()
    where = "QGOV_HOME is not set, so the default ./.qgov" if default else "QGOV_HOME"
    raise NoStoreError(
        f"no qgov store at {settings.home} ({where}); run 'qgov init' to create one there, "
        "or set QGOV_HOME to an existing store"
    )


def store_settings() -> Settings:
    """The settings of an existing local store (for commands that start a Prefect flow)."""
    return require_store(embedded_settings())


def open_local_app(create: bool = False) -> App:
    """This machine's store; ``create`` only for the commands that make one (init, serve)."""
    from governance.app import App

    settings = embedded_settings()
    return App(settings if create else require_store(settings))


def open_app() -> App:
    from governance.app import App

    settings = embedded_settings()
    if settings.server_url:
        raise ConfigError(
            f"QGOV_URL is set ({settings.server_url}): this command is not available through the server yet; "
            "run it on the server's machine, or unset QGOV_URL to use a local store"
        )
    return App(require_store(settings))


def open_client() -> Client:
    from governance.client import settings_client

    settings = embedded_settings()
    if settings.server_url and _acting_as:
        raise ConfigError(f"--as {_acting_as}: not available with QGOV_URL (the token says who acts)")
    return settings_client(settings if settings.server_url else require_store(settings))


def call(op_name: str, **args: Any) -> Any:
    """Run a command's operation (:data:`governance.client_ops.OPERATIONS`) on the local store,
    or through the server when QGOV_URL is set: the same document either way."""
    return open_client().call(op_name, **args)


__all__ = [
    "call",
    "embedded_settings",
    "open_app",
    "open_client",
    "open_local_app",
    "require_store",
    "set_acting_as",
    "store_settings",
]
