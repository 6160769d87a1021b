"""The desk over many cases (issue 19): Cases and My work page 50 cases at a time with
the count, soonest deadline first; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from casekit import SOP
from dbkit import CaseDb
from deskkit import Desk, make_desk
from sopgen.cases.model import ImportRow
from sopgen.cases.service import CaseService
from sopgen.cases.store import Store
from sopgen.library import load_library


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
