"""What every desk route reads: the `Desk` (one per application), `desk_of(request)`,
the feed's path, the relative slash redirect and the plain 404 answer. The routes
(`api`, `feeds`, `pages`) import this module and `app` imports the routes, so the
application and its routes import no loop."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match

from sopgen.businesstime import BusinessCalendar
from sopgen.cases.errors import CONFLICT, NOT_FOUND, CaseError
from sopgen.cases.service.caseservice import CaseService
from sopgen.cases.service.users import UserService
from sopgen.cases.store.tables import Store
from sopgen.desk.clock import Clock
from sopgen.library import Library
from sopgen.model import Config


@dataclass
class Desk:
    """What every route needs; one per application (not per request)."""

    root: Path
    library: Library
    config: Config
    store: Store
    cases: CaseService
    users: UserService
    clock: Clock
    base_url: str | None
    templates: jinja2.Environment

    @property
    def calendar(self) -> BusinessCalendar:
        return self.cases.calendar

    def feed_url(self, token: str) -> str | None:
        """The feed's absolute address, from the configured base URL only (never from the
        Host a request names: anyone can send any Host); None when none is configured."""
        if self.base_url is None:
            return None
        return f"{self.base_url}{feed_path(token)}"


def feed_path(token: str) -> str:
    return f"/feeds/{token}.ics"


def desk_of(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


def slash_redirect(request: Request) -> Response | None:
    """For a path no route takes: a relative redirect to the same path with its trailing
    slash added or removed when a route takes that one (`/cases/` → `/cases`), else None.
    Relative, so the Host header never makes its way into a Location."""
    path = request.url.path
    if path == "/" or path.startswith("//"):
        return None
    other = path[:-1] if path.endswith("/") else path + "/"
    scope = {**request.scope, "path": other}
    if not any(route.matches(scope)[0] != Match.NONE for route in request.app.router.routes):
        return None
    query = request.url.query
    return RedirectResponse(other + (f"?{query}" if query else ""), status_code=307)


def not_found() -> Response:
    return Response("Not Found", status_code=404, media_type="text/plain")


HTTP_STATUS = {NOT_FOUND: 404, CONFLICT: 409}
"""The HTTP status of a `CaseError` by its kind; any other kind is 422 (the request is
understood, its content refused)."""


def http_status(error: CaseError) -> int:
    """The one answer, for pages and the API alike, to which status a refusal gets."""
    return HTTP_STATUS.get(error.kind, 422)
