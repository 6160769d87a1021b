"""The desk's server-rendered pages: sign-in, My work, Cases, a case, Open a case,
Dashboard, Users and Your account. Plain HTML forms (no JavaScript needed), readable on a phone.

Every page but sign-in needs a session; every POST carries the session's CSRF
token; what a user may do is asked of `auth.allowed`. Handlers parse the
form, call one service function and render a template or redirect.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sopgen.cases.baseurl import HOW_TO_SET
from sopgen.cases.errors import CONFLICT, CaseError
from sopgen.cases.model import REOPEN_ACTION, Case
from sopgen.cases.performance import (
    REPORT_DAYS,
    in_process_order,
    last_days,
    step_name,
    step_names,
)
from sopgen.cases.service.users import MIN_PASSWORD, ROLES, SignedIn, SignInRefused, User
from sopgen.cases.timestamps import human, iso, parse_timestamp, received_now
from sopgen.desk.auth import (
    SESSION_COOKIE,
    SIGNIN_CSRF_COOKIE,
    Action,
    allowed,
    csrf_ok,
    secure,
    set_session_cookie,
    signin_csrf,
)
from sopgen.desk.context import Desk, desk_of, feed_path, http_status
from sopgen.desk.wording import on_the_clock, relative
from sopgen.model import Config
from sopgen.problems import InputError
from sopgen.render.barchart import Bar, Row
from sopgen.render.view import brand

STATUS_LABEL = {
    "overdue": "Overdue",
    "due-soon": "Due soon",
    "open": "Open",
    "done": "Done",
    "done-late": "Done late",
    "cancelled": "Cancelled",
    "on-hold": "On hold",
}


class Forbidden(Exception):
    """The signed-in user may not do this (a 403 page)."""


@dataclass
class Ctx:
    request: Request
    desk: Desk
    signed: SignedIn
    form: FormData | None
    now: datetime

    @property
    def user(self) -> User:
        return self.signed.user

    def need(self, action: Action, **kw: Any) -> None:
        if not allowed(self.user, action, **kw):
            raise Forbidden(f"You may not {action.value}.")

    def field(self, name: str) -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else ""


def render(
    request: Request, template: str, status: int = 200, signed: SignedIn | None = None, **kw: Any
) -> HTMLResponse:
    desk = desk_of(request)
    user = signed.user if signed else None
    html = desk.templates.get_template(f"desk/{template}").render(
        company=desk.config.company,
        user=user,
        # the nav's links, asked of the rules (`auth.allowed`) as every route asks them
        may={
            action.name.lower(): user is not None and allowed(user, action)
            for action in (Action.DASHBOARD, Action.MANAGE_USERS)
        },
        csrf=signed.csrf if signed else None,
        path=request.url.path,
        **kw,
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def page(handler: Callable[[Ctx], Response]) -> Callable[[Request], Any]:
    """Session check, CSRF check on POST, and the handler off the event loop."""

    @functools.wraps(handler)
    async def route(request: Request) -> Response:
        desk = desk_of(request)
        now = desk.clock()
        token = request.cookies.get(SESSION_COOKIE, "")
        signed = await run_in_threadpool(desk.users.session_user, token, now)
        if signed is None:
            target = "/signin"
            if request.method == "GET" and request.url.path != "/":
                target += "?" + urlencode({"next": request.url.path})
            return RedirectResponse(target, status_code=303)
        form = None
        if request.method == "POST":
            form = await request.form()
            if not csrf_ok(signed.csrf, form.get("csrf")):
                return render(
                    request,
                    "problem.html.j2",
                    403,
                    signed,
                    title="Form expired",
                    message="This form was not sent from the desk, or your session changed.",
                    hint="Go back, reload the page and send the form again.",
                )
        ctx = Ctx(request, desk, signed, form, now)
        try:
            return await run_in_threadpool(handler, ctx)
        except Forbidden as exc:
            return render(
                request,
                "problem.html.j2",
                403,
                signed,
                title="Not allowed",
                message=str(exc),
                hint=None,
            )
        except CaseError as exc:
            status = http_status(exc)
            return render(
                request,
                "problem.html.j2",
                status,
                signed,
                title="That did not work",
                message=exc.message,
                hint=exc.people_hint,
            )
        except InputError as exc:
            return render(
                request,
                "problem.html.j2",
                422,
                signed,
                title="That did not work",
                message="; ".join(p.message for p in exc.problems),
                hint=None,
            )

    return route


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --------------------------------------------------------------------------- sign-in


async def signin_form(request: Request) -> Response:
    token = signin_csrf(request)
    nxt = _safe_next(request.query_params.get("next", "/"))
    response = render(request, "signin.html.j2", signin_csrf=token, next=nxt, error=None)
    _signin_cookie(response, request, token)
    return response


async def signin(request: Request) -> Response:
    desk = desk_of(request)
    form = await request.form()
    expected = request.cookies.get(SIGNIN_CSRF_COOKIE)
    nxt = _safe_next(str(form.get("next") or "/"))
    token = signin_csrf(request)
    if not csrf_ok(expected, form.get("csrf")):
        response = render(
            request,
            "signin.html.j2",
            403,
            signin_csrf=token,
            next=nxt,
            error="The sign-in form expired; please try again.",
        )
        _signin_cookie(response, request, token)
        return response
    login, password = str(form.get("login") or ""), str(form.get("password") or "")
    try:
        result = await run_in_threadpool(desk.users.sign_in, login, password, desk.clock())
    except CaseError as exc:  # the store cannot be used: say so, never a traceback
        response = render(
            request,
            "signin.html.j2",
            503,
            signin_csrf=token,
            next=nxt,
            error=f"The desk cannot sign you in now: {exc.message}",
        )
        _signin_cookie(response, request, token)
        return response
    except SignInRefused as exc:
        seconds = max(1, int(exc.wait.total_seconds() + 0.999))
        response = render(
            request,
            "signin.html.j2",
            429,
            signin_csrf=token,
            next=nxt,
            error=f"Too many failed sign-ins. Try again in {seconds} second{'s' * (seconds != 1)}.",
        )
        response.headers["Retry-After"] = str(seconds)
        _signin_cookie(response, request, token)
        return response
    if result is None:
        response = render(
            request,
            "signin.html.j2",
            401,
            signin_csrf=token,
            next=nxt,
            error="Wrong login or password.",
        )
        _signin_cookie(response, request, token)
        return response
    session_token, _ = result
    done = back(nxt)
    set_session_cookie(done, request, session_token)
    done.delete_cookie(SIGNIN_CSRF_COOKIE, path="/signin")
    return done


@page
def signout(ctx: Ctx) -> Response:
    ctx.desk.users.sign_out(ctx.request.cookies.get(SESSION_COOKIE, ""), ctx.now)
    response = back("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _signin_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SIGNIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/signin",
    )


def _safe_next(target: str) -> str:
    """Only a path of this desk (never another site) after signing in."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class StepRow:
    case: str
    sop: str
    assignee: str | None
    summary: str | None
    key: str
    label: str
    text: str
    role: str
    within: str
    due: str
    due_iso: str
    relative: str
    status: str
    status_label: str
    done: str | None
    can_work: bool
    priority: str = "normal"  # the case's
    priority_mark: str = ""  # "urgent", "low" or "" (normal): how the badge looks


