"""One application context per process and settings, shared by the tasks of a flow.

Flows take ids and a principal, never :class:`Settings`: Prefect stores a run's parameters
in its database, and settings hold the database URL (with its password) and key material.
A caller passes :func:`flow_args` (the store's home and the acting person's name); a task
rebuilds its application with :func:`app_at`. In-process (the CLI's embedded mode) the
caller's own settings are found in this process's registry; on a Prefect worker they are
read from the worker's own environment (``QGOV_*``), as ``qgov`` itself reads them.
"""

from __future__ import annotations

import hashlib
import os
import threading

from governance.app import App
from governance.config import Settings, load_settings

_lock = threading.Lock()
_apps: dict[str, App] = {}
_registered: dict[str, Settings] = {}  # home -> the settings a caller in this process ran a flow with


def app_for(settings: Settings) -> App:
    secret = settings.kek_json.get_secret_value() if settings.kek_json else ""
    secret += settings.signing_key.get_secret_value() if settings.signing_key else ""
    key = settings.model_dump_json() + hashlib.sha256(secret.encode()).hexdigest()
    with _lock:
        app = _apps.get(key)
        if app is None:
            app = _apps[key] = App(settings)
        return app


def flow_args(settings: Settings) -> tuple[str, str]:
    """What a flow is called with for these settings: the store's home and the principal."""
    home = str(settings.home)
    with _lock:
        _registered[home] = settings
    return home, settings.user or app_for(settings).user  # embedded: the person this process acts for


def settings_at(home: str | None, principal: str | None = None) -> Settings:
    """The settings of the store at ``home``: this process's caller's, or the environment's."""
    with _lock:
        settings = _registered.get(home) if home else None
    if settings is not None and principal and settings.user is None and app_for(settings).user == principal:
        return settings  # the caller's own (keeps ``qgov --as`` recording the admin)
    if settings is None:
        env = dict(os.environ)
        if home:
            env["QGOV_HOME"] = home
        settings = load_settings(env)
    if principal and principal != settings.user:
        settings = settings.model_copy(update={"user": principal})
    return settings


def app_at(home: str | None, principal: str | None = None) -> App:
    """The application for the store at ``home``, acting for ``principal``."""
    return app_for(settings_at(home, principal))


__all__ = ["app_at", "app_for", "flow_args", "settings_at"]
