"""The build stamp: recognise a build whose inputs have not changed at all, without parsing.

A no-op `sopgen build` would otherwise parse and validate every SOP just to
learn that every output is up to date (0.9 s for 100 SOPs, most of it YAML
and imports). After each build, `output/.build-stamp.json` records a
fingerprint of everything the build read:

- `digest.shaping_digest`: sopgen's code and version, every template, the
  schemas, the config, and the build options with the date the build ran for
  (review dates are highlighted against it) — the same digest the manifest
  uses, so the stamp and the manifest agree on what makes output stale;
- the bytes of every file in `sops/`, in `signatures/` (electronic signature
  records and public keys) and of every extra input the build named (a logo);

together with what the build reported: its problems, its outputs, whether
it left the index as it was, and its exit code. A refused build (an input it
needs is invalid) writes nothing, so it leaves no stamp either. When the
fingerprint of the next build is the same and every output still exists,
the build is replayed from the stamp: the same messages, the same exit code,
nothing parsed, nothing written. Any change of any input byte, a deleted
output or `--force` takes the full path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sopgen import clock
from sopgen.build.digest import file_digest, shaping_digest
from sopgen.files import write_atomic
from sopgen.problems import Problem, Severity

STAMP = "output/.build-stamp.json"
FORMAT = 3
CONFIG_FILE = "sopgen.yaml"
SOPS_DIR = "sops"
SIGNATURES_DIR = "signatures"


@dataclass(frozen=True)
class Stamp:
    fingerprint: str
    extra_inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    problems: tuple[Problem, ...]
    index_kept: bool
    exit_code: int
    timezone: str | None  # the company's, to know which day it is without parsing


def fingerprint(root: Path, key: dict[str, Any], extra_inputs: Iterable[str] = ()) -> str:
    """A hash of everything that shapes the output, every SOP file and `key` (options, date)."""
    config = root / CONFIG_FILE
    digest = hashlib.sha256(str(FORMAT).encode())
    digest.update(shaping_digest(root, file_digest(config), key).encode())
    folder = root / SOPS_DIR
    sops = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    signed = root / SIGNATURES_DIR  # electronic signature records and the desk's public keys
    records = sorted(p for p in signed.rglob("*") if p.is_file()) if signed.is_dir() else []
    for path in [*sops, *records, *(root / name for name in extra_inputs)]:
        digest.update(str(path).encode() + b"\0" + file_digest(path).encode())
    return digest.hexdigest()


def read(root: Path) -> Stamp | None:
    """The last build's stamp, or None when there is none or it cannot be read."""
    try:
        data = json.loads((root / STAMP).read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            return None
        return Stamp(
            fingerprint=data["fingerprint"],
            extra_inputs=tuple(data["extra_inputs"]),
            outputs=tuple(data["outputs"]),
            problems=tuple(
                Problem(**{**p, "severity": Severity(p["severity"])}) for p in data["problems"]
            ),
            index_kept=bool(data["index_kept"]),
            exit_code=int(data["exit_code"]),
            timezone=data["timezone"],
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _with_day(key: dict[str, Any], today: date) -> dict[str, Any]:
    return {**key, "today": today.isoformat()}


def unchanged(root: Path, key: dict[str, Any]) -> Stamp | None:
    """The last build's stamp when nothing has changed since it and its outputs exist.

    "Nothing" includes the day (`clock.today` in the company's zone, which the
    stamp remembers): review dates are judged against it.
    """
    stamp = read(root)
    if stamp is None:
        return None
    try:
        zone = ZoneInfo(stamp.timezone) if stamp.timezone else None
    except (ValueError, ZoneInfoNotFoundError):
        return None
    today = clock.today(zone)
    if fingerprint(root, _with_day(key, today), stamp.extra_inputs) != stamp.fingerprint:
        return None
    if not all((root / output).is_file() for output in stamp.outputs):
        return None
    return stamp


def write(
    root: Path,
    key: dict[str, Any],
    today: date,
    timezone: str | None,
    base_before: str,
    extra_inputs: Sequence[str],
    outputs: Sequence[str],
    problems: Sequence[Problem],
    exit_code: int,
    index_kept: bool,
) -> None:
    """Record a finished build, run for `today` in the company's `timezone`.

    `base_before` is `fingerprint(root, key)` taken before the build read
    anything: when an input changed while the build ran, no stamp is kept, so
    the next build takes the full path.
    """
    if fingerprint(root, key) != base_before:
        (root / STAMP).unlink(missing_ok=True)
        return
    stamp = {
        "format": FORMAT,
        "fingerprint": fingerprint(root, _with_day(key, today), extra_inputs),
        "timezone": timezone,
        "extra_inputs": list(extra_inputs),
        "outputs": sorted(outputs),
        "problems": [p.to_json() for p in problems],
        "index_kept": index_kept,
        "exit_code": exit_code,
    }
    write_atomic(root / STAMP, json.dumps(stamp, indent=1))
