"""The manual's YAML examples are valid as written: no error and no warning.

A new user pastes them first; an example that fails validation (the tour's SOP
once named a version it had no revision for) teaches the wrong thing. Each
```yaml block of README.md, CHANGELOG.md and docs/*.md is checked here in the
place it is written for, and a new block fails `test_every_yaml_block_is_checked`
until it is checked too.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from sopgen.cli import cli

REPO = Path(__file__).parents[1]
NOW = "2026-11-29T12:00"
"""After every date the examples write, before the tour SOP's review falls due (2027-10-15)."""


PAGES = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").glob("*.md"))]


def yaml_blocks() -> list[str]:
    return [
        found
        for page in PAGES
        for found in re.findall(r"^```yaml\n(.*?)^```", page.read_text(), re.M | re.S)
    ]


def block(first_line: str) -> str:
    found = [b for b in yaml_blocks() if b.splitlines()[0].strip().startswith(first_line)]
    assert len(found) == 1, f"one yaml block in the docs starts {first_line!r}: {len(found)}"
    return found[0]


TOUR_SOP = "# yaml-language-server: $schema=../schema/sop.schema.json"
PRIORITIES = "- id: investigate"
SMTP = "smtp:"
SIGNATURES = "signatures: electronic"
PRE_COMMIT = "# .pre-commit-config.yaml"  # pre-commit's file, not sopgen's: not validated here


def example_library(root: Path) -> Path:
    shutil.copy(REPO / "sopgen.yaml", root / "sopgen.yaml")
    shutil.copytree(REPO / "sops", root / "sops")
    return root


def problems(root: Path, *files: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(
        cli,
        ["--root", str(root), "validate", "--format", "json", *(str(root / f) for f in files)],
        env={"SOPGEN_NOW": NOW},
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    found: list[dict[str, object]] = json.loads(result.stdout)
    return found


def test_every_yaml_block_is_checked() -> None:
    starts = sorted(b.splitlines()[0].strip() for b in yaml_blocks())
    assert starts == sorted([TOUR_SOP, PRIORITIES, SMTP, SIGNATURES, PRE_COMMIT])


def test_every_yaml_block_is_yaml() -> None:
    for text in yaml_blocks():
        yaml.safe_load(text)  # raises on a broken block, whatever it is for


def test_the_pre_commit_example_names_the_hooks_this_repository_offers() -> None:
    config = yaml.safe_load(block(PRE_COMMIT))
    offered = {hook["id"] for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    named = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert named and named <= offered, named - offered


def test_the_tour_sop_is_valid_in_the_example_library(tmp_path: Path) -> None:
    root = example_library(tmp_path)
    (root / "sops" / "sop-cs-001.yaml").write_text(block(TOUR_SOP))  # its id, its file
    assert problems(root, "sops/sop-cs-001.yaml") == []


def test_the_per_priority_timeframes_are_valid_in_an_example_sop(tmp_path: Path) -> None:
    root = example_library(tmp_path)
    within = next(ln for ln in block(PRIORITIES).splitlines() if "within:" in ln)
    sop = root / "sops" / "sop-cs-001.yaml"
    text = sop.read_text()
    step = text.index("  - id: investigate")
    old = text.index("        within:", step)
    end = text.index("\n", old)
    sop.write_text(text[:old] + within + text[end:])
    assert problems(root, "sops/sop-cs-001.yaml") == []
    assert "critical: 2 business hours" in sop.read_text()  # the docs' line is in


def test_the_smtp_and_reminder_settings_are_valid_in_the_example_config(tmp_path: Path) -> None:
    root = example_library(tmp_path)
    config = root / "sopgen.yaml"
    config.write_text(config.read_text() + "\n" + block(SMTP))
    assert problems(root, "sopgen.yaml") == []


def test_the_signature_settings_are_valid_in_the_example_config(tmp_path: Path) -> None:
    root = example_library(tmp_path)
    config = root / "sopgen.yaml"
    config.write_text(config.read_text() + "\n" + block(SIGNATURES))
    assert problems(root, "sopgen.yaml") == []
    assert "required_signatures: [author, approval]" in config.read_text()
