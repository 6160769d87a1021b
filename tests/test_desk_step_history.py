"""The desk and the API: a reopened late step cannot open the door for a back-dated hold,
and the case page lists who ticked and reopened which step when.

Berlin, Mon–Fri 09:00–17:00; the complaint was received Friday 20 Nov 2026 18:05;
`intake.record` (1 hour) was due Friday 19:05 and is done late on Sunday 01:21.
On SQLite and PostgreSQL (`case_db`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from dbkit import CaseDb
from deskkit import Desk, csrf_of, desk_on
from sopgen.cases.timestamps import parse_timestamp

CASE = "C-1"
STEP = "intake.record"
LATE_DONE = "Sun 22 Nov 2026 01:21 CET"
REFUSED = f"before step intake.record was done ({LATE_DONE}; reopened since)"
HINT = (
    f"give a time from {LATE_DONE} on: a step keeps the deadline it had when it was ticked, "
    "also after a reopen"
)


@pytest.fixture(name="desk")
def desk_on_each_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case_db: CaseDb
) -> Iterator[Desk]:
    with desk_on(tmp_path, monkeypatch, case_db) as desk:
        yield desk


def at(desk: Desk, text: str) -> datetime:
    return parse_timestamp(text, desk.clock.now.tzinfo)  # type: ignore[arg-type]


def shown(desk: Desk) -> dict[str, Any]:
    result = desk.project.run("show", CASE, "--format", "json", now=desk.clock.now.isoformat())
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def record_status(desk: Desk) -> str:
    return str(next(s["status"] for s in shown(desk)["steps"] if s["step"] == STEP))


def open_case(desk: Desk) -> None:
    body = {"case": CASE, "sop": "SOP-CS-001", "received": "2026-11-20T18:05", "assignee": "alice"}
    desk.clock.now = at(desk, "2026-11-22T00:30")
    assert desk.api("mia").post("/api/cases", json=body).status_code == 201


def test_the_reopen_dodge_is_refused_on_the_case_page(desk: Desk) -> None:
    open_case(desk)
    alice = desk.signed_in("alice")
    desk.clock.now = at(desk, "2026-11-22T01:21")
    page = alice.get(f"/cases/{CASE}").text
    assert "No step has been marked done yet." in page and 'id="not-before"' not in page
    assert alice.post(f"/cases/{CASE}/steps/{STEP}/done", data={"csrf": csrf_of(page)}).is_redirect
    assert record_status(desk) == "done-late"
    desk.clock.now = at(desk, "2026-11-22T01:30")
    page = alice.get(f"/cases/{CASE}").text
    assert alice.post(
        f"/cases/{CASE}/steps/{STEP}/reopen", data={"csrf": csrf_of(page)}
    ).is_redirect

    desk.clock.now = at(desk, "2026-11-22T01:35")
    page = alice.get(f"/cases/{CASE}").text
    # the clock forms say from when on their times are taken
    assert (
        f"cannot be dated before {LATE_DONE}, when step "
        f'<a href="#step-{STEP}" title="{STEP}">A2</a> was done (reopened since)'
    ) in page
    before = desk.project.state()
    back_dated = {"csrf": csrf_of(page), "at": "2026-11-20T18:10"}
    for path, form in [
        ("hold", {**back_dated, "reason": "waiting for photos"}),
        ("priority", {**back_dated, "priority": "high"}),
    ]:
        refused = alice.post(f"/cases/{CASE}/{path}", data=form)
        assert refused.status_code == 409, (path, refused.text)
        assert REFUSED in refused.text
        assert f"Hint: {HINT}" in refused.text  # in the desk's words: no `--at`
        assert 'value="2026-11-20T18:10"' in refused.text  # what was typed is kept
        assert desk.project.state() == before, path

    # ticked again at the first time, the step is as late as before
    desk.clock.now = at(desk, "2026-11-22T01:40")
    page = alice.get(f"/cases/{CASE}").text
    again = alice.post(
        f"/cases/{CASE}/steps/{STEP}/done", data={"csrf": csrf_of(page), "at": "2026-11-22T01:21"}
    )
    assert again.is_redirect
    assert record_status(desk) == "done-late"
    assert shown(desk)["holds"] == []
    page = alice.get(f"/cases/{CASE}").text
    assert f'title="{STEP}">A2</a> was done: a step keeps the deadline' in page


def test_the_reopen_dodge_is_refused_by_the_api(desk: Desk) -> None:
    open_case(desk)
    api = desk.api("alice")
    desk.clock.now = at(desk, "2026-11-22T01:21")
    assert api.post(f"/api/cases/{CASE}/steps/{STEP}/done", json={}).status_code == 200
    desk.clock.now = at(desk, "2026-11-22T01:30")
    reopened = api.post(f"/api/cases/{CASE}/steps/{STEP}/reopen", json={})
    assert reopened.status_code == 200
    assert [(e["action"], e["by"], e["via"]) for e in reopened.json()["history"]] == [
        ("done", "alice", "api"),
        ("reopen", "alice", "api"),
    ]

    desk.clock.now = at(desk, "2026-11-22T01:35")
    before = desk.project.state()
    for path, body in [
        ("hold", {"at": "2026-11-20T18:10", "reason": "waiting for photos"}),
        ("priority", {"at": "2026-11-20T18:10", "priority": "high"}),
    ]:
        refused = api.post(f"/api/cases/{CASE}/{path}", json=body)
        assert refused.status_code == 409, (path, refused.text)
        error = refused.json()
        assert error["error"] == "conflict"
        assert REFUSED in error["message"] and f"({HINT})" in error["message"]
        assert "--at" not in error["message"]
        assert desk.project.state() == before, path

    again = api.post(f"/api/cases/{CASE}/steps/{STEP}/done", json={"at": "2026-11-22T01:21"})
    assert again.status_code == 200
    assert record_status(desk) == "done-late"


def test_the_case_page_lists_who_ticked_and_reopened_which_step_when(desk: Desk) -> None:
    open_case(desk)
    alice = desk.signed_in("alice")
    desk.clock.now = at(desk, "2026-11-22T01:21")
    page = alice.get(f"/cases/{CASE}").text
    alice.post(f"/cases/{CASE}/steps/{STEP}/done", data={"csrf": csrf_of(page)})
    desk.clock.now = at(desk, "2026-11-22T01:30")
    # a rep's name is user input: it must stay text on the page
    desk.project.execute(
        "UPDATE users SET name = '<b>Bob</b> <script>x()</script>' WHERE login = 'bob'"
    )
    desk.project.execute(f"UPDATE cases SET assignee = 'bob' WHERE id = '{CASE}'")
    bob = desk.signed_in("bob")
    page = bob.get(f"/cases/{CASE}").text
    bob.post(f"/cases/{CASE}/steps/{STEP}/reopen", data={"csrf": csrf_of(page)})

    page = bob.get(f"/cases/{CASE}").text
    section = page.split('<section id="history"')[1].split("</section>")[0]
    items = [i.split("</li>")[0] for i in section.split("<li>")[1:]]
    assert items == [
        '<span class="muted"><time datetime="2026-11-22T01:21:00+01:00">'
        f"{LATE_DONE}</time> · Alice (alice, desk)</span>: marked done "
        f'<a href="#step-{STEP}" title="{STEP}">A2</a>, done at {LATE_DONE}',
        '<span class="muted"><time datetime="2026-11-22T01:30:00+01:00">'
        "Sun 22 Nov 2026 01:30 CET</time> · &lt;b&gt;Bob&lt;/b&gt; &lt;script&gt;x()&lt;/script&gt;"
        " (bob, desk)</span>: reopened "
        f'<a href="#step-{STEP}" title="{STEP}">A2</a>, it was done at {LATE_DONE}',
    ]
    assert "<script>x()" not in page
