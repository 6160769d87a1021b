"""The build stamp: recognise a build whose inputs have not changed at all, without parsing.

A no-op `sopgen build` would otherwise parse and validate every SOP just to
learn that every output is up to date (0.9 s for 100 SOPs, most of it YAML
and imports). After each build, `output/.build-stamp.json` records a
fingerprint of everything the build read:

- the bytes of `sopgen.yaml`, every file in `sops/`, every template (the
  company's and sopgen's), and every extra input the build named (a logo);
- sopgen's own code (every module of the package) and version;
- the build options and the date the build ran for (review dates are
  highlighted against it);

together with what the build reported: its problems, the files it skipped,
its outputs and its exit code. When the fingerprint of the next build is the
same and every output still exists, the build is replayed from the stamp:
the same messages, the same exit code, nothing parsed, nothing written. Any
change of any input byte, a deleted output or `--force` takes the full path.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sopgen import __version__
from sopgen.assets import templates_dir
from sopgen.files import write_atomic
from sopgen.problems import Problem, Severity

STAMP = "output/.build-stamp.json"
FORMAT = 1
_PACKAGE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Stamp:
    fingerprint: str
    extra_inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    problems: tuple[Problem, ...]
    skipped: tuple[str, ...]
    exit_code: int


def today_from_environment() -> date:
    """Today, or the day of SOURCE_DATE_EPOCH when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC).date()
    return date.today()


def _input_files(root: Path, extra: Iterable[str]) -> list[Path]:
    files = [root / "sopgen.yaml"]
    sops = root / "sops"
    if sops.is_dir():
        files += sorted(p for p in sops.iterdir() if p.is_file())
    for folder in dict.fromkeys([root / "templates", templates_dir()]):
        if folder.is_dir():
            files += sorted(p for p in folder.rglob("*") if p.is_file())
    files += sorted(_PACKAGE.rglob("*.py"))
    files += [root / name for name in extra]
    return files


def fingerprint(root: Path, key: dict[str, Any], extra_inputs: Iterable[str] = ()) -> str:
    """A hash of every input's bytes, sopgen's version and `key` (options, date)."""
    digest = hashlib.sha256(json.dumps([FORMAT, __version__, key], sort_keys=True).encode())
    for path in _input_files(root, extra_inputs):
        try:
            data = path.read_bytes()
        except OSError:
            data = b"\0missing"
        digest.update(str(path).encode() + b"\0" + hashlib.sha256(data).digest())
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
            skipped=tuple(data["skipped"]),
            exit_code=int(data["exit_code"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def unchanged(root: Path, key: dict[str, Any]) -> Stamp | None:
    """The last build's stamp when nothing has changed since it and its outputs exist."""
    stamp = read(root)
    if stamp is None or fingerprint(root, key, stamp.extra_inputs) != stamp.fingerprint:
        return None
    if not all((root / output).is_file() for output in stamp.outputs):
        return None
    return stamp


def write(
    root: Path,
    key: dict[str, Any],
    base_before: str,
    extra_inputs: Sequence[str],
    outputs: Sequence[str],
    problems: Sequence[Problem],
    skipped: Sequence[str],
    exit_code: int,
) -> None:
    """Record a finished build.

    `base_before` is `fingerprint(root, key)` taken before the build read
    anything: when an input changed while the build ran, no stamp is kept, so
    the next build takes the full path.
    """
    if fingerprint(root, key) != base_before:
        (root / STAMP).unlink(missing_ok=True)
        return
    stamp = {
        "format": FORMAT,
        "fingerprint": fingerprint(root, key, extra_inputs),
        "extra_inputs": list(extra_inputs),
        "outputs": sorted(outputs),
        "problems": [p.to_json() for p in problems],
        "skipped": list(skipped),
        "exit_code": exit_code,
    }
    write_atomic(root / STAMP, json.dumps(stamp, indent=1))
