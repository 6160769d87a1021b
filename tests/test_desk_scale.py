"""The desk over many cases (issue 19): Cases and My work page 50 cases at a time with
the count, soonest deadline first; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from casekit import SOP
from dbkit import CaseDb
from deskkit import Desk, desk_on
from icscheck import bytes_errors, require
from sopgen.cases.model import ImportRow
from sopgen.cases.service.caseservice import CaseService
from sopgen.cases.store.tables import Store
from sopgen.desk.app import create_app
from sopgen.library import load_library


@pytest.fixture(name="desk_db")
def desk_on_each_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case_db: CaseDb
) -> Iterator[Desk]:
    with desk_on(tmp_path, monkeypatch, case_db, base_url=True) as desk:
        yield desk


def many(desk: Desk, count: int, who: str = "alice") -> list[str]:
    """`count` cases of `who`, received a few minutes apart from Friday 20 Nov on (no
    two with the same deadlines); returns their ids, soonest next deadline first."""
    service = CaseService(Store(desk.project.url), load_library(desk.root))
    now = desk.clock.now
    start = now - timedelta(days=3)
    rows = [
        ImportRow(i + 1, f"M-{i:03d}", start + timedelta(minutes=7 * i), who, f"Case {i}")
        for i in range(count)
    ]
    result = service.import_rows(rows, SOP, now, "many.csv")
    assert not result.problems
    service.store.close()
    return [row.case_id for row in rows]  # received in this order: deadlines in this order


def test_cases_and_my_work_page_50_cases_with_the_count_soonest_first(desk_db: Desk):
    ids = many(desk_db, 120)
    mia, alice = desk_db.signed_in("mia"), desk_db.signed_in("alice")

    def listed(html: str) -> list[str]:
        return re.findall(
            r'<td data-label="Case"><span class="nowrap"><a href="/cases/(M-\d+)"', html
        )

    first = mia.get("/cases").text
    assert listed(first) == ids[:50]
    assert "120 open cases, soonest deadline first" in first
    assert "1–50 of 120 · page 1 of 3" in first
    assert 'href="/cases?page=2" rel="next"' in first
    third = mia.get("/cases?page=3").text
    assert listed(third) == ids[100:]
    assert 'href="/cases?page=2" rel="prev"' in third and 'rel="next"' not in third
    # filters stay on the other pages' links
    filtered = mia.get("/cases?assignee=alice&overdue=1").text
    assert 'href="/cases?assignee=alice&amp;overdue=1&amp;page=2" rel="next"' in filtered

    def cases_of(html: str) -> list[str]:
        found = re.findall(r'<a href="/cases/(M-\d+)#', html)
        return list(dict.fromkeys(found))

    work = alice.get("/").text
    assert sorted(cases_of(work)) == ids[:50]
    assert "120 open cases, soonest deadline first" in work
    assert "120 with an overdue step" in work
    later = alice.get("/?page=3").text
    assert sorted(cases_of(later)) == ids[100:]
    assert len(re.findall(r'<li class="work-item', later)) == 20 * 12  # each: 12 open steps


def test_a_feed_holds_the_cases_due_within_its_window_and_sums_up_the_rest(
    desk_db: Desk, tmp_path: Path
):
    """A rep with a backlog: cases long overdue, and more cases in the window than the
    feed holds. The feed shows the soonest `feed_cases` in the window and one summary
    event of the others, and libical and ical.js read it without an error."""
    require()
    config = desk_db.root / "sopgen.yaml"
    config.write_text(
        config.read_text().replace(
            "calendar:\n", "calendar:\n  feed_back: 5 days\n  feed_cases: 30\n", 1
        )
    )
    assert "feed_cases: 30" in config.read_text()
    service = CaseService(Store(desk_db.project.url), load_library(desk_db.root))
    now = desk_db.clock.now
    old = [  # received 2–4 Nov: their next deadline is more than 5 days past
        ImportRow(i + 1, f"OLD-{i:02d}", now.replace(day=2 + i % 3, hour=10), "alice", None)
        for i in range(10)
    ]
    recent = [  # received over the last 3 days, a few minutes apart
        ImportRow(i + 1, f"NEW-{i:02d}", now - timedelta(days=3) + timedelta(minutes=9 * i),
                  "alice", None)
        for i in range(40)
    ]  # fmt: skip
    for rows in (old, recent):
        assert not service.import_rows(rows, SOP, now, "backlog.csv").problems
    service.store.close()
    app = create_app(desk_db.root, clock=desk_db.clock)
    try:
        token = desk_db.tokens["alice"].feed_token
        body = TestClient(app).get(f"/feeds/{token}.ics").content
    finally:
        app.state.desk.store.close()

    uids = re.findall(rb"UID:([A-Z]+-\d+)\.", body)
    shown = sorted({uid.decode() for uid in uids})
    assert shown == [row.case_id for row in recent[:30]]  # the soonest 30 in the window
    unfolded = body.replace(b"\r\n ", b"").decode()
    assert "SUMMARY:20 more open cases on the desk" in unfolded
    assert "10 overdue since before Wed 18 Nov 2026" in unfolded
    assert "10 more than the 30 this calendar shows" in unfolded
    assert "See My work on the desk: http://testserver/" in unfolded
    assert body.count(b"BEGIN:VEVENT") == 30 * 12 + 1  # 12 open steps a case, and the sum
    assert bytes_errors(body, tmp_path, "feed.ics") == []


def test_the_dashboards_overdue_counts_come_from_the_database_and_match_the_plans(
    desk_db: Desk,
):
    """The dashboard counts overdue steps per assignee and SOP in SQL (from the deadlines
    the calendar events record): the same numbers as planning every case, through done
    steps, a hold, a cancelled case, a priority change and a reassignment."""
    from collections import Counter

    ids = many(desk_db, 12)
    service = CaseService(Store(desk_db.project.url), load_library(desk_db.root))
    now = desk_db.clock.now
    service.done(ids[0], "intake.receive", now - timedelta(days=2), now)
    service.done(ids[0], "intake.record", now - timedelta(days=2), now)
    service.hold(ids[1], now - timedelta(hours=1), now, "photos")
    service.cancel(ids[2], "withdrawn", now)
    service.change_priority(ids[3], "critical", now - timedelta(days=1), now)
    service.assign(ids[4], "bob", now)
    service.assign(ids[5], None, now)
    planned: Counter[tuple[str, str]] = Counter()
    for summary in service.list_open(now):
        planned[(summary.case.assignee or "", summary.case.sop.id)] += summary.overdue_steps
    counted = Counter({(a or "", s): n for a, s, n in service.overdue_steps(now)})
    service.store.close()
    assert +planned == counted and sum(counted.values()) > 12
    html = desk_db.signed_in("mia").get("/dashboard").text
    assert f"<td>{counted[('alice', SOP)]}</td>" in html
    assert "11 open cases." in html  # one cancelled
