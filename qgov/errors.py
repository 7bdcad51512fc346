"""The one error tree of qgov.

Every error a user can see carries a message written for them: it names the field,
file, object or value at fault and says what was expected. Callers catch the root
or a branch, never builtins.

::

    QgovError                      root; .diagnostics() is the user-facing text
    ├── InputError                 bad input: a field, file, value or name (exit 2)
    │   ├── NotFoundError          a named dataset, artifact or object does not exist (exit 4)
    │   │   └── NoStoreError       no store where QGOV_HOME points (exit 4: "run qgov init")
    │   ├── AmbiguousIdError       an id prefix matches several objects; names them (exit 2)
    │   ├── ConfigError            a setting or key file is missing or malformed
    │   └── RefusedFileError       an ingest refuses a file: a link, a device, a store file
    ├── IntegrityError             tamper, truncation, wrong key, broken chain (exit 1)
    ├── PolicyError                a policy bundle or rule cannot be evaluated (exit 2)
    ├── AccessDenied               the acting user may not do this (exit 3)
    ├── StorageError               a storage backend failed to read or write (exit 1)
    └── OrchestrationError         Prefect (its server or API) could not run a flow (exit 1)

Exit codes are those of DESIGN.md's command-line contract: 0 ok, 1 a negative verdict on
something done or verified, 2 bad input, 3 not permitted, 4 not found. Each class carries
its ``exit_code`` and a stable ``code`` (the ``error.code`` of the command line's JSON error
document); the command line maps errors to both in exactly one place
(``governance.cli._render.exit_with_error``).
"""

from __future__ import annotations


class QgovError(Exception):
    """Root of every error qgov raises on purpose."""

    exit_code = 1
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def diagnostics(self) -> str:
        """One line for the user: what is wrong and what was expected."""
        return " ".join(self.message.split())

    def details(self) -> dict[str, object]:
        """Machine-readable facts beyond the message (the JSON error document carries them)."""
        return {}


class InputError(QgovError):
    """Bad input: the message names the field, file or value and what was expected."""

    exit_code = 2
    code = "bad_input"


class NotFoundError(InputError):
    """A named dataset, artifact, person or object does not exist."""

    exit_code = 4
    code = "not_found"


class NoStoreError(NotFoundError):
    """There is no store where the settings point: nothing to open until ``qgov init``."""

    code = "no_store"


class AmbiguousIdError(InputError):
    """An id prefix matches more than one object; the message and ``candidates`` name them."""

    code = "ambiguous_id"

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates

    def details(self) -> dict[str, object]:
        return {"candidates": self.candidates}


class ConfigError(InputError):
    """A setting, environment variable or key file is missing or malformed."""

    code = "config"


class RefusedFileError(InputError):
    """A file an ingest will not read: a symbolic link, a device, FIFO or socket, or one of
    the store's own files. Reported as skipped, with this one-line reason."""

    code = "refused_file"


class IntegrityError(QgovError):
    """Stored data failed verification: tampering, truncation, a wrong key or a broken chain."""

    code = "integrity"


class PolicyError(QgovError):
    """A policy bundle or rule is malformed or cannot be evaluated."""

    exit_code = 2
    code = "policy"


class AccessDenied(QgovError):  # noqa: N818 - the name STYLE.md and DESIGN.md use
    """The acting user is not allowed to perform this operation."""

    exit_code = 3
    code = "not_permitted"


class StorageError(QgovError):
    """A storage backend could not read, write or delete an object."""

    code = "storage"


class OrchestrationError(QgovError):
    """Prefect, which runs qgov's flows, could not start or reach its server."""

    code = "orchestration"


__all__ = [
    "AccessDenied",
    "AmbiguousIdError",
    "ConfigError",
    "InputError",
    "IntegrityError",
    "NoStoreError",
    "NotFoundError",
    "OrchestrationError",
    "PolicyError",
    "QgovError",
    "RefusedFileError",
    "StorageError",
]
