"""`GET /feeds/{feed_token}.ics`: a user's open steps as a calendar clients subscribe to.

The body is the case calendar writer's (`sopgen.cases.views.calendar`: the same
UIDs, SEQUENCE and text as each case's `deadlines.ics`) over the user's open
cases, bounded (`bounded`): the cases whose stored next deadline lies from
`calendar.feed_back` before today to `calendar.feed_ahead` after it, and those
on hold, at most `calendar.feed_cases` of them, soonest first; the rest are
counted in one summary event of the day. A backlog of thousands of cases no
longer makes a feed of tens of megabytes that no calendar accepts (Google
Calendar refuses files over 1 MB; docs/desk.md). It depends only on the
store's state and the day, so:

- one statement, answered from indexes and read straight from the database
  driver (`CaseService.feed_rows`), gives the token's user and each open
  case's last change, SEQUENCE sum and completions; the ETag is the hash of
  those rows (and the feed's name), and a matching If-None-Match gets 304
  without rendering anything;
- rendered events are kept per (case, version) and whole bodies per ETag
  (`FeedCaches`, each bounded in count and bytes), so a feed re-renders only
  the cases that changed and an unchanged feed is not even assembled again;
  a case's first render reads it as plain rows and writes its events with
  the texts its SOP snapshot's steps share across cases (`StepTexts`). All
  of it is derived from the store alone: any instance may serve any request;
- the token and the cases are read by that one statement, so they agree. On
  SQLite (a local file, WAL: readers never wait for writers) the lookup runs
  on the event loop itself; a hop to a worker thread per request cost more
  than the query under load (50 clients: threads queueing for the GIL).
  Rendering cases that changed, and every lookup on a database server, run
  in a thread;
- the route is a plain ASGI app: no Request/Response objects for the desk's
  most frequent request. Served from kept bodies, a request costs about
  0.4 ms of the server's CPU (bench/bench_desk.py).

An unknown, rotated or disabled token gets the same bare 404 as any unknown path.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sopgen.cases.service.feeds import FeedRows
from sopgen.cases.service.users import token_hash
from sopgen.cases.views.calendar import StepTexts, assemble_feed, feed_events, summary_event
from sopgen.desk.context import Desk, not_found
from sopgen.model import Config

# The first `run_in_threadpool` loads anyio's asyncio backend, and with it anyio's socket,
# TLS and stream modules (40 ms, most of a new server's first feed that renders): load it
# with the desk instead (an import, not a result of any request).
with contextlib.suppress(ImportError):  # pragma: no cover - another anyio layout: lazily
    importlib.import_module("anyio._backends._asyncio")

CACHE_CONTROL = b"private, max-age=0, must-revalidate"
CONTENT_TYPE = b"text/calendar; charset=utf-8"
GZIP_LEVEL = 3  # once per feed version: 410 kB of 40 cases become 14 kB in ~1 ms (6: 12 kB, 3 ms)
FEED_FORMAT = "feed-4"  # raise when a feed's bytes for the same state change (2: gzip 3,
# 3: the case's priority in each event, 4: bounded, with a summary event)


class _Kept:
    """Bytes per key, bounded in count and in bytes, least recently used out (the
    newest entry stays even when it alone is over the byte bound). Thread-safe."""

    def __init__(self, max_bytes: int, size: int):
        self.max_bytes = max_bytes
        self.size = size
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple[str, str], value: bytes) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes -= len(old) if old is not None else 0
            self._items[key] = value
            self._bytes += len(value)
            while len(self._items) > 1 and (
                self._bytes > self.max_bytes or len(self._items) > self.size
            ):
                _, gone = self._items.popitem(last=False)
                self._bytes -= len(gone)

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)


class RenderedCases(_Kept):
    """Rendered feed events per (case id, version): about 10 kB a case of 10 steps, so
    the default bounds keep some 6,000 cases."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, size: int = 20_000):
        super().__init__(max_bytes, size)


