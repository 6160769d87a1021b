"""User text never drives the terminal: a control character in a CSV cell, a summary or an
SOP's title is shown escaped (`\\x1b`), in every message and on the terminal itself.

A CSV cell holding `ESC]0;…BEL ESC[2J` set the terminal's title and cleared the screen
when `case import` reported it.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from casekit import NOW, SOP, make_project
from sopgen.cli import cli

ATTACK = "\x1b]0;pwned\x07\x1b[2J"
SHOWN = "\\x1b]0;pwned\\x07\\x1b[2J"


@pytest.fixture(name="root")
def root_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOPGEN_NOW", NOW)
    monkeypatch.delenv("SOPGEN_DATABASE_URL", raising=False)
    return make_project(tmp_path / "repo").root


def sopgen(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--root", str(root), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_case_import_reports_a_bad_cell_escaped(root: Path) -> None:
    csv = root / "cases.csv"
    csv.write_text(f"case id,received\nC-1,{ATTACK}\nC-2,2026-11-20T10:00\n")
    code, out, err = sopgen(root, "case", "import", str(csv), "--sop", SOP)
    assert code == 1
    assert "\x1b" not in err and "\x07" not in err, repr(err)
    assert f"'{SHOWN}' is not a received time" in err
    assert "imported 1 case under SOP-CS-001; 1 bad row skipped" in out


def test_case_import_reports_a_bad_assignee_escaped(root: Path) -> None:
    csv = root / "cases.csv"
    csv.write_text(f"case id,received,assignee,summary\nC-1,2026-11-20T10:00,eve{ATTACK},x\n")
    code, _, err = sopgen(root, "case", "import", str(csv), "--sop", SOP)
    assert code == 1
    assert "\x1b" not in err and "\x07" not in err, repr(err)
    assert "cases.csv:2:" in err


def test_a_terminal_gets_no_escape_from_user_text(root: Path) -> None:
    """On a real terminal (a pty), a title from the SOP's YAML (`"\\e]0;…\\a"`) reaches
    the screen through rich's table: only sopgen's own colours get through."""
    path = root / "sops" / "sop-cs-001.yaml"
    text = path.read_text()
    title = next(line for line in text.splitlines() if line.startswith("title: "))
    path.write_text(text.replace(title, 'title: "Complaints \\e]0;pwned\\a\\e[2J"', 1))
    assert sopgen(root, "case", "open", "C-1", "--sop", SOP, "--allow-draft")[0] == 0
    output = in_a_terminal(root, "case", "show", "C-1")
    assert "Complaints \\x1b]0;pwned" in output, output  # rich itself drops the BEL
    assert "\x1b]" not in output and "\x07" not in output and "\x1b[2J" not in output
    assert "\x1b[" in output  # colours still pass: only user text is escaped


def test_sop_text_cannot_move_the_cursor_or_erase_lines(root: Path) -> None:
    """The guard lets sopgen's own progress-bar moves through (cursor up, erase line);
    the same sequences in a step's text or a section title from the SOP's YAML are
    shown escaped instead, so they cannot overwrite the lines above them."""
    path = root / "sops" / "sop-cs-001.yaml"
    text = path.read_text()
    do = next(line for line in text.splitlines() if line.lstrip().startswith("do: "))
    indent = do[: len(do) - len(do.lstrip())]
    path.write_text(text.replace(do, f'{indent}do: "Log it\\e[1A\\e[2K here"', 1))
    assert sopgen(root, "case", "open", "C-1", "--sop", SOP, "--allow-draft")[0] == 0
    output = in_a_terminal(root, "case", "show", "C-1")
    assert "Log it\\x1b[1A\\x1b[2K here" in " ".join(output.split()), output
    assert "\x1b[1A" not in output and "\x1b[2K" not in output


def in_a_terminal(root: Path, *args: str) -> str:
    main, child = pty.openpty()
    env = {**os.environ, "SOPGEN_NOW": NOW, "TERM": "xterm-256color", "COLUMNS": "160"}
    for name in ("SOPGEN_DATABASE_URL", "NO_COLOR", "FORCE_COLOR"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "sopgen", "--root", str(root), *args],
        stdin=subprocess.DEVNULL,
        stdout=child,
        stderr=child,
        env=env,
    )
    os.close(child)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 1)
        if ready:
            try:
                data = os.read(main, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    process.wait(timeout=60)
    os.close(main)
    assert process.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode("utf-8", errors="replace")
