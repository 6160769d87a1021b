"""YAML syntax errors in plain words: which key is out of line, and what to write instead.

libyaml reports where parsing stopped in its own terms ("mapping values are not
allowed in this context", "did not find expected '-' indicator"). The line is
right, but an author has to guess the cause. `explain` reads the lines around
that place and names the cause only when the text shows it:

- a key indented more or less than the keys it stands among (which key, how far,
  and where its siblings are);
- a list item whose '-' lines up with no list above it;
- a missing space after ':' or after '-';
- a line of a `>`/`|` text indented less than the text's first line;
- a ': ' inside an unquoted value, or a value starting with a character YAML
  reserves (`*`, `@`, a backtick, `[`, `{`), or text after a closing quote;
- an unclosed quote, bracket or brace; a second document (`---`).

Anything else keeps libyaml's words with the general hint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

GENERAL_HINT = "check indentation, colons and quotes near this position"

_KEY = re.compile(
    r"(?P<indent> *)(?P<dashes>(?:-[ ]+)*)(?P<key>[^\s#'\"{\[\]}&*!|>%@`,-][^#]*?):(?:[ ]|$)"
)
_ITEM = re.compile(r"(?P<indent> *)-(?:[ ]|$)")
_BLOCK_SCALAR = re.compile(r":[ ]+[|>][-+0-9]*[ ]*(?:#.*)?$")
_NO_SPACE_AFTER_DASH = re.compile(r" *-[^\s-]")


@dataclass(frozen=True)
class Explained:
    """Where to point (1-based), what is wrong and how to fix it."""

    line: int
    column: int
    message: str
    hint: str


@dataclass(frozen=True)
class _Level:
    """An open block above the error line: a key or a list item at `column` (0-based)."""

    column: int
    kind: str  # "key" | "item"
    name: str  # the key, or the item's first key ("" for a plain item)
    line: int  # 1-based


def explain(text: str, exc: yaml.MarkedYAMLError) -> Explained | None:
    """Plain words for a libyaml error, or None when the text does not show the cause."""
    if exc.problem_mark is None:
        return None
    at = _Error(
        text.splitlines(),
        exc.problem_mark.line,
        exc.problem_mark.column,
        exc.problem or "",
        exc.context or "",
        exc.context_mark.line if exc.context_mark is not None else exc.problem_mark.line,
        exc.context_mark.column if exc.context_mark is not None else exc.problem_mark.column,
    )
    for explainer in (
        _unclosed,
        _block_text,
        _no_space,
        _reserved_start,
        _after_quote,
        _colon_in_value,
        _documents,
        _indentation,
    ):
        found = explainer(at)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class _Error:
    """libyaml's report: the lines, where it stopped (0-based) and what it was parsing."""

    lines: list[str]
    line: int
    column: int
    problem: str
    context: str
    context_line: int
    context_column: int

    def text(self, line: int) -> str:
        return self.lines[line] if 0 <= line < len(self.lines) else ""


# --------------------------------------------------------------------------- line reading


@dataclass(frozen=True)
class _Text:
    """A line of a `|` or `>` text: the line of its key, and the indentation of its first line."""

    owner: int  # 0-based
    indent: int


def _texts(lines: list[str]) -> dict[int, _Text]:
    """The lines (0-based) inside `|`/`>` texts, each with the text it belongs to."""
    found: dict[int, _Text] = {}
    owner: int | None = None
    first: int | None = None
    for number, line in enumerate(lines):
        indent = _indent(line)
        if owner is not None and (not line.strip() or indent > _indent(lines[owner])):
            first = indent if first is None and line.strip() else first
            found[number] = _Text(owner, first if first is not None else indent)
            continue
        owner, first = (number, None) if _BLOCK_SCALAR.search(line) else (None, None)
    return found


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content(lines: list[str]) -> list[bool]:
    """Which lines carry structure: not blank, not comments, not inside a `|`/`>` text."""
    texts = _texts(lines)
    return [
        number not in texts
        and bool(line.strip())
        and not line.strip().startswith("#")
        and line.strip() != "---"
        for number, line in enumerate(lines)
    ]


def _key_of(line: str) -> tuple[int, str] | None:
    """The 0-based column and name of the block key a line starts with, if any."""
    match = _KEY.match(line)
    if match is None:
        return None
    return len(match["indent"]) + len(match["dashes"]), match["key"].strip()


def _levels(lines: list[str], before: int) -> list[_Level]:
    """The keys and list items still open at line `before` (0-based), deepest first."""
    content = _content(lines)
    levels: list[_Level] = []
    limit: int | None = None  # columns at or beyond it are closed
    for number in range(min(before, len(lines)) - 1, -1, -1):
        if not content[number]:
            continue
        line = lines[number]
        found: list[_Level] = []
        key = _key_of(line)
        if key is not None:
            found.append(_Level(key[0], "key", key[1], number + 1))
        for item in re.finditer(r"-(?= |$)", line[: key[0] if key else len(line)]):
            if line[: item.start()].strip(" -") == "":
                found.append(_Level(item.start(), "item", key[1] if key else "", number + 1))
        if not found:
            continue
        for level in sorted(found, key=lambda lv: -lv.column):
            if limit is None or level.column < limit:
                levels.append(level)
                limit = level.column
        if limit == 0:
            break
    return levels