def priority_mark(config: Config, priority: str) -> str:
    """How a priority is marked in lists: `urgent` above normal, `low` below, and not
    at all for normal (most cases), so that the others stand out."""
    rank = config.priority_rank(priority)
    return "urgent" if rank < 0 else "low" if rank > 0 else ""


def step_rows(ctx: Ctx, case: Case) -> list[StepRow]:
    desk = ctx.desk
    config = desk.config
    zone = config.zone
    can_work = allowed(ctx.user, Action.WORK, case=case) and not case.cancelled
    mark = priority_mark(config, case.priority)
    rows = []
    for p in case.steps:
        status = case.status(p, ctx.now, config.due_soon)  # cancelled, on hold: as the case
        target = case.target_priority(p)  # "2 business hours (critical)", as the checklist
        rows.append(
            StepRow(
                case=case.id,
                sop=case.sop.id,
                assignee=case.assignee,
                summary=case.summary,
                key=p.key,
                label=f"{p.section.letter}{p.step.number}",
                text=" ".join(config.fill(p.step.do).split()),
                role=config.role_name(p.step.responsible),
                within=f"{p.within.text} ({target})" if target else p.within.text,
                due=human(p.due, zone),
                due_iso=iso(p.due, zone),
                relative=""
                if p.done or case.cancelled
                else "clock stopped"
                if status == "on-hold"
                else relative(desk.calendar, p.due, ctx.now, elapsed=on_the_clock(p)),
                status=status,
                status_label=STATUS_LABEL[status],
                done=human(p.done, zone) if p.done else None,
                can_work=can_work,
                priority=case.priority,
                priority_mark=mark,
            )
        )
    return rows


