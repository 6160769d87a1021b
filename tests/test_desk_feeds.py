"""`/feeds/{token}.ics`: a user's open steps, as icalendar, libical and ical.js read them."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from casekit import Project, project_fixture  # noqa: F401 - the `project` fixture
from deskkit import Desk, desk_fixture  # noqa: F401 - the `desk` fixture
from icscheck import bytes_errors, calendar_errors, require
from sopgen.cases.service.secretkey import SecretKey
from sopgen.cases.service.users import UserService, token_hash
from sopgen.cases.store.tables import Store
from sopgen.desk.app import create_app
from sopgen.desk.feeds import RenderedCases

JS = Path(__file__).parent / "js"
SOP = "SOP-CS-001"


def feed_url(desk: Desk, login: str) -> str:
    return f"/feeds/{desk.tokens[login].feed_token}.ics"


def open_cases(desk: Desk) -> None:
    api = desk.api("mia")
    for case, who in (("C-1", "alice"), ("C-2", "alice"), ("C-3", "bob")):
        body = {"case": case, "sop": SOP, "received": "2026-11-20T18:05", "assignee": who}
        assert api.post("/api/cases", json=body).status_code == 201


def events(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_feed_holds_the_users_open_steps_with_the_case_files_uids(desk: Desk):
    open_cases(desk)
    desk.api("alice").post("/api/cases/C-1/steps/receive/done", json={"at": "2026-11-23T09:30"})
    r = desk.client().get(feed_url(desk, "alice"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(r.content)
    assert calendar["REFRESH-INTERVAL"].to_ical() == b"PT15M"
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT15M"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT15M\r\n" in r.content
    got = events(r.content)
    file_uids = set()
    for case in ("C-1", "C-2"):
        file_events = events((desk.project.folder(case) / "deadlines.ics").read_bytes())
        for uid, event in file_events.items():
            if str(event["SUMMARY"]).startswith("✔ Done"):
                continue
            file_uids.add(uid)
            assert got[uid]["DTEND"].dt == event["DTEND"].dt
            assert got[uid]["SEQUENCE"] == event["SEQUENCE"]
    assert set(got) == file_uids  # only alice's open steps: not bob's case, not the done step
    assert desk.project.uid("C-1", "intake.receive") not in got
    assert not any(uid.startswith("C-3.") for uid in got)


def test_etag_and_304(desk: Desk):
    open_cases(desk)
    client = desk.client()
    first = client.get(feed_url(desk, "alice"))
    etag = first.headers["etag"]
    again = client.get(feed_url(desk, "alice"), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    desk.api("alice").post("/api/cases/C-2/steps/receive/done")
    changed = client.get(feed_url(desk, "alice"), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_feed_is_gzipped_for_clients_that_accept_it_and_plain_for_others(desk: Desk):
    open_cases(desk)
    client = desk.client()
    raw = client.get(feed_url(desk, "alice"), headers={"Accept-Encoding": "identity"})
    assert raw.status_code == 200 and "content-encoding" not in raw.headers
    assert raw.headers["vary"] == "Accept-Encoding"
    packed = client.get(feed_url(desk, "alice"), headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(raw.content) / 5
    assert packed.content == raw.content  # decoded: the same calendar
    assert packed.headers["etag"] != raw.headers["etag"]  # each representation its own tag
    refused = client.get(feed_url(desk, "alice"), headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers and refused.content == raw.content
    for tag in (raw.headers["etag"], packed.headers["etag"]):  # either tag: unchanged
        again = client.get(feed_url(desk, "alice"), headers={"If-None-Match": tag})
        assert again.status_code == 304


def test_unknown_rotated_and_disabled_tokens_get_a_bare_404(desk: Desk):
    open_cases(desk)
    client = desk.client()
    unknown = client.get("/feeds/not-a-token.ics")
    assert unknown.status_code == 404
    old = feed_url(desk, "alice")
    users = desk.app.state.desk.users  # type: ignore[attr-defined]
    new = users.issue_tokens("alice", rotate=True)
    rotated = client.get(old)
    assert rotated.status_code == 404 and rotated.content == unknown.content
    assert client.get(f"/feeds/{new.feed_token}.ics").status_code == 200
    users.disable("alice")
    disabled = client.get(f"/feeds/{new.feed_token}.ics")
    assert disabled.status_code == 404 and disabled.content == unknown.content
    assert b"alice" not in disabled.content


def test_after_a_tick_only_the_moved_events_raise_their_sequence(desk: Desk):
    api = desk.api("alice")
    for case, sop in (("C-1", "SOP-CS-003"), ("C-2", SOP)):
        body = {"case": case, "sop": sop, "received": "2026-11-23T09:00", "assignee": "alice"}
        assert api.post("/api/cases", json=body).status_code == 201
    client = desk.client()
    before = events(client.get(feed_url(desk, "alice")).content)
    # record-details is due 30 minutes after open-file, and later steps hang on record-details
    r = api.post("/api/cases/C-1/steps/open-file/done", json={"at": "2026-11-23T09:05"})
    assert r.status_code == 200
    after = events(client.get(feed_url(desk, "alice")).content)
    done_uid = next(uid for uid in before if ".open-file@" in uid)
    assert done_uid not in after and set(after) == set(before) - {done_uid}
    moved = {uid for uid in after if after[uid]["DTEND"].dt != before[uid]["DTEND"].dt}
    assert any(".record-details@" in uid for uid in moved)
    for uid in after:
        rise = after[uid]["SEQUENCE"] - before[uid]["SEQUENCE"]
        assert rise == (1 if uid in moved else 0), uid
    assert not any(uid.startswith("C-2.") for uid in moved)


def test_libical_and_ical_js_find_no_error(desk: Desk, tmp_path: Path):
    """The feed and every case file behind it, by icscheck's rules (CI fails without them)."""
    require()
    open_cases(desk)
    body = desk.client().get(feed_url(desk, "alice")).content
    assert body.count(b"BEGIN:VEVENT") > 0
    assert bytes_errors(body, tmp_path, "feed.ics") == []
    assert calendar_errors(desk.project.root.rglob("*.ics")) == []


