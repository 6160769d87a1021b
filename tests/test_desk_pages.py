"""The desk's pages through the ASGI client: sign-in, permissions, CSRF, cookies, forms."""

from __future__ import annotations

import json
import re

from chartkit import charts
from deskkit import PASSWORD, Desk, csrf_of, desk_fixture  # noqa: F401 - the `desk` fixture

SOP = "SOP-CS-001"


def open_via_api(desk: Desk, case: str, who: str | None, sop: str = SOP, **extra: str) -> None:
    body = {"case": case, "sop": sop, "received": "2026-11-20T18:05", **extra}
    if who:
        body["assignee"] = who
    assert desk.api("mia").post("/api/cases", json=body).status_code == 201


def test_signed_out_sees_only_the_sign_in_page(desk: Desk):
    open_via_api(desk, "C-1", "alice")
    client = desk.client()
    for path in ("/", "/cases", "/cases/C-1", "/cases/new", "/dashboard", "/users"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin"), path
        assert "C-1" not in r.text
    for path in ("/cases/C-1/steps/receive/done", "/cases/new", "/users", "/subscribe"):
        assert client.post(path, data={"csrf": "x"}).status_code == 303
    assert client.get("/signin").status_code == 200
    assert client.get("/desk.css").status_code == 200
    assert (
        json.loads(desk.project.run("show", "C-1", "--format", "json").stdout)["steps"][0]["done"]
        is None
    )


def test_session_cookie_is_httponly_samesite_lax_and_secure_behind_https(desk: Desk):
    for base, secure in (("http://testserver", False), ("https://desk.example", True)):
        client = desk.client(base)
        page = client.get("/signin")
        r = client.post(
            "/signin", data={"login": "alice", "password": PASSWORD, "csrf": csrf_of(page.text)}
        )
        assert r.status_code == 303
        cookie = next(
            v
            for k, v in r.headers.multi_items()
            if k == "set-cookie" and v.startswith("sopgen_session=")
        )
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
        assert ("Secure" in cookie) is secure


def test_sign_in_needs_the_forms_csrf_token_and_the_right_password(desk: Desk):
    client = desk.client()
    no_csrf = client.post("/signin", data={"login": "alice", "password": PASSWORD})
    assert no_csrf.status_code == 403 and "sopgen_session" not in no_csrf.headers.get(
        "set-cookie", ""
    )
    page = client.get("/signin")
    wrong = client.post(
        "/signin", data={"login": "alice", "password": "nope nope nope", "csrf": csrf_of(page.text)}
    )
    assert wrong.status_code == 401 and "Wrong login or password" in wrong.text
    assert "sopgen_session" not in wrong.headers.get("set-cookie", "")


def test_repeated_failed_sign_ins_are_slowed_down(desk: Desk):
    client = desk.client()
    csrf = csrf_of(client.get("/signin").text)
    for _ in range(3):
        r = client.post(
            "/signin", data={"login": "alice", "password": "guess guess 1", "csrf": csrf}
        )
        assert r.status_code == 401
    slowed = client.post("/signin", data={"login": "alice", "password": PASSWORD, "csrf": csrf})
    assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) >= 1
    assert "Too many failed sign-ins" in slowed.text
    from datetime import timedelta

    desk.clock.now += timedelta(minutes=10)
    ok = client.post("/signin", data={"login": "alice", "password": PASSWORD, "csrf": csrf})
    assert ok.status_code == 303


def test_every_form_post_needs_the_sessions_csrf_token(desk: Desk):
    open_via_api(desk, "C-1", "alice")
    alice = desk.signed_in("alice")
    page = alice.get("/cases/C-1")
    assert page.status_code == 200
    csrf = csrf_of(page.text)
    for data in ({}, {"csrf": "forged"}, {"csrf": csrf_of(desk.signed_in("bob").get("/").text)}):
        r = alice.post("/cases/C-1/steps/receive/done", data=data)
        assert r.status_code == 403 and "Form expired" in r.text
    r = alice.post("/cases/C-1/notes", data={"text": "hello"})
    assert r.status_code == 403
    assert "receive" not in json.dumps(
        [
            s
            for s in json.loads(desk.project.run("show", "C-1", "--format", "json").stdout)["steps"]
            if s["done"]
        ]
    )
    ok = alice.post("/cases/C-1/steps/receive/done", data={"csrf": csrf})
    assert ok.status_code == 303


