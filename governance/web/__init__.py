"""The web interface: server-rendered pages for each role over the same service functions.

``mount`` adds the pages to the API's FastAPI application (``qgov serve``): ``/ui/...`` for
signed-in people, ``/transparency`` for everyone, ``/metrics`` for Prometheus. Routes are
split by role (``public``, ``researcher``, ``officer``, ``auditor``, ``data_manager``,
``dashboard``); ``_base`` holds the session, CSRF and template plumbing.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from governance.web._base import SignInRequiredError, render, sign_in_redirect

_TITLES = {401: "Sign-in needed", 403: "Not permitted", 404: "Not found", 409: "Integrity failure", 422: "Bad input"}


def error_page(request: Request, status: int, message: str) -> Response:
    """A refusal or bad input on a page, as a page (the API answers problem+json instead)."""
    if status == 401:
        return sign_in_redirect(request.url.path)
    from governance.web._base import session

    try:
        sess = session(request)
    except SignInRequiredError:
        sess = None
    referer = request.headers.get("referer", "")
    back_to = referer if referer.startswith(str(request.base_url)) else "/ui/"
    title = _TITLES.get(status, "Something went wrong")
    return render(request, "error.html.j2", sess, status, title=title, message=message, back_to=back_to, notice="")


def mount(api: FastAPI) -> None:
    api.state.page_error = error_page  # the API's error handler answers pages with a page
    from governance.web import (
        auditor,
        collaboration,
        dashboard,
        data_manager,
        manage,
        officer,
        public,
        releases,
        researcher,
        stewardship,
    )

    # manage before data_manager: /ui/datasets/new is not a dataset called "new"
    for module in (
        public,
        researcher,
        officer,
        auditor,
        manage,
        data_manager,
        dashboard,
        stewardship,
        releases,
        collaboration,
    ):
        api.include_router(module.router)

    @api.exception_handler(SignInRequiredError)
    async def _sign_in(_request: Request, exc: SignInRequiredError) -> RedirectResponse:
        return sign_in_redirect(exc.next_path)

    @api.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=303)


__all__ = ["error_page", "mount"]
