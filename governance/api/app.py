"""The HTTP API (FastAPI): authenticate, call one service function, render. Nothing more.

Every route but ``/api/v1/healthz`` needs ``Authorization: Bearer TOKEN`` (a personal access
token, :mod:`governance.identity`); the service functions check the capability table
(:mod:`governance.capabilities`) for the principal the token stands for. Errors are RFC 9457
problem documents (``application/problem+json``) carrying the command line's one-line message.

| error                    | status | CLI exit |
|--------------------------|--------|----------|
| no or bad credentials    | 401    | 3        |
| capability table says no | 403    | 3        |
| not found                | 404    | 4        |
| bad input                | 422    | 2        |
| integrity failure        | 409    | 1        |
| storage failure          | 503    | 1        |
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from governance.app import App
from governance.identity import AuthenticationError, IssuedToken, Principal, SignInThrottle, authenticate_token
from governance.oidc_login import PENDING_SECONDS, OidcLogins
from lineage import EventLog, NewEvent
from qgov.errors import AccessDenied, InputError, IntegrityError, NotFoundError, QgovError, StorageError

API = "/api/v1"
PROBLEM = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str


class AccessRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    artifact: str | list[str] = Field(description="An artifact id, or a list of them.")
    purpose: str = Field(min_length=1, max_length=2000)
    days: int = Field(default=30, ge=1, le=3650)
    destination: str = Field(default="US", min_length=2, max_length=2, pattern="^[A-Za-z]{2}$")
    vendor: str | None = Field(
        default=None,
        max_length=128,
        description="A registered vendor the data goes to (its country is the destination).",
    )


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    licence: str | None = Field(default=None, max_length=256)


class DenyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


def _status_of(error: QgovError) -> int:
    if isinstance(error, AuthenticationError):
        return 401
    if isinstance(error, AccessDenied):
        return 403
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, InputError):
        return 422
    if isinstance(error, IntegrityError):
        return 409
    if isinstance(error, StorageError):
        return 503
    return 400


_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not permitted",
    404: "Not found",
    405: "Method not allowed",
    409: "Integrity failure",
    422: "Bad input",
    429: "Too many failed sign-ins",
    503: "Storage unavailable",
}


def problem(
    status: int, detail: str, headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None
) -> JSONResponse:
    """A problem document; ``extra`` members (RFC 9457 extensions) carry typed detail."""
    body = Problem(title=_TITLES.get(status, "Error"), status=status, detail=detail)
    return JSONResponse(body.model_dump() | (extra or {}), status_code=status, media_type=PROBLEM, headers=headers)


def error_members(error: QgovError) -> dict[str, Any]:
    """The command line's error document as problem extension members (``qgov_error``), so that
    a client of the API exits with the same code and prints the same ``--json`` error."""
    return {
        "qgov_error": {"code": error.code, "exit_code": error.exit_code, "type": type(error).__name__}
        | {"details": error.details()}
    }


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM: {}}, "description": _TITLES[code]} for code in (401, 403, 404, 422)
}
ERRORS = _ERRORS  # for the routers in other modules


class _TooManySignInsError(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


SESSION_COOKIE = "qgov_session"
CSRF_COOKIE = "qgov_csrf"
CSRF_HEADER = "X-CSRF-Token"
# Binds an OIDC sign-in's state to the browser that started it; SameSite=Lax so that it
# comes back on the issuer's top-level redirect to the callback.
OIDC_STATE_COOKIE = "qgov_oidc_state"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def csrf_token(session: str) -> str:
    """Derived from the session token, so a cookie planted by someone else cannot pair with it."""
    return hashlib.sha256(b"qgov/csrf/v1:" + session.encode()).hexdigest()


def _check_csrf(request: Request, session: str) -> None:
    """A browser session changes state only with the CSRF token in a header (double submit)."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), csrf_token(session).encode()):
        raise AccessDenied(f"{CSRF_HEADER}: missing or wrong for this session (cross-site request refused)")


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=1024)
    code: str = Field(min_length=6, max_length=8, pattern="^[0-9]+$")


_bearer = HTTPBearer(auto_error=False, description="A personal access token: qgov token create USER")


def principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """Who the bearer token stands for; every failed attempt is counted and recorded."""
    core: App = request.app.state.core
    throttle: SignInThrottle = request.app.state.throttle
    client = request.client.host if request.client else "unknown"
    wait = throttle.blocked_for(client)
    if wait > 0:
        raise _TooManySignInsError(wait)
    if credentials is not None and credentials.scheme.lower() == "bearer":
        token = credentials.credentials
    elif credentials is None and request.cookies.get(SESSION_COOKIE):
        token = request.cookies[SESSION_COOKIE]
        _check_csrf(request, token)
    else:
        raise AuthenticationError("Authorization: expected 'Bearer TOKEN' (create one with 'qgov token create')")
    try:
        from governance.oidc import authenticate_jwt, looks_like_jwt

        if looks_like_jwt(token):
            return authenticate_jwt(core, token)
        return authenticate_token(core, token)
    except AuthenticationError as exc:
        failures = throttle.failed(client)
        _record_failed_sign_in(core, client, exc, failures)
        raise


Who = Annotated[Principal, Depends(principal)]


def create_app(core: App, throttle: SignInThrottle | None = None) -> FastAPI:
    """The API over one store; ``core`` holds the engine, keys and blob store (the service's own)."""
    throttle = throttle or SignInThrottle()
    api = FastAPI(
        title="qgov",
        version="1",
        summary="Governance and provenance for quantum research outputs",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    api.state.core = core
    api.state.throttle = throttle
    logins = OidcLogins()

    @api.exception_handler(QgovError)
    async def _qgov_error(request: Request, exc: QgovError) -> Response:
        status = _status_of(exc)
        page_error = getattr(request.app.state, "page_error", None)  # set by governance.web.mount
        if page_error is not None and request.url.path.startswith("/ui/"):  # a page: the refusal as a page
            return page_error(request, status, exc.diagnostics())
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        fields = getattr(exc, "problem_fields", None)  # e.g. why a fetch is refused: grant_status
        extra = (fields() if callable(fields) else {}) | error_members(exc)
        return problem(status, exc.diagnostics(), headers, extra)

    @api.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        return problem(422, f"{where or 'request'}: {first.get('msg', 'invalid')}")

    @api.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @api.exception_handler(_TooManySignInsError)
    async def _too_many(_request: Request, exc: _TooManySignInsError) -> JSONResponse:
        return problem(
            429,
            f"too many failed sign-ins from this address; try again in {exc.seconds:.0f} s",
            {"Retry-After": str(max(1, round(exc.seconds)))},
        )

    def acting(who: Principal) -> App:
        return core.acting_for(who.name)

    @api.get(f"{API}/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """Liveness: answers without a token."""
        return {"status": "ok"}

    @api.post(f"{API}/auth/sign-in", tags=["identity"], responses={401: _ERRORS[401], 422: _ERRORS[422]})
    def sign_in(body: SignIn, request: Request, response: Response) -> dict[str, Any]:
        """Local account: user name, password and the current TOTP code → a token of a few hours,
        also set as an HttpOnly session cookie for browsers (state changes then need the CSRF
        token in the X-CSRF-Token header)."""
        from governance.accounts import sign_in as service

        client = request.client.host if request.client else "unknown"
        wait = throttle.blocked_for(client)
        if wait > 0:
            raise _TooManySignInsError(wait)
        try:
            issued = service(core, body.user, body.password, body.code)
        except AuthenticationError as exc:
            _record_failed_sign_in(core, client, exc, throttle.failed(client))
            raise
        _set_session(response, issued)
        return {
            "token": issued.token,
            "id": issued.id,
            "expires_at": issued.expires_at.isoformat(),
            "csrf_token": csrf_token(issued.token),
        }

    @api.get(
        f"{API}/auth/oidc/login",
        tags=["identity"],
        status_code=302,
        responses={302: {"description": "To the issuer's authorization endpoint"}, 401: _ERRORS[401]},
    )
    def oidc_login(request: Request) -> Response:
        """Browser sign-in through the institution's OpenID Connect issuer: redirects there with
        an authorization-code request (PKCE S256, state, nonce)."""
        url, state = logins.start(core, str(request.url_for("oidc_callback")))
        redirect = RedirectResponse(url, status_code=302)
        redirect.set_cookie(
            OIDC_STATE_COOKIE, state, max_age=PENDING_SECONDS, httponly=True, secure=True, samesite="lax", path=API
        )
        return redirect

    @api.get(f"{API}/auth/oidc/callback", tags=["identity"], responses={401: _ERRORS[401], 422: _ERRORS[422]})
    def oidc_callback(
        request: Request,
        response: Response,
        code: Annotated[str, Query(min_length=1, max_length=2048)],
        state: Annotated[str, Query(min_length=1, max_length=256)],
    ) -> dict[str, Any]:
        """Where the issuer sends the browser back: the code is exchanged, the ID token checked
        against the issuer's keys, and the registered person it names gets a session cookie."""
        client = request.client.host if request.client else "unknown"
        wait = throttle.blocked_for(client)
        if wait > 0:
            raise _TooManySignInsError(wait)
        try:
            issued = logins.finish(core, code, state, request.cookies.get(OIDC_STATE_COOKIE))
        except AuthenticationError as exc:
            _record_failed_sign_in(core, client, exc, throttle.failed(client))
            raise
        _set_session(response, issued)
        response.delete_cookie(OIDC_STATE_COOKIE, path=API)
        return {
            "signed_in": issued.person,
            "expires_at": issued.expires_at.isoformat(),
            "csrf_token": csrf_token(issued.token),
        }

    @api.post(f"{API}/auth/sign-out", tags=["identity"], responses=_ERRORS)
    def sign_out(who: Who, request: Request, response: Response) -> dict[str, str]:
        """End this session: its token is revoked and the cookies cleared."""
        from governance.identity import revoke_token

        token_id = who.authenticated_by.removeprefix("token:")
        if who.authenticated_by.startswith("token:"):
            revoke_token(acting(who), token_id)
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
        return {"signed_out": who.name}

    @api.get(f"{API}/whoami", tags=["identity"], responses=_ERRORS)
    def whoami(who: Who) -> dict[str, Any]:
        """The person the token stands for, their roles and how they signed in."""
        return who.to_json()

    @api.get(f"{API}/capabilities", tags=["identity"], responses=_ERRORS)
    def capabilities(who: Who) -> list[dict[str, object]]:
        """The capability table: which role may do what (default deny)."""
        from governance.capabilities import table_rows

        return table_rows()

    @api.post(f"{API}/access-requests", tags=["access"], status_code=201, responses=_ERRORS)
    def create_request(body: AccessRequestIn, who: Who) -> dict[str, Any]:
        """Ask for artifacts: decided at once (granted or denied) or queued for an officer."""
        from governance.access_views import get_request
        from governance.requests import request_access

        artifacts = [body.artifact] if isinstance(body.artifact, str) else body.artifact
        app = acting(who)
        result = request_access(app, artifacts, body.purpose, body.days, body.destination.upper(), vendor=body.vendor)
        return get_request(app, result["request"])

    @api.get(f"{API}/access-requests", tags=["access"], responses=_ERRORS)
    def list_requests(
        who: Who,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
        status: Annotated[str | None, Query(pattern="^(queued|info_requested|granted|denied)$")] = None,
    ) -> dict[str, Any]:
        """Requests, newest first: one's own (researchers), or all (officers, auditors, admins)."""
        from governance.access_views import list_requests as service

        return service(acting(who), limit, offset, status)

    @api.get(f"{API}/access-requests/{{request_id}}", tags=["access"], responses=_ERRORS)
    def get_request(request_id: str, who: Who) -> dict[str, Any]:
        from governance.access_views import get_request as service

        return service(acting(who), request_id)

    @api.post(f"{API}/access-requests/{{request_id}}/approve", tags=["access"], responses=_ERRORS)
    def approve(request_id: str, body: ApproveIn, who: Who) -> dict[str, Any]:
        """An officer approves a queued request (never their own); a licence when one is needed."""
        from governance.access_views import get_request as service
        from governance.requests import approve as decide

        app = acting(who)
        decide(app, request_id, body.licence)
        return service(app, request_id)

    @api.post(f"{API}/access-requests/{{request_id}}/deny", tags=["access"], responses=_ERRORS)
    def deny(request_id: str, body: DenyIn, who: Who) -> dict[str, Any]:
        """An officer denies a queued request with a reason the requester sees."""
        from governance.access_views import get_request as service
        from governance.requests import deny as decide

        app = acting(who)
        decide(app, request_id, body.reason)
        return service(app, request_id)

    @api.post(f"{API}/access-checks", tags=["access"], responses=_ERRORS)
    def access_check(body: dict[str, Any], who: Who) -> dict[str, Any]:
        """What-if: decide a REQUEST document (DESIGN.md) as given; nothing is recorded."""
        from governance.access_views import what_if

        return what_if(acting(who), body)

    @api.get(f"{API}/queue", tags=["access"], responses=_ERRORS)
    def queue(who: Who) -> list[dict[str, Any]]:
        """Officers: queued requests, oldest first, with the time waited against the SLA."""
        from governance.requests import queue as service

        return service(acting(who))

    @api.get(
        f"{API}/artifacts/{{artifact_id}}/content",
        tags=["artifacts"],
        responses=_ERRORS | {200: {"content": {"application/octet-stream": {}}, "description": "The plaintext"}},
        response_class=StreamingResponse,
    )
    def content(artifact_id: str, who: Who, request: Request) -> StreamingResponse:
        """The verified plaintext of an artifact, under a valid grant; the access is logged first."""
        from governance.content import open_content

        opened = open_content(acting(who), artifact_id, client=request.client.host if request.client else None)
        art = opened.artifact
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in art.path.rsplit("/", 1)[-1]) or "artifact"
        return StreamingResponse(
            _guarded(opened.chunks),
            media_type="application/octet-stream",
            headers={
                "Content-Length": str(art.size),
                "Content-Disposition": f'attachment; filename="{safe}"',
                "Repr-Digest": f"sha-256=:{_b64(art.sha256)}:",
                "Cache-Control": "no-store",
            },
        )

    from governance.api.compliance_routes import compliance_router

    api.include_router(compliance_router())
    from governance.api.vendor_routes import vendor_router

    api.include_router(vendor_router())
    from governance.api.admin_routes import admin_router
    from governance.api.privacy_routes import privacy_router
    from governance.api.retention_routes import retention_router

    for extra in (retention_router, privacy_router, admin_router):
        api.include_router(extra())
    from governance.api.catalog_routes import router  # its routes depend on this module's Who

    api.include_router(router)
    from governance.api.review_routes import router as review_router

    api.include_router(review_router)
    return api  # governance.service_app adds the pages (governance.web) over the same services


def _guarded(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Stop the body short on a late integrity failure: with Content-Length set, the client
    sees a truncated response instead of trusting it."""
    try:
        yield from chunks
    except QgovError:
        return


def _b64(hex_digest: str) -> str:
    import base64

    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def _set_session(response: Response, issued: IssuedToken) -> None:
    """A browser session: the token in an HttpOnly cookie, its CSRF token readable by the page."""
    age = int((issued.expires_at - datetime.now(UTC)).total_seconds())
    cookie = {"max_age": age, "secure": True, "samesite": "strict", "path": "/"}
    response.set_cookie(SESSION_COOKIE, issued.token, httponly=True, **cookie)  # type: ignore[arg-type]
    response.set_cookie(CSRF_COOKIE, csrf_token(issued.token), httponly=False, **cookie)  # type: ignore[arg-type]


def _record_failed_sign_in(core: App, client: str, error: AuthenticationError, failures: int) -> None:
    """Every refused token is an event (the throttle bounds how many one client can cause)."""
    from governance.db import transaction

    with transaction(core.engine) as conn:
        EventLog(conn).append(
            NewEvent(
                "auth.failed",
                "qgov-server",
                subjects=[],
                payload={"client": client, "reason": error.diagnostics(), "failures_in_window": failures},
            )
        )


__all__ = ["API", "create_app", "problem"]
