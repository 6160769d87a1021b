"""Electronic signature records: their format, and their verification from the repository alone.

Under `signatures: electronic` (sopgen.yaml) an SOP is signed by desk users
(`sopgen sign`, see docs/authoring.md "Electronic signatures"). Each signature is one
record, a JSON object on one line of `signatures/SOP-ID.jsonl`:

    seq             1, 2, 3 … per SOP, in the order the records were made
    sop, version    the SOP signed, and its version then (shown, not judged)
    content_sha256  SHA-256 of the SOP's content as `sopgen check` defines it
                    (`sopgen.release.content`: the release record excluded)
    meaning         author, review, approval … (`signature_meanings`)
    login, name     the desk user who signed, and their printed name
    role            their desk role as documents show it ("Manager")
    signed_at       the desk server's clock, UTC, ISO 8601 ("2026-11-20T13:03:00Z")
    reason          why the record was made, when it corrects an earlier one
    prev            SHA-256 of the previous record's line of this SOP (64 zeros
                    for the first): the hash chain, so a deleted, reordered or
                    edited record breaks the chain of every record after it
    key             which key signed it: the first 16 hex digits of the SHA-256
                    of the raw Ed25519 public key
    sig             Ed25519 signature (base64) of the canonical JSON of every
                    other field (sorted keys, no spaces, UTF-8)

The desk keeps the private key; the public keys are committed in
`signatures/keys/*.pem`, so `validate`, `check` and `build` verify every record
offline (CI has no desk database). Pure apart from reading those files: text
in, `Problem`s (file:line:column) and verified records out.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sopgen.model import Config, Signed, Sop
from sopgen.problems import Problem, error
from sopgen.release import content

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from sopgen.library import Entry

SIGNATURES_DIR = "signatures"
KEYS_DIR = "signatures/keys"
GENESIS = "0" * 64
FIELDS = (
    "seq",
    "sop",
    "version",
    "content_sha256",
    "meaning",
    "login",
    "name",
    "role",
    "signed_at",
    "reason",
    "prev",
    "key",
    "sig",
)
DESK_ROLES = {"rep": "Representative", "manager": "Manager", "admin": "Administrator"}
"""Desk roles as a signature shows them."""

MADE_BY = (
    "signature records are made only by `sopgen sign` (or the desk) and written by "
    "`sopgen signatures export`; restore the exported file (git checkout -- {file}) "
    "and sign again if a signature is missing"
)


def content_sha256(data: Mapping[str, Any]) -> str:
    """SHA-256 of an SOP's content as `sopgen check` counts it (the release record excluded).

    Formatting (comments, key order, quoting, runs of spaces) does not change it.
    """
    return hashlib.sha256(canonical(content(dict(data)))).hexdigest()


def canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def record_line(record: Mapping[str, Any]) -> str:
    """One record as its line in `signatures/SOP-ID.jsonl` (fields in `FIELDS` order)."""
    return json.dumps({k: record[k] for k in FIELDS}, ensure_ascii=False)


def line_hash(line: str) -> str:
    """What the next record's `prev` holds: SHA-256 of this record's canonical form."""
    return hashlib.sha256(canonical(json.loads(line))).hexdigest()


def key_id(public_key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_record(
    *,
    previous: str | None,
    seq: int,
    sop: str,
    version: str,
    content_hash: str,
    meaning: str,
    login: str,
    name: str,
    role: str,
    signed_at: datetime,
    reason: str | None,
    private_key: Ed25519PrivateKey,
) -> str:
    """The line of a new record, chained to `previous` (the SOP's last line, or None)."""
    fields: dict[str, Any] = {
        "seq": seq,
        "sop": sop,
        "version": version,
        "content_sha256": content_hash,
        "meaning": meaning,
        "login": login,
        "name": name,
        "role": role,
        "signed_at": utc_text(signed_at),
        "reason": reason,
        "prev": line_hash(previous) if previous else GENESIS,
        "key": key_id(private_key.public_key()),
    }
    fields["sig"] = base64.b64encode(private_key.sign(canonical(fields))).decode("ascii")
    return record_line(fields)


# --------------------------------------------------------------------------- verifying


def load_public_keys(root: Path) -> tuple[dict[str, Ed25519PublicKey], list[Problem]]:
    """The public keys in `signatures/keys/*.pem`, by key id; unreadable files are problems."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    keys: dict[str, Ed25519PublicKey] = {}
    problems: list[Problem] = []
    folder = root / KEYS_DIR
    for path in sorted(folder.glob("*.pem")) if folder.is_dir() else []:
        try:
            key = load_pem_public_key(path.read_bytes())
        except (OSError, ValueError) as exc:
            key = None
            why = str(exc).splitlines()[0] if str(exc) else "not a PEM public key"
        if not isinstance(key, Ed25519PublicKey):
            problems.append(
                error(
                    f"{KEYS_DIR}/{path.name}",
                    1,
                    1,
                    "bad-signing-key",
                    f"{path.name} is not an Ed25519 public key"
                    + (f" ({why})" if key is None else ""),
                    "signatures/keys/ holds the desk's public keys as sopgen wrote them; "
                    "restore the file from git",
                )
            )
            continue
        keys[key_id(key)] = key
    return keys, problems


def _column(line: str, field: str) -> int:
    at = line.find(f'"{field}"')
    return at + 1 if at >= 0 else 1


def _shape_problem(record: Any) -> tuple[str, str] | None:
    """(field, what is wrong) when `record` is not a record of the expected form."""
    if not isinstance(record, dict):
        return "", "is not a JSON object"
    missing = [f for f in FIELDS if f not in record]
    if missing:
        return "", f"lacks {', '.join(missing)}"
    extra = [f for f in record if f not in FIELDS]
    if extra:
        return extra[0], f"has a field a signature record does not have ({extra[0]})"
    if not isinstance(record["seq"], int) or isinstance(record["seq"], bool) or record["seq"] < 1:
        return "seq", "has a seq that is not a whole number from 1"
    for f in FIELDS:
        if f not in ("seq", "reason") and not isinstance(record[f], str):
            return f, f"has a {f} that is not text"
    if record["reason"] is not None and not isinstance(record["reason"], str):
        return "reason", "has a reason that is neither text nor null"
    try:
        datetime.strptime(record["signed_at"], "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return "signed_at", "has a signed_at that is no UTC time (YYYY-MM-DDTHH:MM:SSZ)"
    return None


def _signature_ok(record: dict[str, Any], key: Ed25519PublicKey) -> bool:
    from cryptography.exceptions import InvalidSignature

    fields = {k: v for k, v in record.items() if k != "sig"}
    try:
        key.verify(base64.b64decode(record["sig"], validate=True), canonical(fields))
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_text(
    text: str, file: str, sop_id: str, keys: Mapping[str, Ed25519PublicKey]
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The records of `file` (the records of SOP `sop_id`) that verify, and the problems.

    A record verifies when its form is right, a known key signed exactly these
    fields, and it names `sop_id`. Every record must also follow the one before
    it in the file (seq + 1, `prev` = that record's hash): a break means a
    record was deleted, inserted, reordered or edited.
    """
    records: list[dict[str, Any]] = []
    problems: list[Problem] = []
    hint = MADE_BY.format(file=file)
    previous_line: str | None = None
    previous_seq = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue

        def fail(
            code: str, message: str, field: str, at: int = number, text: str = line, why: str = hint
        ) -> None:
            problems.append(error(file, at, _column(text, field), code, message, why))

        try:
            record = json.loads(line)
        except ValueError as exc:
            column = getattr(exc, "colno", 1)
            problems.append(
                error(
                    file, number, column, "signature-malformed", f"line {number} is no JSON", hint
                )
            )
            previous_line, previous_seq = None, previous_seq + 1
            continue
        shape = _shape_problem(record)
        if shape is not None:
            fail("signature-malformed", f"line {number} {shape[1]}", shape[0])
            previous_line, previous_seq = line, previous_seq + 1
            continue
        seq = record["seq"]
        if seq != previous_seq + 1:
            fail(
                "signature-chain",
                f"record {seq} follows record {previous_seq}: a record was deleted, inserted "
                "or reordered",
                field="seq",
            )
        elif (previous_line is not None or seq == 1) and record["prev"] != (
            line_hash(previous_line) if previous_line else GENESIS
        ):
            fail(
                "signature-chain",
                f"record {seq} does not follow "
                f"{'the start of the file' if seq == 1 else f'record {previous_seq}'} in the "
                "hash chain: a record before it was deleted, replaced or edited",
                field="prev",
            )
        key = keys.get(record["key"])
        if key is None:
            fail(
                "signature-unknown-key",
                f"record {seq} is signed with key {record['key']}, which is not in {KEYS_DIR}/",
                why=f"commit the desk's public key ({KEYS_DIR}/{record['key']}.pem, written when "
                "the desk made its key); a record signed by any other key is not accepted",
                field="key",
            )
        elif not _signature_ok(record, key):
            fail(
                "signature-invalid",
                f"record {seq} does not match its signature: it was typed or edited by hand",
                field="sig",
            )
        elif record["sop"] != sop_id:
            fail(
                "signature-other-sop",
                f"record {seq} is a signature of {record['sop']}, not of {sop_id} "
                "(copied from another SOP's file?)",
                field="sop",
            )
        else:
            records.append(record)
        previous_line, previous_seq = line, seq
    return records, problems


def signed_of(records: Iterable[dict[str, Any]], current: str) -> tuple[Signed, ...]:
    """Verified records as documents show them; `covers` says whether they sign `current`."""
    return tuple(
        Signed(
            seq=r["seq"],
            name=r["name"],
            role=r["role"],
            meaning=r["meaning"],
            signed_at=datetime.strptime(r["signed_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
            content_sha256=r["content_sha256"],
            covers=r["content_sha256"] == current,
        )
        for r in records
    )


def missing_meanings(sop: Sop, config: Config) -> list[str]:
    """The required meanings no verified record gives to the SOP's current content."""
    given = {s.meaning for s in sop.signed if s.covers}
    return [m for m in config.required_signatures if m not in given]


def signed_text(signed: Signed, config: Config) -> str:
    """ "Electronically signed by Dana Reyes (Manager) · Approval · 20 Nov 2026 14:03 CET"."""
    local = signed.signed_at.astimezone(config.zone)
    when = f"{local.day} {local:%b %Y %H:%M %Z}"
    return (
        f"Electronically signed by {signed.name} ({signed.role}) · "
        f"{signed.meaning.capitalize()} · {when}"
    )


def check_signatures(root: Path, config: Config | None, entries: Sequence[Entry]) -> list[Problem]:
    """Verify `signatures/*.jsonl` against the SOPs of `entries`; give each SOP its content
    hash and verified records (`Sop.content_sha256`, `Sop.signed`). Problems of a record go
    to the SOP it belongs to; the returned ones belong to no loaded SOP (a bad key file, a
    file of an SOP that is not in the library)."""
    if config is None:
        return []
    folder = root / SIGNATURES_DIR
    files = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    electronic = config.signatures == "electronic"
    if not files and not electronic:
        return []
    keys, other = load_public_keys(root)
    by_id = {e.sop.id: e for e in entries if e.sop is not None}
    found: dict[str, list[dict[str, Any]]] = {}
    for path in files:
        file = f"{SIGNATURES_DIR}/{path.name}"
        sop_id = path.stem
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problem = error(file, 1, 1, "unreadable", f"cannot read {file}: {exc}", None)
            (by_id[sop_id].problems if sop_id in by_id else other).append(problem)
            continue
        records, problems = verify_text(text, file, sop_id, keys)
        found[sop_id] = records
        (by_id[sop_id].problems if sop_id in by_id else other).extend(problems)
    for sop_id, entry in by_id.items():
        assert entry.sop is not None
        current = content_sha256(entry.document.data)
        entry.sop = replace(
            entry.sop,
            content_sha256=current,
            signed=signed_of(found.get(sop_id, []), current),
        )
        if electronic and entry.sop.status == "effective":
            entry.problems += _gate(entry, config)
    return other


def _gate(entry: Entry, config: Config) -> list[Problem]:
    sop = entry.sop
    assert sop is not None
    missing = missing_meanings(sop, config)
    if not missing:
        return []
    stale = [s for s in sop.signed if s.meaning in missing and not s.covers]
    mark = entry.document.source.value(("status",))
    earlier = (
        f"; {', '.join(f'the {s.meaning} by {s.name} ({s.signed_at:%Y-%m-%d})' for s in stale)} "
        "signed earlier content: the SOP was edited after signing"
        if stale
        else ""
    )
    return [
        error(
            entry.file,
            mark.line,
            mark.column,
            "unsigned-effective",
            f"{sop.id} is effective under signatures: electronic but has no valid "
            f"{' and no '.join(missing)} signature on its current content "
            f"(SHA-256 {sop.content_sha256[:12]}…){earlier}",
            f"sign it: sopgen sign {sop.id} --meaning {missing[0]} (on the desk's machine), "
            f"then sopgen signatures export and commit {SIGNATURES_DIR}/; or set status: "
            "in-review until it is signed",
        )
    ]


def history_problems(old: str, new: str, file: str) -> list[Problem]:
    """Records are append-only: every line of `old` (the file at an earlier revision) must
    still open `new`, unchanged and in order (`sopgen check --since`)."""
    old_lines = [line for line in old.splitlines() if line.strip()]
    new_lines = [line for line in new.splitlines() if line.strip()]
    for index, line in enumerate(old_lines):
        if index >= len(new_lines) or new_lines[index] != line:
            return [
                error(
                    file,
                    _line_number(new, index),
                    1,
                    "signature-history",
                    f"signature record {index + 1} was "
                    f"{'removed' if index >= len(new_lines) else 'changed'} since the revision "
                    "compared with: records are only ever appended",
                    MADE_BY.format(file=file),
                )
            ]
    return []


def _line_number(text: str, index: int) -> int:
    """The 1-based line of the `index`-th non-blank line of `text` (past the end: the last + 1)."""
    seen = -1
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if line.strip():
            seen += 1
            if seen == index:
                return number
    return len(lines) + 1 if lines else 1
