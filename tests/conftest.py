"""Test-wide setup: no test reads or writes the real home folder.

Before any test runs, HOME and XDG_CACHE_HOME point at a fresh temporary
folder (subprocesses inherit them), so the holiday-region cache and anything
else a tool keeps per user lands there; the folder is removed at the end.
`./test.sh` runs the whole suite with HOME at an empty folder and checks it
is still empty afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_SAVED: dict[str, str | None] = {}
_HOME: list[Path] = []


def pytest_configure(config: pytest.Config) -> None:
    home = Path(tempfile.mkdtemp(prefix="sopgen-test-home-"))
    _HOME.append(home)
    for name, value in (("HOME", home), ("XDG_CACHE_HOME", home / ".cache")):
        _SAVED[name] = os.environ.get(name)
        os.environ[name] = str(value)
    # the desk's secret key comes from each test's project folder unless a test sets it
    _SAVED["SOPGEN_SECRET_KEY"] = os.environ.pop("SOPGEN_SECRET_KEY", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, value in _SAVED.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    for home in _HOME:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def test_home() -> Path:
    """The temporary folder that stands in for the user's home during the tests."""
    return _HOME[0]