def _quoted(key: str, value: str) -> str:
    value = value.strip()
    if '"' not in value:
        return f'{key}: "{value}"'
    return f"{key}: '" + value.replace("'", "''") + "'"


def _spaces(n: int) -> str:
    return f"{n} space{'' if n == 1 else 's'}"


def _place(what: str, column: int) -> str:
    """`indent 'do' 8 spaces`, or `start 'title' at the left margin`."""
    return f"indent {what} {_spaces(column)}" if column else f"start {what} at the left margin"


# --------------------------------------------------------------------------- causes


def _block_text(at: _Error) -> Explained | None:
    texts = _texts(at.lines)
    for number in dict.fromkeys([at.context_line, at.line]):
        text = texts.get(number)
        indent = _indent(at.text(number))
        if text is None or not at.text(number).strip() or indent >= text.indent:
            continue
        key = _key_of(at.lines[text.owner])
        name = f"the text of '{key[1]}'" if key else "the text"
        return Explained(
            number + 1,
            indent + 1,
            f"line {number + 1} of {name} (line {text.owner + 1}) is indented "
            f"{_spaces(indent)}, less than its first line ({_spaces(text.indent)})",
            "indent every line of a '>' or '|' text as far as its first line: "
            f"{_spaces(text.indent)}",
        )
    return None


def _unclosed(at: _Error) -> Explained | None:
    opened = {
        "while scanning a quoted scalar": ("quote", "add the closing quote"),
        "while parsing a flow mapping": ("'{'", "close it with '}'"),
        "while parsing a flow sequence": ("'['", "close it with ']'"),
    }.get(at.context)
    ends = ("end of stream", "expected ','", "expected ']'", "expected '}'")
    if opened is None or not any(end in at.problem for end in ends):
        return None
    what, fix = opened
    key = _key_of(at.text(at.context_line))
    named = f" in the value of '{key[1]}'" if key else ""
    separated = "" if what == "quote" else " (entries are separated by ', ')"
    return Explained(
        at.context_line + 1,
        at.context_column + 1,
        f"the {what} opened on line {at.context_line + 1}{named} is never closed",
        f"{fix} where the value ends{separated}",
    )


def _no_space(at: _Error) -> Explained | None:
    simple_key = at.context == "while scanning a simple key"
    nearby = [at.context_line] if simple_key else []
    for number in dict.fromkeys([*nearby, at.line - 1, at.line]):
        text = at.text(number)
        if _NO_SPACE_AFTER_DASH.match(text):
            indent = len(text) - len(text.lstrip())
            fixed = text[: indent + 1] + " " + text[indent + 1 :]
            return Explained(
                number + 1,
                indent + 1,
                f"'{text.strip()}' needs a space after '-' to be a list item",
                f"write '{fixed.strip()}'",
            )
    content = _content(at.lines)
    above = next((n for n in range(at.line - 1, -1, -1) if content[n]), None)
    for number in dict.fromkeys([*nearby, *([above] if above is not None else [])]):
        text = at.text(number)
        squeezed = re.match(r" *((?:- +)*)([A-Za-z_][\w-]*):([^\s:/].*)$", text)
        if squeezed:
            fixed = f"{squeezed[1]}{squeezed[2]}: {squeezed[3]}"
            return Explained(
                number + 1,
                _indent(text) + 1,
                f"no space after ':' in '{text.strip()}'",
                f"YAML needs a space after the colon: write '{fixed}'",
            )
    if not simple_key:
        return None
    text = at.text(at.context_line)
    indent = _indent(text)
    if ":" not in text:
        return Explained(
            at.context_line + 1,
            indent + 1,
            f"line {at.context_line + 1} ('{text.strip()}') is neither 'key: value' "
            "nor a list item",
            "add the ':' after the key; or, if the line continues the text above, put "
            "that text in quotes or indent the line deeper than its key",
        )
    return None


_RESERVED = {
    "*": "reads as an alias (*name)",
    "&": "reads as an anchor (&name)",
    "!": "reads as a tag",
    "%": "reads as a directive",
    "@": "does not allow at the start of an unquoted value",
    "`": "does not allow at the start of an unquoted value",
    "[": "reads as the start of a list",
    "{": "reads as the start of a mapping",
}


def _value_of(text: str) -> tuple[str, str, int] | None:
    """The key, value and value's 0-based column of a `key: value` line."""
    match = re.match(r" *(?:- +)*([^\s:#][^:#]*?):[ ]+(\S.*)$", text)
    if match is None:
        return None
    return match[1].strip(), match[2], match.start(2)


