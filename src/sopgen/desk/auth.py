"""Who is asking, and what they may do: the desk's one place for permissions.

- Pages: a session cookie (HttpOnly, SameSite=Lax, Secure behind https) names
  a session in the store; every form POST must carry that session's CSRF token.
- The API: `Authorization: Bearer <api token>`.
- Feeds: the feed token in the URL reads that user's feed and nothing else.

`allowed` holds every rule of "who may do what" (docs/desk.md "Roles"); routes
ask it and never decide themselves.
"""

from __future__ import annotations

import hmac
import secrets
from enum import Enum

from starlette.requests import Request
from starlette.responses import Response

from sopgen.cases.model import Case
from sopgen.cases.service.users import SignedIn, User

SESSION_COOKIE = "sopgen_session"
SIGNIN_CSRF_COOKIE = "sopgen_signin"


class Action(Enum):
    SEE = "see cases"  # every signed-in user
    WORK = "work on this case"  # tick, reopen, note
    OPEN_FOR = "open a case for this assignee"
    ASSIGN = "assign cases"
    DASHBOARD = "see the dashboard"
    MANAGE_USERS = "manage users"


def allowed(
    user: User, action: Action, *, case: Case | None = None, assignee: str | None = None
) -> bool:
    """docs/desk.md "Roles": reps see all cases and work their own and unassigned ones;
    managers and admins work all cases and (re)assign them; admins manage users."""
    if user.disabled:
        return False
    if action is Action.SEE:
        return True
    if action is Action.WORK:
        assert case is not None
        return user.manages or case.assignee is None or case.assignee == user.login
    if action is Action.OPEN_FOR:
        return user.manages or assignee is None or assignee == user.login
    if action in (Action.ASSIGN, Action.DASHBOARD):
        return user.manages
    if action is Action.MANAGE_USERS:
        return user.admin
    return False  # pragma: no cover - every action is listed above


def secure(request: Request) -> bool:
    """Behind https (directly, or a proxy saying so): cookies get the Secure flag."""
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
    )


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def csrf_ok(expected: str | None, given: object) -> bool:
    """Constant-time comparison of the form's CSRF token with the one expected."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def signin_csrf(request: Request) -> str:
    """The sign-in form's CSRF token (double submit: a cookie and a hidden field)."""
    return request.cookies.get(SIGNIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


__all__ = ["Action", "SignedIn", "allowed"]
