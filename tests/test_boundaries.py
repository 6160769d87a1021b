"""Module boundaries and side effects: what a contributor and a user can rely on."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "src" / "sopgen"


def test_the_core_contract_names_every_core_module() -> None:
    """A new core module must be under the "core imports no cases/desk" contract."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    core = next(
        c
        for c in config["contracts"]
        if "sopgen.cases" in c["forbidden_modules"] and "sopgen.desk" in c["forbidden_modules"]
    )
    modules = {
        f"sopgen.{p.stem}"
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
        or (p.is_dir() and (p / "__init__.py").is_file())
    } - {"sopgen.cases", "sopgen.desk"}
    assert modules == set(core["source_modules"])


def test_the_user_cache_lands_in_the_test_home(tmp_path: Path, test_home: Path) -> None:
    assert Path.home() == test_home  # never the real home folder
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "sopgen.yaml").write_bytes((REPO / "sopgen.yaml").read_bytes())
    subprocess.run(
        [sys.executable, "-m", "sopgen", "--root", str(repo), "validate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    assert (test_home / ".cache" / "sopgen" / "holiday-regions.json").is_file()
