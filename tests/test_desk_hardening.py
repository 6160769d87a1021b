"""The desk under attack (issue 18): the sign-in throttle under a burst of concurrent
guesses, the API's token check before its body and its JSON size limit, inputs that
must be refused rather than crash, sign-in timing of unknown logins, and the Host header.

The throttle and body-limit tests run on SQLite and on PostgreSQL (`case_db`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from dbkit import CaseDb
from deskkit import PASSWORD, Desk, csrf_of, desk_fixture, desk_on, make_desk, serving  # noqa: F401
from sopgen.cases.service.users import FREE_FAILURES
from sopgen.desk.api import MAX_JSON_BYTES

BURST = 30


@pytest.fixture(name="desk_db")
def desk_on_each_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case_db: CaseDb
) -> Iterator[Desk]:
    with desk_on(tmp_path, monkeypatch, case_db) as desk:
        yield desk


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


# --------------------------------------------------------------------------- 2. the body


def asgi_post(
    desk: Desk, path: str, token: str, chunks: list[bytes], length: int | None = None
) -> tuple[int, dict[str, Any], int]:
    """POST `chunks` to the app directly (ASGI): its status, its JSON, and how many of the
    chunks the app pulled."""
    import asyncio

    headers = [(b"authorization", f"Bearer {token}".encode()), (b"host", b"testserver")]
    headers.append((b"content-type", b"application/json"))
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "app": desk.app,
    }
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            more = pulled < len(chunks)
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": more}
        await asyncio.sleep(3600)  # the client waits for the answer
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(desk.app(scope, receive, send))  # type: ignore[operator]
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body), pulled


MIB = 1024 * 1024
BIG = [b'{"case": "C-1", "summary": "' + b"x" * (MIB - 40)] + [b"x" * MIB] * 59 + [b'"}']


def test_a_bogus_token_is_refused_before_the_body_is_read(desk_db: Desk):
    for length in (60 * MIB, None):  # declared, or streamed without a length
        status, answer, pulled = asgi_post(desk_db, "/api/cases", "bogus", BIG, length)
        assert status == 401 and answer["error"] == "unauthorized"
        assert pulled == 0


def test_a_json_body_over_the_limit_gets_413_and_is_not_read_whole(desk_db: Desk):
    token = desk_db.tokens["mia"].api_token
    assert token is not None
    status, answer, pulled = asgi_post(desk_db, "/api/cases", token, BIG, 60 * MIB)
    assert status == 413 and answer["error"] == "too-large" and pulled == 0
    assert f"larger than {MAX_JSON_BYTES // 1024} KiB" in answer["message"]
    status, answer, pulled = asgi_post(desk_db, "/api/cases", token, BIG)  # no length
    assert status == 413 and pulled <= 2
    assert desk_db.project.sql("SELECT id FROM cases") == []


def test_a_json_body_at_the_limit_is_read(desk_db: Desk):
    token = desk_db.tokens["mia"].api_token
    assert token is not None
    head = b'{"case": "C-1", "sop": "SOP-CS-001", "received": "2026-11-20T18:05", "summary": "'
    body = head + b"x" * (MAX_JSON_BYTES - len(head) - 2) + b'"}'
    assert len(body) == MAX_JSON_BYTES
    status, answer, _ = asgi_post(desk_db, "/api/cases", token, [body], len(body))
    assert status != 413, answer


# --------------------------------------------------------------------------- 3. no 500s


def post_raw(desk: Desk, path: str, body: bytes, login: str = "mia") -> httpx.Response:
    headers = {"content-type": "application/json"}
    return desk.api(login).post(path, content=body, headers=headers)


def test_json_nested_a_hundred_thousand_deep_is_malformed_not_a_crash(desk: Desk):
    deep = b"[" * 100_000
    r = post_raw(desk, "/api/cases", deep)
    assert r.status_code == 400 and r.json()["message"] == (
        "the request body nests too deeply to be read"
    )
    r = desk.client().post("/api/cases", content=deep, headers={"authorization": "Bearer x"})
    assert r.status_code == 401


OPEN = {"case": "C-1", "sop": "SOP-CS-001", "assignee": "alice"}


@pytest.mark.parametrize("moment", ["0001-01-01T00:00", "9999-12-31T23:59", "0001-01-01T00:00Z"])
def test_times_in_year_one_or_ten_thousand_are_refused_by_the_api(desk: Desk, moment: str):
    api = desk.api("mia")
    r = api.post("/api/cases", json={**OPEN, "received": moment})
    assert r.status_code == 422
    assert r.json()["message"].startswith(f"'{moment}' lies outside the years 2000–2099")
    assert api.post("/api/cases", json={**OPEN, "received": "2026-11-20T18:05"}).status_code == 201
    for path in ("/api/cases/C-1/steps/intake.receive/done", "/api/cases/C-1/hold"):
        r = api.post(path, json={"at": moment})
        assert r.status_code == 422 and "outside the years 2000–2099" in r.json()["message"]


def test_times_in_year_one_are_refused_by_the_cli(desk: Desk):
    run = desk.project.run
    opened = run("open", "C-1", "--sop", "SOP-CS-001", "--received", "0001-01-01T00:00")
    assert opened.exit_code == 1, opened.output
    assert "'0001-01-01T00:00' lies outside the years 2000–2099" in opened.output
    assert "internal error" not in opened.output
    assert (
        run("open", "C-1", "--sop", "SOP-CS-001", "--received", "2026-11-20T18:05").exit_code == 0
    )
    done = run("done", "C-1", "intake.receive", "--at", "0001-01-01T00:00")
    assert done.exit_code == 1 and "outside the years 2000–2099" in done.output


def test_a_lone_surrogate_in_a_json_field_is_refused(desk: Desk):
    body = b'{"case": "C-1", "sop": "SOP-CS-001", "summary": "broken \\ud800 kettle"}'
    r = post_raw(desk, "/api/cases", body)
    assert r.status_code == 422 and r.json() == {
        "error": "invalid",
        "message": "'summary' holds 'broken \\ud800 kettle', which is not text "
        "(a lone UTF-16 surrogate); send Unicode text",
    }
    r = post_raw(desk, "/api/cases", b'{"case": "C-1", "sop": "SOP-CS-001", "\\udfff": "x"}')
    assert r.status_code == 422 and "a field name holds" in r.json()["message"]
    assert desk.project.sql("SELECT id FROM cases") == []


def test_a_summary_that_is_not_utf8_on_the_command_line_is_refused(desk: Desk):
    # Python hands bytes that are not UTF-8 in argv over as lone surrogates (b"\xe9" -> "\udce9")
    result = desk.project.run("open", "C-1", "--sop", "SOP-CS-001", "--summary", "caf\udce9")
    assert result.exit_code == 1
    assert "the argument 'caf\\xe9' is not UTF-8 text" in result.output
    assert "internal error" not in result.output
    assert desk.project.sql("SELECT id FROM cases") == []


def test_a_latin1_argument_to_the_real_command_exits_1_with_a_message(desk: Desk):
    import os
    import subprocess
    import sys

    env = {**os.environ, "SOPGEN_NOW": "2026-11-23T10:00", "LC_ALL": "C.UTF-8"}
    args = [sys.executable, "-m", "sopgen", "--root", str(desk.root), "case", "open", "C-1"]
    args += ["--sop", "SOP-CS-001", "--summary", b"Beschwerde \xfcber Wasserkocher"]  # type: ignore[list-item]
    result = subprocess.run(args, capture_output=True, env=env, timeout=120)
    assert result.returncode == 1, result.stderr
    assert b"the argument 'Beschwerde \\xfcber Wasserkocher' is not UTF-8 text" in result.stderr
    assert b"Traceback" not in result.stderr and b"internal error" not in result.stderr


# --------------------------------------------------------------------------- 8. Host header


def test_without_a_base_url_no_link_names_the_host_the_request_carried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SOPGEN_NOW", "2026-11-23T10:00")
    monkeypatch.delenv("SOPGEN_BASE_URL", raising=False)
    monkeypatch.delenv("SOPGEN_DATABASE_URL", raising=False)
    desk = make_desk(tmp_path / "repo")
    try:
        alice = desk.signed_in("alice")
        evil = {"host": "evil.example"}
        page = alice.get("/", headers=evil)
        assert page.status_code == 200 and "evil.example" not in page.text
        assert "webcal:" not in page.text and "calendar.google.com" not in page.text
        assert "Calendar links need the desk's public address, and none is set" in page.text
        assert "SOPGEN_BASE_URL" in page.text and "reminders.base_url" in page.text
        token = alice.get("/").text.split('<code class="url">/feeds/')[1].split(".ics")[0]
        assert desk.client().get(f"/feeds/{token}.ics").status_code == 200
        for path, target in (("/cases/", "/cases"), ("/dashboard/?x=1", "/dashboard?x=1")):
            moved = alice.get(path, headers=evil)
            assert moved.status_code == 307 and moved.headers["location"] == target
        api = desk.api("mia").get("/api/cases/", headers=evil)
        assert api.status_code == 307 and api.headers["location"] == "/api/cases"
    finally:
        desk.app.state.desk.store.close()  # type: ignore[attr-defined]


def test_with_a_base_url_links_use_it_whatever_the_host(desk: Desk):
    page = desk.signed_in("alice").get("/", headers={"host": "evil.example"}).text
    assert "evil.example" not in page
    assert 'href="webcal://testserver/feeds/' in page  # SOPGEN_BASE_URL=http://testserver


# --------------------------------------------------------------------------- 16. validation first


def test_a_case_for_a_login_that_is_no_user_is_422_for_a_rep_and_an_admin_alike(desk: Desk):
    body = {**OPEN, "received": "2026-11-20T18:05", "assignee": "zed"}
    answers = {login: desk.api(login).post("/api/cases", json=body) for login in ("alice", "ada")}
    for login, r in answers.items():
        assert r.status_code == 422, (login, r.text)
        assert r.json() == {"error": "invalid", "message": "'zed' is not a user of the desk"}
    bob = desk.api("alice").post("/api/cases", json={**body, "assignee": "bob"})
    assert bob.status_code == 403  # a real user: then the rep's permission decides
    alice = desk.signed_in("alice")
    form = alice.get("/cases/new").text
    fields = {"csrf": csrf_of(form), "case": "C-9", "sop": "SOP-CS-001", "assignee": "zed"}
    page = alice.post("/cases/new", data=fields)
    assert page.status_code == 422 and "is not a user of the desk" in page.text


# --------------------------------------------------------------------------- 13. received seconds


def test_a_case_opened_without_a_received_time_gets_now_to_the_minute_everywhere(desk: Desk):
    desk.clock.now = desk.clock.now.replace(second=34, microsecond=120_000)  # 10:00:34.12
    now = desk.clock.now.isoformat()
    api = desk.api("mia").post("/api/cases", json={"case": "C-API", "sop": "SOP-CS-001"})
    assert api.status_code == 201
    cli = desk.project.run("open", "C-CLI", "--sop", "SOP-CS-001", now=now)
    assert cli.exit_code == 0, cli.output
    mia = desk.signed_in("mia")
    form = {"csrf": csrf_of(mia.get("/cases/new").text), "case": "C-FORM", "sop": "SOP-CS-001"}
    assert mia.post("/cases/new", data=form).status_code == 303
    received = dict(desk.project.sql("SELECT id, received FROM cases"))
    shown = {
        case: json.loads(desk.project.run("show", case, "--format", "json", now=now).stdout)
        for case in received
    }
    assert {case: plan["received"] for case, plan in shown.items()} == {
        case: "2026-11-23T10:00:00+01:00" for case in ("C-API", "C-CLI", "C-FORM")
    }
    given = {"case": "C-GIVEN", "sop": "SOP-CS-001", "received": "2026-11-23T09:58:34"}
    kept = desk.api("mia").post("/api/cases", json=given).json()
    assert kept["received"] == "2026-11-23T09:58:34+01:00"  # a time given is kept as given


# --------------------------------------------------------------------------- 12. one report


def test_the_dashboard_and_the_report_count_the_same_last_30_days_and_name_steps_alike(
    desk: Desk,
):
    from chartkit import charts

    desk.clock.now = desk.clock.now.replace(month=12, day=1)  # Tue 1 Dec 2026 10:00
    api = desk.api("mia")
    # received and done on Sun 1 Nov 12:00: 29 days 22 hours before now, but not within
    # the last 30 calendar days (2 Nov – 1 Dec), which `sopgen report` counts by default
    old = {"case": "C-OLD", "sop": "SOP-CS-001", "received": "2026-11-01T12:00"}
    assert api.post("/api/cases", json=old).status_code == 201
    done = api.post("/api/cases/C-OLD/steps/intake.receive/done", json={"at": "2026-11-01T12:00"})
    assert done.status_code == 200, done.text
    new = {"case": "C-NEW", "sop": "SOP-CS-001", "received": "2026-11-20T18:05"}
    assert api.post("/api/cases", json=new).status_code == 201
    for step, at in (("intake.record", "2026-11-30T09:00"), ("intake.receive", "2026-11-30T09:00")):
        assert api.post(f"/api/cases/C-NEW/steps/{step}/done", json={"at": at}).status_code == 200
    from click.testing import CliRunner

    from sopgen.cli import cli

    result = CliRunner().invoke(
        cli,
        ["--root", str(desk.root), "report", "--format", "json"],
        env={"SOPGEN_NOW": "2026-12-01T10:00"},
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    by_step = [(r["step_name"], r["completed"]) for r in report["by_step"]]
    receive = "A1 Take in the complaint, whether it arrives by phone, by email or in person."
    record = "A2 Enter the details of the complaint in the CRM system."
    assert by_step == [(receive, 1), (record, 1)]  # process order, checklist names
    [(_, rows)] = charts(desk.signed_in("mia").get("/dashboard").text).items()
    shown = [(" ".join(label), values[0].split(" of ")[1]) for label, _, values in rows]
    assert shown == [  # C-OLD's tick is not in the last 30 days
        (f"SOP-CS-001 {receive}", "1"),
        (f"SOP-CS-001 {record}", "1"),
    ]
    assert [values[1].split(" of ")[1] for _, _, values in rows] == ["2", "1"]  # 90 days