def _reserved_start(at: _Error) -> Explained | None:
    found = _value_of(at.text(at.line))
    if found is None:
        return None
    key, value, start = found
    first = value[0]
    alias = at.context in ("while scanning an alias", "while scanning an anchor")
    scanned = (at.context_line, at.context_column) if alias else (at.line, at.column)
    bad_start = (alias or "cannot start any token" in at.problem) and scanned == (at.line, start)
    after_collection = first in "[{" and "expected key" in at.problem and at.column > start
    if first not in _RESERVED or not (bad_start or after_collection):
        return None
    return Explained(
        at.line + 1,
        start + 1,
        f"the value of '{key}' starts with '{first}', which YAML {_RESERVED[first]}",
        f"put the value in quotes: {_quoted(key, value)}",
    )


def _after_quote(at: _Error) -> Explained | None:
    found = _value_of(at.text(at.line))
    if found is None or "expected key" not in at.problem:
        return None
    key, value, start = found
    if value[0] not in "'\"" or at.column <= start:
        return None
    apostrophe = re.search(r"\w+'\w+", value) if value[0] == "'" else None
    if apostrophe is not None:
        return Explained(
            at.line + 1,
            start + 1,
            f"the value of '{key}' is in single quotes, so the apostrophe in "
            f'"{apostrophe[0]}" ends it',
            f"write '' for an apostrophe inside '…', or use double quotes: "
            f'{key}: "{value[1:].rstrip(chr(39)).strip()}"',
        )
    return Explained(
        at.line + 1,
        at.column + 1,
        f"text after the closing quote of '{key}'",
        f"put the whole value in quotes, e.g. {_quoted(key, value)}, or remove the text "
        "after the quote",
    )


def _colon_in_value(at: _Error) -> Explained | None:
    if "mapping values are not allowed" not in at.problem:
        return None
    text = at.text(at.line)
    key = _key_of(text)
    if key is None or text.index(":", key[0]) >= at.column:
        return None
    value = text[text.index(":", key[0]) + 1 :]
    return Explained(
        at.line + 1,
        at.column + 1,
        f"the value of '{key[1]}' contains ': ', which YAML reads as a new key",
        f"put the value in quotes: {_quoted(key[1], value)}",
    )


def _documents(at: _Error) -> Explained | None:
    if "found another document" in at.problem:
        return Explained(
            at.line + 1,
            1,
            f"a second YAML document starts on line {at.line + 1} ('---')",
            "a file holds one document: remove the '---' line, or move what follows into a file "
            "of its own",
        )
    if "expected <document start>" in at.problem:
        first = next((t for t in at.lines if t.strip() and not t.lstrip().startswith("#")), "")
        indent = len(first) - len(first.lstrip())
        if indent:
            return Explained(
                at.line + 1,
                1,
                f"the first field is indented {_spaces(indent)}, but line {at.line + 1} is not",
                "start the top-level fields at the left margin",
            )
    return None


def _indentation(at: _Error) -> Explained | None:
    if not any(
        words in at.problem
        for words in ("mapping values are not allowed", "expected key", "expected '-' indicator")
    ):
        return None
    text = at.text(at.line)
    levels = _levels(at.lines, at.line)
    item = _ITEM.match(text)
    if item is not None:
        return _misplaced_item(at.line, text, len(item["indent"]), levels)
    key = _key_of(text)
    keys = [level for level in levels if level.kind == "key"]
    if key is None or not keys or any(level.column == key[0] for level in keys):
        return None
    column, name = key
    nearest = min(keys, key=lambda level: (abs(level.column - column), -level.column))
    deeper = [level for level in keys if level.column > column]
    shallower = [level for level in keys if level.column < column]
    other = next((lv for lv in deeper[-1:] + shallower[:1] if lv is not nearest), None)
    by = abs(column - nearest.column)
    more = column > nearest.column
    message = (
        f"'{name}' is indented {_spaces(column)}, {by} {'more' if more else 'less'} than "
        f"'{nearest.name}' on line {nearest.line}"
    )
    place = _place(f"'{name}'", nearest.column)
    hint = f"keys of one mapping line up: {place}, as '{nearest.name}'"
    if other is not None:
        hint += f" (or {_place('it', other.column)}, as '{other.name}' on line {other.line})"
    if more and nearest is levels[0]:  # `title: Y` then `  version: …`
        message += ", whose value is already given"
        hint += f"; if the line continues the text of '{nearest.name}', put that text in quotes"
    return Explained(at.line + 1, column + 1, message, hint)


def _misplaced_item(line: int, text: str, column: int, levels: list[_Level]) -> Explained | None:
    items = [level for level in levels if level.kind == "item"]
    if not items or any(level.column == column for level in items):
        return None
    nearest = min(items, key=lambda level: (abs(level.column - column), -level.column))
    parent = next((lv for lv in levels if lv.kind == "key" and lv.column < nearest.column), None)
    owner = f" of '{parent.name}' (line {parent.line})" if parent else ""
    return Explained(
        line + 1,
        column + 1,
        f"the list item '{text.strip()}' is indented {_spaces(column)}, but the items"
        f"{owner} start at {_spaces(nearest.column)}",
        f"line its '-' up with the '-' on line {nearest.line}: {_place('it', nearest.column)}",
    )
