"""Passwords on the desk: a user changes their own (with the current one), an admin sets
another user's; either ends that user's other sessions and keeps their feed and API
tokens. Reps and managers cannot set anyone's."""

from __future__ import annotations

from datetime import timedelta

from starlette.testclient import TestClient

from deskkit import PASSWORD, Desk, csrf_of, desk_fixture  # noqa: F401 - the `desk` fixture

NEW = "a new and longer passphrase"


def can_sign_in(desk: Desk, login: str, password: str) -> bool:
    c = desk.client()
    page = c.get("/signin")
    r = c.post("/signin", data={"login": login, "password": password, "csrf": csrf_of(page.text)})
    return r.status_code == 303


def signed_in_still(client: TestClient) -> bool:
    r = client.get("/")
    return r.status_code == 200


def change(client: TestClient, current: str, new: str, again: str | None = None) -> object:
    csrf = csrf_of(client.get("/account").text)
    data = {"csrf": csrf, "current": current, "new": new, "again": new if again is None else again}
    return client.post("/account/password", data=data)


def test_a_user_changes_their_password_and_their_other_sessions_end(desk: Desk):
    here, phone = desk.signed_in("alice"), desk.signed_in("alice")
    bob = desk.signed_in("bob")
    page = here.get("/")
    assert 'href="/account"' in page.text  # the name in the header leads there
    form = here.get("/account").text
    assert 'autocomplete="current-password"' in form and 'action="/account/password"' in form
    r = change(here, PASSWORD, NEW)
    assert r.status_code == 303 and r.headers["location"] == "/account?changed=1#password"
    assert "Your password was changed" in here.get("/account?changed=1").text
    assert signed_in_still(here)  # the browser it was changed in stays signed in
    assert phone.get("/").status_code == 303  # every other one is signed out
    assert phone.get("/").headers["location"].startswith("/signin")
    assert signed_in_still(bob)  # nobody else's
    assert not can_sign_in(desk, "alice", PASSWORD)
    assert can_sign_in(desk, "alice", NEW)
    # the calendar subscription and the CRM's token are not sign-ins: they keep working
    feed = desk.client().get(f"/feeds/{desk.tokens['alice'].feed_token}.ics")
    assert feed.status_code == 200
    assert desk.api("alice").get("/api/cases").status_code == 200


def test_a_change_needs_the_current_password_matching_new_ones_and_the_csrf_token(desk: Desk):
    alice, other = desk.signed_in("alice"), desk.signed_in("alice")
    wrong = change(alice, "not my password", NEW)
    assert wrong.status_code == 403 and "not your current password" in wrong.text
    differ = change(alice, PASSWORD, NEW, NEW + "!")
    assert differ.status_code == 422 and "two new passwords differ" in differ.text
    short = change(alice, PASSWORD, "short1")
    assert short.status_code == 422 and "shorter than 10" in short.text
    same = change(alice, PASSWORD, PASSWORD)
    assert same.status_code == 422 and "the one you have now" in same.text
    forged = alice.post(
        "/account/password", data={"current": PASSWORD, "new": NEW, "again": NEW, "csrf": "x"}
    )
    assert forged.status_code == 403
    nobody = desk.client().post("/account/password", data={"current": PASSWORD, "new": NEW})
    assert nobody.status_code == 303 and nobody.headers["location"] == "/signin"
    assert signed_in_still(other)  # nothing changed: no session ended
    assert can_sign_in(desk, "alice", PASSWORD)


def test_guessing_the_current_password_on_the_form_is_slowed_down(desk: Desk):
    alice = desk.signed_in("alice")
    for _ in range(3):
        assert change(alice, "a wrong guess!", NEW).status_code == 403
    refused = change(alice, PASSWORD, NEW)  # even the right one must wait now
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert can_sign_in(desk, "alice", PASSWORD) is False  # the same counter as sign-in
    desk.clock.now += timedelta(minutes=10)
    assert change(alice, PASSWORD, NEW).status_code == 303


def test_an_admin_sets_another_users_password_and_signs_them_out(desk: Desk):
    bob = desk.signed_in("bob")
    ada = desk.signed_in("ada")
    page = ada.get("/users").text
    assert 'action="/users/bob/password"' in page
    assert 'action="/users/ada/password"' not in page  # their own: on Your account
    r = ada.post("/users/bob/password", data={"csrf": csrf_of(page), "password": NEW})
    assert r.status_code == 303 and r.headers["location"] == "/users?password=bob"
    assert "New password set for Bob (bob)" in ada.get(r.headers["location"]).text
    assert bob.get("/").status_code == 303  # signed out
    assert not can_sign_in(desk, "bob", PASSWORD) and can_sign_in(desk, "bob", NEW)
    assert desk.client().get(f"/feeds/{desk.tokens['bob'].feed_token}.ics").status_code == 200
    assert desk.api("bob").get("/api/cases").status_code == 200
    short = ada.post("/users/bob/password", data={"csrf": csrf_of(page), "password": "short"})
    assert short.status_code == 422 and "shorter than 10" in short.text
    assert can_sign_in(desk, "bob", NEW)
    own = ada.post("/users/ada/password", data={"csrf": csrf_of(page), "password": NEW})
    assert own.status_code == 403 and "Your account" in own.text  # needs the current one
    # the same login spelt otherwise is still the admin's own (a reviewer's find: /ADA/
    # got past the check and set it without the current password)
    for spelt in ("ADA", "%20ada", "Ada%20"):
        own = ada.post(f"/users/{spelt}/password", data={"csrf": csrf_of(page), "password": NEW})
        assert own.status_code == 403, spelt
    assert can_sign_in(desk, "ada", PASSWORD) and signed_in_still(ada)


def test_reps_and_managers_cannot_set_anyones_password(desk: Desk):
    bob = desk.signed_in("bob")
    for login in ("alice", "mia"):
        who = desk.signed_in(login)
        csrf = csrf_of(who.get("/").text)
        r = who.post("/users/bob/password", data={"csrf": csrf, "password": NEW})
        assert r.status_code == 403
    assert 'action="/users/bob/password"' not in desk.signed_in("mia").get("/account").text
    assert signed_in_still(bob)
    assert can_sign_in(desk, "bob", PASSWORD) and not can_sign_in(desk, "bob", NEW)


def test_an_admin_cannot_disable_themselves_by_any_spelling(desk: Desk):
    """The Users page shows no Disable button on your own row; the action refuses too,
    however the login is spelt, so an admin cannot lock themselves out by a crafted post."""
    ada = desk.signed_in("ada")
    csrf = csrf_of(ada.get("/users").text)
    for spelt in ("ada", "ADA", "%20ada"):
        r = ada.post(f"/users/{spelt}/disable", data={"csrf": csrf})
        assert r.status_code == 403, spelt
    assert signed_in_still(ada) and can_sign_in(desk, "ada", PASSWORD)
    assert ada.post("/users/BOB/disable", data={"csrf": csrf}).status_code == 303  # others: yes
    assert not can_sign_in(desk, "bob", PASSWORD)
