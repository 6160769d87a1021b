"""Reading SOP files as they were at a git revision (for `check` and `diff`).

Only plumbing commands with fixed arguments are run (`git rev-parse`,
`ls-tree`, `cat-file`, `log`); a revision name from the user is passed as one
argument after checking it is not an option, so it can never become a flag.
Works in a shallow clone as long as the revision itself has been fetched.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


class GitError(Exception):
    """Git cannot answer: no git, not a repository, or an unknown revision."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Repo:
    """The git repository holding a sopgen project root (which may be a subfolder)."""

    root: Path

    def _git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        try:
            result = subprocess.run(
                ["git", "-C", str(self.root), *args],
                capture_output=True,
                check=False,
                timeout=60,
            )
        except FileNotFoundError:
            raise GitError(
                "git is not installed", "install git; 'check' and 'diff' read history from it"
            ) from None
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} took over a minute", "try again") from None
        if check and result.returncode != 0:
            why = result.stderr.decode("utf-8", "replace").strip().splitlines()
            if why and "not a git repository" in why[0]:
                raise GitError(
                    f"{self.root} is not in a git repository",
                    "run sopgen inside the repository that holds the SOPs",
                )
            raise GitError(
                f"git {args[0]} failed: {why[0] if why else result.returncode}", "see git's message"
            )
        return result

    def resolve(self, rev: str) -> str:
        """The commit id `rev` names; a clear `GitError` when it is not in this clone."""
        if not rev or rev.startswith("-"):
            raise GitError(f"'{rev}' is not a revision", "name a commit, branch or tag")
        self._git("rev-parse", "--git-dir")  # raises "not a git repository" first
        result = self._git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
        if result.returncode != 0:
            shallow = self._git("rev-parse", "--is-shallow-repository", check=False)
            hint = (
                f"fetch it first, e.g. 'git fetch origin {rev}'"
                if shallow.stdout.strip() != b"true"
                else f"this is a shallow clone; fetch the revision, e.g. 'git fetch --depth=1 "
                f"origin {rev}' (GitHub Actions: actions/checkout with fetch-depth: 0)"
            )
            raise GitError(f"revision '{rev}' is not in this clone", hint)
        return result.stdout.decode().strip()

    def files(self, commit: str, folder: str) -> list[str]:
        """Paths (relative to the project root) of the files under `folder` at `commit`."""
        out = self._git("ls-tree", "-r", "--name-only", commit, "--", folder).stdout
        return [line for line in out.decode("utf-8", "replace").splitlines() if line]

    def read(self, commit: str, path: str) -> bytes | None:
        """The bytes of `path` (relative to the project root) at `commit`; None if absent."""
        result = self._git("cat-file", "blob", f"{commit}:./{path}", check=False)
        return result.stdout if result.returncode == 0 else None

    def last_commit_touching(self, path: str) -> list[str]:
        """Commits that changed `path`, newest first (for finding the previous version)."""
        out = self._git("log", "--format=%H", "--", path, check=False).stdout
        return out.decode().split()

    def head(self) -> str | None:
        result = self._git("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        return result.stdout.decode().strip() if result.returncode == 0 else None
