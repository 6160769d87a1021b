"""deadlines.ics against its contract (docs/desk.md, "Calendar files: `deadlines.ics`"),
read back by two independent parsers: the `icalendar` package and Mozilla's ical.js (what
Thunderbird uses)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from casekit import CASE, SOP, Project, project_fixture  # noqa: F401 - the `project` fixture
from icscheck import bytes_errors, in_ci, libical_errors, missing, require
from sopgen.cases.views.calendar import event_uid

JS = Path(__file__).resolve().parent / "js"


def open_and_read(project: Project) -> tuple[bytes, dict]:
    result = project.run(
        "open", CASE, "--sop", SOP, "--received", "2026-11-20T18:05", "--assignee", "alice"
    )
    assert result.exit_code == 0, result.output
    raw = (project.folder() / "deadlines.ics").read_bytes()
    plan = json.loads(project.run("show", CASE, "--format", "json").stdout)
    return raw, plan


def events(raw: bytes) -> dict[str, object]:
    return {str(e["UID"]): e for e in Calendar.from_ical(raw).walk("VEVENT")}


def test_calendar_properties(project: Project):
    raw, plan = open_and_read(project)
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))  # folded
    calendar = Calendar.from_ical(raw)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]).startswith("-//sopgen//")
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert "METHOD" not in calendar  # an import, not an iTIP message (see calendar.py)
    assert CASE in str(calendar["X-WR-CALNAME"])
    assert b"VTIMEZONE" not in raw

    vevents = calendar.walk("VEVENT")
    assert len(vevents) == len(plan["steps"])
    uids = [str(e["UID"]) for e in vevents]
    assert len(set(uids)) == len(uids)
    for event, step in zip(vevents, plan["steps"], strict=True):
        uid = f"{CASE}.{step['step']}@{project.installation}.sopgen"
        assert str(event["UID"]) == event_uid(CASE, step["step"], project.installation) == uid
        due = datetime.fromisoformat(step["due"])
        end, start = event.decoded("DTEND"), event.decoded("DTSTART")
        assert end == due and end.tzinfo is not None and end.utcoffset() == timedelta(0)
        assert start == due - timedelta(minutes=30)
        assert f"DTEND:{due.astimezone(UTC):%Y%m%dT%H%M%S}Z".encode() in raw
        assert int(event["SEQUENCE"]) == 0
        assert event.decoded("DTSTAMP") == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # SOPGEN_NOW
        assert "LAST-MODIFIED" in event
        summary, description = str(event["SUMMARY"]), str(event["DESCRIPTION"])
        assert summary.startswith(f"[{CASE}] ")
        assert summary.endswith("(Customer Service Representative)") or "(" in summary
        for part in (CASE, SOP, "Customer Complaint Handling", step["within"], "Due: "):
            assert part in description
        assert step["text"] in description
        alarms = event.walk("VALARM")
        # written at SOPGEN_NOW (Mon 10:00): a reminder already due would fire at import
        reminder = due - timedelta(minutes=30 + 15)
        assert len(alarms) == (reminder > datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
        if alarms:
            assert str(alarms[0]["ACTION"]) == "DISPLAY"
            assert alarms[0].decoded("TRIGGER") == -timedelta(minutes=15)
        assert str(event["STATUS"]) == "CONFIRMED"


def test_uids_stable_and_sequence_rises_only_for_changed_steps(project: Project):
    first, _ = open_and_read(project)
    # receive is due Mon 09:00 (done on time), record Fri 19:05 (done late)
    assert project.run("done", CASE, "receive", "--at", "2026-11-23T09:00").exit_code == 0
    assert project.run("done", CASE, "intake.record", "--at", "2026-11-23T09:40").exit_code == 0
    second = (project.folder() / "deadlines.ics").read_bytes()
    old, new = events(first), events(second)
    assert old.keys() == new.keys()
    changed = {project.uid(CASE, "intake.receive"), project.uid(CASE, "intake.record")}
    for uid, event in new.items():
        if uid in changed:
            assert int(event["SEQUENCE"]) == int(old[uid]["SEQUENCE"]) + 1
            if uid == project.uid(CASE, "intake.receive"):
                assert str(event["SUMMARY"]).startswith("✔ Done: ")
                assert "Done at Mon 23 Nov 2026 09:00" in str(event["DESCRIPTION"])
            else:
                assert str(event["SUMMARY"]).startswith("✔ Done late: ")
                assert "Done late, at Mon 23 Nov 2026 09:40" in str(event["DESCRIPTION"])
            assert str(event["TRANSP"]) == "TRANSPARENT"
            assert event.walk("VALARM") == []
        else:
            assert int(event["SEQUENCE"]) == int(old[uid]["SEQUENCE"])
            assert event.decoded("DTEND") == old[uid].decoded("DTEND")
            assert str(event["TRANSP"]) == "OPAQUE"
    # undo: the event changes again, so its SEQUENCE rises again and the mark goes
    assert project.run("reopen", CASE, "receive").exit_code == 0
    third = events((project.folder() / "deadlines.ics").read_bytes())
    receive = third[project.uid(CASE, "intake.receive")]
    assert int(receive["SEQUENCE"]) == 2
    assert not str(receive["SUMMARY"]).startswith("✔")


def test_dependent_step_sequence_rises_when_its_anchor_is_done(project: Project):
    args = ("open", "COM-1", "--sop", "SOP-CS-002", "--received", "2026-11-20T18:05")
    assert project.run(*args).exit_code == 0
    ics = project.folder("COM-1") / "deadlines.ics"
    before = events(ics.read_bytes())
    result = project.run("done", "COM-1", "acknowledge", "--at", "2026-11-23T17:30",
                         now="2026-11-23T18:00")  # fmt: skip
    assert result.exit_code == 0
    after = events(ics.read_bytes())
    moved = {uid for uid in after if after[uid].decoded("DTEND") != before[uid].decoded("DTEND")}
    assert project.uid("COM-1", "first-contact.confirm-understanding") in moved
    for uid, event in after.items():
        rose = int(event["SEQUENCE"]) > int(before[uid]["SEQUENCE"])
        assert rose == (uid in moved or uid == project.uid("COM-1", "first-contact.acknowledge"))


def test_same_state_gives_same_bytes(project: Project, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795400000")
    raw, _ = open_and_read(project)
    assert b"DTSTAMP:20261123T021320Z" in raw  # SOURCE_DATE_EPOCH wins
    assert project.run("done", CASE, "receive").exit_code == 0
    assert project.run("reopen", CASE, "receive").exit_code == 0
    again = (project.folder() / "deadlines.ics").read_bytes()
    # only the receive event's SEQUENCE/LAST-MODIFIED moved on; the rest is byte-identical
    strip = [b"SEQUENCE", b"LAST-MODIFIED"]
    keep = [line for line in raw.split(b"\r\n") if not line.startswith(tuple(strip))]
    assert keep == [line for line in again.split(b"\r\n") if not line.startswith(tuple(strip))]


def _node() -> str | None:
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "ical.js").is_dir():
        return None
    return node


@pytest.mark.skipif(
    _node() is None,
    reason="needs node and ical.js: install Node.js and run `npm ci --prefix tests/js`",
)
def test_ical_js_reads_the_file(project: Project):
    open_and_read(project)
    assert project.run("done", CASE, "receive", "--at", "2026-11-23T09:10").exit_code == 0
    plan = json.loads(project.run("show", CASE, "--format", "json").stdout)
    ics = project.folder() / "deadlines.ics"
    node = _node()
    assert node is not None
    out = subprocess.run(
        [node, str(JS / "check_ics.mjs"), str(ics)], capture_output=True, text=True, check=True
    )
    parsed = json.loads(out.stdout)
    assert parsed["version"] == "2.0" and parsed["prodid"].startswith("-//sopgen//")
    assert parsed["method"] is None and parsed["calscale"] == "GREGORIAN"
    assert len(parsed["events"]) == len(plan["steps"])
    for event, step in zip(parsed["events"], plan["steps"], strict=True):
        due = datetime.fromisoformat(step["due"])
        assert event["uid"] == project.uid(CASE, step["step"])
        assert event["dtend_utc"] and event["dtstart_utc"]
        assert event["dtend"] == due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert event["dtend_epoch"] == int(due.timestamp())
        assert event["dtend_epoch"] - event["dtstart_epoch"] == 30 * 60
        assert event["dtstamp"].endswith("Z")
        if step["done"]:
            assert event["sequence"] == 1 and event["summary"].startswith("✔ Done late: ")
            assert event["alarms"] == []
        elif event["dtstart_epoch"] - 900 > int(
            datetime(2026, 11, 23, 9, 0, tzinfo=UTC).timestamp()
        ):
            assert event["sequence"] == 0
            (alarm,) = event["alarms"]
            assert alarm["action"] == "DISPLAY"
            assert alarm["trigger"] == "-PT15M" and alarm["trigger_seconds"] == -900
        else:  # overdue when the file was written: no alarm that fires at import
            assert event["sequence"] == 0 and event["alarms"] == []
        assert step["text"] in event["description"]


# --------------------------------------------------------------------------- the fast writer


def _case_with_everything(tmp_path: Path):
    from casekit import make_project
    from sopgen.cases.service.caseservice import CaseService
    from sopgen.cases.store.tables import Store
    from sopgen.library import load_library

    project = make_project(tmp_path / "repo")
    library = load_library(project.root)
    service = CaseService(Store(f"sqlite:///{tmp_path / 'c.db'}"), library)
    berlin = library.config.zone  # type: ignore[union-attr]
    now = datetime(2026, 11, 23, 10, 0, tzinfo=berlin)
    service.open(
        "U-1", SOP, datetime(2026, 11, 20, 18, 5, tzinfo=berlin), now,
        assignee="Jörg ✔ <b>;,\\", summary="line one\nline two; with, commas \\ and ü" * 3,
    )  # fmt: skip
    case = service.done("U-1", "receive", now - timedelta(minutes=5), now)
    return case, library.config


def build_calendar(case, config, stamp: datetime | None = None) -> Calendar:
    """The reference: the same calendar built as `icalendar` components."""
    from icalendar import Alarm, Event

    from sopgen.cases.views.calendar import PRODID, calendar_name, event_fields

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", calendar_name(case, config))
    for f in event_fields(case, config, stamp):
        event = Event()
        event.add("uid", f.uid)
        event.add("dtstamp", f.stamp)
        event.add("created", f.created)
        event.add("last-modified", f.modified)
        event.add("sequence", f.sequence)
        event.add("dtstart", f.start)
        event.add("dtend", f.end)
        event.add("summary", f.summary)
        event.add("description", f.description)
        event.add("categories", list(f.categories))
        event.add("status", f.status)
        event.add("transp", "TRANSPARENT" if f.free else "OPAQUE")
        if f.alarm is not None:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f.alarm)
            alarm.add("trigger", f.trigger)
            event.add_component(alarm)
        calendar.add_component(event)
    return calendar


def test_fast_writer_matches_icalendar_byte_for_byte(tmp_path: Path):
    from sopgen.cases.views.calendar import render_ics

    case, config = _case_with_everything(tmp_path)
    assert render_ics(case, config) == build_calendar(case, config).to_ical()
    stamp = datetime(2027, 1, 1, tzinfo=UTC)
    assert render_ics(case, config, stamp) == build_calendar(case, config, stamp).to_ical()


def _open_events(ics: bytes) -> list[bytes]:
    """The VEVENT blocks of a calendar whose step is still to do (as a feed holds them)."""
    blocks = re.findall(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", ics, re.S)
    done = "SUMMARY:✔".encode()
    return [b for b in blocks if done not in b and b"STATUS:CANCELLED\r\n" not in b]


def test_feed_events_are_the_files_open_events_byte_for_byte(tmp_path: Path):
    """A feed's events are written apart from deadlines.ics (with the texts of a SOP
    snapshot's steps shared across cases); they are the file's open events exactly,
    with shared texts or fresh ones, for cases whose ids fold lines differently."""
    from casekit import make_project
    from sopgen.cases.service.caseservice import CaseService
    from sopgen.cases.store.tables import Store
    from sopgen.cases.views.calendar import StepTexts, feed_events, render_ics
    from sopgen.library import load_library

    project = make_project(tmp_path / "repo")
    library = load_library(project.root)
    config = library.config
    assert config is not None
    service = CaseService(Store(f"sqlite:///{tmp_path / 'c.db'}"), library)
    now = datetime(2026, 11, 23, 10, 0, tzinfo=config.zone)
    received = datetime(2026, 11, 20, 18, 5, tzinfo=config.zone)
    weird = {"assignee": "Jörg ✔ <b>;,\\", "summary": "one\ntwo; with, commas \\ ü" * 3}
    cases = [
        service.open("U-1", SOP, received, now, **weird),
        service.open("U-2026-000000042", SOP, received, now),
        service.open("U-3", "SOP-CS-003", received, now, summary="short"),
    ]
    cases[0] = service.done("U-1", "receive", now - timedelta(minutes=5), now)
    service.open("U-4", SOP, received, now)
    cases.append(service.hold("U-4", now - timedelta(minutes=30), now, reason="photos"))
    assert cases[-1].on_hold is not None  # its events are marked: the general way
    shared = StepTexts(config)
    for case in cases + cases:  # the second round from texts the first one made
        expected = _open_events(render_ics(case, config))
        assert expected and len(expected) <= len(case.steps)
        assert feed_events(case, config, shared) == b"".join(expected), case.id
        assert feed_events(case, config) == b"".join(expected), case.id
    # another snapshot of the same SOP (same step keys, other text): its own texts
    revised = replace(cases[1], sop=replace(cases[1].sop, title="A revised title"))
    expected = b"".join(_open_events(render_ics(revised, config)))
    assert b"A revised title" in expected.replace(b"\r\n ", b"")  # unfolded
    assert feed_events(revised, config, shared) == expected
    cancelled = service.cancel("U-3", "withdrawn", now)
    assert feed_events(cancelled, config, shared) == b""
    service.store.close()


def test_feed_events_written_in_pieces_equal_the_files_events(tmp_path: Path):
    """The feed writes each event from texts escaped apart (per step, per case) and the
    due-soon mark from a shortcut of the share-of-window rule; the file writes the
    whole texts and `held_deadline`. They agree for priorities (a priority's own
    timeframe text), deadlines across the end of summer time, done steps, holds
    over, a cancelled case, and texts that do not escape in pieces (a CR before a
    line break: such a case is written the file's way)."""
    from casekit import make_project
    from sopgen.cases.service.caseservice import CaseService
    from sopgen.cases.store.tables import Store
    from sopgen.cases.views.calendar import StepTexts, feed_events, render_ics
    from sopgen.library import load_library

    project = make_project(tmp_path / "repo")
    sop_file = project.root / "sops" / "sop-cs-001.yaml"
    text = sop_file.read_text()
    assert "        within: Within 5 business days\n" in text
    targets = "within: {critical: 2 business hours, high: 2 business days, normal: 5 business days}"
    sop_file.write_text(
        text.replace("        within: Within 5 business days\n", f"        {targets}\n")
    )
    library = load_library(project.root)
    config = library.config
    assert config is not None
    service = CaseService(Store(f"sqlite:///{tmp_path / 'c.db'}"), library)
    zone = config.zone
    now = datetime(2026, 11, 23, 10, 0, tzinfo=zone)
    received = datetime(2026, 11, 20, 18, 5, tzinfo=zone)
    before_dst_end = datetime(2026, 10, 23, 16, 40, tzinfo=zone)  # Sun 25 Oct: CEST → CET
    cases = [
        service.open("P-1", SOP, received, now, priority="critical"),
        service.open("P-2", SOP, received, now, priority="high", summary="odd; text, \\N"),
        service.open("D-1", SOP, before_dst_end, now, assignee="dora", allow_draft=True),
        service.open("D-2", "SOP-CS-003", before_dst_end, now, allow_draft=True),
        service.open("H-1", SOP, received, now),
        service.open("C-1", SOP, received, now),
    ]
    cases[1] = service.change_priority("P-2", "critical", now - timedelta(hours=1), now)
    cases[3] = service.done("D-2", "A1", before_dst_end + timedelta(hours=1), now)
    service.hold("H-1", now - timedelta(hours=3), now - timedelta(hours=2), reason="photos")
    cases[4] = service.resume("H-1", now - timedelta(hours=1), now)
    cases[5] = service.cancel("C-1", "withdrawn", now)
    dst = render_ics(cases[2], config)
    assert b" CEST" in dst and b" CET" in dst
    critical = b"Timeframe: 2 business hours"
    assert critical in b"".join(render_ics(cases[0], config).split(b"\r\n "))
    shared = StepTexts(config)
    for case in [*cases, replace(cases[1], assignee="a CR before the summary line\r")]:
        expected = b"".join(_open_events(render_ics(case, config)))
        assert feed_events(case, config, shared) == expected, case.id
        assert feed_events(case, config) == expected, case.id
    # a role name ending in CR ends the shared lines before "Timeframe:"
    odd = replace(config, roles={role: f"{name}\r" for role, name in config.roles.items()})
    expected = b"".join(_open_events(render_ics(cases[0], odd)))
    assert feed_events(cases[0], odd, StepTexts(odd)) == expected
    assert feed_events(cases[5], config, shared) == b""
    service.store.close()


def test_fold_matches_icalendar_for_plain_ascii_lines():
    """The fold's fast path for ASCII lines (most calendar lines) cuts where icalendar does."""
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from icalendar.parser.content_line import Contentline

    from sopgen.cases.views.calendar import fold

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=st.sampled_from(list("ab\\^,;: N")), min_size=60, max_size=400))
    def check(text: str) -> None:
        assert fold(text.encode()) == Contentline(text).to_ical()

    check()


