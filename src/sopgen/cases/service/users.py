"""People of the desk: users, their passwords, calendar-feed and API tokens, sessions.

The service behind `sopgen user …` and `sopgen serve`; both call these
functions and share the case store.

- Passwords are kept as Argon2id hashes (argon2-cffi's defaults, RFC 9106).
- A calendar-feed token is derived from the server's secret key, the login and
  the user's `feed_generation` (`sopgen.cases.service.secretkey`), so My work can show
  it on every visit; an API token is a 256-bit random string (`secrets`),
  shown once when issued. The store keeps only their SHA-256 (both are
  unguessable, so a fast hash is enough, and a lookup by hash needs no scan),
  compared in constant time. Rotating the feed raises the generation; the old
  link stops working at once. A feed token issued before feed tokens were
  derived (random, by an earlier sopgen) keeps working but cannot be shown again:
  `feed_link` says so and a rotation replaces it with a derived one.
- A browser session is a random token in a cookie; the store keeps its hash,
  its CSRF token and when it expires, so any number of servers can check it.
- A new password (changed by the user, or set by an admin or `sopgen user
  password`) ends the user's other sessions at once: sessions live in the
  store, so every desk sees them gone on the next request. Feed and API tokens
  stay as they were (a calendar subscription is not a sign-in).
- Failed sign-ins per login are counted; after `FREE_FAILURES` each further
  attempt must wait longer (doubling, at most `MAX_WAIT`), whether the login
  exists or not, so guessing is slow and probing reveals nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sopgen.cases.errors import CaseError
from sopgen.cases.service.secretkey import SecretKey, adopt, derive_feed_token, load_key
from sopgen.cases.store.tables import (
    CaseRecord,
    DeskSession,
    SignInFailure,
    Store,
    UserRecord,
    insert_missing,
)

if TYPE_CHECKING:
    from argon2 import PasswordHasher

ROLES = ("rep", "manager", "admin")
LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
LOGIN_HINT = "a login is 1–64 lower-case letters, digits, '.', '_' or '-', e.g. alice"
MIN_PASSWORD = 10
SESSION_LIFETIME = timedelta(hours=12)
FREE_FAILURES = 3
MAX_WAIT = timedelta(minutes=5)


@dataclass(frozen=True)
class User:
    login: str
    name: str
    role: str
    email: str | None
    disabled: bool
    has_tokens: bool
    has_api_token: bool = False

    @property
    def manages(self) -> bool:
        """Managers and admins work every case and (re)assign cases."""
        return self.role in ("manager", "admin")

    @property
    def admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Tokens:
    """A user's feed token (None: issued before derivation, cannot be shown) and API token
    (None unless issued just now: it is shown only then)."""

    login: str
    feed_token: str | None
    api_token: str | None


@dataclass(frozen=True)
class SignedIn:
    user: User
    csrf: str


class SignInRefused(Exception):
    """Too many failed sign-ins for this login: try again after `wait`."""

    def __init__(self, wait: timedelta):
        super().__init__(f"too many failed sign-ins; try again in {_seconds(wait)} s")
        self.wait = wait


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def valid_login(login: str) -> str:
    clean = login.strip().lower()
    if not LOGIN.fullmatch(clean):
        raise CaseError(f"'{login}' is not a valid login", LOGIN_HINT)
    return clean


def _user(record: UserRecord) -> User:
    return User(
        login=record.login,
        name=record.name,
        role=record.role,
        email=record.email,
        disabled=record.disabled,
        has_tokens=record.feed_token_hash is not None or record.api_token_hash is not None,
        has_api_token=record.api_token_hash is not None,
    )


class UserService:
    """Users, tokens and sessions in one case store."""

    def __init__(self, store: Store, secret: SecretKey | None = None):
        self.store = store
        self.secret = secret
        self._hasher: PasswordHasher | None = None
        self._dummy_hash: str | None = None

    @property
    def hasher(self) -> PasswordHasher:
        """Argon2id with argon2-cffi's defaults (loaded only when a password is used)."""
        if self._hasher is None:
            from argon2 import PasswordHasher

            self._hasher = PasswordHasher()  # Argon2id with RFC 9106's low-memory profile
        return self._hasher

    # ------------------------------------------------------------------ managing users

    def add(
        self,
        login: str,
        name: str,
        role: str,
        password: str,
        now: datetime,
        email: str | None = None,
    ) -> User:
        login = valid_login(login)
        name = " ".join(name.split())
        if not name or len(name) > 200 or any(ord(c) < 32 for c in name):
            raise CaseError("the name must be 1–200 printable characters", "e.g. --name 'Alice Ng'")
        if role not in ROLES:
            raise CaseError(f"unknown role '{role}'", f"choose one of: {', '.join(ROLES)}")
        if email is not None:
            email = email.strip() or None
            if email is not None and not re.fullmatch(r"[^@\s]{1,64}@[^@\s]{1,255}", email):
                raise CaseError(f"'{email}' is not an e-mail address", "e.g. alice@example.com")
        check_password(password)
        hashed = self.hasher.hash(password)
        with self.store.write() as session:
            if session.get(UserRecord, login) is not None:
                raise CaseError(
                    f"user '{login}' already exists", "list users with: sopgen user list"
                )
            record = UserRecord(
                login=login,
                name=name,
                role=role,
                email=email,
                password_hash=hashed,
                disabled=False,
                feed_token_hash=None,
                feed_generation=0,
                api_token_hash=None,
                created_at=now,
            )
            session.add(record)
            return _user(record)

    def list(self) -> list[User]:
        with self.store.read() as session:
            return [
                _user(r) for r in session.scalars(select(UserRecord).order_by(UserRecord.login))
            ]

    def open_cases(self) -> dict[str, int]:
        """login -> how many open cases are assigned to it (logins with none left out)."""
        with self.store.read() as session:
            rows = session.execute(
                select(CaseRecord.assignee, func.count())
                .where(CaseRecord.closed_at.is_(None), CaseRecord.assignee.is_not(None))
                .group_by(CaseRecord.assignee)
            )
            return {login: count for login, count in rows if login}

    def open_case_ids(self, login: str) -> tuple[str, ...]:
        """The open cases assigned to `login`, by id."""
        with self.store.read() as session:
            return tuple(
                session.scalars(
                    select(CaseRecord.id)
                    .where(CaseRecord.assignee == login, CaseRecord.closed_at.is_(None))
                    .order_by(CaseRecord.id)
                )
            )

    def get(self, login: str) -> User | None:
        with self.store.read() as session:
            record = session.get(UserRecord, login.strip().lower())
            return _user(record) if record is not None else None

    def logins(self) -> set[str]:
        """Logins of users who may be assigned cases (not disabled)."""
        with self.store.read() as session:
            return set(
                session.scalars(select(UserRecord.login).where(UserRecord.disabled.is_(False)))
            )

    def check_assignee(self, assignee: str | None) -> None:
        """Refuse (CaseError) an assignee who is not a user of the desk, as opening the case
        would: the desk and the API check this before whether the asker may open a case for
        that assignee, so a rep and an admin get the same answer for a login that does not
        exist. Any assignee goes while the desk has no users."""
        if assignee is None:
            return
        with self.store.read() as session:
            if session.scalars(select(UserRecord.login).limit(1)).first() is None:
                return
            record = session.get(UserRecord, assignee.strip().lower())
            if record is not None and not record.disabled:
                return
        raise CaseError(
            f"'{assignee}' is not a user of the desk",
            "assign the case to a user's login (see: sopgen user list)",
        )

    def disable(self, login: str) -> User:
        """A disabled user can neither sign in nor use tokens; their sessions end."""
        with self.store.write() as session:
            record = _known(session, login)
            record.disabled = True
            _end_sessions(session, record.login, keep=None)
            return _user(record)

    def set_password(self, login: str, password: str) -> User:
        """An admin's (or `sopgen user password`'s) new password for `login`: every session
        of the user ends and any wait after failed sign-ins is lifted; tokens stay."""
        check_password(password)
        hashed = self.hasher.hash(password)
        with self.store.write() as session:
            record = _known(session, login)
            record.password_hash = hashed
            _end_sessions(session, record.login, keep=None)
            failure = session.get(SignInFailure, record.login)
            if failure is not None:
                session.delete(failure)
            return _user(record)

    def change_password(
        self, login: str, current: str, new: str, now: datetime, keep: str | None = None
    ) -> bool:
        """The user's own change: only with their current password (False when it is
        wrong, counted as a failed sign-in, so the form cannot be used to guess it).
        Every session of theirs but `keep` (the one they changed it in) ends; tokens stay.

        Raises SignInRefused while the login must wait after repeated failures.
        """
        check_password(new)
        if new == current:
            raise CaseError("the new password is the one you have now", "choose a different one")
        hashed = self.hasher.hash(new)  # before the write: hashing takes a while
        key = login.strip().lower()
        with self.store.write() as session:
            failure = _not_waiting(session, key, now)
            record = _active(session, key)
            if not self._verify(record.password_hash, current):
                _failed(failure, now)
                return False
            session.delete(failure)
            record.password_hash = hashed
            _end_sessions(session, record.login, keep=token_hash(keep) if keep else None)
            return True

    def enable(self, login: str) -> tuple[User, bool]:
        """Undo `disable`: the user signs in again with their password, and their feed link
        and API token (kept while disabled) work again. Also whether anything changed."""
        with self.store.write() as session:
            record = _known(session, login)
            was = record.disabled
            record.disabled = False
            return _user(record), was

    def issue_tokens(self, login: str, *, rotate: bool = False) -> Tokens:
        """`login`'s feed token (made on first use) and, when the user has none yet or
        `rotate`, a new API token (shown this once). `rotate` also gives a new feed
        token; the old tokens stop working at once."""
        key = self._key()  # before the write: checking the key may write to the store
        with self.store.write() as session:
            record = _active(session, login)
            feed = _new_feed(record, key) if rotate else _feed_of(record, key)
            api = None
            if rotate or record.api_token_hash is None:
                api = secrets.token_urlsafe(32)
                record.api_token_hash = token_hash(api)
            return Tokens(record.login, feed, api)

    def feed_link(self, login: str) -> str | None:
        """`login`'s feed token, made on first use; None when the user's token was issued
        before tokens were derived (it still works, but only a new one can be shown)."""
        key = self._key()
        with self.store.read() as session:
            record = _active(session, login)
            if record.feed_token_hash is not None:
                return _current(record, key)
        with self.store.write() as session:
            return _feed_of(_active(session, login), key)

    def rotate_feed(self, login: str) -> str:
        """A new feed token for `login`; the old one stops working at once."""
        key = self._key()
        with self.store.write() as session:
            return _new_feed(_active(session, login), key)

    def rotate_api(self, login: str) -> str:
        """A new API token for `login`, shown this once; the old one stops working."""
        with self.store.write() as session:
            record = _active(session, login)
            api = secrets.token_urlsafe(32)
            record.api_token_hash = token_hash(api)
            return api

    def rekey(self) -> int:
        """Adopt this sopgen's secret key for the store (the old one was lost or leaked):
        every feed link is replaced by one derived from the new key. The number replaced."""
        secret = self._secret()
        key, _ = load_key(secret.root, secret.environ)
        adopt(self.store, key)
        material = _Material(key, self.store.installation_id)
        with self.store.write() as session:
            records = session.scalars(
                select(UserRecord).where(UserRecord.feed_token_hash.is_not(None))
            ).all()
            for record in records:
                _new_feed(record, material)
            return len(records)

    def _secret(self) -> SecretKey:
        if self.secret is None:
            raise CaseError(
                "calendar links need the server's secret key, and none was given",
                "this is a bug in sopgen",
            )
        return self.secret

    def _key(self) -> _Material:
        """The key and the store's installation id, read before any write transaction
        (on SQLite a second writer in the same process would wait for the first)."""
        return _Material(self._secret().for_store(self.store), self.store.installation_id)

    # ------------------------------------------------------------------ tokens

    def by_feed_token(self, token: str, session: Session | None = None) -> User | None:
        """The user whose feed token this is (None for any other); in `session` when given,
        so a feed reads its user and its cases in one transaction."""
        return self._by_token(UserRecord.feed_token_hash, token, session)

    def by_api_token(self, token: str) -> User | None:
        return self._by_token(UserRecord.api_token_hash, token)

    def _by_token(self, column: Any, token: str, session: Session | None = None) -> User | None:
        if not token or len(token) > 200:
            return None
        if session is None:
            with self.store.read() as own:
                return self._by_token(column, token, own)
        wanted = token_hash(token)
        record = session.scalars(select(UserRecord).where(column == wanted)).one_or_none()
        if record is None or record.disabled:
            return None
        stored = getattr(record, column.key)
        if stored is None or not hmac.compare_digest(stored, wanted):
            return None
        return _user(record)

    # ------------------------------------------------------------------ signing in

    def sign_in(self, login: str, password: str, now: datetime) -> tuple[str, SignedIn] | None:
        """A new session for `login` when the password is right; None when it is not.

        Raises SignInRefused while the login must wait after repeated failures
        (the password is then not even checked).
        """
        key = throttle_key(login)
        dummy = self._dummy()  # made before the write (on first use only)
        with self.store.write() as session:
            failure = _not_waiting(session, key, now)
            record = session.get(UserRecord, key) if LOGIN.fullmatch(key) else None
            # the same Argon2 work whether the login exists, is disabled or not: the
            # answer's timing tells nothing about which logins there are
            right = self._verify(record.password_hash if record else dummy, password)
            if record is None or record.disabled or not right:
                _failed(failure, now)
                return None
            session.delete(failure)
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            session.add(
                DeskSession(
                    token_hash=token_hash(token),
                    login=record.login,
                    csrf=csrf,
                    created_at=now,
                    expires_at=now + SESSION_LIFETIME,
                )
            )
            return token, SignedIn(_user(record), csrf)

    def _verify(self, password_hash: str, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(self.hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        """A hash of a random password, with the parameters new passwords get: what a
        sign-in for an unknown login is checked against (made once, on first use)."""
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    def session_user(self, token: str, now: datetime) -> SignedIn | None:
        """Who holds this session cookie (None: unknown, expired, or the user is disabled)."""
        if not token or len(token) > 200:
            return None
        with self.store.read() as session:
            row = session.get(DeskSession, token_hash(token))
            if row is None or row.expires_at <= now:
                return None
            record = session.get(UserRecord, row.login)
            if record is None or record.disabled:
                return None
            return SignedIn(_user(record), row.csrf)

    def sign_out(self, token: str, now: datetime) -> None:
        with self.store.write() as session:
            row = session.get(DeskSession, token_hash(token))
            if row is not None:
                session.delete(row)
            for old in session.scalars(select(DeskSession).where(DeskSession.expires_at <= now)):
                session.delete(old)


def _end_sessions(session: Session, login: str, keep: str | None) -> None:
    """Delete `login`'s sessions, but the one whose token hash is `keep`."""
    for gone in session.scalars(select(DeskSession).where(DeskSession.login == login)):
        if gone.token_hash != keep:
            session.delete(gone)


def throttle_key(login: str) -> str:
    """Whose failed sign-ins an attempt with `login` counts under: the login as users
    type it (trimmed, lower case); a text that cannot be a login (too long, or with
    characters no login has) under a digest of it, so any text can be counted."""
    key = login.strip().lower()
    if LOGIN.fullmatch(key):
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"?{digest[:63]}"


def failure_wait(count: int) -> timedelta:
    """How long a login must wait after `count` failed sign-ins in a row."""
    if count < FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (count - FREE_FAILURES + 1)), MAX_WAIT)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise CaseError(
            f"the password is shorter than {MIN_PASSWORD} characters",
            "choose a longer one (a few random words work well)",
        )
    if len(password) > 1024:
        raise CaseError("the password is longer than 1024 characters", "choose a shorter one")


