"""The desk in a real browser: Debian's chromium driven by Playwright.

Signs in, opens a case for a complaint received Friday 18:05, ticks a step and
sees a dependent deadline move; screenshots every page at desktop and phone
width into the test's folder (SOPGEN_SHOTS=DIR keeps them somewhere to look at).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskkit import PASSWORD, Desk, desk_fixture  # noqa: F401 - the `desk` fixture

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

            for name, (width, height) in WIDTHS.items():
                page.set_viewport_size({"width": width, "height": height})
                for path, tag in (
                    ("/", "mywork"),
                    ("/cases", "cases"),
                    ("/cases/C-2026-0042", "case"),
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
