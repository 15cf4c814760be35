"""Errors as a person sees them in the console: a page that says what happened and what to do.

A browser asking for a console page (``Accept: text/html``, a path outside ``/api/``) gets a
page; a missing or ended session sends it to the login form and back. Everything else keeps the
API's JSON error body.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from opsconductor.web.render import page

NOT_PAGES = ("/api/", "/static/", "/metrics", "/healthz", "/readyz")

_TITLES = {
    400: "That request could not be used",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    422: "Some values are not valid",
    503: "Temporarily unavailable",
}
_HINTS = {
    403: "Your role does not include this page or action. Ask an administrator if you need it.",
    404: "The page or record does not exist — it may have been deleted.",
    503: "The database or the message bus did not answer. Try again in a few seconds.",
}


def wants_page(request: Request) -> bool:
    """Whether ``request`` is a browser asking for a console page."""
    path = request.url.path
    accepts = request.headers.get("accept", "")
    return not path.startswith(NOT_PAGES) and "text/html" in accepts


def error_page(request: Request, status: int, detail: object) -> Response | None:
    """The console's answer to an error, or ``None`` for the API's JSON body."""
    if not wants_page(request):
        return None
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    message = detail if isinstance(detail, str) else "Some values are not valid."
    message = message[:1].upper() + message[1:]
    return page(
        request, "error.html", getattr(request.state, "principal", None), status=status,
        title=_TITLES.get(status, "Something went wrong"), message=message,
        hint=_HINTS.get(status, ""), status_code=status,
    )  # fmt: skip
