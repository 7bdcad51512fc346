"""One application context per process and settings, shared by the tasks of a flow."""

from __future__ import annotations

import hashlib
import threading

from governance.app import App
from governance.config import Settings

_lock = threading.Lock()
_apps: dict[str, App] = {}


def app_for(settings: Settings) -> App:
    secret = settings.kek_json.get_secret_value() if settings.kek_json else ""
    secret += settings.signing_key.get_secret_value() if settings.signing_key else ""
    key = settings.model_dump_json() + hashlib.sha256(secret.encode()).hexdigest()
    with _lock:
        app = _apps.get(key)
        if app is None:
            app = _apps[key] = App(settings)
        return app


__all__ = ["app_for"]
