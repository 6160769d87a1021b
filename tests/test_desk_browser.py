"""The desk in a real browser: Debian's chromium driven by Playwright.

Issue #9's scenario: a rep signs in, sees My work, opens a case for a
complaint received Friday 18:05, ticks two steps (a dependent deadline moves),
takes the subscribe link from My work, and every deadline on the pages, in the
feed fetched through that link and in `sopgen case show --format json` agrees;
then puts the case on hold, resumes it and raises its priority on the case
page, and the deadlines still agree. Screenshots every page at desktop and
phone width into the test's folder (SOPGEN_SHOTS=DIR keeps them somewhere to
look at).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from deskkit import PASSWORD, Desk, desk_fixture  # noqa: F401 - the `desk` fixture

CASE = "C-2026-0042"

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="needs Debian's chromium at /usr/bin/chromium"
)
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(name="server")
def server_fixture(desk: Desk) -> Iterator[str]:
    """The desk's app served by uvicorn on 127.0.0.1 in a thread, stopped afterwards."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(desk.app, host="127.0.0.1", port=port, log_level="warning")  # type: ignore[arg-type]
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the desk did not start within 20 s"
        time.sleep(0.05)
    desk.app.state.desk.base_url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_sign_in_open_a_case_tick_a_step_and_the_deadline_moves(
    desk: Desk, server: str, tmp_path: Path
):
    playwright = pytest.importorskip("playwright.sync_api")
    shots = Path(os.environ.get("SOPGEN_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(20_000)
            page.goto(server + "/")
            assert page.url.endswith("/signin")
            page.fill("input[name=login]", "alice")
            page.fill("input[name=password]", PASSWORD)
            page.click("button:has-text('Sign in')")
            page.wait_for_url(server + "/")
            assert page.locator("h1").inner_text() == "My work"

            page.click("nav >> text=Open a case")
            page.fill("input[name=case]", "C-2026-0042")
            page.select_option("select[name=sop]", "SOP-CS-003")
            page.fill("input[name=received]", "2026-11-20T18:05")
            page.fill("textarea[name=summary]", "Parcel <b>late</b>")
            page.click("button:has-text('Open the case')")
            page.wait_for_url(server + "/cases/C-2026-0042")
            assert page.locator(".summary").inner_text() == "Parcel <b>late</b>"

            record = page.locator("#step-create-file\\.record-details time")
            # received Friday 18:05: open-file is due 30 minutes later, record-details
            # 30 minutes after open-file while that is open
            before = record.get_attribute("datetime")
            assert before == "2026-11-20T19:05:00+01:00"
            step = page.locator("#step-create-file\\.open-file")
            step.locator("input[name=at]").fill("2026-11-23T09:12")
            step.locator("button:has-text('Mark done')").click()
            page.wait_for_load_state()
            assert (
                "Done Mon 23 Nov 2026 09:12 CET"
                in page.locator("#step-create-file\\.open-file").inner_text()
            )
            after = page.locator("#step-create-file\\.record-details time").get_attribute(
                "datetime"
            )
            assert after == "2026-11-23T09:42:00+01:00" and after != before
            step = page.locator("#step-create-file\\.record-details")
            step.locator("input[name=at]").fill("2026-11-23T09:30")
            step.locator("button:has-text('Mark done')").click()
            page.wait_for_load_state()
            assert (
                "Done Mon 23 Nov 2026 09:30 CET"
                in page.locator("#step-create-file\\.record-details").inner_text()
            )
            case_page = page_deadlines(page)
            assert len(case_page) == len(shown(desk)["steps"]) - 2
            agree(desk, server, page, case_page)

            page.fill("input[name=reason]", "waiting for the customer's photos")
            page.fill("#clock input[name=at]", "2026-11-23T09:45")
            page.click("button:has-text('Put on hold')")
            page.wait_for_load_state()
            assert "On hold since Mon 23 Nov 2026 09:45 CET" in page.locator("main").inner_text()
            # while a hold runs, the pages and case show move the deadlines on with the
            # clock; the feed (built from the stored state alone) shows them as of the
            # last change, so it is compared once the case has resumed
            agree(desk, server, page, page_deadlines(page), feed=False)
            for name, (width, height) in WIDTHS.items():
                page.set_viewport_size({"width": width, "height": height})
                page.screenshot(path=str(shots / f"{name}-case-on-hold.png"), full_page=True)
                assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.set_viewport_size({"width": 1280, "height": 900})
            page.click("button:has-text('Resume the case')")  # now: Monday 10:00
            page.wait_for_load_state()
            assert "until Mon 23 Nov 2026 10:00 CET" in page.locator("#clock").inner_text()
            page.select_option("select[name=priority]", "high")
            page.click("button:has-text('Change priority')")
            page.wait_for_load_state()
            assert "high from Mon 23 Nov 2026 10:00 CET" in page.locator("#clock").inner_text()
            moved = page_deadlines(page)
            assert moved != case_page  # 15 minutes on hold moved the open deadlines
            agree(desk, server, page, moved)

            for name, (width, height) in WIDTHS.items():
                page.set_viewport_size({"width": width, "height": height})
                for path, tag in (
                    ("/", "mywork"),
                    ("/cases", "cases"),
                    (f"/cases/{CASE}", "case"),
                    ("/cases/new", "open"),
                ):
                    page.goto(server + path)
                    page.screenshot(path=str(shots / f"{name}-{tag}.png"), full_page=True)
                    # readable on a phone: nothing wider than the screen
                    scroll = page.evaluate("document.documentElement.scrollWidth")
                    assert scroll <= width, (name, path, scroll)
        finally:
            browser.close()
    assert (shots / "phone-case.png").stat().st_size > 0


def shown(desk: Desk) -> dict:  # type: ignore[type-arg]
    result = desk.project.run("show", CASE, "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict = json.loads(result.stdout)  # type: ignore[type-arg]
    return data


def page_deadlines(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """step → deadline of each open step on the case page, as the page says it."""
    found = {}
    for item in page.locator("li.step").all():
        when = item.locator("time")
        if when.count():
            key = (item.get_attribute("id") or "").removeprefix("step-")
            found[key] = when.get_attribute("datetime")
    return found


def agree(desk: Desk, server: str, page, case_page: dict[str, str], feed: bool = True) -> None:  # type: ignore[no-untyped-def]
    """The case page, My work, the feed through My work's subscribe link and `case show
    --format json` give every open step the same deadline."""
    import icalendar

    plan = {s["step"]: s["due"] for s in shown(desk)["steps"] if s["done"] is None}
    assert case_page == plan
    here = page.url
    page.goto(server + "/")
    on_my_work = {}
    for item in page.locator("li.work-item").all():
        href = item.locator(".what a").get_attribute("href") or ""
        if href.startswith(f"/cases/{CASE}#step-"):
            on_my_work[href.split("#step-")[1]] = item.locator("time").get_attribute("datetime")
    assert on_my_work == plan
    webcal = page.locator("a:has-text('Apple Calendar')").get_attribute("href") or ""
    google = page.locator("a:has-text('Add to Google Calendar')").get_attribute("href") or ""
    assert webcal.startswith("webcal://") and google.endswith("cid=" + webcal)
    if not feed:
        page.goto(here)
        return
    with urllib.request.urlopen("http://" + webcal.removeprefix("webcal://")) as answer:
        calendar = icalendar.Calendar.from_ical(answer.read())
    in_feed = {
        str(e["UID"]).removeprefix(f"{CASE}.").split("@")[0]: e["DTEND"].dt
        for e in calendar.walk("VEVENT")
        if str(e["UID"]).startswith(f"{CASE}.")
    }
    assert set(in_feed) == set(plan)
    for step, due in plan.items():
        assert in_feed[step] == datetime.fromisoformat(due), step
    assert re.match(r"https?://", here)
    page.goto(here)


def test_the_dashboard_chart_reads_on_a_phone_and_on_a_desktop(
    desk: Desk, server: str, tmp_path: Path
):
    """Steps of three SOPs done over three months, some late, some only before the last
    30 days: the 30- and 90-day bars of each step, laid out as the report's charts."""
    import random
    from datetime import timedelta

    from chartkit import LAYOUT
    from sopgen.library import load_library

    playwright = pytest.importorskip("playwright.sync_api")
    shots = Path(os.environ.get("SOPGEN_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    library = load_library(desk.root, None)
    api = desk.api("mia")
    rng = random.Random(7)
    desk.clock.now += timedelta(days=70)  # Monday 1 Feb 2027
    for n in range(12):
        sop = ("SOP-CS-001", "SOP-CS-002", "SOP-CS-003")[n % 3]
        received = datetime(2026, 11, 2, 9) + timedelta(days=7 * n)
        body = {"case": f"D-{n}", "sop": sop, "received": received.isoformat(timespec="minutes")}
        assert api.post("/api/cases", json=body).status_code == 201
        for step in list(library.sops[sop].steps())[: 2 + n % 4]:
            at = received + timedelta(hours=rng.choice([1, 2, 50, 200]))
            done = api.post(f"/api/cases/D-{n}/steps/{step.key}/done",
                            json={"at": at.isoformat(timespec="minutes")})  # fmt: skip
            assert done.status_code == 200, done.text
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(server + "/signin")
            page.fill("input[name=login]", "mia")
            page.fill("input[name=password]", PASSWORD)
            page.click("button:has-text('Sign in')")
            page.wait_for_url(server + "/")
            page.goto(server + "/dashboard")
            assert page.locator("svg.barchart g.row").count() > 10
            assert page.locator("svg.barchart text.none").count() > 0  # 90 days only
            # per SOP, the steps in checklist order: A1, A2, A3, B1 (their ids sort otherwise)
            labels = [t.split() for t in page.locator("svg text.label").all_text_contents()]
            assert labels == sorted(labels, key=lambda t: (t[0], t[1][0], int(t[1][1:])))
            for name, (width, height) in WIDTHS.items():
                page.set_viewport_size({"width": width, "height": height})
                page.screenshot(path=str(shots / f"{name}-dashboard.png"), full_page=True)
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                assert page.evaluate(LAYOUT) == []
        finally:
            browser.close()
