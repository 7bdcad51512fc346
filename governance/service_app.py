"""The application ``qgov serve`` runs: the HTTP API with the web pages over the same services.

``governance.api`` and ``governance.web`` do not import each other (the pages register their
error page on the API's state); this module, above both, puts them together.
"""

from __future__ import annotations

from fastapi import FastAPI

from governance.api.app import create_app
from governance.app import App
from governance.identity import SignInThrottle
from governance.web import mount


def create_service(core: App, throttle: SignInThrottle | None = None) -> FastAPI:
    """The API under ``/api/v1`` and the pages under ``/ui/`` (and ``/``, ``/transparency``)."""
    api = create_app(core, throttle)
    mount(api)
    return api


__all__ = ["create_service"]
