"""The rows of an on-time bar chart, drawn by templates/barchart.svg.j2.

The report (`sopgen report --format html`) and the desk's dashboard draw their
charts with that one Jinja macro: SVG with text as text, in the page's font,
escaped like every other template output, and the same bytes for the same data.
It replaced matplotlib, whose import and drawing cost the report about 1.9 s.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Advance widths of printable ASCII in Helvetica, in thousandths of an em (its AFM file;
# Arial and Liberation Sans share them): labels are measured, not counted, so a line
# of capitals ("SOP-CS-002 A10") breaks sooner than one of lower case.
WIDTHS = dict(
    zip(
        (chr(c) for c in range(32, 127)),
        (278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
         556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
         1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
         667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
         333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
         556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584),
        strict=True,
    )
)  # fmt: skip
# A label line's width in em: 22 em of 14 px is 308 px in Helvetica's metrics, and about
# 350 px in DejaVu Sans (the widest fallback), inside a phone's 358 px content width.
LINE_EM = 22.0
BREAKS = " .-_/"


def text_width(text: str) -> float:
    """`text`'s width in em, as Helvetica sets it; other characters 0.6 em (accented
    letters are about that), East Asian wide ones a full em."""
    total = 0
    for c in text:
        total += WIDTHS.get(c) or (1000 if unicodedata.east_asian_width(c) in "WF" else 600)
    return total / 1000


@dataclass(frozen=True)
class Bar:
    """One bar: the share done on time (None when nothing was done) of `count` steps."""

    share: float | None
    count: int


@dataclass(frozen=True)
class Row:
    label: str
    bars: tuple[Bar, ...]


def label_lines(text: str, width: float = LINE_EM, lines: int = 2) -> list[str]:
    """`text` in at most `lines` lines of at most `width` em (see `text_width`).

    A line breaks after the last space, dot, hyphen, underscore or slash that
    fits, else in the middle of a word; what does not fit in the last line
    ends in "…" (the table under each chart gives the full text).
    """
    out: list[str] = []
    rest = " ".join(text.split())
    while rest and len(out) < lines - 1 and text_width(rest) > width:
        fits = _fits(rest, width)
        cut = max(rest.rfind(c, 0, fits) for c in BREAKS)
        cut = cut + 1 if cut > 0 else max(fits, 1)
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if text_width(rest) > width:
        rest = rest[: _fits(rest, width - text_width("…"))].rstrip() + "…"
    out.append(rest)
    return out


def _fits(text: str, width: float) -> int:
    """How many characters of `text`, from its start, fit in `width` em."""
    used = 0.0
    for n, c in enumerate(text):
        used += text_width(c)
        if used > width:
            return n
    return len(text)
