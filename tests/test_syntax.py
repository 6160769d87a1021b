"""YAML syntax errors in plain words (sopgen.syntax through source.load_text).

tests/test_validate_messages.py checks the commonest slips in a real SOP
through `sopgen validate`; here each other cause the module names, on a few
lines, and that no damaged file makes the explanation itself fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sopgen.problems import Problem
from sopgen.source import load_text
from sopgen.syntax import GENERAL_HINT

REPO = Path(__file__).parents[1]


def syntax_error(text: str) -> Problem:
    problems = load_text(text.encode(), "f.yaml").problems
    assert [p.code for p in problems] == ["yaml-syntax"], problems
    return problems[0]


@pytest.mark.parametrize(
    ("text", "where", "message", "hint"),
    [
        (
            "id: X\nintroduction: >\n   This SOP describes\n  how we work.\nscope: all\n",
            (4, 3),
            "line 4 of the text of 'introduction' (line 2) is indented 2 spaces, less than "
            "its first line (3 spaces)",
            "indent every line of a '>' or '|' text as far as its first line: 3 spaces",
        ),
        (
            'id: X\ntitle: "Complaint handling\nstatus: draft\n',
            (2, 8),
            "the quote opened on line 2 in the value of 'title' is never closed",
            "add the closing quote where the value ends",
        ),
        (
            "approvals:\n  - {name: Dana, role: manager, date: 2026-01-01\n  - {name: Kim}\n",
            (2, 5),
            "the '{' opened on line 2 is never closed",
            "close it with '}' where the value ends (entries are separated by ', ')",
        ),
        (
            "id: X\ntitle: 'Don't forget'\n",
            (2, 8),
            "the value of 'title' is in single quotes, so the apostrophe in \"Don't\" ends it",
            "write '' for an apostrophe inside '…', or use double quotes: title: \"Don't forget\"",
        ),
        (
            'id: X\ntitle: "Urgent" complaints\n',
            (2, 17),
            "text after the closing quote of 'title'",
            "put the whole value in quotes, e.g. title: '\"Urgent\" complaints', or remove "
            "the text after the quote",
        ),
        (
            "id: X\ndo: [Optional] call back\n",
            (2, 5),
            "the value of 'do' starts with '[', which YAML reads as the start of a list",
            'put the value in quotes: do: "[Optional] call back"',
        ),
        (
            "id: X\ntitle Complaints\nstatus: draft\n",
            (2, 1),
            "line 2 ('title Complaints') is neither 'key: value' nor a list item",
            "add the ':' after the key; or, if the line continues the text above, put that "
            "text in quotes or indent the line deeper than its key",
        ),
        (
            "steps:\n  -id: receive\n   do: Receive it.\n",
            (2, 3),
            "'-id: receive' needs a space after '-' to be a list item",
            "write '- id: receive'",
        ),
        (
            "id: X\n---\nid: Y\n",
            (2, 1),
            "a second YAML document starts on line 2 ('---')",
            "a file holds one document: remove the '---' line, or move what follows into a "
            "file of its own",
        ),
        (
            "roles:\n    cs-rep: Customer Service\n   manager: Manager\n",
            (3, 4),
            "'manager' is indented 3 spaces, 1 less than 'cs-rep' on line 2",
            "keys of one mapping line up: indent 'manager' 4 spaces, as 'cs-rep' "
            "(or start it at the left margin, as 'roles' on line 1)",
        ),
    ],
)
def test_each_cause_is_named(text: str, where: tuple[int, int], message: str, hint: str) -> None:
    problem = syntax_error(text)
    assert (problem.line, problem.column) == where
    assert problem.message == f"YAML syntax error: {message}"
    assert problem.hint == hint


def test_what_the_text_does_not_explain_keeps_libyamls_words() -> None:
    problem = syntax_error("id: X\ndo: ok\n  - a: b\n    c\n  d: [\n")
    assert problem.hint == GENERAL_HINT
    assert problem.message.startswith("YAML syntax error: ")


SOP = (REPO / "sops" / "sop-cs-001.yaml").read_text()
_EDITS = st.sampled_from([" ", "  ", "", ":", "- ", "-", '"', "'", "{", "[", "*", "\n", ">"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(st.tuples(st.integers(0, len(SOP) - 1), st.integers(0, 2), _EDITS), max_size=3)
)
def test_a_damaged_sop_is_explained_without_failing(edits: list[tuple[int, int, str]]) -> None:
    text = SOP
    for at, cut, insert in edits:
        text = text[:at] + insert + text[at + cut :]
    for problem in load_text(text.encode(), "f.yaml").problems:  # never raises
        assert problem.line >= 1 and problem.column >= 1 and problem.message