def test_a_rep_works_own_and_unassigned_cases_only(desk: Desk):
    open_via_api(desk, "C-1", "bob")
    open_via_api(desk, "C-2", None)
    alice = desk.signed_in("alice")
    page = alice.get("/cases/C-1")
    assert page.status_code == 200 and "assigned to Bob" in page.text
    assert "Mark done" not in page.text
    csrf = csrf_of(page.text)
    r = alice.post("/cases/C-1/steps/receive/done", data={"csrf": csrf})
    assert r.status_code == 403
    assert alice.post("/cases/C-1/notes", data={"csrf": csrf, "text": "x"}).status_code == 403
    assert (
        alice.post("/cases/C-1/assign", data={"csrf": csrf, "assignee": "alice"}).status_code == 403
    )
    assert alice.post("/cases/C-2/steps/receive/done", data={"csrf": csrf}).status_code == 303
    mia = desk.signed_in("mia")
    mcsrf = csrf_of(mia.get("/cases/C-1").text)
    assert mia.post("/cases/C-1/steps/receive/done", data={"csrf": mcsrf}).status_code == 303
    assert (
        mia.post("/cases/C-1/assign", data={"csrf": mcsrf, "assignee": "alice"}).status_code == 303
    )
    shown = json.loads(desk.project.run("show", "C-1", "--format", "json").stdout)
    assert shown["assignee"] == "alice"
    # a rep opens cases for themselves or nobody
    form = alice.get("/cases/new")
    r = alice.post(
        "/cases/new",
        data={"csrf": csrf_of(form.text), "case": "C-9", "sop": SOP, "assignee": "bob"},
    )
    assert r.status_code == 403


def test_only_managers_see_the_dashboard_and_only_admins_manage_users(desk: Desk):
    alice = desk.signed_in("alice")
    assert alice.get("/dashboard").status_code == 403
    assert alice.get("/users").status_code == 403
    csrf = csrf_of(alice.get("/").text)
    add = {"csrf": csrf, "login": "eve", "name": "Eve", "role": "admin", "password": "x" * 12}
    assert alice.post("/users", data=add).status_code == 403
    assert alice.post("/users/bob/disable", data={"csrf": csrf}).status_code == 403
    assert "Dashboard" not in alice.get("/").text
    mia = desk.signed_in("mia")
    assert mia.get("/dashboard").status_code == 200
    assert mia.get("/users").status_code == 403
    ada = desk.signed_in("ada")
    assert ada.get("/users").status_code == 200
    acsrf = csrf_of(ada.get("/users").text)
    assert ada.post("/users", data={**add, "csrf": acsrf, "role": "rep"}).status_code == 303
    assert ada.post("/users/bob/disable", data={"csrf": acsrf}).status_code == 303
    assert {u.login for u in desk.app.state.desk.users.list() if u.disabled} == {"bob"}  # type: ignore[attr-defined]


