"""People of the desk: users, their passwords, calendar-feed and API tokens, sessions.

The service behind `sopgen user …` and `sopgen serve`; both call these
functions and share the case store.

- Passwords are kept as Argon2id hashes (argon2-cffi's defaults, RFC 9106).
- Feed and API tokens are 256-bit random strings (`secrets`); the store keeps
  only their SHA-256 (a token is random, so a fast hash is enough, and a
  lookup by hash needs no scan). A token is shown once, when it is issued;
  rotating replaces both and the old ones stop working at once.
- A browser session is a random token in a cookie; the store keeps its hash,
  its CSRF token and when it expires, so any number of servers can check it.
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

from sqlalchemy import select
from sqlalchemy.orm import Session

from sopgen.cases.errors import CaseError
from sopgen.cases.store import DeskSession, SignInFailure, Store, UserRecord

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

    @property
    def manages(self) -> bool:
        """Managers and admins work every case and (re)assign cases."""
        return self.role in ("manager", "admin")

    @property
    def admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Tokens:
    login: str
    feed_token: str
    api_token: str


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
        has_tokens=record.feed_token_hash is not None,
    )


class UserService:
    """Users, tokens and sessions in one case store."""

    def __init__(self, store: Store):
        self.store = store
        self._hasher: PasswordHasher | None = None

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

    def disable(self, login: str) -> User:
        """A disabled user can neither sign in nor use tokens; their sessions end."""
        with self.store.write() as session:
            record = _known(session, login)
            record.disabled = True
            for gone in session.scalars(
                select(DeskSession).where(DeskSession.login == record.login)
            ):
                session.delete(gone)
            return _user(record)

    def issue_tokens(self, login: str, *, rotate: bool = False) -> Tokens:
        """New feed and API tokens for `login`, shown this once.

        Tokens are stored only as hashes, so existing ones cannot be shown
        again: without `rotate`, a user who already has tokens gets an error.
        """
        with self.store.write() as session:
            record = _known(session, login)
            if record.disabled:
                raise CaseError(
                    f"user '{record.login}' is disabled", "tokens of a disabled user do not work"
                )
            if record.feed_token_hash is not None and not rotate:
                raise CaseError(
                    f"user '{record.login}' already has tokens; they were shown when issued "
                    "and are stored only as hashes",
                    "issue new ones (the old ones stop working): "
                    f"sopgen user token {record.login} --rotate",
                )
            feed, api = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            record.feed_token_hash = token_hash(feed)
            record.api_token_hash = token_hash(api)
            return Tokens(record.login, feed, api)

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
        key = login.strip().lower()[:64]
        with self.store.write() as session:
            failure = session.get(SignInFailure, key)
            if failure is not None:
                wait = failure_wait(failure.count) - (now - failure.last_at)
                if wait > timedelta(0):
                    raise SignInRefused(wait)
            record = session.get(UserRecord, key) if LOGIN.fullmatch(key) else None
            if record is None or record.disabled or not self._verify(record, password):
                if failure is None:
                    session.add(SignInFailure(login=key, count=1, last_at=now))
                else:
                    failure.count += 1
                    failure.last_at = now
                return None
            if failure is not None:
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

    def _verify(self, record: UserRecord, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(self.hasher.verify(record.password_hash, password))
        except (VerificationError, InvalidHashError):
            return False

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


def _known(session: Session, login: str) -> UserRecord:
    record = session.get(UserRecord, login.strip().lower())
    if record is None:
        raise CaseError(f"no user '{login}'", "list users with: sopgen user list")
    return record


def _seconds(wait: timedelta) -> int:
    return max(1, int(wait.total_seconds() + 0.999))
