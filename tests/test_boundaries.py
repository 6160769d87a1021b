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


def test_the_case_domain_contract_names_every_domain_module() -> None:
    """A new module directly in cases/ is domain: it must be under the contract that keeps
    the store, the service, the views and the CLI out of it (and out of cases.cli's reach);
    a new subpackage of cases/ must be one of the four docs/architecture.md's module map names."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    domain = next(c for c in config["contracts"] if "sopgen.cases.views" in c["forbidden_modules"])
    not_cli = next(c for c in config["contracts"] if c["forbidden_modules"] == ["sopgen.cases.cli"])
    cases = PACKAGE / "cases"
    modules = {
        f"sopgen.cases.{p.stem}"
        for p in cases.iterdir()
        if p.suffix == ".py" and p.stem != "__init__"
    }
    packages = {p.name for p in cases.iterdir() if (p / "__init__.py").is_file()}
    assert modules == set(domain["source_modules"])
    assert packages == {"service", "store", "views", "cli"}
    assert set(not_cli["source_modules"]) == modules | {
        f"sopgen.cases.{p}" for p in packages - {"cli"}
    }


def test_no_module_in_cases_is_over_800_lines() -> None:
    """cases/ stays readable: a module that grows past 800 lines gets split by role."""
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in (PACKAGE / "cases").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 800
    }
    assert long == {}


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


def test_the_desk_states_its_permission_rules_and_error_statuses_once() -> None:
    """Who may do what is asked of `auth.allowed` (the nav too, not `user.manages`), and a
    refusal's HTTP status comes from one map (`context.http_status`), not a copy per route."""
    desk = PACKAGE / "desk"
    code = {p.name: p.read_text() for p in desk.glob("*.py")}
    nav = REPO / "templates" / "desk" / "base.html.j2"
    templates = {nav.name: nav.read_text()}
    maps = [name for name, text in code.items() for _ in range(text.count("NOT_FOUND: 404"))]
    assert maps == ["context.py"]
    asking_roles = [
        name
        for name, text in {**code, **templates}.items()
        if name != "auth.py" and (".manages" in text or "user.admin %" in text)
    ]
    assert asking_roles == []
