"""Shared setup for the desk tests: a project with users, and an ASGI client per user.

Users are created through the service with cheap Argon2id parameters (the
hash records its parameters, so the desk verifies them as it would any other).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from casekit import NOW, Project, make_project
from dbkit import CaseDb
from sopgen.cases.service.secretkey import SecretKey
from sopgen.cases.service.users import Tokens, UserService
from sopgen.cases.store.tables import Store
from sopgen.cases.timestamps import parse_timestamp
from sopgen.desk.app import create_app

PASSWORD = "correct horse battery"
BERLIN_NOW = NOW
PEOPLE = {"alice": "rep", "bob": "rep", "mia": "manager", "ada": "admin"}


class Clock:
    """A clock the tests move: starts at casekit's NOW (Monday 23 Nov 2026 10:00 Berlin)."""

    def __init__(self, zone):  # type: ignore[no-untyped-def]
        self.now = parse_timestamp(NOW, zone)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Desk:
    project: Project
    app: object
    clock: Clock
    tokens: dict[str, Tokens] = field(default_factory=dict)

    def client(self, base_url: str = "http://testserver") -> TestClient:
        return TestClient(self.app, base_url=base_url, follow_redirects=False)  # type: ignore[arg-type]

    def api(self, login: str) -> TestClient:
        c = self.client()
        c.headers["Authorization"] = f"Bearer {self.tokens[login].api_token}"
        return c

    def signed_in(self, login: str) -> TestClient:
        c = self.client()
        page = c.get("/signin")
        r = c.post(
            "/signin",
            data={"login": login, "password": PASSWORD, "csrf": csrf_of(page.text)},
        )
        assert r.status_code == 303, r.text
        return c

    @property
    def root(self) -> Path:
        return self.project.root


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def make_desk(root: Path, database: CaseDb | None = None) -> Desk:
    """A desk on `database` (set SOPGEN_DATABASE_URL to it too), else on the project's
    SQLite file."""
    project = make_project(root)
    project.database = database
    store = Store(project.url)
    users = UserService(store, SecretKey(root))
    users._hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    desk_tokens = {}
    from sopgen.library import load_library

    config = load_library(root, None).config
    assert config is not None
    clock = Clock(config.zone)
    for login, role in PEOPLE.items():
        users.add(login, login.title(), role, PASSWORD, clock.now)
        desk_tokens[login] = users.issue_tokens(login)
    store.close()
    app = create_app(root, clock=clock)
    return Desk(project, app, clock, desk_tokens)


@pytest.fixture(name="desk")
def desk_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    monkeypatch.setenv("SOPGEN_NOW", NOW)
    monkeypatch.delenv("SOPGEN_DATABASE_URL", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    # the desk's public address, as a deployment sets it: calendar links are built from it
    monkeypatch.setenv("SOPGEN_BASE_URL", "http://testserver")
    desk = make_desk(tmp_path / "repo")
    yield desk
    desk.app.state.desk.store.close()  # type: ignore[attr-defined]


@contextmanager
def desk_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case_db: CaseDb, *, base_url: bool = False
) -> Iterator[Desk]:
    """A desk whose cases live on `case_db` (the default SQLite file, or the throwaway
    PostgreSQL), at NOW; `base_url`: the desk's public address is set."""
    monkeypatch.setenv("SOPGEN_NOW", NOW)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    if base_url:
        monkeypatch.setenv("SOPGEN_BASE_URL", "http://testserver")
    if case_db.postgres:
        monkeypatch.setenv("SOPGEN_DATABASE_URL", case_db.url)
    else:
        monkeypatch.delenv("SOPGEN_DATABASE_URL", raising=False)
    desk = make_desk(tmp_path / "repo", case_db)
    yield desk
    desk.app.state.desk.store.close()  # type: ignore[attr-defined]


@contextmanager
def serving(app: object) -> Iterator[str]:
    """`app` served by uvicorn on 127.0.0.1 in a thread (its base URL), stopped afterwards."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")  # type: ignore[arg-type]
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the desk did not start within 20 s"
        assert thread.is_alive(), "the desk stopped as it started"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
