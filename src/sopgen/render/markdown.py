"""Markdown in SOP text fields, rendered safely.

- raw HTML is off: `<script>` in a YAML field is shown as text, never executed;
- only `http:`, `https:` and `mailto:` links become links (`javascript:`,
  `data:`, `vbscript:`, `file:` and relative paths stay text), through
  markdown-it's `validateLink` hook;
- images are never emitted: `![alt](url)` renders as its alt text, so no
  document ever fetches anything named in SOP text (the PDF fetcher would
  refuse it too);
- `{company}` is filled from the config *before* rendering.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup, escape

SAFE_SCHEMES = ("http", "https", "mailto")
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):")


def safe_url(url: str | None) -> bool:
    """True for URLs allowed to become links: absolute http, https or mailto."""
    if not url:
        return False
    match = _SCHEME.match(url)
    return match is not None and match[1].lower() in SAFE_SCHEMES


def _validate_link(url: str) -> bool:
    return safe_url(url)


def _image_as_text(
    self: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    return str(escape(alt))


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.validateLink = _validate_link  # type: ignore[method-assign]
    md.add_render_rule("image", _image_as_text)
    return md


_MD = _parser()


def block(text: str, fill: Any = None) -> Markup:
    """A text field as block Markdown (paragraphs, lists) → safe HTML."""
    if fill is not None:
        text = fill(text)
    return Markup(_MD.render(text).strip())


def inline(text: str, fill: Any = None) -> Markup:
    """A short text field (a step, a note) as inline Markdown → safe HTML without <p>."""
    if fill is not None:
        text = fill(text)
    return Markup(_MD.renderInline(text.strip()))


# --------------------------------------------------------------------------- Markdown output


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md_escape(text: Any) -> str:
    """Text shown literally in Markdown: punctuation backslash-escaped, one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def md_text(text: Any) -> str:
    """SOP text kept as Markdown (emphasis, links), but raw HTML shown as text."""
    return re.sub(r"([<>|])", r"\\\1", " ".join(str(text).split()))


# --------------------------------------------------------------------------- SOP ids


_TAG = re.compile(r"(<[^>]*>)")
_SOP_ID = re.compile(r"\bSOP(?:-[A-Z0-9]+)+\b")


class SopLinker:
    """Links every mention of a library SOP's id in rendered text, and keeps ids unbroken.

    Applied to HTML that `block`/`inline` made (escaped text between tags), so
    only text between tags is touched: ids inside attributes or inside an
    existing link are left alone. A known id becomes a link to its document
    of the same medium; any id is wrapped so it never breaks across lines.
    """

    def __init__(self, titles: Any, medium: str, own: str | None = None):
        self.titles = titles
        self.medium = medium
        self.own = own

    def _mention(self, match: re.Match[str]) -> str:
        sop_id = match.group(0)
        if sop_id in self.titles and sop_id != self.own:
            title = escape(self.titles[sop_id])
            return f'<a class="sop-ref" href="{sop_id}.{self.medium}" title="{title}">{sop_id}</a>'
        return f'<span class="sop-ref">{sop_id}</span>'

    def __call__(self, html: Markup) -> Markup:
        if "SOP-" not in html:
            return html
        parts = _TAG.split(str(html))
        in_link = 0
        for i, part in enumerate(parts):
            if i % 2:  # a tag
                if part.startswith("<a ") or part == "<a>":
                    in_link += 1
                elif part == "</a>":
                    in_link = max(0, in_link - 1)
            elif not in_link and "SOP-" in part:
                parts[i] = _SOP_ID.sub(self._mention, part)
        return Markup("".join(parts))
