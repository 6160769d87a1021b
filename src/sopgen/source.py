"""Safe YAML loading that keeps the line and column of every node.

PyYAML's own constructors lose positions, silently keep the last of two equal
keys, turn `2026-12-01` into a `date` (and crash on `2026-13-45`), and expand
alias bombs without limit. So we let libyaml (CSafeLoader) parse and compose
the node graph, and construct plain Python data from the nodes ourselves:

- every mapping key and value keeps its 1-based line and column in a
  `SourceMap`, keyed by its path (`("procedure", 0, "steps", 1, "within")`);
- a repeated key is a problem pointing at the second occurrence;
- timestamps stay strings (the schema and the model check them);
- a budget on constructed nodes stops alias bombs and recursive aliases early;
- files larger than `MAX_BYTES` are refused before parsing.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from sopgen import syntax
from sopgen.problems import Problem, error

try:  # libyaml is the fast path; pure Python PyYAML behaves the same, slower.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_BYTES = 1024 * 1024
"""No SOP or config is anywhere near 1 MiB; anything larger is refused unread."""

MAX_NODES = 100_000
"""Upper bound on nodes constructed from one file, aliases counted each time they expand."""

FieldPath = tuple[str | int, ...]
"""Where a value stands in a document: keys and list indexes, e.g. ("procedure", 0, "id")."""


class Mark(NamedTuple):
    """A 1-based line and column (a tuple: one is made for every node of every file)."""

    line: int
    column: int


@dataclass
class SourceMap:
    """Where each key and value of a loaded document stands in its file."""

    file: str
    values: dict[FieldPath, Mark] = field(default_factory=dict)
    keys: dict[FieldPath, Mark] = field(default_factory=dict)

    def value(self, path: FieldPath) -> Mark:
        """The position of the value at `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), Mark(1, 1))

    def key(self, path: FieldPath) -> Mark:
        """The position of the key that introduces `path` (falls back to the value)."""
        path = tuple(path)
        return self.keys.get(path) or self.value(path)


@dataclass
class Document:
    """A loaded YAML file: its data (None when it could not be loaded) and positions."""

    file: str
    data: Any
    source: SourceMap
    problems: list[Problem]
    digest: str
    text: str = ""


class _TooManyNodes(Exception):
    pass


class _Constructor:
    def __init__(self, file: str):
        self.file = file
        self.source = SourceMap(file)
        self.problems: list[Problem] = []
        self.budget = MAX_NODES
        self._scalar = yaml.SafeLoader.__new__(yaml.SafeLoader)  # only for int/float parsing
        self._active: set[int] = set()

    def build(self, node: yaml.Node, path: FieldPath) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise _TooManyNodes
        self.source.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if id(node) in self._active:
                raise _TooManyNodes  # a recursive alias expands forever
            self._active.add(id(node))
            try:
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            finally:
                self._active.discard(id(node))
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar_value(node)

    def _mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[str, Any]:
        if id(node) in self._active:
            raise _TooManyNodes
        self._active.add(id(node))
        try:
            result: dict[str, Any] = {}
            first_seen: dict[str, Mark] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self._problem(
                        key_node,
                        "merge-key",
                        "merge keys (<<) are not supported",
                        "write the fields out, or use an anchor for a whole value",
                    )
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    self._problem(
                        key_node, "complex-key", "a key must be plain text, not a list or mapping"
                    )
                    continue
                key = str(key_node.value)
                mark = _mark(key_node)
                if key in first_seen:
                    first = first_seen[key]
                    self._problem(
                        key_node,
                        "duplicate-key",
                        f"duplicate key '{key}' (first defined at line {first.line})",
                        "YAML keeps only one of them; remove or rename one",
                    )
                    continue
                first_seen[key] = mark
                self.source.keys[(*path, key)] = mark
                result[key] = self.build(value_node, (*path, key))
            return result
        finally:
            self._active.discard(id(node))

    def _scalar_value(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        value = node.value
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == "tag:yaml.org,2002:bool":
            return value.lower() in ("true", "yes", "on", "y")
        if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and ":" in value:
            return value  # YAML 1.1 base 60 (`start: 9:00` is 540): a time, kept as written
        if tag == "tag:yaml.org,2002:int":
            try:
                return self._scalar.construct_yaml_int(node)
            except ValueError:
                return value
        if tag == "tag:yaml.org,2002:float":
            try:
                return self._scalar.construct_yaml_float(node)
            except ValueError:
                return value
        if tag in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"):
            return value  # timestamps stay text: the schema and model check them
        self._problem(
            node,
            "yaml-tag",
            f"unsupported YAML tag {tag}",
            "remove the tag; sopgen reads plain text, numbers, lists and mappings",
        )
        return value

    def _problem(self, node: yaml.Node, code: str, message: str, hint: str | None = None) -> None:
        mark = _mark(node)
        self.problems.append(error(self.file, mark.line, mark.column, code, message, hint))


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _utf8_problem(file: str, raw: bytes, exc: UnicodeDecodeError) -> Problem:
    before = raw[: exc.start]
    line = before.count(b"\n") + 1
    column = exc.start - (before.rfind(b"\n") + 1) + 1
    return error(
        file,
        line,
        column,
        "not-utf8",
        f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
        "save the file as UTF-8 (most editors: 'Save with encoding' → UTF-8)",
    )


def _yaml_problem(file: str, text: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    column = mark.column + 1 if mark else 1
    message = exc.problem or "invalid YAML"
    if exc.context:
        message = f"{exc.context}: {message}"
    hint = syntax.GENERAL_HINT
    lines = text.splitlines()
    if mark and 0 <= mark.line < len(lines) and "\t" in lines[mark.line]:
        hint = "YAML does not allow tabs for indentation; indent with spaces"
        message = f"tab character in indentation ({message})"
    elif "found character '\\t'" in message:
        hint = "YAML does not allow tabs for indentation; indent with spaces"
    elif explained := syntax.explain(text, exc):
        line, column = explained.line, explained.column
        message, hint = explained.message, explained.hint
    return error(file, line, column, "yaml-syntax", f"YAML syntax error: {message}", hint)


def load_text(raw: bytes, file: str) -> Document:
    """Load one YAML document from bytes; never raises for bad input."""
    digest = hashlib.sha256(raw).hexdigest()
    source = SourceMap(file)

    def fail(problem: Problem) -> Document:
        return Document(file, None, source, [problem], digest)

    if len(raw) > MAX_BYTES:
        return fail(_too_large(file, len(raw)))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return fail(_utf8_problem(file, raw, exc))
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        return fail(
            error(
                file,
                1,
                1,
                "empty",
                "file is empty",
                "an SOP starts with 'id:', 'title:', 'version:' … (see sops/ for examples)",
            )
        )
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        return fail(_yaml_problem(file, text, exc))
    except yaml.YAMLError as exc:  # pragma: no cover - libyaml reports marks for all we know
        return fail(error(file, 1, 1, "yaml-syntax", f"YAML error: {exc}"))
    if node is None:
        return fail(error(file, 1, 1, "empty", "file is empty"))
    constructor = _Constructor(file)
    try:
        data = constructor.build(node, ())
    except _TooManyNodes:
        return fail(
            error(
                file,
                1,
                1,
                "too-many-nodes",
                f"the document expands to more than {MAX_NODES:,} values "
                "(an alias/anchor bomb or recursive alias?)",
                "remove the aliases (*name) that repeat large parts of the file",
            )
        )
    except RecursionError:
        return fail(error(file, 1, 1, "too-deep", "the document is nested too deeply to be an SOP"))
    constructor.source.values.setdefault((), Mark(1, 1))
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        mark = constructor.source.value(())
        constructor.problems.append(
            error(
                file,
                mark.line,
                mark.column,
                "not-a-mapping",
                f"the file holds {kind}, but must be a mapping of fields",
                "write fields as 'key: value' at the left margin, e.g. 'id: SOP-CS-001'",
            )
        )
        return Document(file, None, constructor.source, constructor.problems, digest, text)
    return Document(file, data, constructor.source, constructor.problems, digest, text)


def file_kind(mode: int) -> str:
    """What a `stat` mode is, in words: "file" for a regular file, else "FIFO", "directory" …"""
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"  # pragma: no cover - no other kind on the systems sopgen runs on


def load_file(path: Path, display: str | None = None) -> Document:
    """Read and load a YAML file; unreadable files become a problem, not an exception.

    Only a regular file is read, and at most `MAX_BYTES` of it: a FIFO is opened
    without waiting for a writer and refused, as are devices (`/dev/zero` never
    ends) and folders.
    """
    file = display or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except IsADirectoryError:
        return _unreadable(file, "is a directory, not a file")
    except FileNotFoundError:
        return _unreadable(file, "no such file")
    except OSError as exc:
        return _unreadable(file, f"cannot read the file ({exc.strerror or exc})")
    with os.fdopen(fd, "rb") as handle:
        try:
            info = os.fstat(fd)
            kind = file_kind(info.st_mode)
            if kind != "file":
                return _unreadable(file, f"is a {kind}, not a regular file")
            if info.st_size > MAX_BYTES:
                return Document(file, None, SourceMap(file), [_too_large(file, info.st_size)], "")
            raw = handle.read(MAX_BYTES + 1)  # a file that grew since fstat is caught here too
        except OSError as exc:
            return _unreadable(file, f"cannot read the file ({exc.strerror or exc})")
    return load_text(raw, file)


def _too_large(file: str, size: int) -> Problem:
    return error(
        file,
        1,
        1,
        "too-large",
        f"file is {size:,} bytes; sopgen refuses files over {MAX_BYTES:,} bytes",
        "an SOP is a few kilobytes; split it or remove pasted binary content",
    )


def _unreadable(file: str, why: str) -> Document:
    return Document(
        file,
        None,
        SourceMap(file),
        [error(file, 1, 1, "unreadable", f"{file}: {why}", "check the path and its permissions")],
        "",
    )


def walk(data: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, Any]]:
    """Every (path, value) in a loaded document, depth first."""
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from walk(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from walk(value, (*path, i))
