"""Shared kernel of qgov: the error tree, the canonical encoding and bounded chunks.

Everything else in the distribution depends on this package; it depends on nothing
of ours at import time. The application lives in ``governance``, the cores in ``policies``,
``lineage`` and ``storage``, the orchestration in ``flows``.

``qgov.Client`` (docs/python-api.md) is the application's Python API, re-exported here for
users: it is resolved on first use (module ``__getattr__``), so importing the kernel never
loads the application, and the kernel's modules still import nothing above them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from governance.sdk import Client

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Client":
        return importlib.import_module("governance.sdk").Client
    raise AttributeError(f"module 'qgov' has no attribute {name!r}")


__all__ = ["Client", "__version__"]
