"""Making electronic signature records where the desk runs: the desk's key, signing, export.

The record format and its offline verification are in `sopgen.signatures` (the
core); this module holds what needs the case store and the private key.

The desk's signing key
    An Ed25519 private key in `.sopgen/signing.key` under the repository root
    (next to the case store and `secret.key`), or in the file
    `SOPGEN_SIGNING_KEY` names. Made on the first signing, mode 0600, and
    refused when other users may read it; making it also writes
    `.sopgen/.gitignore` (`*`), so git never picks up the private key even
    where the repository's own .gitignore forgets `.sopgen/`. Its public key is written to
    `signatures/keys/KEY-ID.pem` at the same time: commit that file, since
    `validate`, `check` and `build` accept only records signed by a key there.
    Every desk instance and every `sopgen sign` of one store must use the same
    key file (copy it with its mode); a lost key means new records are signed
    by a new key, whose public key is committed beside the old one.

Signing
    `sign` checks the password at the moment of signing, every time, with the
    desk's Argon2id hash and the same failure counting as the sign-in (a wrong
    password counts towards the wait); every refusal is recorded in
    `signature_refusals`. The time is the server's clock (`sopgen.clock`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sopgen import signatures
from sopgen.cases.errors import CaseError
from sopgen.cases.service.users import (
    LOGIN,
    SignInRefused,
    UserService,
    _failed,
    _not_waiting,
    throttle_key,
)
from sopgen.cases.store.tables import SignatureRecordRow, SignatureRefusal, Store, UserRecord
from sopgen.files import write_atomic

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ENV_KEY_FILE = "SOPGEN_SIGNING_KEY"
KEY_FILE = Path(".sopgen") / "signing.key"


def key_path(root: Path, environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    given = env.get(ENV_KEY_FILE)
    return Path(given) if given else root / KEY_FILE


def load_private_key(
    root: Path, environ: Mapping[str, str] | None = None, *, create: bool = True
) -> tuple[Ed25519PrivateKey, Path | None]:
    """The desk's signing key, and the public key file written when it was made just now."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        load_pem_private_key,
    )

    path = key_path(root, environ)
    made: Path | None = None
    if not path.exists():
        if not create:
            raise CaseError(f"no signing key at {path}", "sign once on the desk's machine")
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        _create(path, pem)
        ignore = path.parent / ".gitignore"
        if path.parent == root / KEY_FILE.parent and not ignore.exists():
            # never committed, even in a repository whose .gitignore forgets .sopgen/
            write_atomic(ignore, "# sopgen's local state: the case store and private keys\n*\n")
    try:
        mode = path.stat().st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CaseError(
                f"the signing key file {path} may be read by other users "
                f"(mode {stat.S_IMODE(mode):04o})",
                f"restrict it to its owner: chmod 600 {path}",
            )
        loaded = load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise CaseError(
            f"cannot read the signing key file {path}: {exc.strerror or exc}",
            f"check its permissions, or set {ENV_KEY_FILE} to the key file",
        ) from None
    except ValueError:
        loaded = None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise CaseError(
            f"the signing key file {path} holds no Ed25519 private key",
            "restore it from the desk's backup; a new key needs its public key committed",
        )
    public = root / signatures.KEYS_DIR / f"{signatures.key_id(loaded.public_key())}.pem"
    if not public.exists():
        write_atomic(public, signatures.public_pem(loaded.public_key()))
        made = public
    return loaded, made


def _create(path: Path, pem: bytes) -> None:
    """Write a new key file with mode 0600, atomically (two first signings make one key)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(temp, path)
        finally:
            temp.unlink(missing_ok=True)
    except OSError as exc:
        raise CaseError(
            f"cannot create the signing key file {path}: {exc.strerror or exc}",
            f"make the folder writable, or set {ENV_KEY_FILE}",
        ) from None


@dataclass(frozen=True)
class Signing:
    """What `sign` made: the record's line and its fields, and a new public key file."""

    line: str
    seq: int
    new_public_key: Path | None


class SignatureRefused(CaseError):
    """The password (or login) was wrong, or the login must wait; the refusal is recorded."""


