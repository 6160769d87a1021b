"""The desk's ASGI application: `create_app(root)` → a Starlette app.

Stateless apart from the case store: sessions, CSRF tokens, sign-in failures
and users all live in the database, so several instances may serve one
PostgreSQL store side by side (given the same secret key, which feed links are
derived from: `sopgen.cases.service.secretkey`). The library (config and SOPs) is read
once at start; restart the desk after changing SOPs (open cases keep their
snapshot anyway).
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sopgen.cases.baseurl import desk_base_url
from sopgen.cases.service.caseservice import CaseService
from sopgen.cases.service.secretkey import SecretKey
from sopgen.cases.service.users import UserService
from sopgen.cases.store.tables import Store
from sopgen.cases.views.output import CaseFiles
from sopgen.desk import api, documents, feeds, pages
from sopgen.desk.clock import Clock, system_clock
from sopgen.desk.context import Desk
from sopgen.library import load_library
from sopgen.problems import InputError
from sopgen.render.environment import environment

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),  # feed tokens never leak through Referer
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
]


class SecurityHeaders:
    """Headers on every response: no sniffing, no framing, no scripts, no referrer."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                present = {name for name, _ in message["headers"]}
                message["headers"] += [h for h in SECURITY_HEADERS if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    root: Path,
    *,
    base_url: str | None = None,
    clock: Clock | None = None,
    store: Store | None = None,
) -> Starlette:
    """The desk for the repository at `root` (its sopgen.yaml, sops/ and case store)."""
    root = root.resolve()
    library = load_library(root, None)
    config = library.config
    if config is None:
        raise InputError([p for p in library.config_problems if p.is_error])
    store = store or Store.for_project(root, config.database)
    with store.read():  # a store that needs `sopgen db upgrade` stops the desk here, clearly
        pass
    secret = SecretKey(root)
    secret.for_store(store)  # a key the store was not set up with stops the desk here, clearly
    cases = CaseService(store, library, CaseFiles(root, config))
    clock = clock or system_clock(config.zone)
    # a new instance's first feed request neither compiles its query nor works out the
    # company's opening hours
    cases.prepare_feeds(clock().date())
    desk = Desk(
        root=root,
        library=library,
        config=config,
        store=store,
        cases=cases,
        users=UserService(store, secret),
        clock=clock,
        base_url=desk_base_url(base_url, config),
        templates=environment(root),
    )
    routes: list[BaseRoute] = [*feeds.routes, *api.routes, *pages.routes, *documents.routes]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: api.http_error, Exception: api.server_error},
    )
    # Starlette's own trailing-slash redirect names the Host the request carried; the
    # desk's (`slash_redirect`, from the 404 handler) is relative
    app.router.redirect_slashes = False
    app.state.desk = desk
    app.state.feeds = feeds.FeedCaches(config)
    return app


ROOT_VARIABLE = "SOPGEN_DESK_ROOT"


def app_from_environment() -> Starlette:
    """The desk of SOPGEN_DESK_ROOT (default: the working directory), for uvicorn's worker
    processes (`sopgen serve --workers N`, or `uvicorn --factory`)."""
    app = create_app(Path(os.environ.get(ROOT_VARIABLE) or "."))  # SOPGEN_BASE_URL, etc.
    settle_heap()
    return app


def settle_heap() -> None:
    """Move what the server made as it started (modules, the library, compiled
    statements: some hundred thousand objects that live as long as the process) out of
    the garbage collector's reach. Otherwise the collector's first full pass, which
    walks all of them, falls on some request: on a new server, on its first feed (some
    70 ms of CPU in a 20 ms render). For a server process only (`sopgen serve`, uvicorn's
    workers): the objects stay for good."""
    gc.collect()
    gc.freeze()
