"""`GET /feeds/{feed_token}.ics`: a user's open steps as a calendar clients subscribe to.

The body is the case calendar writer's (`sopgen.cases.calendar.render_feed`)
over the user's open cases: the same UIDs and SEQUENCE as each case's
`deadlines.ics`. It depends only on the store's state (never on the clock),
so its ETag is the body's hash and an unchanged feed answers 304.
An unknown, rotated or disabled token gets the same bare 404 as any unknown path.
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sopgen.cases.calendar import render_feed
from sopgen.desk.app import desk_of, not_found

CACHE_CONTROL = "private, max-age=0, must-revalidate"


async def feed(request: Request) -> Response:
    desk = desk_of(request)
    token = request.path_params["token"]
    user = desk.users.by_feed_token(token)
    if user is None:
        return not_found()
    cases = desk.cases.open_cases_of(user.login)
    body = render_feed(cases, desk.config, f"sopgen: {user.name} ({desk.config.company})")
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if etag in _tags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


def _tags(header: str) -> set[str]:
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return {t for t in tags if t}


routes = [Route("/feeds/{token}.ics", feed, methods=["GET", "HEAD"])]
