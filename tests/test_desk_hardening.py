"""The desk under attack (issue 18): the sign-in throttle under a burst of concurrent
guesses, the API's token check before its body and its JSON size limit, inputs that
must be refused rather than crash, sign-in timing of unknown logins, and the Host header.

The throttle and body-limit tests run on SQLite and on PostgreSQL (`case_db`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from dbkit import CaseDb
from deskkit import PASSWORD, Desk, csrf_of, desk_fixture, make_desk, serving  # noqa: F401
from sopgen.cases.users import FREE_FAILURES

BURST = 30


@pytest.fixture(name="desk_db")
def desk_on_each_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case_db: CaseDb
) -> Iterator[Desk]:
    monkeypatch.setenv("SOPGEN_NOW", "2026-11-23T10:00")
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    if case_db.postgres:
        monkeypatch.setenv("SOPGEN_DATABASE_URL", case_db.url)
    else:
        monkeypatch.delenv("SOPGEN_DATABASE_URL", raising=False)
    desk = make_desk(tmp_path / "repo", case_db)
    yield desk
    desk.app.state.desk.store.close()  # type: ignore[attr-defined]


class CountingHasher(PasswordHasher):
    """Cheap Argon2id that counts the hashes it verifies, and takes a while about it (as
    the real parameters do), so that concurrent sign-ins overlap."""

    def __init__(self, pause: float = 0.05) -> None:
        super().__init__(time_cost=1, memory_cost=8192, parallelism=1)
        self.pause = pause
        self.verified: list[str] = []
        self._lock = threading.Lock()

    def current(self) -> Any:
        return extract(self.hash("any password at all"))

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.verified.append(str(hash))
        threading.Event().wait(self.pause)
        return super().verify(hash, password)


def counting(desk: Desk, pause: float = 0.05) -> CountingHasher:
    hasher = CountingHasher(pause)
    desk.app.state.desk.users._hasher = hasher  # type: ignore[attr-defined]
    return hasher


# --------------------------------------------------------------------------- 1. the throttle


def test_a_burst_of_wrong_sign_ins_checks_only_the_free_attempts_and_counts_them(desk_db: Desk):
    desk = desk_db
    hasher = counting(desk)
    with serving(desk.app) as base:
        with httpx.Client(base_url=base) as first:
            page = first.get("/signin")
            csrf, cookies = csrf_of(page.text), dict(first.cookies)

        def guess(n: int) -> tuple[int, str]:
            with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
                r = client.post(
                    "/signin",
                    data={"login": "alice", "password": f"wrong guess {n}", "csrf": csrf},
                )
                return r.status_code, r.text

        barrier = threading.Barrier(BURST)

        def at_once(n: int) -> tuple[int, str]:
            barrier.wait(timeout=30)
            return guess(n)

        with ThreadPoolExecutor(BURST) as pool:
            answers = list(pool.map(at_once, range(BURST)))
    statuses = sorted(status for status, _ in answers)
    assert set(statuses) <= {401, 429}, [a for a in answers if a[0] not in (401, 429)][:1]
    assert len(hasher.verified) == FREE_FAILURES
    assert statuses.count(401) == FREE_FAILURES and statuses.count(429) == BURST - FREE_FAILURES
    assert desk.project.sql("SELECT login, count FROM sign_in_failures") == [
        ("alice", FREE_FAILURES)
    ]


def test_a_right_password_after_wrong_ones_clears_the_count(desk_db: Desk):
    desk = desk_db
    counting(desk, pause=0)
    client = desk.client()
    csrf = csrf_of(client.get("/signin").text)
    for n in range(FREE_FAILURES - 1):
        wrong = {"login": "alice", "password": f"wrong {n}", "csrf": csrf}
        assert client.post("/signin", data=wrong).status_code == 401
    assert desk.project.sql("SELECT count FROM sign_in_failures") == [(FREE_FAILURES - 1,)]
    right = {"login": "alice", "password": PASSWORD, "csrf": csrf}
    assert client.post("/signin", data=right).status_code == 303
    assert desk.project.sql("SELECT count FROM sign_in_failures") == []


# --------------------------------------------------------------------------- 4. timing


def test_an_unknown_or_disabled_login_costs_the_same_argon2_check_as_a_known_one(desk: Desk):
    hasher = counting(desk, pause=0)
    desk.app.state.desk.users.disable("bob")  # type: ignore[attr-defined]
    client = desk.client()
    csrf = csrf_of(client.get("/signin").text)
    logins = ("alice", "nobody", "Not a login!", "bob")
    for login in logins:
        wrong = {"login": login, "password": "wrong wrong wrong", "csrf": csrf}
        assert client.post("/signin", data=wrong).status_code == 401
    assert len(hasher.verified) == len(logins)
    stored = dict(desk.project.sql("SELECT login, password_hash FROM users"))
    alice, nobody, invalid, bob = hasher.verified
    assert alice == stored["alice"] and bob == stored["bob"]
    assert nobody == invalid and nobody not in stored.values()
    # the stand-in hash costs what a new password's hash costs
    assert extract(nobody) == hasher.current()


def extract(hashed: str) -> Any:
    from argon2 import extract_parameters

    return extract_parameters(hashed)