@pytest.mark.skipif(
    shutil.which("node") is None or not (JS / "node_modules" / "ical.js").is_dir(),
    reason="needs node and ical.js: run `npm ci --prefix tests/js`",
)
def test_ical_js_reads_the_feed(desk: Desk, tmp_path: Path):
    open_cases(desk)
    body = desk.client().get(feed_url(desk, "alice")).content
    path = tmp_path / "feed.ics"
    path.write_bytes(body)
    node = shutil.which("node")
    assert node is not None
    out = subprocess.run(
        [node, str(JS / "check_ics.mjs"), str(path)], capture_output=True, text=True, check=True
    )
    parsed = json.loads(out.stdout)
    assert len(parsed["events"]) == body.count(b"BEGIN:VEVENT") > 0
    for event in parsed["events"]:
        assert event["dtend_utc"]
        # the feed's events are the files': no alarm on a step already overdue when written
        assert len(event["alarms"]) in (0, 1)
        assert event["uid"].startswith(("C-1.", "C-2."))


def test_a_step_ticked_by_the_cli_shows_in_the_next_fetch_even_within_the_same_second(desk: Desk):
    open_cases(desk)
    client = desk.client()
    first = client.get(feed_url(desk, "alice"))
    receive = desk.project.uid("C-1", "intake.receive")
    assert receive in events(first.content)
    # the CLI, another process's way in, at the very moment the desk's clock shows
    assert desk.project.run("done", "C-1", "receive").exit_code == 0
    second = client.get(feed_url(desk, "alice"), headers={"If-None-Match": first.headers["etag"]})
    assert second.status_code == 200
    assert receive not in events(second.content)
    assert desk.project.run("reopen", "C-1", "receive").exit_code == 0
    third = client.get(feed_url(desk, "alice"), headers={"If-None-Match": second.headers["etag"]})
    assert third.status_code == 200 and third.headers["etag"] != first.headers["etag"]
    again = events(third.content)[receive]
    assert again["SEQUENCE"] == events(first.content)[receive]["SEQUENCE"] + 2


def test_a_case_on_hold_is_on_hold_in_the_feed_lists_and_pages(desk: Desk):
    open_cases(desk)  # received Friday 18:05: by Monday 10:00 some steps are overdue
    alice = desk.api("alice")
    held = alice.post("/api/cases/C-1/hold", json={"at": "2026-11-23T09:00", "reason": "photos"})
    assert held.status_code == 200, held.text
    got = events(desk.client().get(feed_url(desk, "alice")).content)
    c1 = [e for uid, e in got.items() if uid.startswith("C-1.")]
    c2 = [e for uid, e in got.items() if uid.startswith("C-2.")]
    assert c1 and c2  # a held step stays in the feed: it is still to do
    for event in c1:
        assert str(event["SUMMARY"]).startswith("⏸ On hold: [C-1]")
        assert "On hold since Mon 23 Nov 2026 09:00 CET (photos)" in str(event["DESCRIPTION"])
        assert str(event["STATUS"]) == "TENTATIVE" and str(event["TRANSP"]) == "TRANSPARENT"
        assert not event.walk("VALARM")  # the clock is stopped: nothing to remind of
    assert not any(str(e["SUMMARY"]).startswith("⏸") for e in c2)
    # the feed's events are the case file's, deadline and SEQUENCE alike
    file_events = events((desk.project.folder("C-1") / "deadlines.ics").read_bytes())
    for uid, event in got.items():
        if uid.startswith("C-1."):
            assert event["DTEND"].dt == file_events[uid]["DTEND"].dt
            assert event["SEQUENCE"] == file_events[uid]["SEQUENCE"]

    listed = alice.get("/api/cases?status=overdue").json()["cases"]
    assert [r["case"] for r in listed] == ["C-2", "C-3"]
    listed = alice.get("/api/cases?status=on-hold").json()["cases"]
    assert [(r["case"], r["status"]) for r in listed] == [("C-1", "on-hold")]
    page = desk.signed_in("alice")
    overdue = page.get("/cases?overdue=1").text
    assert 'href="/cases/C-2"' in overdue and 'href="/cases/C-1"' not in overdue
    everything = page.get("/cases").text
    assert everything.index("/cases/C-1") > everything.index("/cases/C-3")  # held: last
    mine = page.get("/").text
    assert "badge-on-hold" in mine and "clock stopped" in mine
    case_page = page.get("/cases/C-1").text
    assert "badge-on-hold" in case_page and "badge-overdue" not in case_page