def test_fold_matches_icalendar():
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from icalendar.parser.content_line import Contentline

    from sopgen.cases.views.calendar import fold

    @settings(max_examples=400, deadline=None)
    @given(st.text(alphabet=st.sampled_from(list("ab\\^,;: é✔😀")), max_size=260))
    def check(text: str) -> None:
        assert fold(text.encode()) == Contentline(text).to_ical()

    check()


# --------------------------------------------------------------------------- libical and ical.js


def test_the_calendar_checkers_are_installed():
    """The fixtures check every .ics with libical and ical.js; in CI both must be there."""
    absent = missing()  # in CI a missing checker raises here instead
    if absent and not in_ci():
        pytest.skip(f"not installed here: {', '.join(absent)} (CI fails without them)")
    assert absent == []


def test_the_checkers_catch_an_itip_calendar_without_organizer(tmp_path: Path):
    require()
    raw = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nMETHOD:PUBLISH\r\n"
        b"BEGIN:VEVENT\r\nUID:a@b\r\nDTSTAMP:20261123T090000Z\r\n"
        b"DTSTART:20261123T090000Z\r\nDTEND:20261123T093000Z\r\nSUMMARY:x\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert any("ORGANIZER" in error for error in libical_errors(raw) or [])
    broken = raw.replace(b"DTEND:20261123T093000Z", b"DTEND:2026XX")
    assert any("ical.js" in error for error in bytes_errors(broken, tmp_path))


