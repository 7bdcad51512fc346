"""`qgov.Client`: the same operations embedded (one person, one machine) or against `qgov serve`.

    from qgov import Client
    qg = Client.from_env()            # QGOV_URL + QGOV_TOKEN: the server; otherwise the local store
    qg.whoami()
    req = qg.request_access(["<artifact id>"], purpose="readout study")
    qg.fetch("<artifact id>", Path("t1.csv"))

Both return the documents the command line prints with ``--json`` and raise the same errors
(:mod:`qgov.errors`), so a script, a notebook or a Prefect flow works either way. The remote
client maps the server's problem documents back to those errors: the one-line message is the
server's, the exit code the same as the embedded command's.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from governance.app import App
from governance.client_ops import ClientOps, EmbeddedOps, RemoteOps
from governance.config import Settings, load_settings

if TYPE_CHECKING:  # the embedded mode never loads the HTTP client (cold start, issue 17)
    import httpx

from qgov.errors import (
    AccessDenied,
    InputError,
    IntegrityError,
    NotFoundError,
    QgovError,
    StorageError,
)


class Client(ClientOps):
    """What every client offers; :meth:`from_env` picks the embedded or the remote one."""

    @staticmethod
    def from_env(env: dict[str, str] | None = None) -> Client:
        settings = load_settings(env)
        if settings.server_url:
            assert settings.token is not None  # load_settings requires it with QGOV_URL
            return RemoteClient(settings.server_url, settings.token.get_secret_value())
        return EmbeddedClient(App(settings))

    def whoami(self) -> dict[str, Any]:
        raise NotImplementedError

    def request_access(
        self, artifacts: list[str], purpose: str, days: int = 30, destination: str = "US", vendor: str | None = None
    ) -> dict[str, Any]:
        raise NotImplementedError

    def queue(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def approve(self, request: str, licence: str | None) -> str:
        raise NotImplementedError

    def deny(self, request: str, reason: str) -> None:
        raise NotImplementedError

    def check(self, request: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def fetch(self, artifact: str, output: Path) -> dict[str, Any]:
        raise NotImplementedError

    def close(self) -> None:
        return None


class EmbeddedClient(EmbeddedOps, Client):
    """The local store, acting as the configured user (DESIGN.md: one person, one machine)."""

    def __init__(self, app: App) -> None:
        self.app = app

    def whoami(self) -> dict[str, Any]:
        from governance.catalog import roles_of

        with self.app.engine.connect() as conn:
            roles = sorted(roles_of(conn, self.app.user))
        return {"name": self.app.user, "roles": roles, "authenticated_by": "os-account"}

    def request_access(
        self, artifacts: list[str], purpose: str, days: int = 30, destination: str = "US", vendor: str | None = None
    ) -> dict[str, Any]:
        from governance.requests import request_access

        return request_access(self.app, artifacts, purpose, days, destination.upper(), vendor=vendor)

    def queue(self) -> list[dict[str, Any]]:
        from governance.requests import queue

        return queue(self.app)

    def approve(self, request: str, licence: str | None) -> str:
        from governance.requests import approve

        return approve(self.app, request, licence)

    def deny(self, request: str, reason: str) -> None:
        from governance.requests import deny

        deny(self.app, request, reason)

    def check(self, request: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
        from governance.access import check

        decision, evidence = check(self.app, request, at or datetime.now(UTC))
        return decision.to_json() | evidence

    def fetch(self, artifact: str, output: Path) -> dict[str, Any]:
        from governance.content import fetch

        art = fetch(self.app, artifact, output)
        return {"artifact": art.id, "output": str(output), "sha256": art.sha256, "size": art.size}

    def close(self) -> None:
        self.app.close()


_ERRORS: dict[int, type[QgovError]] = {
    401: AccessDenied,
    403: AccessDenied,
    404: NotFoundError,
    409: IntegrityError,
    422: InputError,
    429: AccessDenied,
    503: StorageError,
}


def _server_error(base: type[QgovError], detail: str, described: Any) -> QgovError:
    """The server's error as the embedded command would raise it: the class the HTTP status
    maps to, with the code, exit code, type name and details the server reported (its
    ``qgov_error`` problem member), so the command line exits and prints the same."""
    error = base(detail)
    if not isinstance(described, dict):
        return error
    code, exit_code, name = described.get("code"), described.get("exit_code"), described.get("type")
    details = described.get("details")
    if not (isinstance(code, str) and isinstance(exit_code, int) and isinstance(name, str) and name.isidentifier()):
        return error
    if exit_code not in (1, 2, 3, 4):  # a server's word cannot make a failure look like success
        return error
    kind = type(name, (base,), {"code": code, "exit_code": exit_code})
    made: QgovError = kind(detail)
    if isinstance(details, dict) and details:
        made.details = lambda: dict(details)  # type: ignore[method-assign]
    return made


class RemoteClient(RemoteOps, Client):
    """A client of `qgov serve`: keys, database and blobs stay in the service."""

    def __init__(self, url: str, token: str, timeout: float = 600) -> None:
        import httpx

        self.url = url
        self.http = httpx.Client(
            base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def _call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        import httpx

        try:
            answer = self.http.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise StorageError(f"QGOV_URL {self.url}: no answer ({type(exc).__name__})") from None
        self._raise_for(answer)
        return answer.json()

    def _raise_for(self, answer: httpx.Response) -> None:
        if answer.status_code < 400:
            return
        try:
            problem = answer.json()
            detail = str(problem["detail"])
        except (ValueError, KeyError, TypeError):
            problem, detail = {}, f"the server answered {answer.status_code}"
        from governance.grant_status import REFUSALS, NoGrantError

        if answer.status_code == 403 and problem.get("grant_status") in REFUSALS:
            raise NoGrantError(detail, problem["grant_status"])  # why: pending, suspended, revoked, …
        raise _server_error(_ERRORS.get(answer.status_code, StorageError), detail, problem.get("qgov_error"))

    def whoami(self) -> dict[str, Any]:
        return dict(self._call("GET", "/whoami"))

    def request_access(
        self, artifacts: list[str], purpose: str, days: int = 30, destination: str = "US", vendor: str | None = None
    ) -> dict[str, Any]:
        made = self._call(
            "POST",
            "/access-requests",
            {"artifact": artifacts, "purpose": purpose, "days": days, "destination": destination.upper()}
            | ({"vendor": vendor} if vendor is not None else {}),
        )
        grants = made.get("grants") or []
        return {
            "request": made["id"],
            "status": made["status"],
            "outcome": made["outcome"],
            "grant": grants[0]["id"] if grants else None,
            "decision": made["decision"],
        }

    def queue(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/queue"))

    def approve(self, request: str, licence: str | None) -> str:
        decided = self._call("POST", f"/access-requests/{request}/approve", {"licence": licence})
        return str(decided["grants"][0]["id"])

    def deny(self, request: str, reason: str) -> None:
        self._call("POST", f"/access-requests/{request}/deny", {"reason": reason})

    def check(self, request: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
        if at is not None:
            raise InputError("--at: what-if checks at another time are not available through the server yet")
        return dict(self._call("POST", "/access-checks", request))

    def fetch(self, artifact: str, output: Path) -> dict[str, Any]:
        """Stream into a new 0600 file beside ``output``; it is renamed into place only when its
        length and SHA-256 match what the server announced (a stream cut short leaves nothing)."""
        import httpx

        output = output.expanduser()
        parent = output.parent if str(output.parent) else Path(".")
        if output.is_dir() or not parent.is_dir():
            raise InputError(f"output {output}: expected a file path in an existing directory")
        tmp = parent / f".{output.name}.qgov-{os.getpid()}-{uuid.uuid4().hex[:8]}.part"
        try:
            with self.http.stream("GET", f"/artifacts/{artifact}/content") as answer:
                if answer.status_code >= 400:
                    answer.read()
                    self._raise_for(answer)
                expected = int(answer.headers["content-length"])
                announced = answer.headers.get("repr-digest", "")
                digest, size = hashlib.sha256(), 0
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    for chunk in answer.iter_raw(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            import base64

            if size != expected or announced != f"sha-256=:{base64.b64encode(digest.digest()).decode()}:":
                raise IntegrityError(f"artifact {artifact}: the download was cut short or altered; nothing written")
            os.replace(tmp, output)
        except httpx.HTTPError as exc:
            raise StorageError(f"QGOV_URL {self.url}: download of {artifact} failed ({type(exc).__name__})") from None
        finally:
            tmp.unlink(missing_ok=True)
        return {"artifact": artifact, "output": str(output), "sha256": digest.hexdigest(), "size": size}

    def close(self) -> None:
        self.http.close()


def settings_client(settings: Settings) -> Client:
    """The client the command line uses for these settings."""
    if settings.server_url:
        assert settings.token is not None
        return RemoteClient(settings.server_url, settings.token.get_secret_value())
    return EmbeddedClient(App(settings))


__all__ = ["Client", "EmbeddedClient", "RemoteClient", "settings_client"]
