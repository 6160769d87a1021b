"""The case page's hold, resume and priority forms, and a cancelled case's page.

Berlin, Monday–Friday 09:00–17:00; the desk's clock starts at Monday 23 Nov
2026 10:00; the complaint was received Friday 20 Nov 18:05.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from deskkit import Desk, csrf_of, desk_fixture  # noqa: F401 - the `desk` fixture
from sopgen.desk.app import create_app

SOP = "SOP-CS-001"
TARGETS = "within: {critical: 2 business hours, high: 2 business days, normal: 5 business days}"


def open_case(desk: Desk, case: str, who: str | None) -> None:
    body: dict[str, Any] = {"case": case, "sop": SOP, "received": "2026-11-20T18:05"}
    if who:
        body["assignee"] = who
    assert desk.api("mia").post("/api/cases", json=body).status_code == 201


def shown(desk: Desk, case: str) -> dict[str, Any]:
    now = desk.clock.now.isoformat()
    result = desk.project.run("show", case, "--format", "json", now=now)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def deadlines_on_page(html: str) -> dict[str, str]:
    """step → the deadline the case page shows for each step not done."""
    found = {}
    for item in html.split('<li id="step-')[1:]:
        step, _, rest = item.partition('"')
        due = re.search(r'<time datetime="([^"]+)"', rest.split("</li>")[0])
        if due:
            found[step] = due.group(1)
    return found


def open_deadlines(data: dict[str, Any]) -> dict[str, str]:
    return {s["step"]: s["due"] for s in data["steps"] if s["done"] is None}


def test_hold_and_resume_on_the_case_page_move_deadlines_as_case_show_does(desk: Desk):
    open_case(desk, "C-1", "alice")
    alice = desk.signed_in("alice")
    page = alice.get("/cases/C-1").text
    before = deadlines_on_page(page)
    assert before == open_deadlines(shown(desk, "C-1"))
    assert "Put on hold" in page and "Never on hold" in page

    no_reason = alice.post("/cases/C-1/hold", data={"csrf": csrf_of(page), "reason": " "})
    assert no_reason.status_code == 422 and "Say why the case goes on hold" in no_reason.text
    assert shown(desk, "C-1")["on_hold"] is False

    r = alice.post(
        "/cases/C-1/hold",
        data={
            "csrf": csrf_of(page),
            "reason": "waiting for the <b>photos</b>",
            "at": "2026-11-23T09:30",
        },
    )
    assert r.status_code == 303
    page = alice.get("/cases/C-1").text
    assert "On hold since Mon 23 Nov 2026 09:30 CET" in page
    assert "waiting for the &lt;b&gt;photos&lt;/b&gt;" in page  # text, never markup
    assert "(on hold now)" in page and "Resume the case" in page and "Put on hold" not in page
    data = shown(desk, "C-1")
    assert data["on_hold"] is True
    assert deadlines_on_page(page) == open_deadlines(data)

    desk.clock.now += timedelta(hours=2)  # Monday 12:00
    page = alice.get("/cases/C-1").text
    assert alice.post("/cases/C-1/resume", data={"csrf": csrf_of(page)}).status_code == 303
    page = alice.get("/cases/C-1").text
    assert "On hold since" not in page
    assert "from Mon 23 Nov 2026 09:30 CET until Mon 23 Nov 2026 12:00 CET" in page
    data = shown(desk, "C-1")
    assert data["on_hold"] is False and len(data["holds"]) == 1
    after = deadlines_on_page(page)
    assert after == open_deadlines(data)
    # 2.5 business hours on hold: 5 business days from Friday 18:05 (Monday 30th 17:00)
    # now ends Tuesday 1 Dec 11:30 (Monday 17:00 + 2.5 business hours)
    assert before["resolution.investigate"] == "2026-11-30T17:00:00+01:00"
    assert after["resolution.investigate"] == "2026-12-01T11:30:00+01:00"
    assert after != before


def test_the_priority_form_plans_with_that_prioritys_timeframes(desk: Desk):
    sop = desk.root / "sops" / "sop-cs-001.yaml"
    text = sop.read_text()
    sop.write_text(text.replace("        within: Within 5 business days\n", f"        {TARGETS}\n"))
    app = create_app(desk.root, clock=desk.clock)  # the desk reads SOPs when it starts
    desk.app.state.desk.store.close()  # type: ignore[attr-defined]
    desk.app = app
    open_case(desk, "C-1", "alice")
    alice = desk.signed_in("alice")
    page = alice.get("/cases/C-1").text
    assert "sets no targets per priority" not in page
    options = re.findall(r'<option value="([a-z]+)"', page.split('action="/cases/C-1/priority"')[1])
    assert options == ["critical", "high", "normal", "low"]  # from sopgen.yaml
    bad = alice.post("/cases/C-1/priority", data={"csrf": csrf_of(page), "priority": "urgent"})
    assert bad.status_code == 422 and "unknown priority" in bad.text
    r = alice.post(
        "/cases/C-1/priority",
        data={"csrf": csrf_of(page), "priority": "High", "at": "2026-11-23T09:30"},
    )
    assert r.status_code == 303
    page = alice.get("/cases/C-1").text
    data = shown(desk, "C-1")
    assert data["priority"] == "high"
    # the history starts with the priority the case was opened with (issue #11)
    assert (
        "<li>normal from Fri 20 Nov 2026 18:05 CET</li><li>high from Mon 23 Nov 2026 09:30 CET"
        in page
    )
    assert "<dt>Priority</dt><dd>high</dd>" in page
    on_page = deadlines_on_page(page)
    assert on_page == open_deadlines(data)
    assert on_page["resolution.investigate"] == "2026-11-25T17:00:00+01:00"  # 2 business days
    assert "· 2 business days (high)</div>" in page  # whose target, as the checklist says


def test_the_priority_form_says_when_the_sop_sets_no_targets_per_priority(desk: Desk):
    open_case(desk, "C-1", "alice")  # the shipped SOP-CS-001: one timeframe per step
    page = desk.signed_in("alice").get("/cases/C-1").text
    form = page.split('action="/cases/C-1/priority"')[1].split("</form>")[0]
    assert "SOP-CS-001 sets no targets per priority; a change moves no deadline." in form


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("hold", {"reason": "waiting for the customer"}),
        ("priority", {"priority": "high"}),
        ("resume", {}),
    ],
)
def test_hold_resume_and_priority_follow_the_rules_of_ticking(
    desk: Desk, path: str, fields: dict[str, str]
):
    open_case(desk, "C-1", "alice")
    open_case(desk, "C-9", "bob")
    if path == "resume":
        for case in ("C-1", "C-9"):
            assert desk.project.run("hold", case, "--reason", "waiting").exit_code == 0
    before = shown(desk, "C-1")
    bob = desk.signed_in("bob")  # a rep, on alice's case
    page = bob.get("/cases/C-1").text
    assert f'action="/cases/C-1/{path}"' not in page
    denied = bob.post(f"/cases/C-1/{path}", data={"csrf": csrf_of(page), **fields})
    assert denied.status_code == 403
    alice = desk.signed_in("alice")
    no_csrf = alice.post(f"/cases/C-1/{path}", data=fields)
    assert no_csrf.status_code == 403
    signed_out = desk.client().post(f"/cases/C-1/{path}", data={"csrf": "x", **fields})
    assert signed_out.status_code == 303 and "/signin" in signed_out.headers["location"]
    assert shown(desk, "C-1") == before
    # the assignee on her own case, and a manager on anyone's
    for who, case in (("alice", "C-1"), ("mia", "C-9")):
        client = desk.signed_in(who)
        earlier = shown(desk, case)
        page = client.get(f"/cases/{case}").text
        assert f'action="/cases/{case}/{path}"' in page
        done = client.post(f"/cases/{case}/{path}", data={"csrf": csrf_of(page), **fields})
        assert done.status_code == 303, done.text
        assert shown(desk, case) != earlier


def test_a_rep_holds_an_unassigned_case(desk: Desk):
    open_case(desk, "C-2", None)
    bob = desk.signed_in("bob")
    page = bob.get("/cases/C-2").text
    r = bob.post("/cases/C-2/hold", data={"csrf": csrf_of(page), "reason": "waiting"})
    assert r.status_code == 303 and shown(desk, "C-2")["on_hold"] is True


def test_a_cancelled_cases_open_steps_show_as_cancelled_not_overdue(desk: Desk):
    open_case(desk, "C-1", "alice")
    alice = desk.signed_in("alice")
    page = alice.get("/cases/C-1").text
    assert "badge-overdue" in page  # intake.receive was due Monday 09:00
    result = desk.project.run("cancel", "C-1", "--reason", "customer withdrew")
    assert result.exit_code == 0, result.output
    page = alice.get("/cases/C-1").text
    steps = shown(desk, "C-1")["steps"]
    statuses = re.findall(r'<span class="badge badge-([a-z-]+)">', page)
    assert statuses == [s["status"] for s in steps] == ["cancelled"] * len(steps)
    assert "overdue by" not in page and "Due soon" not in page and "Overdue" not in page
    assert "Cancelled Mon 23 Nov 2026 10:00 CET: customer withdrew" in page
    assert "Mark done" not in page and "Put on hold" not in page
    assert 'action="/cases/C-1/assign"' not in desk.signed_in("mia").get("/cases/C-1").text
