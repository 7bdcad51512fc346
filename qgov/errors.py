"""The one error tree of qgov.

Every error a user can see carries a message written for them: it names the field,
file, object or value at fault and says what was expected. Callers catch the root
or a branch, never builtins.

::

    QgovError                      root; .diagnostics() is the user-facing text
    ├── InputError                 bad input: a field, file, value or name (exit 2)
    │   ├── NotFoundError          a named dataset, artifact or object does not exist
    │   ├── ConfigError            a setting or key file is missing or malformed
    │   └── RefusedFileError       an ingest refuses a file: a link, a device, a store file
    ├── IntegrityError             tamper, truncation, wrong key, broken chain (exit 1)
    ├── PolicyError                a policy bundle or rule cannot be evaluated (exit 2)
    ├── AccessDenied               the acting user may not do this (exit 1)
    ├── StorageError               a storage backend failed to read or write (exit 1)
    └── OrchestrationError         Prefect (its server or API) could not run a flow (exit 1)

The command line maps these to exit codes in exactly one place
(``governance.cli._render.exit_with_error``).
"""

from __future__ import annotations


class QgovError(Exception):
    """Root of every error qgov raises on purpose."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def diagnostics(self) -> str:
        """One line for the user: what is wrong and what was expected."""
        return " ".join(self.message.split())


class InputError(QgovError):
    """Bad input: the message names the field, file or value and what was expected."""

    exit_code = 2


class NotFoundError(InputError):
    """A named dataset, artifact, person or object does not exist."""


class ConfigError(InputError):
    """A setting, environment variable or key file is missing or malformed."""


class RefusedFileError(InputError):
    """A file an ingest will not read: a symbolic link, a device, FIFO or socket, or one of
    the store's own files. Reported as skipped, with this one-line reason."""


class IntegrityError(QgovError):
    """Stored data failed verification: tampering, truncation, a wrong key or a broken chain."""


class PolicyError(QgovError):
    """A policy bundle or rule is malformed or cannot be evaluated."""

    exit_code = 2


class AccessDenied(QgovError):  # noqa: N818 - the name STYLE.md and DESIGN.md use
    """The acting user is not allowed to perform this operation."""


class StorageError(QgovError):
    """A storage backend could not read, write or delete an object."""


class OrchestrationError(QgovError):
    """Prefect, which runs qgov's flows, could not start or reach its server."""


__all__ = [
    "AccessDenied",
    "ConfigError",
    "InputError",
    "IntegrityError",
    "NotFoundError",
    "OrchestrationError",
    "PolicyError",
    "QgovError",
    "RefusedFileError",
    "StorageError",
]
