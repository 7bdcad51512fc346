"""Shared kernel of qgov: the error tree, the canonical encoding and bounded chunks.

Everything else in the distribution depends on this package; it depends on nothing
of ours at import time. The application lives in ``governance``, the cores in ``policies``,
``lineage`` and ``storage``, the orchestration in ``flows``.

``qgov.Client`` (docs/python-api.md) is the application's Python API, re-exported here for
users: it is resolved on first use (module ``__getattr__``), so importing the kernel never
loads the application, and the kernel's modules still import nothing above them
(tests/unit/test_kernel_import.py). For type checkers ``qgov.Client`` is ``Any``: a
``TYPE_CHECKING`` import of ``governance.sdk`` here would pull the whole application into
``mypy --strict qgov ...`` (make lint), whose scope is the kernel and the cores; typed code
imports ``from governance.sdk import Client``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Client":
        return importlib.import_module("governance.sdk").Client
    raise AttributeError(f"module 'qgov' has no attribute {name!r}")


__all__ = ["Client", "__version__"]