@dataclass(frozen=True)
class _Material:
    key: bytes
    installation: str


def _derive(record: UserRecord, material: _Material) -> str:
    return derive_feed_token(
        material.key, material.installation, record.login, record.feed_generation
    )


def _current(record: UserRecord, material: _Material) -> str | None:
    """The record's feed token when its stored hash is the derived one's (constant time)."""
    token = _derive(record, material)
    stored = record.feed_token_hash
    if stored is None or not hmac.compare_digest(stored, token_hash(token)):
        return None
    return token


def _feed_of(record: UserRecord, material: _Material) -> str | None:
    """The record's feed token, made when it has none (in the caller's write)."""
    if record.feed_token_hash is None:
        token = _derive(record, material)
        record.feed_token_hash = token_hash(token)
        return token
    return _current(record, material)


def _new_feed(record: UserRecord, material: _Material) -> str:
    record.feed_generation += 1
    token = _derive(record, material)
    record.feed_token_hash = token_hash(token)
    return token


def _not_waiting(session: Session, key: str, now: datetime) -> SignInFailure:
    """The login's failed sign-ins so far, its row locked until the transaction ends;
    SignInRefused while it must still wait after them (the password is then not even
    checked).

    The row is made (with no failures) when missing and locked (`FOR UPDATE`) before
    the password is checked, so concurrent attempts for one login take turns: each
    sees the failures counted before it, and no more passwords are checked than the
    throttle allows. SQLite's writers take turns anyway (`BEGIN IMMEDIATE`)."""
    insert_missing(session, SignInFailure, {"login": key, "count": 0, "last_at": now})
    failure = session.scalars(
        select(SignInFailure)
        .where(SignInFailure.login == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    wait = failure_wait(failure.count) - (now - failure.last_at)
    if wait > timedelta(0):
        raise SignInRefused(wait)
    return failure


def _failed(failure: SignInFailure, now: datetime) -> None:
    """Count one more wrong password (sign-in or a password change alike), in the row
    `_not_waiting` locked."""
    failure.count += 1
    failure.last_at = now


def _active(session: Session, login: str) -> UserRecord:
    record = _known(session, login)
    if record.disabled:
        raise CaseError(
            f"user '{record.login}' is disabled", "tokens of a disabled user do not work"
        )
    return record


def _known(session: Session, login: str) -> UserRecord:
    record = session.get(UserRecord, login.strip().lower())
    if record is None:
        raise CaseError(f"no user '{login}'", "list users with: sopgen user list")
    return record


def _seconds(wait: timedelta) -> int:
    return max(1, int(wait.total_seconds() + 0.999))
