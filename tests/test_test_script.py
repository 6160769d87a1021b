"""`./test.sh` itself: its check that no test wrote into HOME runs even when the tests fail,
and the script exits with pytest's code (a fresh checkout's command, run in CI and by hand)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Stands in for the venv's python: writes into HOME, as a careless test would, then exits
# with the code given in $FAKE_PYTEST_EXIT, as pytest does.
FAKE_PYTHON = """#!/bin/sh
touch "$HOME/.written-by-a-test"
exit "$FAKE_PYTEST_EXIT"
"""


@pytest.fixture(name="script")
def script_fixture(tmp_path: Path) -> Path:
    shutil.copy(REPO / "test.sh", tmp_path / "test.sh")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("ruff", "mypy", "lint-imports"):
        (bin_dir / tool).write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "python").write_text(FAKE_PYTHON)
    for path in bin_dir.iterdir():
        path.chmod(0o755)
    return tmp_path / "test.sh"


@pytest.mark.parametrize("pytest_exit", [0, 1, 5])
def test_home_is_checked_whatever_pytest_said(script: Path, pytest_exit: int):
    result = subprocess.run(
        ["bash", str(script)],
        env={"PATH": "/usr/bin:/bin", "FAKE_PYTEST_EXIT": str(pytest_exit)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "test: the test suite wrote into HOME:" in result.stderr
    assert ".written-by-a-test" in result.stderr
    assert result.returncode == (pytest_exit or 1)