def test_on_either_store_a_tick_in_the_same_second_changes_the_feed(project: Project):
    """SQLite and PostgreSQL: the feed's one lookup reads what the driver gives (text
    times on SQLite, timestamptz on PostgreSQL); a tick and its undo within the same
    second (a frozen clock) still give a new ETag and the events' new SEQUENCE."""
    store = Store(project.url)
    users = UserService(store, SecretKey(project.root))
    users._hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    users.add("alice", "Alice", "rep", "correct horse battery", datetime(2026, 11, 23, tzinfo=UTC))
    token = users.issue_tokens("alice").feed_token
    assert token is not None
    store.close()
    for case in ("C-1", "C-2"):
        assert project.run("open", case, "--sop", SOP, "--assignee", "alice").exit_code == 0
    app = create_app(project.root)
    client = TestClient(app)
    url = f"/feeds/{token}.ics"
    first = client.get(url)
    receive = project.uid("C-1", "intake.receive")
    assert first.status_code == 200 and receive in events(first.content)
    assert client.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    assert project.run("done", "C-1", "receive").exit_code == 0
    assert project.run("reopen", "C-1", "receive").exit_code == 0
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200 and again.headers["etag"] != first.headers["etag"]
    assert (
        events(again.content)[receive]["SEQUENCE"] == events(first.content)[receive]["SEQUENCE"] + 2
    )
    # what the feed kept rendered is keyed by the versions the lookup gives: the same
    # versions as the cases read whole, so an unchanged case is not rendered again
    desk = app.state.desk
    rows = desk.cases.feed_rows(token_hash(token))
    assert rows is not None and [c for c, _ in rows.versions()] == ["C-1", "C-2"]
    whole = desk.cases.cases_with_versions(["C-1", "C-2"])
    assert rows.versions() == [(case.id, version) for case, version in whole]
    desk.store.close()


def test_rendered_events_are_kept_within_a_byte_bound_least_recently_used_out():
    kept = RenderedCases(max_bytes=25_000)
    for n in range(3):
        kept.put((f"C-{n}", "v1"), bytes([65 + n]) * 10_000)
    assert kept.get(("C-0", "v1")) is None  # a third 10 kB block went over 25 kB
    assert kept.bytes == 20_000 and len(kept) == 2
    assert kept.get(("C-1", "v1")) == b"B" * 10_000  # used: now the most recent
    kept.put(("C-3", "v1"), b"D" * 10_000)
    assert kept.get(("C-2", "v1")) is None and kept.get(("C-1", "v1")) is not None
    kept.put(("C-4", "v1"), b"E" * 40_000)  # alone over the bound: kept, the rest out
    assert len(kept) == 1 and kept.get(("C-4", "v1")) == b"E" * 40_000
    kept.put(("C-4", "v2"), b"F")
    assert kept.get(("C-4", "v1")) is None and kept.bytes == 1


def test_a_feeds_first_render_reads_each_case_as_show_does(project: Project):
    """The feed reads the cases it renders as plain rows (not ORM objects): each is the
    case `show` gives, with holds (over and running), done steps and a summary, on
    SQLite and PostgreSQL, but for the step history (read for a case's own page, as
    for lists not at all); its version is the one the feed's lookup gives."""
    for case in ("C-1", "C-2", "C-3"):
        opened = project.run("open", case, "--sop", SOP, "--received", "2026-11-20T18:05")
        assert opened.exit_code == 0, opened.output
    assert project.run("done", "C-1", "receive", "--at", "2026-11-23T09:00").exit_code == 0
    assert project.run("hold", "C-1", "--at", "2026-11-23T09:10", "--reason", "x").exit_code == 0
    assert project.run("resume", "C-1", "--at", "2026-11-23T09:40").exit_code == 0
    assert project.run("hold", "C-2", "--at", "2026-11-23T09:30").exit_code == 0
    app = create_app(project.root)
    service = app.state.desk.cases
    read = service.cases_with_versions(["C-3", "C-1", "C-2", "C-404"])
    assert [case.id for case, _ in read] == ["C-1", "C-2", "C-3"]
    for case, _ in read:
        assert case == replace(service.show(case.id), history=()), case.id
    assert read[0][0].holds and read[1][0].on_hold and read[0][0].steps[0].done
    assert len({version for _, version in read}) == 3
    app.state.desk.store.close()