def test_every_calendar_state_passes_libical_and_ical_js(tmp_path: Path):
    """Open, done, reopened, hostile text: zero errors from either parser."""
    require()
    from sopgen.cases.views.calendar import render_ics

    case, config = _case_with_everything(tmp_path)
    assert any(p.done for p in case.steps) and any(p.done is None for p in case.steps)
    raw = render_ics(case, config)
    assert libical_errors(raw) == []
    assert bytes_errors(raw, tmp_path) == []


# --------------------------------------------------------------------------- one installation


def test_uids_are_unique_per_installation(project: Project, tmp_path: Path):
    """Two repositories, or a reset store, never reuse a UID (with SEQUENCE back at 0)."""
    from casekit import make_project

    if project.kind != "sqlite":
        pytest.skip("two repositories with a store each: the default SQLite files")

    open_and_read(project)
    first = set(events((project.folder() / "deadlines.ics").read_bytes()))
    other = make_project(tmp_path / "other")
    assert other.run("open", CASE, "--sop", SOP, "--received", "2026-11-20T18:05").exit_code == 0
    second = set(events((other.folder() / "deadlines.ics").read_bytes()))
    project.db.unlink()  # a reset store
    assert project.run("open", CASE, "--sop", SOP, "--received", "2026-11-20T18:05").exit_code == 0
    third = set(events((project.folder() / "deadlines.ics").read_bytes()))
    assert len(first) == len(second) == len(third) == 12
    assert not first & second and not first & third and not second & third
    assert all(uid.endswith(f"@{project.installation}.sopgen") for uid in third)