class SigningService:
    """Signature records in one case store, signed with the key of one repository root."""

    def __init__(self, store: Store, root: Path, environ: Mapping[str, str] | None = None):
        self.store = store
        self.root = root
        self.environ = environ
        self.users = UserService(store)

    def sign(
        self,
        *,
        login: str,
        password: str,
        sop: str,
        version: str,
        content_hash: str,
        meaning: str,
        reason: str | None,
        now: datetime,
    ) -> Signing:
        """Append a record for `login`'s signature of `sop` (its content `content_hash`).

        Raises SignatureRefused (recorded) for a wrong login or password, or while the
        login must wait after repeated failures.
        """
        key = throttle_key(login)
        private, made = load_private_key(self.root, self.environ)
        dummy = self.users._dummy()  # made before the write (on first use only)
        refused: str | None = None
        name = role = ""
        with self.store.write() as session:
            try:
                failure = _not_waiting(session, key, now)
            except SignInRefused as exc:
                refused = str(exc)
            else:
                user = session.get(UserRecord, key) if LOGIN.fullmatch(key) else None
                # the same Argon2 work whether the login exists or not (as the sign-in)
                right = self.users._verify(user.password_hash if user else dummy, password)
                if user is None or user.disabled or not right:
                    _failed(failure, now)
                    refused = "wrong login or password"
                else:
                    session.delete(failure)
                    name, role = user.name, signatures.DESK_ROLES.get(user.role, user.role)
            if refused is not None:
                session.add(
                    SignatureRefusal(
                        login=key[:64], sop=sop, meaning=meaning, at=now, why=refused[:200]
                    )
                )
        if refused is not None:
            raise SignatureRefused(
                f"signature refused: {refused}",
                "the password is the one you sign in to the desk with; the refusal is recorded",
            )
        for _ in range(3):  # another signer may take the next seq first: chain onto theirs
            try:
                with self.store.write() as session:
                    last = session.scalars(
                        select(SignatureRecordRow)
                        .where(SignatureRecordRow.sop == sop)
                        .order_by(SignatureRecordRow.seq.desc())
                        .limit(1)
                    ).first()
                    seq = last.seq + 1 if last else 1
                    line = signatures.new_record(
                        previous=last.line if last else None,
                        seq=seq,
                        sop=sop,
                        version=version,
                        content_hash=content_hash,
                        meaning=meaning,
                        login=key,
                        name=name,
                        role=role,
                        signed_at=now,
                        reason=reason,
                        private_key=private,
                    )
                    session.add(SignatureRecordRow(sop=sop, seq=seq, line=line, recorded_at=now))
                return Signing(line, seq, made)
            except IntegrityError:
                continue
        raise CaseError(
            f"could not append the signature of {sop}: other signatures kept arriving",
            "sign again",
        )

    def lines(self) -> dict[str, list[str]]:
        """Every SOP's record lines in the store, in chain order."""
        found: dict[str, list[str]] = {}
        with self.store.read() as session:
            rows = session.scalars(
                select(SignatureRecordRow).order_by(SignatureRecordRow.sop, SignatureRecordRow.seq)
            )
            for row in rows:
                found.setdefault(row.sop, []).append(row.line)
        return found

    def export(self) -> list[tuple[Path, int]]:
        """Write `signatures/SOP-ID.jsonl` for every SOP with records: (file, records added).

        Refuses (writing nothing) when a file holds records the store lacks: it
        was exported from another store, or edited; records are only appended.
        """
        folder = self.root / signatures.SIGNATURES_DIR
        plans = []
        for sop, lines in sorted(self.lines().items()):
            path = folder / f"{sop}.jsonl"
            existing = (
                [x for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
                if path.exists()
                else []
            )
            if existing != lines[: len(existing)]:
                raise CaseError(
                    f"{signatures.SIGNATURES_DIR}/{path.name} holds records this desk's store "
                    "does not have (exported from another store, or edited)",
                    f"restore it from git (git checkout -- {signatures.SIGNATURES_DIR}/"
                    f"{path.name}) and export again; records are only ever appended",
                )
            plans.append((path, lines, len(lines) - len(existing)))
        for path, lines, _ in plans:
            write_atomic(path, "".join(line + "\n" for line in lines))
        return [(path, added) for path, _, added in plans]
