"""Sign-in, sign-out, the landing redirect and the public transparency page."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from governance.api.app import CSRF_COOKIE, SESSION_COOKIE, csrf_token
from governance.identity import AuthenticationError
from governance.web._base import SignInRequiredError, checked_form, home_of, render, session

router = APIRouter(include_in_schema=False)
SIGNIN_COOKIE = "qgov_signin"  # a pre-session double-submit token: no signing in someone else's browser


def _safe_next(path: str) -> str:
    """Only a page of this site: an open redirect would lend the sign-in page to phishing."""
    return path if path.startswith("/ui/") and not path.startswith("//") else ""


def _form(request: Request, next_path: str, message: str = "", user: str = "", status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    page = render(
        request,
        "sign_in.html.j2",
        None,
        status,
        title="Sign in",
        notice="",
        message=message,
        user=user,
        next_path=next_path,
        signin_csrf=token,
    )
    page.set_cookie(SIGNIN_COOKIE, token, httponly=True, secure=True, samesite="strict", path="/ui/sign-in")
    return page


@router.get("/ui/sign-in")
def sign_in_form(request: Request, next: str = "") -> Response:  # noqa: A002 - the query parameter's name
    return _form(request, _safe_next(next))


@router.post("/ui/sign-in")
async def sign_in(request: Request) -> Response:
    from governance.accounts import sign_in as service
    from governance.api.app import _record_failed_sign_in

    form = {k: str(v) for k, v in (await request.form()).items()}
    next_path = _safe_next(form.get("next", ""))
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    if not expected or not hmac.compare_digest(form.get("signin_csrf", "").encode(), expected.encode()):
        return _form(request, next_path, "The sign-in form expired; please try again.", form.get("user", ""), 403)
    core = request.app.state.core
    throttle = request.app.state.throttle
    client = request.client.host if request.client else "unknown"
    wait = throttle.blocked_for(client)
    if wait > 0:
        return _form(request, next_path, f"Too many failed sign-ins; try again in {wait:.0f} s.", "", 429)
    user, password, code = form.get("user", ""), form.get("password", ""), form.get("code", "").strip()
    try:
        if not (user and password and code.isdigit() and 6 <= len(code) <= 8):
            raise AuthenticationError("sign-in: wrong user name, password or code")
        issued = service(core, user, password, code)
    except AuthenticationError as exc:
        _record_failed_sign_in(core, client, exc, throttle.failed(client))
        return _form(request, next_path, exc.diagnostics(), user, 401)
    from governance.identity import authenticate_token

    who = authenticate_token(core, issued.token)
    response = RedirectResponse(next_path or home_of(who.roles), status_code=303)
    age = int((issued.expires_at - datetime.now(UTC)).total_seconds())
    cookie = {"max_age": age, "secure": True, "samesite": "strict", "path": "/"}
    response.set_cookie(SESSION_COOKIE, issued.token, httponly=True, **cookie)  # type: ignore[arg-type]
    response.set_cookie(CSRF_COOKIE, csrf_token(issued.token), httponly=False, **cookie)  # type: ignore[arg-type]
    response.delete_cookie(SIGNIN_COOKIE, path="/ui/sign-in")
    return response


@router.post("/ui/sign-out")
async def sign_out(request: Request) -> Response:
    from governance.identity import revoke_token

    sess = session(request)
    await checked_form(request, sess)
    if sess.who.authenticated_by.startswith("token:"):
        revoke_token(sess.app, sess.who.authenticated_by.removeprefix("token:"))
    response = RedirectResponse("/ui/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/ui/")
def home(request: Request) -> Response:
    try:
        sess = session(request)
    except SignInRequiredError:
        return RedirectResponse("/ui/sign-in", status_code=303)
    return RedirectResponse(home_of(sess.who.roles), status_code=303)


@router.get("/transparency")
def transparency(request: Request) -> HTMLResponse:
    """For everyone, signed in or not: why each control exists, and aggregate figures."""
    from governance.metrics import public_figures

    try:
        sess = session(request)
    except SignInRequiredError:
        sess = None
    doc = public_figures(request.app.state.core)
    return render(request, "transparency.html.j2", sess, title="Transparency", notice="", doc=doc)


__all__ = ["router"]