def test_no_alarm_fires_at_import_for_steps_already_overdue(project: Project, tmp_path: Path):
    csv = tmp_path / "cases.csv"
    csv.write_text("case,received,assignee\nOLD-1,2026-11-16T09:00,alice\n")
    assert project.run("import", str(csv), "--sop", SOP).exit_code == 0
    raw = (project.folder("OLD-1") / "deadlines.ics").read_bytes()
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # SOPGEN_NOW, Mon 10:00 Berlin
    with_alarm = without = 0
    for event in Calendar.from_ical(raw).walk("VEVENT"):
        reminder = (
            event.decoded("DTSTART") + event.walk("VALARM")[0].decoded("TRIGGER")
            if (event.walk("VALARM"))
            else None
        )
        if event.decoded("DTEND") < now:  # overdue at import
            assert reminder is None, event["UID"]
            without += 1
        else:
            assert reminder is not None and reminder > now, event["UID"]
            with_alarm += 1
    assert with_alarm and without


def test_a_defaulted_received_time_has_no_seconds(project: Project):
    result = project.run("open", CASE, "--sop", SOP, now="2026-11-23T10:00:37.123")
    assert result.exit_code == 0, result.output
    shown = json.loads(project.run("show", CASE, "--format", "json").stdout)
    assert shown["received"] == "2026-11-23T10:00:00+01:00"


