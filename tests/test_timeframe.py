"""The `within:` grammar of docs/deadlines.md: what authors may write and what it means."""

from __future__ import annotations

import pytest

from sopgen.timeframe import Kind, TimeframeError, parse


@pytest.mark.parametrize(
    ("text", "kind", "amount", "unit", "after"),
    [
        ("Immediate", Kind.IMMEDIATE, 0, "", None),
        ("immediately", Kind.IMMEDIATE, 0, "", None),
        ("Within 1 hour", Kind.ELAPSED, 1, "hour", None),
        ("WITHIN 24 HOURS", Kind.ELAPSED, 24, "hour", None),
        ("90 minutes", Kind.ELAPSED, 90, "minute", None),
        ("1 minute", Kind.ELAPSED, 1, "minute", None),
        ("3 days", Kind.CALENDAR, 3, "day", None),
        ("2 weeks", Kind.CALENDAR, 2, "week", None),
        ("4 business hours", Kind.BUSINESS_HOURS, 4, "hour", None),
        ("Within 5 business days", Kind.BUSINESS_DAYS, 5, "day", None),
        ("1 business day", Kind.BUSINESS_DAYS, 1, "day", None),
        ("2 business days after investigate", Kind.BUSINESS_DAYS, 2, "day", "investigate"),
        ("Immediate after intake.record", Kind.IMMEDIATE, 0, "", "intake.record"),
        ("  within   3   hours   after  plan ", Kind.ELAPSED, 3, "hour", "plan"),
    ],
)
def test_accepted_forms(text: str, kind: Kind, amount: int, unit: str, after: str | None) -> None:
    tf = parse(text)
    assert (tf.kind, tf.amount, tf.unit, tf.after) == (kind, amount, unit, after)
    assert tf.text == text.strip()


def test_lengths() -> None:
    assert parse("90 minutes").seconds == 5400
    assert parse("24 hours").seconds == 86400
    assert parse("2 weeks").days == 14
    assert parse("3 days").days == 3


@pytest.mark.parametrize(
    ("text", "hint_part"),
    [
        ("soon", "write e.g."),
        ("", "write e.g."),
        ("5 business weeks", "business days/hours"),
        ("2 business minutes", "business days/hours"),
        ("0 days", "Immediate"),
        ("10001 days", "realistic"),
        ("5 days after", "write e.g."),
        ("5 days before investigate", "write e.g."),
        ("-1 hours", "write e.g."),
        ("1.5 hours", "write e.g."),
        ("5 business days after ../x", "write e.g."),
    ],
)
def test_rejected_forms(text: str, hint_part: str) -> None:
    with pytest.raises(TimeframeError) as info:
        parse(text)
    assert hint_part in info.value.hint


def test_every_unit_of_the_table_is_parsed_measured_and_documented() -> None:
    """`timeframe.UNITS` is the one list of units: each parses in both numbers (and as
    business time exactly when the table says so), has its length from the table, and is
    named by the schema's description of `within:` and by docs/deadlines.md. A new unit
    is one row there; this test says where else the words must follow."""
    import json
    from pathlib import Path

    from sopgen.timeframe import UNITS

    repo = Path(__file__).resolve().parent.parent
    schema = (repo / "schema" / "sop.schema.json").read_text()
    within = next(
        v["description"]
        for v in _walk(json.loads(schema))
        if isinstance(v, dict) and "Timeframe:" in str(v.get("description", ""))
    )
    manual = (repo / "docs" / "deadlines.md").read_text()
    for name, unit in UNITS.items():
        for text in (f"1 {name}", f"3 {name}s"):
            tf = parse(text)
            assert (tf.kind, tf.unit) == (unit.kind, name)
            length = tf.seconds if unit.kind is Kind.ELAPSED else tf.days
            assert length == tf.amount * unit.length
        if unit.business is None:
            with pytest.raises(TimeframeError):
                parse(f"2 business {name}s")
        else:
            assert parse(f"2 business {name}s").kind is unit.business
            assert f"business {name}s" in within
        assert f"{name}s" in within, name
        assert f"`N {name}s`" in manual, name


def _walk(value: object) -> list[object]:
    found = [value]
    if isinstance(value, dict):
        for v in value.values():
            found += _walk(v)
    elif isinstance(value, list):
        for v in value:
            found += _walk(v)
    return found