class FeedBodies(_Kept):
    """Whole feed bodies per (content coding, ETag). The ETag names the feed and its
    cases' versions, so a body kept here is the body the store's state gives."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, size: int = 100_000):
        super().__init__(max_bytes, size)


class FeedCaches:
    """What feeds keep between requests, all of it derived from the store's state alone
    (so any instance may serve any request): rendered events per case version, whole
    bodies per ETag, and the texts each SOP snapshot's steps share across cases."""

    def __init__(self, config: Config):
        self.rendered = RenderedCases()
        self.bodies = FeedBodies()
        self.texts = StepTexts(config)


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store says of a feed now: its name, ETag, open cases, the cases it shows
    (id, version) and the summary event of those it leaves out (b"" when none)."""

    name: str
    etag: str
    rows: FeedRows
    versions: list[tuple[str, str]]
    summary: bytes = b""


def feed_state(desk: Desk, token: str, now: datetime | None = None) -> FeedState | None:
    """The state of the feed of a valid token; None for any other token. Looked up by
    the token's hash, bounded in the database (`CaseService.feed_window`)."""
    if not token or len(token) > 200:
        return None
    config = desk.config
    zone = config.zone
    today = (now or desk.clock()).astimezone(zone).date()
    midnight = datetime.combine(today, time(0), zone)
    start = midnight - config.feed_back
    end = midnight + timedelta(days=1) + config.feed_ahead
    rows = desk.cases.feed_window(token_hash(token), start, end, config.feed_cases)
    if rows is None:
        return None
    name = f"sopgen: {rows.name} ({config.company})"
    summary = bounded(desk, rows, today, start, end)
    versions = rows.versions()
    digest = hashlib.sha256(repr((FEED_FORMAT, name, versions, summary)).encode("utf-8"))
    return FeedState(name, f'"{digest.hexdigest()[:32]}"', rows, versions, summary)


def bounded(desk: Desk, rows: FeedRows, today: date, start: datetime, end: datetime) -> bytes:
    """The summary event of the open cases a feed leaves out (b"" when it shows all):
    those whose next deadline lies before `start` (`feed_back` before today) or from
    `end` on (`feed_ahead` after it), and those in the window beyond `feed_cases`.
    Whole days, so a feed changes with the day at most once."""
    config = desk.config
    zone = config.zone
    older, later, more = rows.older, rows.later, rows.beyond
    left = older + later + more
    if not left:
        return b""
    parts = []
    if older:
        parts.append(f"{older} overdue since before {_day(start, zone)}")
    if more:
        parts.append(f"{more} more than the {config.feed_cases} this calendar shows")
    if later:
        parts.append(f"{later} due after {_day(end - timedelta(days=1), zone)}")
    where = f"My work on the desk: {desk.base_url}/" if desk.base_url else "My work on the desk"
    hours = desk.calendar.opening_hours(today)
    at = hours[0] if hours is not None else datetime.combine(today, time(9), zone)
    midnight = datetime.combine(today, time(0), zone)
    return summary_event(
        f"more.{rows.login}.{today:%Y%m%d}@{desk.store.installation_id}.sopgen",
        at.astimezone(UTC),
        midnight.astimezone(UTC),
        f"{left} more open case{'s' * (left != 1)} on the desk",
        f"This calendar shows the open steps of your cases whose next deadline lies "
        f"between {_day(start, zone)} and {_day(end - timedelta(days=1), zone)}, at most "
        f"{config.feed_cases} cases. Not shown: {', '.join(parts)}. See {where}",
    )


def _day(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%a %d %b %Y}"


def feed_body(
    desk: Desk,
    caches: FeedCaches,
    name: str,
    versions: list[tuple[str, str]],
    summary: bytes = b"",
) -> bytes:
    """The feed's calendar: each case's events as kept for its version, or rendered now,
    and the summary event of the cases it leaves out."""
    cache = caches.rendered
    parts: dict[str, bytes] = {}
    missing = []
    for case_id, version in versions:
        block = cache.get((case_id, version))
        if block is None:
            missing.append(case_id)
        else:
            parts[case_id] = block
    if missing:
        for case, version in desk.cases.cases_with_versions(missing):
            block = feed_events(case, desk.config, caches.texts)
            cache.put((case.id, version), block)
            parts[case.id] = block
    blocks = [parts[case_id] for case_id, _ in versions if case_id in parts]
    return assemble_feed(name, [*blocks, summary] if summary else blocks)


