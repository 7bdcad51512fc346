"""What every page shares: the signed-in principal, CSRF on form posts, templates, navigation.

A browser signs in with a local account (password and TOTP code) and gets the same
session cookie the API sets (``governance.api.app``); every page acts as that principal
through the same service functions as the API and the command line, so authorization
stays in the service layer. State changes are HTML form posts that must carry the
session's CSRF token in a hidden field (``csrf``), compared in constant time; the session
cookie is also SameSite=Strict. Pages use no JavaScript at all.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from governance.api.app import SESSION_COOKIE, csrf_token
from governance.app import App
from governance.capabilities import allowed
from governance.identity import AuthenticationError, Principal, SignInThrottle, authenticate_token
from qgov.errors import AccessDenied

ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("governance", "templates/web"),
    autoescape=True,  # every name, purpose and reason comes from a user
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} days"


ENV.filters["when"] = _when
ENV.filters["hours"] = _hours

# (path, label, action that shows the link): each role sees the pages it can use
NAV = (
    ("/ui/my", "My requests", "access.request"),
    ("/ui/request", "New request", "access.request"),
    ("/ui/queue", "Review queue", "access.queue"),
    ("/ui/dashboard", "Dashboard", "access.read_all"),
    ("/ui/events", "Events", "audit.read"),
    ("/ui/checkpoints", "Checkpoints", "audit.read"),
    ("/ui/lineage", "Lineage", "audit.read"),
    ("/ui/datasets", "Datasets", "catalog.read"),
    ("/ui/quarantine", "Quarantine", "dataset.ingest"),
    ("/ui/holds", "Holds", "hold.manage"),
    ("/ui/release", "Statistics", "release.request"),
    ("/ui/collaboration", "Collaboration check", "catalog.read"),
)


def home_of(roles: frozenset[str]) -> str:
    """Each role's main page."""
    for action, path in (
        ("access.queue", "/ui/queue"),
        ("audit.read", "/ui/events"),
        ("dataset.ingest", "/ui/datasets"),
    ):
        if allowed(roles, action):
            return path
    return "/ui/my"


@dataclass(frozen=True)
class Session:
    who: Principal
    app: App  # the store acting for ``who``
    csrf: str


class SignInRequiredError(Exception):
    """No valid session: the page redirects to the sign-in form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def session(request: Request) -> Session:
    """The principal of the session cookie, or :class:`SignInRequiredError`."""
    core: App = request.app.state.core
    throttle: SignInThrottle = request.app.state.throttle
    token = request.cookies.get(SESSION_COOKIE, "")
    client = request.client.host if request.client else "unknown"
    if not token or throttle.blocked_for(client) > 0:
        raise SignInRequiredError(request.url.path)
    try:
        who = authenticate_token(core, token)
    except AuthenticationError as exc:
        from governance.api.app import _record_failed_sign_in

        # counted and recorded like a bad bearer token: guessing session cookies is throttled
        _record_failed_sign_in(core, client, exc, throttle.failed(client))
        raise SignInRequiredError(request.url.path) from None
    return Session(who, core.acting_for(who.name), csrf_token(token))


async def checked_form(request: Request, sess: Session) -> dict[str, str]:
    """The posted form, after its CSRF token matched the session's (else AccessDenied)."""
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    if not hmac.compare_digest(values.get("csrf", "").encode(), sess.csrf.encode()):
        raise AccessDenied("csrf: missing or wrong for this session (cross-site form refused)")
    return values


async def checked_uploads(request: Request, sess: Session, field: str) -> tuple[dict[str, str], list[Any]]:
    """A multipart form's text fields and the files of ``field``, after the CSRF check."""
    values = await checked_form(request, sess)  # Starlette caches the parsed form
    form = await request.form()
    files = [f for f in form.getlist(field) if hasattr(f, "filename") and f.filename]
    return values, files


def render(request: Request, template: str, sess: Session | None, status: int = 200, **context: Any) -> HTMLResponse:
    roles = sess.who.roles if sess else frozenset()
    nav = [(path, label) for path, label, action in NAV if sess and allowed(roles, action)]
    html = ENV.get_template(template).render(
        who=sess.who if sess else None,
        csrf=sess.csrf if sess else "",
        nav=nav,
        here=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def sign_in_redirect(next_path: str) -> RedirectResponse:
    return RedirectResponse(f"/ui/sign-in?next={quote(next_path)}", status_code=303)


def back(path: str, message: str) -> RedirectResponse:
    """After a form post: see the result page (303), with a one-line notice."""
    return RedirectResponse(f"{path}?notice={quote(message)}", status_code=303)


__all__ = [
    "ENV",
    "Session",
    "SignInRequiredError",
    "back",
    "checked_form",
    "checked_uploads",
    "home_of",
    "render",
    "session",
    "sign_in_redirect",
]
