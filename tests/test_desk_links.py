"""Calendar links on My work: one click to subscribe, derived from the server's secret key,
stored only as hashes, rotatable; a desk with another key is refused."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from deskkit import PASSWORD, Desk, csrf_of, desk_fixture  # noqa: F401 - the `desk` fixture
from sopgen.cases.errors import CaseError
from sopgen.cases.service.secretkey import ENV_KEY, KEY_FILE, SecretKey
from sopgen.cases.service.users import UserService, token_hash
from sopgen.cases.store.tables import Store
from sopgen.cli import cli
from sopgen.desk.app import create_app

SOP = "SOP-CS-001"
FEED = re.compile(r'href="webcal://testserver/feeds/([A-Za-z0-9_-]+)\.ics"')


def open_case(desk: Desk, case: str, who: str) -> None:
    body = {"case": case, "sop": SOP, "received": "2026-11-20T18:05", "assignee": who}
    assert desk.api("mia").post("/api/cases", json=body).status_code == 201


def link_on_my_work(client) -> str:  # type: ignore[no-untyped-def]
    tokens = set(FEED.findall(client.get("/").text))
    assert len(tokens) == 1, tokens
    return tokens.pop()


def uids(ics: str) -> set[str]:
    return set(re.findall(r"^UID:(.*)$", ics.replace("\r\n", "\n"), re.M))


def add_user(desk: Desk, login: str) -> None:
    result = desk.project.runner.invoke(
        cli,
        ["--root", str(desk.root), "user", "add", login, "--name", "Newcomer", "--role", "rep"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output


def test_my_work_shows_the_links_without_a_click_and_they_serve_that_users_feed(desk: Desk):
    open_case(desk, "C-1", "alice")
    open_case(desk, "C-2", "bob")
    add_user(desk, "nina")  # never asked for a link: My work makes one on the first visit
    open_case(desk, "C-3", "nina")
    for login, mine, theirs in (("alice", "C-1", "C-2"), ("nina", "C-3", "C-1")):
        client = desk.signed_in(login)
        html = client.get("/").text
        token = link_on_my_work(client)
        google = "https://calendar.google.com/calendar/r?cid=webcal://testserver/feeds/"
        assert f"{google}{token}.ics" in html
        assert "outlook.office.com/calendar/0/addfromweb?url=http%3A%2F%2Ftestserver" in html
        assert "Apple Calendar" in html and "Thunderbird" in html
        assert "Google Calendar refreshes subscriptions only every several hours" in html
        feed = desk.client().get(f"/feeds/{token}.ics")  # a calendar client: no session
        assert feed.status_code == 200
        assert f"{mine}" in feed.text and f"{theirs} " not in feed.text
        assert link_on_my_work(client) == token  # the same link on every visit


def test_the_cli_prints_the_same_link_as_my_work(desk: Desk):
    result = desk.project.runner.invoke(
        cli,
        ["--root", str(desk.root), "user", "token", "alice", "--base-url", "http://testserver"],
    )
    assert result.exit_code == 0, result.output
    token = link_on_my_work(desk.signed_in("alice"))
    assert f"http://testserver/feeds/{token}.ics" in result.output


def test_a_reps_page_never_shows_another_users_link(desk: Desk):
    links = {login: link_on_my_work(desk.signed_in(login)) for login in ("alice", "bob", "mia")}
    assert len(set(links.values())) == 3
    html = desk.signed_in("alice").get("/").text
    assert links["alice"] in html
    assert links["bob"] not in html and links["mia"] not in html
    for other in ("bob", "mia"):  # no way to ask for someone else's
        assert links[other] not in desk.signed_in("alice").get(f"/?login={other}").text


def test_a_new_link_replaces_the_old_one_at_once(desk: Desk):
    open_case(desk, "C-1", "alice")
    alice = desk.signed_in("alice")
    old = link_on_my_work(alice)
    page = alice.get("/").text
    assert alice.post("/subscribe", data={}).status_code == 403  # CSRF like every form
    assert link_on_my_work(alice) == old
    r = alice.post("/subscribe", data={"csrf": csrf_of(page)})
    assert r.status_code == 303 and r.headers["location"].startswith("/")
    new = link_on_my_work(alice)
    assert new != old
    assert "This is your new link" in alice.get(r.headers["location"]).text
    assert desk.client().get(f"/feeds/{old}.ics").status_code == 404
    assert desk.client().get(f"/feeds/{new}.ics").status_code == 200
    assert link_on_my_work(desk.signed_in("bob")) != new  # only alice's changed


def test_the_store_holds_no_token_only_hashes(desk: Desk):
    alice = desk.signed_in("alice")
    feed = link_on_my_work(alice)
    api = re.search(
        r'<code class="url">([^<]+)</code>',
        alice.post("/api-token", data={"csrf": csrf_of(alice.get("/").text)}).text,
    )
    assert api
    session = alice.cookies["sopgen_session"]
    secrets = {feed, api.group(1), session, *(t.api_token for t in desk.tokens.values())}
    secrets.add((desk.root / KEY_FILE).read_text().strip())
    _, rows = desk.project.state()
    assert rows
    dump = repr(rows)
    for secret in secrets:
        assert secret not in dump
    raw = b"".join(p.read_bytes() for p in (desk.root / ".sopgen").glob("cases.db*"))
    for secret in secrets:
        assert secret.encode() not in raw
    assert token_hash(feed) in dump  # what is kept instead


def test_an_api_token_is_shown_once_and_replaces_the_old_one(desk: Desk):
    alice = desk.signed_in("alice")
    page = alice.get("/").text
    assert "Get a new API token" in page
    assert alice.post("/api-token", data={}).status_code == 403  # CSRF like every form
    assert desk.client().post("/api-token", data={"csrf": csrf_of(page)}).status_code == 303
    assert desk.api("alice").get("/api/cases").status_code == 200  # neither replaced it
    r = alice.post("/api-token", data={"csrf": csrf_of(page)})
    token = re.search(r'<code class="url">([^<]+)</code>', r.text)
    assert r.status_code == 200 and token
    assert token.group(1) not in alice.get("/").text
    new = desk.client()
    new.headers["Authorization"] = f"Bearer {token.group(1)}"
    assert new.get("/api/cases").status_code == 200
    assert desk.api("alice").get("/api/cases").status_code == 401


def test_a_desk_with_another_key_is_refused_with_a_message(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(ENV_KEY, "another-key-another-key-another-key-42")
    with pytest.raises(CaseError) as refused:
        create_app(desk.root)
    assert "is not the one the case store" in refused.value.message
    assert ENV_KEY in refused.value.hint
    result = desk.project.runner.invoke(cli, ["--root", str(desk.root), "user", "token", "alice"])
    assert result.exit_code == 1
    assert "is not the one the case store" in result.output and "Traceback" not in result.output
    monkeypatch.delenv(ENV_KEY)
    old = link_on_my_work(desk.signed_in("alice"))
    (desk.root / KEY_FILE).unlink()  # the key is lost: a new one is made, and refused
    with pytest.raises(CaseError):
        create_app(desk.root)
    rekey = desk.project.runner.invoke(cli, ["--root", str(desk.root), "user", "rekey"])
    assert rekey.exit_code == 0, rekey.output
    app = create_app(desk.root, clock=desk.clock)
    desk.app.state.desk.store.close()  # type: ignore[attr-defined]
    desk.app = app
    new = link_on_my_work(desk.signed_in("alice"))
    assert new != old
    assert desk.client().get(f"/feeds/{new}.ics").status_code == 200
    assert desk.client().get(f"/feeds/{old}.ics").status_code == 404


def test_several_desks_share_a_key_through_the_environment(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    key = "a-shared-key-for-every-desk-of-the-team"
    monkeypatch.setenv(ENV_KEY, key)
    url = desk.app.state.desk.store.url  # type: ignore[attr-defined]
    links = []
    for n in (1, 2):
        store = Store(url)
        users = UserService(store, SecretKey(tmp_path / f"machine{n}"))
        if n == 1:
            with pytest.raises(CaseError):  # the store was set up with the file's key
                users.feed_link("alice")
            users.rekey()
        links.append(users.feed_link("alice"))
        store.close()
    assert links[0] == links[1]
    assert not (tmp_path / "machine1" / KEY_FILE).exists()  # the variable wins


def test_the_key_file_is_made_private_and_refused_when_others_may_read_it(desk: Desk):
    path = desk.root / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert str(path).startswith(str(desk.root))  # in the project's folder, not in HOME
    os.chmod(path, 0o644)
    with pytest.raises(CaseError) as refused:
        create_app(desk.root)
    assert "may be read by other users" in refused.value.message
    assert "chmod 600" in refused.value.hint


def test_a_link_from_before_derived_links_keeps_working_until_replaced(desk: Desk):
    legacy = "l" * 43  # a random token an earlier sopgen issued
    desk.project.execute(
        f"UPDATE users SET feed_token_hash = '{token_hash(legacy)}' WHERE login = 'alice'"
    )
    assert desk.client().get(f"/feeds/{legacy}.ics").status_code == 200
    alice = desk.signed_in("alice")
    page = alice.get("/").text
    assert not FEED.findall(page) and "made by an earlier version of the desk" in page
    listed = desk.project.runner.invoke(
        cli, ["--root", str(desk.root), "user", "token", "alice", "--format", "json"]
    )
    assert json.loads(listed.stdout)["feed_url"] is None
    alice.post("/subscribe", data={"csrf": csrf_of(page)})
    new = link_on_my_work(alice)
    assert desk.client().get(f"/feeds/{new}.ics").status_code == 200
    assert desk.client().get(f"/feeds/{legacy}.ics").status_code == 404


def test_serve_remind_and_user_token_take_the_desks_address_from_one_place(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
):
    from sopgen.cases.views.mail import case_link

    def token_output(*extra: str) -> str:
        args = ["--root", str(desk.root), "user", "token", "alice", *extra]
        result = desk.project.runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        return result.output

    monkeypatch.delenv("SOPGEN_BASE_URL", raising=False)
    token = link_on_my_work(desk.signed_in("alice"))
    unknown = token_output()
    assert f"calendar feed: /feeds/{token}.ics" in unknown  # no made-up address
    assert "--base-url, SOPGEN_BASE_URL or reminders.base_url" in unknown
    assert "127.0.0.1:8000" not in unknown

    config = desk.root / "sopgen.yaml"
    config.write_text(config.read_text() + "reminders:\n  base_url: http://127.0.0.1:8765/\n")
    app = create_app(desk.root, clock=desk.clock)
    desk.app.state.desk.store.close()  # type: ignore[attr-defined]
    desk.app = app
    my_work = desk.signed_in("alice").get("/").text
    link = f"http://127.0.0.1:8765/feeds/{token}.ics"
    assert link in my_work
    assert f"calendar feed: {link}" in token_output()  # the same link as My work
    assert app.state.desk.config.reminders.base_url == "http://127.0.0.1:8765"  # type: ignore[attr-defined]
    assert case_link(app.state.desk.config, "C-1") == "http://127.0.0.1:8765/cases/C-1"  # type: ignore[attr-defined]

    monkeypatch.setenv("SOPGEN_BASE_URL", "https://desk.example/")  # the variable wins
    assert f"calendar feed: https://desk.example/feeds/{token}.ics" in token_output()
    assert case_link(app.state.desk.config, "C-1") == "https://desk.example/cases/C-1"  # type: ignore[attr-defined]
    assert f"https://x.example/feeds/{token}.ics" in token_output("--base-url", "https://x.example")
