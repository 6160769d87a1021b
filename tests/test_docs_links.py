"""Every link between README.md, CHANGELOG.md and docs/*.md leads somewhere.

A relative link must name a file (or folder) that exists, and a `#anchor` a
heading of that page, with the ids a git host gives headings (lowercase,
punctuation dropped, spaces to hyphens, `-1`, `-2` … for repeats). Links to
other sites are not fetched. Code blocks and code spans are not read.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

REPO = Path(__file__).parents[1]

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.M)
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$", re.M)


def pages(root: Path) -> list[Path]:
    docs = sorted((root / "docs").glob("*.md"))
    return [page for page in [root / "README.md", root / "CHANGELOG.md", *docs] if page.is_file()]


def prose(text: str) -> str:
    """The text with code blocks and code spans blanked (their lines kept, for line numbers)."""
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return CODE_SPAN.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def slug(heading: str) -> str:
    """The id a git host (GitHub, GitLab) gives a heading of this text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The ids of the page's headings, repeats numbered as a git host numbers them."""
    seen: Counter[str] = Counter()
    found = set()
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    for heading in HEADING.findall(text):
        base = slug(heading)
        found.add(f"{base}-{seen[base]}" if seen[base] else base)
        seen[base] += 1
    return found


def broken_links(root: Path) -> list[str]:
    """Every link of the pages under root that leads nowhere, as `page:line: target: why`."""
    problems = []
    for page in pages(root):
        text = prose(page.read_text(encoding="utf-8"))
        targets = [(m.start(), m.group(1)) for m in INLINE.finditer(text)]
        targets += [(m.start(), m.group(1)) for m in REFERENCE.finditer(text)]
        for at, target in sorted(targets):
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) or not target:
                continue  # another site, mailto:
            where = f"{page.relative_to(root)}:{text.count(chr(10), 0, at) + 1}: {target}"
            path, _, fragment = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                problems.append(f"{where}: no file {path}")
            elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
                problems.append(f"{where}: no heading #{fragment} in {linked.name}")
    return problems


def test_every_link_between_the_pages_leads_to_a_file_and_heading() -> None:
    assert pages(REPO)[2:], "docs/*.md not found"
    assert broken_links(REPO) == []


def test_the_readme_links_every_page_of_the_manual() -> None:
    readme = prose((REPO / "README.md").read_text(encoding="utf-8"))
    linked = {target.partition("#")[0] for target in INLINE.findall(readme)}
    assert {"CHANGELOG.md", *(f"docs/{p.name}" for p in pages(REPO)[2:])} <= linked


def test_a_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text(
        "# Holds: the clock stops\n\n## Timeframes (`within:`)\n\n## Step\n\n## Step\n\n"
        "[ok](#holds-the-clock-stops) [ok](#timeframes-within) [ok](#step-1)\n"
        "[bad](#timeframes) [ok](../README.md#top) `[not a link](nowhere.md)`\n"
        "```\n[not a link](nowhere.md)\n```\n[bad](b.md)\n\n[ref]: c.md#x\n"
    )
    (tmp_path / "README.md").write_text("# Top\n\n[ok](docs/a.md#step) [bad](docs/a.md#nope)\n")
    assert broken_links(tmp_path) == [
        "README.md:3: docs/a.md#nope: no heading #nope in a.md",
        "docs/a.md:10: #timeframes: no heading #timeframes in a.md",
        "docs/a.md:14: b.md: no file b.md",
        "docs/a.md:16: c.md#x: no file c.md",
    ]