def test_an_imports_calendars_written_the_fast_way_are_render_ics_byte_for_byte(
    tmp_path: Path,
):
    """`case import` writes each new case's deadlines.ics from the texts its SOP's steps
    share (`render_new_ics`, issue 19): the same bytes `render_ics` gives, whatever the
    case's id, assignee, summary and priority; a case with a done step the general way."""
    from casekit import make_project
    from sopgen.cases.service.caseservice import CaseService
    from sopgen.cases.store.tables import Store
    from sopgen.cases.views.calendar import StepTexts, render_ics, render_new_ics
    from sopgen.library import load_library

    project = make_project(tmp_path / "repo")
    csv = project.root / "cases.csv"
    csv.write_text(
        "case,received,assignee,summary,priority\n"
        "I-1,2026-11-20T18:05,,,\n"
        'I-2026-000000042,2026-11-19T09:00,"Jörg ✔ <b>;,\\","one; two, ü \\ x",critical\n'
        "I-3,2026-11-23T09:59,bob,short,low\n"
    )
    imported = project.run("import", str(csv), "--sop", SOP)
    assert imported.exit_code == 0, imported.output
    library = load_library(project.root)
    config = library.config
    assert config is not None
    service = CaseService(Store(project.url), library)
    shared = StepTexts(config)
    for case_id in ("I-1", "I-2026-000000042", "I-3"):
        case = service.show(case_id)
        written = (project.folder(case_id) / "deadlines.ics").read_bytes()
        assert written == render_ics(case, config) == render_new_ics(case, config, shared)
    now = datetime(2026, 11, 23, 10, 0, tzinfo=config.zone)
    done = service.done("I-1", "receive", datetime(2026, 11, 20, 18, 6, tzinfo=config.zone), now)
    assert render_new_ics(done, config, shared) == render_ics(done, config)
    service.store.close()
