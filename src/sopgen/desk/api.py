"""The JSON API for CRM integration, `Authorization: Bearer <api token>` (docs/desk.md).

Answers are the case plan JSON of `sopgen case show --format json`; errors are
`{"error": CODE, "message": TEXT}` with 400 (malformed, or nested too deeply),
401 (no or bad token, checked before the body is read), 403 (not allowed for
this role), 404 (no such case or endpoint), 405 (a method the endpoint lacks),
409 (a case id already used, a step already done or not done), 413 (a body
over `MAX_JSON_BYTES`, 1 MiB, left unread) and 422 (valid JSON, invalid
content, or a field the endpoint does not take: a misspelt `recieved` is
refused, not ignored). `http_error` makes
Starlette's own 404/405 answers under /api JSON too.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sopgen.cases.errors import CaseError
from sopgen.cases.service.users import User
from sopgen.cases.timestamps import iso, parse_timestamp, received_now
from sopgen.cases.views.json import case_json
from sopgen.desk.auth import Action, allowed, bearer
from sopgen.desk.context import Desk, desk_of, http_status, slash_redirect
from sopgen.problems import InputError, not_text


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


Handler = Callable[[Request, Desk, User], Any]


def is_api(request: Request) -> bool:
    path = request.url.path
    return path == "/api" or path.startswith("/api/")


HTTP_CODES = {404: "not-found", 405: "method-not-allowed"}


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (no such route, a method the route lacks): JSON under /api,
    as the API's other errors; plain text elsewhere, as Starlette answers by default."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and (moved := slash_redirect(request)) is not None:
        return moved
    headers = dict(exc.headers or {})
    if not is_api(request):
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=headers)
    if exc.status_code == 404:
        message = f"no API endpoint {request.url.path} (see docs/desk.md, The JSON API)"
    elif exc.status_code == 405:
        allow = headers.get("allow", headers.get("Allow", ""))
        message = f"{request.method} is not allowed on {request.url.path}" + (
            f" (allowed: {allow})" if allow else ""
        )
    else:
        message = str(exc.detail)
    code = HTTP_CODES.get(exc.status_code, "error")
    return JSONResponse(
        {"error": code, "message": message}, status_code=exc.status_code, headers=headers
    )


async def server_error(request: Request, exc: Exception) -> Response:
    """An unexpected failure: JSON under /api, plain text elsewhere (the traceback goes to
    the server's log, never to the client)."""
    if is_api(request):
        return error(500, "internal", "the desk failed to answer; see the server's log")
    return PlainTextResponse("Internal Server Error", status_code=500)


def unknown_fields(body: dict[str, Any], accepted: Collection[str]) -> str | None:
    """The message for fields the endpoint does not take, or None."""
    unknown = [key for key in body if key not in accepted]
    if not unknown:
        return None
    parts = []
    for key in unknown:
        close = difflib.get_close_matches(key, list(accepted), n=1)
        parts.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    names = ", ".join(accepted) if accepted else "none"
    noun = "field" if len(unknown) == 1 else "fields"
    return f"unknown {noun} {', '.join(parts)}; this endpoint takes: {names}"


MAX_JSON_BYTES = 1024 * 1024
"""The largest JSON body the API reads (1 MiB, as a form field of the pages); a larger one
gets 413 unread."""


async def capped_body(request: Request, limit: int = MAX_JSON_BYTES) -> bytes | None:
    """The request's body, or None as soon as it is known to be longer than `limit` (by its
    Content-Length, or while it streams in): the rest is never read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def json_body(raw: bytes, fields: Collection[str]) -> dict[str, Any] | JSONResponse:
    """The body's JSON object, or the error answer for it."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return error(400, "malformed", "the request body is not valid JSON")
    except RecursionError:  # `[[[[…` a hundred thousand deep
        return error(400, "malformed", "the request body nests too deeply to be read")
    if not isinstance(body, dict):
        return error(400, "malformed", "the request body must be a JSON object")
    for key, value in body.items():
        shown = not_text(key) or (not_text(value) if isinstance(value, str) else None)
        if shown is not None:
            where = f"'{key}'" if not_text(key) is None else "a field name"
            return error(
                422,
                "invalid",
                f"{where} holds '{shown}', which is not text (a lone UTF-16 surrogate); "
                "send Unicode text",
            )
    refused = unknown_fields(body, fields)
    if refused:
        return error(422, "invalid", refused)
    return body


def endpoint(
    handler: Handler, fields: Collection[str] = ()
) -> Callable[[Request], Awaitable[Response]]:
    """Token check (before the body is read), the body (at most MAX_JSON_BYTES; `fields`
    and nothing else), error mapping, and the service call off the event loop."""

    async def route(request: Request) -> Response:
        desk = desk_of(request)
        token = bearer(request)
        if token is None:
            return error(401, "unauthorized", "send Authorization: Bearer <api token>")
        try:
            user = await run_in_threadpool(desk.users.by_api_token, token)
        except CaseError as exc:
            return case_error(exc)
        if user is None:
            return error(401, "unauthorized", "unknown, rotated or disabled API token")
        body: dict[str, Any] = {}
        if request.method == "POST":
            raw = await capped_body(request)
            if raw is None:
                return error(
                    413,
                    "too-large",
                    f"the request body is larger than {MAX_JSON_BYTES // 1024} KiB, "
                    "the limit for JSON bodies",
                )
            parsed = json_body(raw, fields)
            if isinstance(parsed, JSONResponse):
                return parsed
            body = parsed
        request.state.body = body
        signed_in = user

        def work() -> Any:
            return handler(request, desk, signed_in)

        try:
            status, payload = await run_in_threadpool(work)
        except ApiError as exc:
            return error(exc.status, exc.code, exc.message)
        except CaseError as exc:
            return case_error(exc)
        except InputError as exc:
            return error(422, "invalid", "; ".join(p.message for p in exc.problems))
        return JSONResponse(payload, status_code=status)

    return route


def case_error(exc: CaseError) -> JSONResponse:
    status = http_status(exc)
    code = {404: "not-found", 409: "conflict"}.get(status, "invalid")
    hint = exc.people_hint
    message = exc.message + (f" ({hint})" if hint else "")
    return error(status, code, message)


def _text(body: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise ApiError(422, "invalid", f"'{key}' is required")
        return None
    if not isinstance(value, str):
        raise ApiError(422, "invalid", f"'{key}' must be a string")
    return value


def _case_for_work(desk: Desk, user: User, case_id: str) -> None:
    case = desk.cases.show(case_id, desk.clock())
    if not allowed(user, Action.WORK, case=case):
        raise ApiError(403, "forbidden", f"case {case.id} is assigned to someone else")


def open_case(request: Request, desk: Desk, user: User) -> tuple[int, Any]:
    body = request.state.body
    case_id = _text(body, "case", required=True)
    sop_id = _text(body, "sop", required=True)
    assignee = _text(body, "assignee")
    desk.users.check_assignee(assignee)  # validation before permission: 422 for anyone
    if not allowed(user, Action.OPEN_FOR, assignee=assignee):
        raise ApiError(
            403,
            "forbidden",
            f"you are a rep: a rep opens cases for themselves or for nobody, not for '{assignee}'",
        )
    now = desk.clock()
    received_text = _text(body, "received")
    received = (
        received_now(now)
        if received_text is None
        else parse_timestamp(received_text, desk.config.zone, "received time")
    )
    assert case_id is not None and sop_id is not None
    history = body.get("history", False)
    if not isinstance(history, bool):
        raise ApiError(422, "invalid", "'history' must be true or false")
    case = desk.cases.open(
        case_id,
        sop_id,
        received,
        now,
        assignee,
        _text(body, "summary"),
        _text(body, "priority"),
        history=history,
    )
    return 201, case_json(case, desk.config, now)


def get_case(request: Request, desk: Desk, user: User) -> tuple[int, Any]:
    now = desk.clock()
    case = desk.cases.show(request.path_params["case"], now)
    return 200, case_json(case, desk.config, now)


def done(request: Request, desk: Desk, user: User) -> tuple[int, Any]:
    case_id, step = request.path_params["case"], request.path_params["step"]
    _case_for_work(desk, user, case_id)
    now = desk.clock()
    at_text = _text(request.state.body, "at")
    at = now if at_text is None else parse_timestamp(at_text, desk.config.zone, "completion time")
    case = desk.cases.done(case_id, step, at, now, actor=user.login, via="api")
    return 200, case_json(case, desk.config, now)


def reopen(request: Request, desk: Desk, user: User) -> tuple[int, Any]:
    case_id, step = request.path_params["case"], request.path_params["step"]
    _case_for_work(desk, user, case_id)
    now = desk.clock()
    case = desk.cases.reopen(case_id, step, now, actor=user.login, via="api")
    return 200, case_json(case, desk.config, now)


def hold(request: Request, desk: Desk, user: User) -> tuple[int, Any]:
    """Put a case on hold: body `{"at": TS?, "reason": TEXT?}` (default: now)."""
    case_id = request.path_params["case"]
    _case_for_work(desk, user, case_id)
    now = desk.clock()
    body = request.state.body
    at_text = _text(body, "at")
    at = now if at_text is None else parse_timestamp(at_text, desk.config.zone, "hold time")
    case = desk.cases.hold(case_id, at, now, _text(body, "reason"))
    return 200, case_json(case, desk.config, now)


def resume(request: Request, desk: Desk, user: User) -> tuple[int, Any]:
    """End a case's hold: body `{"at": TS?}` (default: now)."""
    case_id = request.path_params["case"]
    _case_for_work(desk, user, case_id)
    now = desk.clock()
    at_text = _text(request.state.body, "at")
    at = now if at_text is None else parse_timestamp(at_text, desk.config.zone, "resume time")
    case = desk.cases.resume(case_id, at, now)
    return 200, case_json(case, desk.config, now)


def list_cases(request: Request, desk: Desk, user: User) -> tuple[int, Any]:
    status = request.query_params.get("status")
    assignee = request.query_params.get("assignee")
    if status is not None and status not in ("open", "due-soon", "overdue", "on-hold"):
        raise ApiError(422, "invalid", "status must be open, due-soon, overdue or on-hold")
    now = desk.clock()
    rows = desk.cases.list_open(
        now,
        overdue=status == "overdue",
        status=status if status in ("due-soon", "on-hold") else None,
        assignee=assignee or None,
    )
    zone = desk.config.zone
    return 200, {
        "cases": [
            {
                "case": r.case.id,
                "sop": r.case.sop.id,
                "assignee": r.case.assignee,
                "next_step": r.next.key,
                "next_due": iso(r.next.due, zone),
                "status": r.status,
            }
            for r in rows
        ]
    }


def change_priority(request: Request, desk: Desk, user: User) -> tuple[int, Any]:
    """Change a case's priority: body `{"priority": P, "at": TS?}` (default: now); the same
    rights as ticking and holding."""
    case_id = request.path_params["case"]
    _case_for_work(desk, user, case_id)
    now = desk.clock()
    body = request.state.body
    priority = _text(body, "priority", required=True)
    assert priority is not None
    at_text = _text(body, "at")
    at = now if at_text is None else parse_timestamp(at_text, desk.config.zone, "priority time")
    case = desk.cases.change_priority(case_id, priority, at, now)
    return 200, case_json(case, desk.config, now)


OPEN_FIELDS = ("case", "sop", "received", "assignee", "summary", "priority", "history")

routes = [
    Route("/api/cases", endpoint(open_case, OPEN_FIELDS), methods=["POST"]),
    Route("/api/cases", endpoint(list_cases), methods=["GET"]),
    Route("/api/cases/{case}", endpoint(get_case), methods=["GET"]),
    Route("/api/cases/{case}/steps/{step}/done", endpoint(done, ("at",)), methods=["POST"]),
    Route("/api/cases/{case}/steps/{step}/reopen", endpoint(reopen), methods=["POST"]),
    Route("/api/cases/{case}/hold", endpoint(hold, ("at", "reason")), methods=["POST"]),
    Route("/api/cases/{case}/resume", endpoint(resume, ("at",)), methods=["POST"]),
    Route(
        "/api/cases/{case}/priority",
        endpoint(change_priority, ("priority", "at")),
        methods=["POST"],
    ),
]
