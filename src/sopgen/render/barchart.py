"""The rows of an on-time bar chart, drawn by templates/barchart.svg.j2.

The report (`sopgen report --format html`) and the desk's dashboard draw their
charts with that one Jinja macro: SVG with text as text, in the page's font,
escaped like every other template output, and the same bytes for the same data.
It replaced matplotlib, whose import and drawing cost the report about 1.9 s.
"""

from __future__ import annotations

from dataclasses import dataclass

# Characters per label line: at 14 px in a sans-serif font, a line of ids in capitals
# ("SOP-CS-002 A10") fits a phone's 358 px at about 40, lower case at about 50.
LINE_CHARS = 38
BREAKS = " .-_/"


@dataclass(frozen=True)
class Bar:
    """One bar: the share done on time (None when nothing was done) of `count` steps."""

    share: float | None
    count: int


@dataclass(frozen=True)
class Row:
    label: str
    bars: tuple[Bar, ...]


def label_lines(text: str, width: int = LINE_CHARS, lines: int = 2) -> list[str]:
    """`text` in at most `lines` lines of at most `width` characters.

    A line breaks after the last space, dot, hyphen, underscore or slash that
    fits, else in the middle of a word; what does not fit in the last line
    ends in "…" (the table under each chart gives the full text).
    """
    out: list[str] = []
    rest = " ".join(text.split())
    while rest and len(out) < lines - 1 and len(rest) > width:
        cut = max(rest.rfind(c, 0, width) for c in BREAKS)
        cut = cut + 1 if cut > 0 else width
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if len(rest) > width:
        rest = rest[: width - 1].rstrip() + "…"
    out.append(rest)
    return out
