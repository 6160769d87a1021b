"""Atomic file output: a reader sees the old file or the new one, never half of one.

A full disk (or quota) while writing raises `DiskFullError`, which names the file:
every command ends then with "the disk is full: could not write PATH", exit 1.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
"""The errno values of a write that found no space: the disk, or the user's quota, is full."""


class DiskFullError(OSError):
    """Writing `path` failed for want of space; the file, if it existed, is as it was."""

    def __init__(self, path: Path | str):
        super().__init__(errno.ENOSPC, "No space left on device", str(path))
        self.path = str(path)
        self.message = f"the disk is full: could not write {self.path}"
        self.hint = (
            f"free some space on the disk that holds {Path(self.path).parent}, then run the "
            "command again; no file was left half-written"
        )

    def __str__(self) -> str:
        return self.message


def disk_full(exc: BaseException) -> bool:
    """Whether `exc` is a write that found the disk (or quota) full."""
    return isinstance(exc, OSError) and exc.errno in DISK_FULL


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename."""
    try:
        _write_atomic(path, data)
    except OSError as exc:
        if disk_full(exc) and not isinstance(exc, DiskFullError):
            raise DiskFullError(path) from exc
        raise


def _write_atomic(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_if_changed(path: Path, data: bytes | str) -> bool:
    """Atomically write unless the file already holds exactly `data`; True when written."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.read_bytes() == raw:
            return False
    except OSError:
        pass
    write_atomic(path, raw)
    return True
