"""The qgov HTTP API: ``qgov serve``."""

from governance.api.app import API, create_app

__all__ = ["API", "create_app"]