def display_names(people: list[User]) -> dict[str, str]:
    """login → how the pages name that person: their name, and the login after it where
    another user has the same name. An assignee who is no user (a case from before the
    desk had users) is named by `name_of`'s fallback, the login itself."""
    taken = Counter(u.name.casefold() for u in people)
    return {
        u.login: u.name if taken[u.name.casefold()] == 1 else f"{u.name} ({u.login})"
        for u in people
    }


def name_of(names: dict[str, str], login: str) -> str:
    return names.get(login, login)


PAGE_SIZE = 50
"""Cases a page of Cases and of My work shows (docs/desk.md: the pages)."""


@dataclass(frozen=True)
class Pager:
    """Where a page is among all: its number, the count, links to the pages around it."""

    page: int
    pages: int
    total: int
    first: int  # 1-based position of the page's first case (0 when there are none)
    last: int
    previous: str | None
    following: str | None


def page_number(ctx: Ctx) -> int:
    """The `page` asked for (1 for a missing or bad one)."""
    text = ctx.request.query_params.get("page", "1")
    return int(text) if text.isdigit() and 0 < int(text) < 10**6 else 1


def pager(ctx: Ctx, page: int, total: int) -> Pager:
    pages = max(1, -(-total // PAGE_SIZE))

    def link(number: int) -> str:
        kept = [(k, v) for k, v in ctx.request.query_params.multi_items() if k != "page"]
        query = urlencode([*kept, ("page", str(number))] if number > 1 else kept)
        return ctx.request.url.path + (f"?{query}" if query else "")

    first = min(total, (page - 1) * PAGE_SIZE + 1)
    return Pager(
        page=page,
        pages=pages,
        total=total,
        first=first,
        last=min(total, page * PAGE_SIZE),
        previous=link(page - 1) if page > 1 else None,
        following=link(page + 1) if page < pages else None,
    )


@page
def my_work(ctx: Ctx) -> Response:
    """The user's open cases, 50 a page in the order of `case list` (next deadline
    first, from the stored one; cases on hold last), with their open steps."""
    service = ctx.desk.cases
    number = page_number(ctx)
    login = ctx.user.login
    summaries = service.list_open(
        ctx.now, login=login, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    total = service.count_open(ctx.now, login=login)
    late = service.count_open(ctx.now, login=login, overdue=True)
    cases = [s.case for s in summaries]
    rows = [r for case in cases for r in step_rows(ctx, case) if r.done is None]
    rows.sort(key=lambda r: (r.due_iso, r.case, r.key))
    counts = Counter(r.status for r in rows)
    token = ctx.desk.users.feed_link(login)  # the signed-in user's, nobody else's
    return render(
        ctx.request,
        "mywork.html.j2",
        signed=ctx.signed,
        rows=rows,
        counts=counts,
        cases=len(cases),
        late_cases=late,
        pager=pager(ctx, number, total),
        links=subscribe_links(ctx, token) if token else None,
        feed_path=feed_path(token) if token else None,
        set_base_url=HOW_TO_SET,
        request_new=ctx.request.query_params.get("link") == "new",
        now=human(ctx.now, ctx.desk.config.zone),
    )


def subscribe_links(ctx: Ctx, token: str) -> dict[str, str] | None:
    """One-click subscribe links of a feed: Google, Outlook on the web, webcal; None when
    the desk's address is not configured (My work then says how to set it)."""
    feed = ctx.desk.feed_url(token)
    if feed is None:
        return None
    webcal = "webcal://" + feed.split("://", 1)[1]
    name = f"{ctx.desk.config.company} desk"
    return {
        "feed": feed,
        "webcal": webcal,
        "google": "https://calendar.google.com/calendar/r?cid=" + quote(webcal, safe=":/"),
        "outlook": "https://outlook.office.com/calendar/0/addfromweb?"
        + urlencode({"url": feed, "name": name}, quote_via=quote),
    }


@page
def subscribe(ctx: Ctx) -> Response:
    """A new feed link for the user (the old one stops working); back to My work."""
    ctx.desk.users.rotate_feed(ctx.user.login)
    return back("/?link=new#calendar")


@page
def api_token(ctx: Ctx) -> Response:
    """A new API token for the user, shown this once (the old one stops working)."""
    token = ctx.desk.users.rotate_api(ctx.user.login)
    return render(ctx.request, "apitoken.html.j2", signed=ctx.signed, api_token=token)


@page
def cases_page(ctx: Ctx) -> Response:
    q = ctx.request.query_params
    sop = q.get("sop") or None
    who = q.get("assignee") or None
    status = q.get("status") or None
    overdue = q.get("overdue") == "1"
    config = ctx.desk.config
    # any case, as typed anywhere; one that names no priority filters nothing (as status)
    priority = config.priority_named(q.get("priority") or "")
    filters: dict[str, Any] = {
        "overdue": overdue,
        "sop": sop,
        "assignee": who if who not in (None, "-") else None,
        "unassigned": who == "-",
        "status": status if status in STATUS_LABEL else None,
        "priority": priority,
    }
    number = page_number(ctx)
    summaries = ctx.desk.cases.list_open(
        ctx.now, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE, **filters
    )
    total = ctx.desk.cases.count_open(ctx.now, **filters)
    zone = ctx.desk.config.zone
    people = ctx.desk.users.list()
    names = display_names(people)
    rows = [
        {
            "case": s.case.id,
            "sop": s.case.sop.id,
            "assignee": s.case.assignee,
            "assignee_name": name_of(names, s.case.assignee or ""),
            "summary": s.case.summary,
            "priority": s.case.priority,
            "priority_mark": priority_mark(config, s.case.priority),
            "next": f"{s.next.section.letter}{s.next.step.number}",
            "next_key": s.next.key,
            "next_text": " ".join(ctx.desk.config.fill(s.next.step.do).split()),
            "due": human(s.next.due, zone),
            "relative": "clock stopped"
            if s.status == "on-hold"
            else relative(ctx.desk.calendar, s.next.due, ctx.now, elapsed=on_the_clock(s.next)),
            "status": s.status,
            "status_label": STATUS_LABEL[s.status],
            "open": s.open_steps,
            "overdue": s.overdue_steps,
        }
        for s in summaries
    ]
    return render(
        ctx.request,
        "cases.html.j2",
        signed=ctx.signed,
        rows=rows,
        pager=pager(ctx, number, total),
        sops=sorted(ctx.desk.library.sops),
        people=people,
        names=names,
        f={
            "sop": sop or "",
            "assignee": who or "",
            "status": status or "",
            "overdue": overdue,
            "priority": priority or "",
        },
        statuses=STATUS_LABEL,
        priorities=config.priorities,
    )


@page
def case_page(ctx: Ctx) -> Response:
    case = ctx.desk.cases.show(ctx.request.path_params["case"], ctx.now)
    return _case_view(ctx, case)


def _case_view(
    ctx: Ctx,
    case: Case,
    status: int = 200,
    error: str | None = None,
    hint: str | None = None,
    kept: dict[str, str] | None = None,
) -> Response:
    """The case page; after a refused action, with the message, its hint and the values
    the user sent (`kept`: which form, and its fields) so nothing is typed twice."""
    config = ctx.desk.config
    zone = config.zone
    following = case.next_step()
    can_work = allowed(ctx.user, Action.WORK, case=case)
    return render(
        ctx.request,
        "case.html.j2",
        status,
        ctx.signed,
        case=case,
        assignee_name=next(
            (u.name for u in ctx.desk.users.list() if u.login == case.assignee), case.assignee
        ),
        title=config.fill(case.sop.title),
        governed=ctx.desk.cases.governed(case),
        received=human(case.received, zone),
        rows=step_rows(ctx, case),
        notes=[
            (n.author, human(n.written_at, zone), n.text) for n in ctx.desk.cases.notes(case.id)
        ],
        history=_history_rows(case, zone, {u.login: u.name for u in ctx.desk.users.list()}),
        not_before=_not_before(case, zone),
        next=following,
        can_work=can_work,
        # holds and priority: on a case still running (neither cancelled nor complete)
        can_clock=can_work and not case.cancelled and following is not None,
        can_assign=allowed(ctx.user, Action.ASSIGN) and not case.cancelled,
        people=[u for u in ctx.desk.users.list() if not u.disabled],
        holds=[
            {
                "start": human(h.start, zone),
                "end": human(h.end, zone) if h.end else None,
                "reason": h.reason,
            }
            for h in case.holds
        ],
        on_hold=human(case.on_hold.start, zone) if case.on_hold else None,
        priorities=[(human(t, zone), p) for t, p in case.priorities],
        all_priorities=config.priorities,
        priority_targets=case.sop.has_priority_targets,
        cancelled=human(case.cancelled_at, zone) if case.cancelled_at else None,
        error=error,
        hint=hint,
        kept=kept or {},
    )


def _history_rows(case: Case, zone: ZoneInfo, names: dict[str, str]) -> list[dict[str, str]]:
    """The case's step history as the case page lists it (as `case show` does)."""
    rows = []
    for event in case.history:
        step = case.sop.step(event.step)
        reopened = event.action == REOPEN_ACTION
        rows.append(
            {
                "recorded": human(event.recorded_at, zone),
                "recorded_iso": iso(event.recorded_at, zone),
                "who": event.who(names),
                "what": "reopened" if reopened else "marked done",
                "step": event.step,
                "label": case.sop.label(step) if step else event.step,
                "when": "it was done at" if reopened else "done at",
                "done": human(event.done_at, zone),
            }
        )
    return rows


def _not_before(case: Case, zone: ZoneInfo) -> dict[str, Any] | None:
    """The latest completion ever recorded, before which the clock forms' times are
    refused (docs/deadlines.md "Holds"): when, which step, whether it was reopened since."""
    latest = case.latest_completion
    if latest is None:
        return None
    step = case.sop.step(latest.step)
    current = next((p.done for p in case.steps if p.key == latest.step), None)
    return {
        "done": human(latest.done_at, zone),
        "step": latest.step,
        "label": case.sop.label(step) if step else latest.step,
        "reopened": current != latest.done_at,
    }


def _workable(ctx: Ctx) -> Case:
    case = ctx.desk.cases.show(ctx.request.path_params["case"], ctx.now)
    ctx.need(Action.WORK, case=case)
    return case


def _when(ctx: Ctx, name: str, what: str, default: datetime | None = None) -> datetime:
    text = ctx.field(name)
    if not text:
        return ctx.now if default is None else default
    return parse_timestamp(text, ctx.desk.config.zone, what)


def _on_case(ctx: Ctx, case: Case, form: str, action: Callable[[], object]) -> Response | None:
    """Do `action`; when the service refuses, the case page again with the message, a hint
    for people (not the command line's) and the form's values kept."""
    try:
        action()
    except (CaseError, InputError) as exc:
        if isinstance(exc, CaseError):
            status = http_status(exc)
            message, hint = exc.message, exc.people_hint
        else:
            status, message, hint = 422, "; ".join(p.message for p in exc.problems), None
        kept = {"form": form, **{k: ctx.field(k) for k in ("at", "reason", "priority")}}
        return _case_view(ctx, case, status, message, hint, kept)
    return None


@page
def tick(ctx: Ctx) -> Response:
    case = _workable(ctx)
    step = ctx.request.path_params["step"]
    refused = _on_case(
        ctx,
        case,
        f"tick-{step}",
        lambda: ctx.desk.cases.done(
            case.id,
            step,
            _when(ctx, "at", "completion time"),
            ctx.now,
            actor=ctx.user.login,
            via="desk",
        ),
    )
    return refused or back(f"/cases/{quote(case.id)}#step-{quote(step)}")


@page
def untick(ctx: Ctx) -> Response:
    case = _workable(ctx)
    step = ctx.request.path_params["step"]
    ctx.desk.cases.reopen(case.id, step, ctx.now, actor=ctx.user.login, via="desk")
    return back(f"/cases/{quote(case.id)}#step-{quote(step)}")


@page
def note(ctx: Ctx) -> Response:
    case = _workable(ctx)
    ctx.desk.cases.add_note(case.id, ctx.user.login, ctx.field("text"), ctx.now)
    return back(f"/cases/{quote(case.id)}#notes")


@page
def hold(ctx: Ctx) -> Response:
    """Put the case on hold (waiting on the customer): a reason is required on the desk."""
    case = _workable(ctx)
    reason = ctx.field("reason")
    if not reason:
        why = "Say why the case goes on hold (e.g. waiting for the customer's photos)."
        return _case_view(ctx, case, 422, why)
    refused = _on_case(
        ctx,
        case,
        "hold",
        lambda: ctx.desk.cases.hold(case.id, _when(ctx, "at", "hold time"), ctx.now, reason),
    )
    return refused or back(f"/cases/{quote(case.id)}#clock")


@page
def resume(ctx: Ctx) -> Response:
    case = _workable(ctx)
    refused = _on_case(
        ctx,
        case,
        "resume",
        lambda: ctx.desk.cases.resume(case.id, _when(ctx, "at", "resume time"), ctx.now),
    )
    return refused or back(f"/cases/{quote(case.id)}#clock")


@page
def priority(ctx: Ctx) -> Response:
    case = _workable(ctx)
    refused = _on_case(
        ctx,
        case,
        "priority",
        lambda: ctx.desk.cases.change_priority(
            case.id, ctx.field("priority"), _when(ctx, "at", "priority change time"), ctx.now
        ),
    )
    return refused or back(f"/cases/{quote(case.id)}#clock")


@page
def assign(ctx: Ctx) -> Response:
    ctx.need(Action.ASSIGN)
    case_id = ctx.request.path_params["case"]
    ctx.desk.cases.assign(case_id, ctx.field("assignee") or None, ctx.now)
    return back(f"/cases/{quote(case_id)}")


@page
def open_form(ctx: Ctx) -> Response:
    return _open_view(ctx)


def _open_view(
    ctx: Ctx,
    status: int = 200,
    error: str | None = None,
    hint: str | None = None,
    existing: str | None = None,
) -> Response:
    library = ctx.desk.library
    sops = [
        (e.sop.id, ctx.desk.config.fill(e.sop.title))
        for e in library.entries
        if e.sop is not None and e.valid and e.sop.status != "retired"
    ]
    people = [u for u in ctx.desk.users.list() if not u.disabled]
    people = [u for u in people if allowed(ctx.user, Action.OPEN_FOR, assignee=u.login)]
    fields = ("case", "sop", "received", "assignee", "summary", "priority")
    values = {k: ctx.field(k) for k in fields}
    if ctx.form is None:
        values["assignee"] = ctx.user.login
    values["priority"] = values["priority"] or "normal"
    return render(
        ctx.request,
        "open.html.j2",
        status,
        ctx.signed,
        sops=sorted(sops),
        people=people,
        v=values,
        error=error,
        hint=hint,
        existing=existing,
        priorities=ctx.desk.config.priorities,
    )


@page
def open_case(ctx: Ctx) -> Response:
    assignee = ctx.field("assignee") or None
    if not ctx.field("sop"):  # the list's first entry, "Choose…", left as it was
        return _open_view(
            ctx, 422, "no SOP chosen: a case is opened under one SOP", "choose it in the SOP list"
        )
    try:
        ctx.desk.users.check_assignee(assignee)  # validation before permission
        ctx.need(Action.OPEN_FOR, assignee=assignee)
        case = ctx.desk.cases.open(
            ctx.field("case"),
            ctx.field("sop"),
            _when(ctx, "received", "received time", default=received_now(ctx.now)),
            ctx.now,
            assignee,
            ctx.field("summary") or None,
            ctx.field("priority") or None,
        )
    except CaseError as exc:
        existing = ctx.field("case") if exc.kind == CONFLICT else None
        return _open_view(
            ctx, 409 if exc.kind == CONFLICT else 422, exc.message, exc.people_hint, existing
        )
    return back(f"/cases/{quote(case.id)}")


# --------------------------------------------------------------------------- dashboard


@page
def dashboard(ctx: Ctx) -> Response:
    ctx.need(Action.DASHBOARD)
    names = display_names(ctx.desk.users.list())
    by_assignee: Counter[str] = Counter()  # by login; "" for nobody
    by_sop: Counter[str] = Counter()
    for assignee, sop_id, late in ctx.desk.cases.overdue_steps(ctx.now):  # counted in SQL
        by_assignee[assignee or ""] += late
        by_sop[sop_id] += late
    periods = {}  # per SOP step, as `sopgen report` computes it (its JSON's by_step)
    zone = ctx.desk.config.zone
    for days in (REPORT_DAYS, 90):  # "the last N days": the same days as `sopgen report`'s
        found = ctx.desk.cases.report(*last_days(days, ctx.now, zone))
        periods[days] = {g.key: g for g in found.by_step}
    steps = step_names(ctx.desk.library.sops)  # checklist label and text, as the report's
    both = {**periods[90], **periods[REPORT_DAYS]}
    keys = [g.key for g in in_process_order(both.values(), steps)]
    chart = [
        Row(
            f"{key[0]} {step_name(steps, key)}",
            tuple(
                Bar(g.on_time_share, g.completed) if g else Bar(None, 0)
                for g in (periods[REPORT_DAYS].get(key), periods[90].get(key))
            ),
        )
        for key in keys
    ]
    return render(
        ctx.request,
        "dashboard.html.j2",
        signed=ctx.signed,
        by_assignee=[
            {"login": login, "name": name_of(names, login) if login else None, "overdue": n}
            for login, n in by_assignee.most_common()
        ],
        by_sop=by_sop.most_common(),
        open_cases=ctx.desk.cases.count_open(ctx.now),
        chart=chart,
    )


# --------------------------------------------------------------------------- account


@page
def account(ctx: Ctx) -> Response:
    changed = ctx.request.query_params.get("changed") == "1"
    return _account_view(ctx, changed=changed)


def _account_view(
    ctx: Ctx,
    status: int = 200,
    error: str | None = None,
    hint: str | None = None,
    changed: bool = False,
) -> HTMLResponse:
    return render(
        ctx.request,
        "account.html.j2",
        status,
        ctx.signed,
        min_length=MIN_PASSWORD,
        changed=changed,
        error=error,
        hint=hint,
    )


@page
def change_password(ctx: Ctx) -> Response:
    """The signed-in user's own new password, given their current one; their other
    sessions end, this one stays."""
    form = ctx.form
    current, new, again = (
        str(form.get(k) or "") if form is not None else "" for k in ("current", "new", "again")
    )
    if new != again:
        return _account_view(ctx, 422, "The two new passwords differ.", "Type the new one twice.")
    try:
        changed = ctx.desk.users.change_password(
            ctx.user.login, current, new, ctx.now, keep=ctx.request.cookies.get(SESSION_COOKIE)
        )
    except SignInRefused as exc:
        seconds = max(1, int(exc.wait.total_seconds() + 0.999))
        response = _account_view(
            ctx,
            429,
            f"Too many wrong passwords. Try again in {seconds} second{'s' * (seconds != 1)}.",
        )
        response.headers["Retry-After"] = str(seconds)
        return response
    if not changed:
        return _account_view(
            ctx, 403, "That is not your current password.", "Your password did not change."
        )
    return back("/account?changed=1#password")


# --------------------------------------------------------------------------- users


@page
def users_page(ctx: Ctx) -> Response:
    ctx.need(Action.MANAGE_USERS)
    return _users_view(ctx)


def _users_view(
    ctx: Ctx, status: int = 200, error: str | None = None, hint: str | None = None
) -> HTMLResponse:
    people = ctx.desk.users.list()
    was_set = ctx.request.query_params.get("password") if ctx.request.method == "GET" else None
    return render(
        ctx.request,
        "users.html.j2",
        status,
        ctx.signed,
        people=people,
        open_cases=ctx.desk.users.open_cases(),
        roles=ROLES,
        min_length=MIN_PASSWORD,
        password_set=next((u for u in people if u.login == was_set), None),
        error=error,
        hint=hint,
    )


@page
def add_user(ctx: Ctx) -> Response:
    ctx.need(Action.MANAGE_USERS)
    try:
        ctx.desk.users.add(
            ctx.field("login"),
            ctx.field("name"),
            ctx.field("role"),
            str(ctx.form.get("password") or "") if ctx.form else "",
            ctx.now,
            ctx.field("email") or None,
        )
    except CaseError as exc:
        return _users_view(ctx, 422, exc.message, exc.people_hint)
    return back("/users")


def _named_login(ctx: Ctx) -> str:
    """The login a Users-page action names, as the store looks it up (`ADA` and ` ada`
    are ada), so that "not yourself" checks cannot be dodged by spelling."""
    return str(ctx.request.path_params["login"]).strip().lower()


@page
def disable_user(ctx: Ctx) -> Response:
    ctx.need(Action.MANAGE_USERS)
    login = _named_login(ctx)
    if login == ctx.user.login:
        raise Forbidden("You cannot disable yourself: another admin can, or sopgen user disable.")
    ctx.desk.users.disable(login)
    return back("/users")


@page
def set_password(ctx: Ctx) -> Response:
    """An admin's new password for another user (who forgot theirs): all of that user's
    sessions end; their tokens stay. Their own password admins change on Your account,
    where it takes the current one."""
    ctx.need(Action.MANAGE_USERS)
    login = _named_login(ctx)
    if login == ctx.user.login:
        raise Forbidden("You change your own password on Your account, with your current one.")
    password = str(ctx.form.get("password") or "") if ctx.form is not None else ""
    try:
        changed = ctx.desk.users.set_password(login, password)
    except CaseError as exc:
        return _users_view(ctx, 422, exc.message, exc.people_hint)
    return back(f"/users?password={quote(changed.login)}")


@page
def enable_user(ctx: Ctx) -> Response:
    ctx.need(Action.MANAGE_USERS)
    ctx.desk.users.enable(ctx.request.path_params["login"])
    return back("/users")


async def stylesheet(request: Request) -> Response:
    desk = desk_of(request)
    css = desk.templates.get_template("desk/desk.css.j2").render(brand=brand(desk.config))
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=300"})


routes: list[BaseRoute] = [
    Route("/desk.css", stylesheet),
    Route("/signin", signin_form, methods=["GET"]),
    Route("/signin", signin, methods=["POST"]),
    Route("/signout", signout, methods=["POST"]),
    Route("/", my_work),
    Route("/subscribe", subscribe, methods=["POST"]),
    Route("/api-token", api_token, methods=["POST"]),
    Route("/cases", cases_page),
    Route("/cases/new", open_form, methods=["GET"]),
    Route("/cases/new", open_case, methods=["POST"]),
    Route("/cases/{case}", case_page),
    Route("/cases/{case}/steps/{step}/done", tick, methods=["POST"]),
    Route("/cases/{case}/steps/{step}/reopen", untick, methods=["POST"]),
    Route("/cases/{case}/notes", note, methods=["POST"]),
    Route("/cases/{case}/assign", assign, methods=["POST"]),
    Route("/cases/{case}/hold", hold, methods=["POST"]),
    Route("/cases/{case}/resume", resume, methods=["POST"]),
    Route("/cases/{case}/priority", priority, methods=["POST"]),
    Route("/dashboard", dashboard),
    Route("/users", users_page, methods=["GET"]),
    Route("/users", add_user, methods=["POST"]),
    Route("/users/{login}/disable", disable_user, methods=["POST"]),
    Route("/users/{login}/enable", enable_user, methods=["POST"]),
    Route("/users/{login}/password", set_password, methods=["POST"]),
    Route("/account", account, methods=["GET"]),
    Route("/account/password", change_password, methods=["POST"]),
]