def answer(
    desk: Desk, caches: FeedCaches, token: str, if_none_match: str, gzip_ok: bool = False
) -> tuple[int, str, bytes]:
    """(status, ETag, body) for a feed request: 404, 304 or 200; the body gzipped when
    `gzip_ok` (the ETag then ends in -gzip: it names that representation)."""
    state = feed_state(desk, token)
    if state is None:
        return 404, "", b""
    return _reply(desk, caches, state, if_none_match, gzip_ok)


def _gzip_etag(etag: str) -> str:
    return f'{etag[:-1]}-gzip"'


def _ready(bodies: FeedBodies, etag: str, if_none_match: str, gzip_ok: bool) -> bool:
    """Whether the answer needs no rendering or compressing (a 304, or a kept body)."""
    tags = _tags(if_none_match)
    if etag in tags or _gzip_etag(etag) in tags:
        return True
    return bodies.get(("gzip" if gzip_ok else "", etag)) is not None


def _reply(
    desk: Desk, caches: FeedCaches, state: FeedState, if_none_match: str, gzip_ok: bool
) -> tuple[int, str, bytes]:
    etag = state.etag
    tag = _gzip_etag(etag) if gzip_ok else etag
    tags = _tags(if_none_match)
    if etag in tags or _gzip_etag(etag) in tags:  # the same feed, in either coding
        return 304, tag, b""
    bodies = caches.bodies
    key = ("gzip" if gzip_ok else "", etag)
    body = bodies.get(key)
    if body is None:
        plain = bodies.get(("", etag))
        if plain is None:
            plain = feed_body(desk, caches, state.name, state.versions, state.summary)
            bodies.put(("", etag), plain)
        body = gzip.compress(plain, GZIP_LEVEL, mtime=0) if gzip_ok else plain
        bodies.put(key, body)
    return 200, tag, body


async def feed(scope: Scope, receive: Receive, send: Send) -> None:
    """The route's ASGI app. Plain ASGI, not a Starlette endpoint: no Request or
    Response objects for the desk's most frequent request (a calendar client polling)."""
    app = scope["app"]
    desk: Desk = app.state.desk
    caches: FeedCaches = app.state.feeds
    token: str = scope["path_params"]["token"]
    if_none_match = accept_encoding = ""
    for header, value in scope["headers"]:
        if header == b"if-none-match":
            if_none_match = value.decode("latin-1")
        elif header == b"accept-encoding":
            accept_encoding = value.decode("latin-1")
    gzip_ok = accepts_gzip(accept_encoding)
    if desk.store.sqlite:
        state = feed_state(desk, token)  # a local read: cheaper here than a thread hop
        if state is None:
            status, etag, body = 404, "", b""
        elif _ready(caches.bodies, state.etag, if_none_match, gzip_ok):
            status, etag, body = _reply(desk, caches, state, if_none_match, gzip_ok)
        else:  # cases to render: a worker thread, so other requests go on meanwhile
            status, etag, body = await run_in_threadpool(
                _reply, desk, caches, state, if_none_match, gzip_ok
            )
    else:
        status, etag, body = await run_in_threadpool(
            answer, desk, caches, token, if_none_match, gzip_ok
        )
    if status == 404:
        await not_found()(scope, receive, send)
        return
    headers = [
        (b"etag", etag.encode("latin-1")),
        (b"cache-control", CACHE_CONTROL),
        (b"vary", b"Accept-Encoding"),
    ]
    if status == 200:
        headers += [
            (b"content-type", CONTENT_TYPE),
            (b"content-length", str(len(body)).encode("latin-1")),
        ]
        if gzip_ok:
            headers.append((b"content-encoding", b"gzip"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def accepts_gzip(header: str) -> bool:
    """Whether Accept-Encoding allows gzip: named, or through `*`, with a q above 0."""
    weights: dict[str, float] = {}
    for item in header.split(","):
        coding, _, params = item.partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[coding.strip().lower()] = q
    for coding in ("gzip", "x-gzip", "*"):
        if coding in weights:
            return weights[coding] > 0
    return False


def _tags(header: str) -> set[str]:
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return {t for t in tags if t}


class _PlainAsgi:
    """Starlette wraps a plain function as a Request → Response endpoint; an object is
    mounted as the ASGI app it is."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


routes = [Route("/feeds/{token}.ics", _PlainAsgi(feed), methods=["GET", "HEAD"])]