def test_user_text_is_inert(desk: Desk):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    open_via_api(desk, "C-1", "alice", summary=evil)
    alice = desk.signed_in("alice")
    csrf = csrf_of(alice.get("/cases/C-1").text)
    assert alice.post("/cases/C-1/notes", data={"csrf": csrf, "text": evil}).status_code == 303
    for path in ("/", "/cases", "/cases/C-1"):
        html = alice.get(path).text
        assert "<script" not in html and "<img" not in html, path
    assert html.count("&lt;script&gt;") == 2  # the summary and the note, shown as text
    r = alice.get("/cases/C-1")
    assert "script-src" not in r.headers["content-security-policy"]
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_open_a_case_tick_a_step_and_the_deadline_moves_everywhere(desk: Desk):
    alice = desk.signed_in("alice")
    form = alice.get("/cases/new")
    assert 'value="alice" selected' in form.text
    r = alice.post(
        "/cases/new",
        data={
            "csrf": csrf_of(form.text),
            "case": "C-7",
            "sop": "SOP-CS-003",
            "received": "2026-11-23T09:00",
            "assignee": "alice",
            "summary": "Late parcel",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/cases/C-7"
    page = alice.get("/cases/C-7").text
    before = re.search(
        r'id="step-create-file.record-details".*?<time datetime="([^"]+)"', page, re.S
    )
    assert before and before.group(1) == "2026-11-23T10:00:00+01:00"
    r = alice.post(
        "/cases/C-7/steps/open-file/done", data={"csrf": csrf_of(page), "at": "2026-11-23T09:10"}
    )
    assert r.status_code == 303
    page = alice.get("/cases/C-7").text
    after = re.search(
        r'id="step-create-file.record-details".*?<time datetime="([^"]+)"', page, re.S
    )
    assert after and after.group(1) == "2026-11-23T09:40:00+01:00"
    assert "Done Mon 23 Nov 2026 09:10 CET" in page
    shown = json.loads(desk.project.run("show", "C-7", "--format", "json").stdout)
    record = next(s for s in shown["steps"] if s["step"] == "create-file.record-details")
    assert record["due"] == after.group(1)
    duplicate = alice.post("/cases/new", data={"csrf": csrf_of(page), "case": "C-7", "sop": SOP})
    assert duplicate.status_code == 409 and "already used" in duplicate.text


def test_my_work_lists_open_steps_soonest_first_with_wording_and_subscribe_links(desk: Desk):
    open_via_api(desk, "C-1", "alice")
    open_via_api(desk, "C-2", "bob")
    alice = desk.signed_in("alice")
    html = alice.get("/").text
    times = re.findall(r'<time datetime="([^"]+)"', html)
    assert times == sorted(times) and len(times) == 12
    assert "C-2" not in html
    assert "overdue by 1 hour" in html  # intake.receive, due Monday 09:00
    assert "Google Calendar refreshes subscriptions only every several hours" in html
    token = desk.tokens["alice"].feed_token
    feed = f"http://testserver/feeds/{token}.ics"
    assert (
        f'href="https://calendar.google.com/calendar/r?cid=webcal://testserver/feeds/{token}.ics"'
        in html
    )
    assert (
        'href="https://outlook.office.com/calendar/0/addfromweb?url=http%3A%2F%2Ftestserver%2Ffeeds%2F'
        f"{token}.ics&amp;name=" in html
    )
    assert html.count(f'href="webcal://testserver/feeds/{token}.ics"') == 2  # Apple, Thunderbird
    assert feed in html


def test_cases_page_filters(desk: Desk):
    open_via_api(desk, "C-1", "alice")
    open_via_api(desk, "C-2", "bob", sop="SOP-CS-003")
    open_via_api(desk, "C-3", None)
    mia = desk.signed_in("mia")

    def listed(query: str) -> set[str]:
        return set(re.findall(r'<a href="/cases/(C-\d)">', mia.get("/cases" + query).text))

    assert listed("") == {"C-1", "C-2", "C-3"}
    assert listed("?sop=SOP-CS-003") == {"C-2"}
    assert listed("?assignee=bob") == {"C-2"}
    assert listed("?assignee=-") == {"C-3"}
    assert listed("?overdue=1") == {"C-1", "C-2", "C-3"}
    assert listed("?status=due-soon") == set()


def test_my_work_and_cases_mark_a_priority_other_than_normal_and_cases_filter_by_it(
    desk: Desk,
):
    """A critical complaint must not look like a normal one in the lists (issue #11)."""
    open_via_api(desk, "C-1", "alice", priority="critical")
    open_via_api(desk, "C-2", "alice")
    open_via_api(desk, "C-3", "alice", priority="low")
    badge = '<span class="badge prio prio-{}" title="priority">{}</span>'
    urgent, low = badge.format("urgent", "critical"), badge.format("low", "low")
    work = desk.signed_in("alice").get("/").text
    items = re.findall(r'<li class="work-item.*?</li>', work, re.S)
    assert len(items) == 36  # 12 open steps of each case
    of = {c: [i for i in items if f'<a href="/cases/{c}#' in i] for c in ("C-1", "C-2", "C-3")}
    assert all(urgent in i for i in of["C-1"]) and all(low in i for i in of["C-3"])
    assert not any("prio" in i for i in of["C-2"])  # normal: no badge
    mia = desk.signed_in("mia")
    page = mia.get("/cases").text
    row = re.search(
        r'<tr class="s-[^"]*">\s*<td data-label="Case">.*?C-1</a>(.*?)</td>', page, re.S
    )
    assert row and urgent in row.group(1)
    # a no-JavaScript filter like the others; the priority in any case, as typed anywhere
    form = page.split('<form method="get" action="/cases"')[1].split("</form>")[0]
    options = re.findall(r'<option value="([^"]*)"', form.split('name="priority"')[1])
    assert options[:5] == ["", "critical", "high", "normal", "low"]

    def listed(query: str) -> set[str]:
        return set(re.findall(r'<a href="/cases/(C-\d)">', mia.get("/cases" + query).text))

    assert listed("?priority=critical") == {"C-1"}
    assert listed("?priority=Normal") == {"C-2"}
    assert listed("?priority=low&assignee=alice") == {"C-3"}
    assert listed("?priority=high") == set()
    chosen = mia.get("/cases?priority=CRITICAL").text
    assert '<option value="critical" selected>critical</option>' in chosen
    # a priority sopgen.yaml lacks (a hand-made address) filters nothing, as a bad status
    assert listed("?priority=urgent") == {"C-1", "C-2", "C-3"}


def test_only_admins_enable_users_again(desk: Desk):
    ada = desk.signed_in("ada")
    csrf = csrf_of(ada.get("/users").text)
    assert ada.post("/users/bob/disable", data={"csrf": csrf}).status_code == 303
    users = desk.app.state.desk.users  # type: ignore[attr-defined]
    for login in ("alice", "mia"):  # a rep and a manager
        other = desk.signed_in(login)
        refused = other.post("/users/bob/enable", data={"csrf": csrf_of(other.get("/").text)})
        assert refused.status_code == 403
        assert users.get("bob").disabled
    page = ada.get("/users").text
    assert 'action="/users/bob/enable"' in page and 'action="/users/alice/enable"' not in page
    assert ada.post("/users/bob/enable", data={"csrf": "forged"}).status_code == 403
    assert users.get("bob").disabled
    assert ada.post("/users/bob/enable", data={"csrf": csrf}).status_code == 303
    assert not users.get("bob").disabled
    assert desk.signed_in("bob").get("/").status_code == 200
    assert desk.client().get(f"/feeds/{desk.tokens['bob'].feed_token}.ics").status_code == 200


def test_dashboard_shows_overdue_counts_and_an_on_time_chart(desk: Desk):
    open_via_api(desk, "C-1", "alice", received="2026-11-23T09:00")
    api = desk.api("alice")
    api.post("/api/cases/C-1/steps/receive/done", json={"at": "2026-11-23T09:00"})  # on time
    api.post("/api/cases/C-1/steps/record/done", json={"at": "2026-11-23T09:59"})
    open_via_api(desk, "C-3", None, received="2026-11-20T14:00")
    api.post("/api/cases/C-3/steps/receive/done", json={"at": "2026-11-20T14:00"})
    api.post("/api/cases/C-3/steps/record/done", json={"at": "2026-11-23T09:59"})  # late
    open_via_api(desk, "C-2", "bob")  # received Friday: its intake is overdue
    html = desk.signed_in("mia").get("/dashboard").text
    assert "intake.receive" not in html
    # per step, the checklist's label and text (not the id), as the report names it, over
    # a bar for the last 30 and 90 days,
    # each followed by the share of the steps done and their number, as in the report
    [(name, rows)] = charts(html).items()
    assert name == "Share of steps done by their deadline, last 30 and 90 days"
    assert [(" ".join(label), widths, values) for label, widths, values in rows] == [
        (
            "SOP-CS-001 A1 Take in the complaint, whether it arrives by phone, by email or in "
            "person.",
            [100.0, 100.0],
            ["100 % of 2", "100 % of 2"],
        ),
        (
            "SOP-CS-001 A2 Enter the details of the complaint in the CRM system.",
            [50.0, 50.0],
            ["50 % of 2", "50 % of 2"],
        ),
    ]
    assert re.search(r'title="bob">Bob</a></td><td>\d+</td>', html)  # the name, login on hover
    assert ">bob</a>" not in html and ">Alice</a>" not in html


def test_dashboard_and_cases_name_people_and_tell_namesakes_apart(desk: Desk):
    """Overdue by assignee shows names as the cases table does; where two users share a
    name the login follows it, and an assignee who is no user is shown by login."""
    ada = desk.signed_in("ada")
    person = {"login": "bob2", "name": "Bob", "role": "rep", "password": PASSWORD}
    assert (
        ada.post("/users", data={**person, "csrf": csrf_of(ada.get("/users").text)}).status_code
        == 303
    )
    open_via_api(desk, "C-1", "bob")
    open_via_api(desk, "C-2", "bob2")
    open_via_api(desk, "C-3", "alice")
    open_via_api(desk, "C-4", None)
    desk.project.execute("UPDATE cases SET assignee = 'zoe' WHERE id = 'C-3'")  # from before users
    html = desk.signed_in("mia").get("/dashboard").text
    table = html.split("Overdue steps by assignee", 1)[1].split("</table>", 1)[0]
    shown = re.findall(r'<a href="/cases\?overdue=1&amp;assignee=([^"]+)"[^>]*>([^<]+)</a>', table)
    assert sorted(shown) == [
        ("-", "nobody"),
        ("bob", "Bob (bob)"),
        ("bob2", "Bob (bob2)"),
        ("zoe", "zoe"),
    ]
    cases = desk.signed_in("mia").get("/cases").text
    assert '<span title="bob">Bob (bob)</span>' in cases
    assert '<span title="zoe">zoe</span>' in cases
    assert '<option value="bob2" >Bob (bob2)</option>' in cases


def test_pages_feed_and_case_show_agree_on_every_deadline(desk: Desk):
    """A new rep's morning: a complaint from Friday 18:05, two steps ticked, a feed subscribed."""
    import icalendar

    alice = desk.signed_in("alice")
    form = alice.get("/cases/new")
    data = {"csrf": csrf_of(form.text), "case": "C-100", "sop": SOP, "received": "2026-11-20T18:05"}
    assert alice.post("/cases/new", data={**data, "assignee": "alice"}).status_code == 303
    page = alice.get("/cases/C-100").text
    for step, at in (("receive", "2026-11-23T09:05"), ("record", "2026-11-23T09:40")):
        r = alice.post(f"/cases/C-100/steps/{step}/done", data={"csrf": csrf_of(page), "at": at})
        assert r.status_code == 303
    page = alice.get("/cases/C-100").text
    on_page = {}
    for item in page.split('<li id="step-')[1:]:
        step, _, rest = item.partition('"')
        item_html = rest.split("</li>")[0]
        due = re.search(r'<time datetime="([^"]+)"', item_html)
        if due:  # done steps show when they were done instead
            on_page[step] = due.group(1)
    my_work = alice.get("/").text  # the subscribe links are there, no click needed
    token = re.search(r'href="webcal://testserver/feeds/([A-Za-z0-9_-]+)\.ics"', my_work)
    assert token
    feed = icalendar.Calendar.from_ical(desk.client().get(f"/feeds/{token.group(1)}.ics").content)
    in_feed = {
        str(e["UID"]).removeprefix("C-100.").split("@")[0]: e["DTEND"].dt
        for e in feed.walk("VEVENT")
    }
    shown = json.loads(desk.project.run("show", "C-100", "--format", "json").stdout)
    open_steps = {s["step"]: s["due"] for s in shown["steps"] if s["done"] is None}
    assert len(open_steps) == len(shown["steps"]) - 2
    assert on_page == open_steps
    assert set(in_feed) == set(open_steps)
    from datetime import datetime

    for step, due in open_steps.items():
        assert in_feed[step] == datetime.fromisoformat(due)


def test_two_desks_on_one_database_share_sessions_and_state(desk: Desk):
    """The desk keeps no state outside the database: a second instance serves the same user."""
    from sopgen.desk.app import create_app

    other = create_app(desk.root, clock=desk.clock)
    try:
        from starlette.testclient import TestClient

        open_via_api(desk, "C-1", "alice")
        alice = desk.signed_in("alice")
        second = TestClient(other, follow_redirects=False)
        second.cookies.update(alice.cookies)
        page = second.get("/cases/C-1")
        assert page.status_code == 200
        assert (
            second.post(
                "/cases/C-1/steps/receive/done", data={"csrf": csrf_of(page.text)}
            ).status_code
            == 303
        )
        assert "Done Mon 23 Nov 2026 10:00 CET" in alice.get("/cases/C-1").text
    finally:
        other.state.desk.store.close()


def test_refusals_speak_to_desk_users_not_to_the_command_line(desk: Desk):
    open_via_api(desk, "C-1", "alice")
    alice = desk.signed_in("alice")
    page = alice.get("/cases/C-1").text
    # a completion time before the case was received: back on the case page, value kept
    early = alice.post(
        "/cases/C-1/steps/intake.receive/done",
        data={"csrf": csrf_of(page), "at": "2026-11-19T10:00"},
    )
    assert early.status_code == 422
    assert "cannot be done" in early.text and "before case C-1 was received" in early.text
    assert "check the time given" in early.text
    assert "--at" not in early.text and "That did not work" not in early.text
    assert 'value="2026-11-19T10:00"' in early.text  # the form keeps what was typed
    assert 'id="step-intake.receive"' in early.text  # the case page, not a dead end
    # the same step twice: the hint says what to do here
    alice.post("/cases/C-1/steps/intake.receive/done", data={"csrf": csrf_of(page)})
    twice = alice.post("/cases/C-1/steps/intake.receive/done", data={"csrf": csrf_of(page)})
    assert twice.status_code == 409 and "reopen the step" in twice.text
    assert "sopgen case" not in twice.text
    # a duplicate case id links to the case page
    form = alice.get("/cases/new").text
    dup = alice.post("/cases/new", data={"csrf": csrf_of(form), "case": "C-1", "sop": SOP})
    assert dup.status_code == 409 and 'href="/cases/C-1"' in dup.text
    assert "sopgen case show" not in dup.text
    # a received time before the SOP took effect: no --allow-draft on the desk
    effective = alice.post(
        "/cases/new",
        data={"csrf": csrf_of(form), "case": "C-2", "sop": SOP, "received": "2020-01-01T10:00"},
    )
    assert effective.status_code == 422 and "takes effect" in effective.text
    # no version was in force then: the hint never asks for another received time
    assert "--allow-draft" not in effective.text
    assert "no released version of this SOP covered that day" in effective.text
    assert "on or after the effective date" not in effective.text


def test_api_errors_carry_no_command_line_hints(desk: Desk):
    open_via_api(desk, "C-1", "alice")
    api = desk.api("alice")
    missing = api.get("/api/cases/NOPE").json()["message"]
    assert "sopgen" not in missing and "list of open cases" in missing
    api.post("/api/cases/C-1/steps/receive/done")
    again = api.post("/api/cases/C-1/steps/receive/done").json()["message"]
    assert "sopgen" not in again and "reopen the step" in again
    dup = desk.api("mia").post("/api/cases", json={"case": "C-1", "sop": SOP}).json()["message"]
    assert "sopgen" not in dup


def test_cases_table_shows_labels_names_and_keeps_ids_and_dates_whole(desk: Desk):
    open_via_api(desk, "C-1", "alice")
    html = desk.signed_in("bob").get("/cases").text
    row = re.search(r'<tr class="s-[a-z-]+">.*?</tr>', html, re.S)
    assert row
    cells = row.group(0)
    assert '<td data-label="SOP" class="nowrap">SOP-CS-001</td>' in cells
    assert re.search(r'<span class="nowrap">\w{3} \d\d \w{3} 2026 \d\d:\d\d CET</span>', cells)
    assert '<span title="alice">Alice</span>' in cells  # the name, the login on hover
    assert re.search(r'title="intake\.record">A2</a>', cells)  # not the raw step id
    assert ".nowrap { white-space: nowrap; }" in desk.client().get("/desk.css").text


def test_the_case_page_names_the_assignee_and_shows_server_paths_to_admins_only(desk: Desk):
    open_via_api(desk, "C-1", "alice")
    rep = desk.signed_in("bob").get("/cases/C-1").text
    assert "output/cases" not in rep
    assert "Alice" in rep and "assigned to Alice" in rep
    assert 'open, next: <a href="#step-intake.record" title="intake.record">A2</a>' in rep
    assert "output/cases/C-1/" in desk.signed_in("ada").get("/cases/C-1").text


def test_the_open_form_sets_a_priority(desk: Desk):
    alice = desk.signed_in("alice")
    form = alice.get("/cases/new").text
    assert '<option value="normal" selected>normal</option>' in form
    assert '<option value="critical" >critical</option>' in form
    r = alice.post(
        "/cases/new",
        data={"csrf": csrf_of(form), "case": "C-9", "sop": SOP, "priority": "critical"},
    )
    assert r.status_code == 303, r.text
    assert desk.api("alice").get("/api/cases/C-9").json()["priority"] == "critical"
    bad = alice.post(
        "/cases/new", data={"csrf": csrf_of(form), "case": "C-8", "sop": SOP, "priority": "zzz"}
    )
    assert bad.status_code == 422 and "unknown priority" in bad.text
    assert '<option value="zzz"' not in bad.text
    mixed = alice.post(
        "/cases/new", data={"csrf": csrf_of(form), "case": "C-7", "sop": SOP, "priority": "High"}
    )  # a form built by hand or by another tool: any case, as everywhere
    assert mixed.status_code == 303, mixed.text
    assert desk.api("alice").get("/api/cases/C-7").json()["priority"] == "high"


def test_time_fields_leave_the_future_to_the_server(desk: Desk):
    """A new user's report: every time field carried `max` = the moment the page loaded,
    so a rep who kept a case open through a call could not tick it at the current minute
    (the browser refused it). The server judges instead, and says why with the typed
    value kept."""
    open_via_api(desk, "C-1", "alice")
    alice = desk.signed_in("alice")
    page = alice.get("/cases/C-1").text
    fields = re.findall(r'<input type="datetime-local"[^>]*>', page)
    fields += re.findall(r'<input type="datetime-local"[^>]*>', alice.get("/cases/new").text)
    assert len(fields) >= 5  # done at, hold, resume or priority, received
    assert not [f for f in fields if "max=" in f]
    future = alice.post(
        "/cases/C-1/steps/intake.receive/done",
        data={"csrf": csrf_of(page), "at": "2027-06-01T10:00"},
    )
    assert future.status_code == 422 and "future" in future.text
    assert 'value="2027-06-01T10:00"' in future.text


def test_users_page_points_to_the_open_cases_of_a_disabled_user(desk: Desk):
    open_via_api(desk, "C-1", "bob")
    open_via_api(desk, "C-2", "alice")
    ada = desk.signed_in("ada")
    assert (
        ada.post("/users/bob/disable", data={"csrf": csrf_of(ada.get("/users").text)}).status_code
        == 303
    )
    page = ada.get("/users").text
    assert '<a href="/cases?assignee=bob">1 open case to reassign</a>' in page
    assert "assignee=alice" not in page  # alice is active: her cases need no pointer
    listed = ada.get("/cases?assignee=bob").text
    assert 'href="/cases/C-1"' in listed and 'href="/cases/C-2"' not in listed
