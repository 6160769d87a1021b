"""The server secret key, and the calendar-feed tokens derived from it.

Why derived: My work shows each user their subscribe links on every visit (one
click to subscribe), yet the store must never hold a token it could leak. So a
feed token is not stored but computed when needed:

    feed_token = urlsafe-base64(HMAC-SHA256(key, "feed:" + installation id + ":"
                                             + login + ":" + generation))

and the store keeps only its SHA-256 (the feed's lookup by hash is unchanged)
and the user's `feed_generation`. Rotating a link raises the generation and
replaces the hash, so the old link is unknown at once. Without the key, a copy
of the database (a backup, an export) gives nobody a working link; the
installation id keeps two databases that happen to share a key from sharing
links. API tokens stay random and are shown once: they are used by programs,
which keep them, not by people who come back for them.

The key comes from `SOPGEN_SECRET_KEY` (at least 32 characters), else from the
file `.sopgen/secret.key` under the repository root (next to the default case
store; never in the home directory), made on first use with mode 0600 and
refused when other users may read it. Every sopgen that uses one database —
each `serve` instance, and `sopgen user token` — must use the same key: the
first to use it writes a check value (an HMAC of a fixed text, which reveals
nothing of the key) into the store's `sopgen_meta`, and a sopgen whose key
gives another value is refused with a message instead of handing out links
that do not work.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import select

from sopgen.cases.errors import CaseError
from sopgen.cases.store.tables import Meta, Store, insert_missing
from sopgen.files import DiskFullError, disk_full

ENV_KEY = "SOPGEN_SECRET_KEY"
KEY_FILE = Path(".sopgen") / "secret.key"
MIN_LENGTH = 32
CHECK = "secret_key_check"
_CHECK_TEXT = b"sopgen secret key check 1"
NEW_KEY_HINT = "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def key_file(root: Path) -> Path:
    return root / KEY_FILE


def load_key(root: Path, environ: Mapping[str, str] | None = None) -> tuple[bytes, str]:
    """(the key, where it came from): SOPGEN_SECRET_KEY, else the key file (made if missing)."""
    env = os.environ if environ is None else environ
    given = env.get(ENV_KEY)
    if given is not None:
        if len(given.strip()) < MIN_LENGTH:
            raise CaseError(f"{ENV_KEY} is shorter than {MIN_LENGTH} characters", NEW_KEY_HINT)
        return given.strip().encode("utf-8"), ENV_KEY
    path = key_file(root)
    if not path.exists():
        _create(path)
    return _read(path), str(path)


def _create(path: Path) -> None:
    """A new random key in `path`, mode 0600, atomically: two sopgens starting at once
    end up with one key (the second finds the first's file and reads it)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(secrets.token_urlsafe(32) + "\n")
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(temp, path)
        finally:
            temp.unlink(missing_ok=True)
    except OSError as exc:
        if disk_full(exc):
            full = DiskFullError(path)
            raise CaseError(f"{full.message} (the desk's secret key)", full.hint) from None
        raise CaseError(
            f"cannot create the secret key file {path}: {exc.strerror or exc}",
            f"make the folder writable, or set {ENV_KEY}",
        ) from None


def _read(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CaseError(
                f"the secret key file {path} may be read by other users "
                f"(mode {stat.S_IMODE(mode):04o})",
                f"restrict it to its owner: chmod 600 {path}",
            )
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CaseError(
            f"cannot read the secret key file {path}: {exc.strerror or exc}",
            f"check its permissions, or set {ENV_KEY}",
        ) from None
    except UnicodeDecodeError:
        text = ""
    if len(text) < MIN_LENGTH:
        raise CaseError(
            f"the secret key file {path} holds no key of at least {MIN_LENGTH} characters",
            f"delete it to have a new one made (every calendar link changes), or {NEW_KEY_HINT}",
        )
    return text.encode("utf-8")


def check_value(key: bytes) -> str:
    return hmac.new(key, _CHECK_TEXT, hashlib.sha256).hexdigest()


def derive_feed_token(key: bytes, installation: str, login: str, generation: int) -> str:
    message = f"feed:{installation}:{login}:{generation}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class SecretKey:
    """The key of one repository root for one store: loaded and checked against the store
    once, on first use (so commands that never touch feed links never need it)."""

    def __init__(self, root: Path, environ: Mapping[str, str] | None = None):
        self.root = root
        self.environ = environ
        self._key: bytes | None = None

    def for_store(self, store: Store) -> bytes:
        if self._key is None:
            key, source = load_key(self.root, self.environ)
            verify(store, key, source)
            self._key = key
        return self._key


def verify(store: Store, key: bytes, source: str) -> None:
    """Record the key's check value in a store that has none; refuse a different key."""
    value = check_value(key)
    with store.write() as session:
        insert_missing(session, Meta, {"key": CHECK, "value": value})
        recorded = session.scalar(select(Meta.value).where(Meta.key == CHECK))
    if recorded is None or not hmac.compare_digest(recorded, value):
        raise CaseError(
            f"the secret key ({source}) is not the one the case store {store.display} "
            "was set up with, so the calendar links it makes would not work",
            f"use the same key as the other sopgens of this store (the same {ENV_KEY}, or a "
            f"copy of its {KEY_FILE}); if that key is lost, adopt this one with "
            "`sopgen user rekey` (every calendar link changes)",
        )


def adopt(store: Store, key: bytes) -> None:
    """Make `key` the store's key (after the old one was lost)."""
    with store.write() as session:
        row = session.get(Meta, CHECK)
        if row is None:
            session.add(Meta(key=CHECK, value=check_value(key)))
        else:
            row.value = check_value(key)
