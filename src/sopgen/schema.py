"""JSON Schema validation (draft 2020-12), mapped back to file positions.

The schemas in `schema/` are the single source of truth: the editor uses them
through the `# yaml-language-server: $schema=` line, and this module compiles
each once and turns its errors into `Problem`s a person can act on: the
offending line, a plain message, a "did you mean" for unknown fields and
values, and the field's own `description` as the hint.

Most files are valid, so a compiled validator (jsonschema-rs, 40x faster here)
answers "valid?" first; only a file that fails is walked again by the Python
`jsonschema` validator, whose errors carry what the messages need.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from sopgen.assets import schema_dir
from sopgen.model import section_letter
from sopgen.problems import Problem, error
from sopgen.source import FieldPath, SourceMap

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

SOP = "sop.schema.json"
CONFIG = "config.schema.json"


@cache
def load_schema(name: str) -> dict[str, Any]:
    with (schema_dir() / name).open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@cache
def validator(name: str) -> Draft202012Validator:
    """One compiled validator per schema, reused for every file that fails the fast one."""
    from jsonschema import Draft202012Validator  # 80 ms of imports, only for messages

    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@cache
def fast_validator(name: str) -> Any:
    return jsonschema_rs.validator_for(load_schema(name))


def validate(name: str, data: Any, source: SourceMap) -> list[Problem]:
    """Every schema problem of `data`, each pointed at its line and column."""
    if fast_validator(name).is_valid(data):
        return []
    problems: list[Problem] = []
    for err in validator(name).iter_errors(data):
        problems.extend(_explain(err, source))
    return problems


SOP_ID = re.compile(r"[A-Z0-9][A-Z0-9-]*")
"""The form of an SOP id (schema/sop.schema.json says the same)."""


def describe_path(path: FieldPath) -> str:
    """Where a value stands, as the reader of the checklist names it.

    A step by its checklist label, a section by its letter (`("procedure", 2,
    "steps", 1, "within")` → `step C2's within`, `("procedure", 0)` → `section
    A`); other paths dotted (`revisions[1].date`).
    """
    if len(path) >= 2 and path[0] == "procedure" and isinstance(path[1], int):
        letter = section_letter(path[1])
        rest = path[2:]
        if len(rest) >= 2 and rest[0] == "steps" and isinstance(rest[1], int):
            head, rest = f"step {letter}{rest[1] + 1}", rest[2:]
        else:
            head = f"section {letter}"
        return f"{head}'s {_dotted(rest)}" if rest else head
    return _dotted(path) or "the document"


def _dotted(path: FieldPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


SYNONYMS = {
    "status": dict.fromkeys(
        ("in-force", "inforce", "in-effect", "enforced", "active", "live", "current", "in-use"),
        "effective",
    ),
}
"""Words that mean an allowed value without looking like it, by field: `status: in-force`
is closer in spelling to `in-review` but means `effective`."""


def _explain(err: ValidationError, source: SourceMap) -> Iterator[Problem]:
    path: FieldPath = tuple(err.absolute_path)
    where = describe_path(path)
    schema = err.schema if isinstance(err.schema, dict) else {}
    description: str | None = schema.get("description")

    def at_value(code: str, message: str, hint: str | None = None) -> Problem:
        mark = source.value(path)
        return error(source.file, mark.line, mark.column, code, message, hint)

    validator_name = err.validator
    if validator_name == "additionalProperties" and isinstance(err.instance, dict):
        allowed = list(schema.get("properties", {}))
        for key in err.instance:
            if key in allowed:
                continue
            mark = source.key((*path, key))
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint: str | None = (
                f"did you mean '{close[0]}'?" if close else f"allowed here: {', '.join(allowed)}"
            )
            yield error(
                source.file,
                mark.line,
                mark.column,
                "unknown-field",
                f"unknown field '{key}'" + (f" in {where}" if path else ""),
                hint,
            )
        return
    if validator_name == "required":
        missing = err.message.split("'")[1] if "'" in err.message else str(err.message)
        props = schema.get("properties", {})
        field_help = props.get(missing, {}).get("description")
        mark = source.key(path) if path else source.value(())
        yield error(
            source.file,
            mark.line,
            mark.column,
            "missing-field",
            f"missing required field '{missing}'" + (f" in {where}" if path else ""),
            f"add '{missing}:' — {field_help}" if field_help else f"add '{missing}:'",
        )
        return
    if validator_name == "type":
        expected = _type_name(err.validator_value)
        actual = _type_name(_json_type(err.instance))
        hint = description
        units = _quantity_units(schema)
        if expected == "text" and actual == "a number" and units:  # retention: 5
            example = _with_unit(str(err.instance), _example_unit(units, description))
            hint = f"add the unit ({_or_list(units)}), e.g. {example}"
        elif expected == "text" and actual == "a number" and _quoted_fits(schema, err.instance):
            hint = f'put the value in quotes, e.g. "{err.instance}"'
        yield at_value("wrong-type", f"{where} must be {expected}, not {actual}", hint)
        return
    if validator_name == "enum":
        options = [str(o) for o in err.validator_value]
        word = re.sub(r"[\s_]+", "-", str(err.instance).strip().lower())
        meant = SYNONYMS.get(str(path[-1]) if path else "", {}).get(word)
        close = (
            [meant]
            if meant in options
            else difflib.get_close_matches(str(err.instance), options, n=1, cutoff=0.5)
        )
        suggestion = f"did you mean '{close[0]}'?" if close else f"one of: {', '.join(options)}"
        yield at_value(
            "bad-value",
            f"{where}: '{err.instance}' is not one of {', '.join(options)}",
            suggestion,
        )
        return
    one_digit_hour = isinstance(err.instance, str) and re.fullmatch(r"\d:[0-5]\d", err.instance)
    if validator_name == "pattern" and one_digit_hour:  # start: 9:00
        yield at_value(
            "bad-format",
            f"{where}: '{err.instance}' is not a time of day in the form HH:MM",
            f'write "0{err.instance}" (two digits for the hour, in quotes)',
        )
        return
    units = _quantity_units(schema)
    if validator_name == "pattern" and units and isinstance(err.instance, str):
        yield at_value(
            "bad-format",
            f"{where}: '{err.instance}' is not in the expected form",
            _quantity_hint(err.instance, units, description),
        )
        return
    if validator_name == "pattern":
        yield at_value(
            "bad-format",
            f"{where}: '{err.instance}' is not in the expected form",
            description,
        )
        return
    if validator_name == "oneOf" and path and path[0] == "references":
        keys = set(err.instance) if isinstance(err.instance, dict) else set()
        sop = err.instance.get("sop") if isinstance(err.instance, dict) else None
        if isinstance(sop, str) and not SOP_ID.fullmatch(sop) and "title" not in keys:
            mark = source.value((*path, "sop"))
            yield error(
                source.file,
                mark.line,
                mark.column,
                "bad-format",
                f"{where}.sop: '{sop}' is not an SOP id",
                "SOP ids are capital letters, digits and hyphens"
                + (f": write {sop.upper()}" if SOP_ID.fullmatch(sop.upper()) else ""),
            )
            return
        if isinstance(err.instance, dict) and (
            {"sop", "title"} <= keys or not keys & {"sop", "title"}
        ):
            yield at_value(
                "bad-reference",
                f"{where}: a reference names either another SOP ('sop:') or an outside "
                "document ('title:'), exactly one of them",
                "write '- sop: SOP-CS-005' or '- title: CRM System User Guide' (optional url:)",
            )
            return
        from jsonschema.exceptions import best_match

        inner = best_match(err.context) if err.context else None
        if inner is not None:
            yield from _explain(inner, source)
            return
    if validator_name in ("propertyNames",):
        yield at_value(
            "bad-format",
            f"{where}: '{err.instance}' is not a valid id",
            "ids are lowercase letters, digits, '-' and '_', starting with a letter",
        )
        return
    if validator_name in ("minItems", "minProperties", "minLength"):
        yield at_value("empty-value", f"{where} must not be empty", description)
        return
    if validator_name == "uniqueItems":
        yield at_value("duplicate-item", f"{where} lists the same entry twice", description)
        return
    if validator_name == "maxLength":
        yield at_value("too-long", f"{where} is too long", description)
        return
    yield at_value("schema", f"{where}: {err.message}", description)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_name(json_type: Any) -> str:
    names = {
        "string": "text",
        "object": "a mapping of fields",
        "array": "a list",
        "number": "a number",
        "integer": "a whole number",
        "boolean": "true or false",
        "null": "empty",
    }
    if isinstance(json_type, list):
        return " or ".join(names.get(str(t), str(t)) for t in json_type)
    return names.get(json_type, str(json_type))


# --------------------------------------------------------------------------- quantities

_QUANTITY = re.compile(r"\^\\s\*\\d\+\\s\+\(([a-z|]+)\)s\?\\s\*\$")
"""A schema pattern of the form `^\\s*\\d+\\s+(day|week|month|year)s?\\s*$`: a number and a unit."""

_UNIT_ABBREVIATIONS = {
    "m": "minute", "min": "minute", "mins": "minute",
    "h": "hour", "hr": "hour", "hrs": "hour",
    "d": "day", "w": "week", "wk": "week", "wks": "week",
    "mo": "month", "mos": "month", "mth": "month", "mths": "month",
    "y": "year", "yr": "year", "yrs": "year",
}  # fmt: skip


def _quantity_units(schema: dict[str, Any]) -> tuple[str, ...]:
    """The units a 'number and unit' field takes (periods, durations), read from its pattern."""
    match = _QUANTITY.fullmatch(str(schema.get("pattern", "")))
    return tuple(match[1].split("|")) if match else ()


def _with_unit(amount: str, unit: str) -> str:
    return f"'{amount} {unit}{'' if amount == '1' else 's'}'"


def _or_list(units: tuple[str, ...]) -> str:
    plural = [f"{unit}s" for unit in units]
    return ", ".join(plural[:-1]) + f" or {plural[-1]}" if len(plural) > 1 else plural[0]


def _example_unit(units: tuple[str, ...], description: str | None) -> str:
    """The unit of the field's own example (`e.g. \\`3 years\\``), else its largest unit."""
    example = re.search(r"`\d+\s+([a-z]+?)s?`", description or "")
    return example[1] if example and example[1] in units else units[-1]


def _quantity_hint(text: str, units: tuple[str, ...], description: str | None) -> str | None:
    """`5 yaers` → did you mean '5 years'?; `5` → add the unit; else the field's description."""
    match = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]*)\.?\s*", text)
    if not match:
        return description
    amount, word = match[1], match[2].lower()
    if not word:
        example = _with_unit(amount, _example_unit(units, description))
        return f"add the unit ({_or_list(units)}), e.g. {example}"
    unit = _UNIT_ABBREVIATIONS.get(word) or word.removesuffix("s")
    if unit not in units:
        close = difflib.get_close_matches(word, [f"{u}s" for u in units] + list(units), 1, 0.7)
        unit = close[0].removesuffix("s") if close else ""
    if not unit:
        example = _with_unit(amount, _example_unit(units, description))
        return f"the unit is one of {_or_list(units)}, e.g. {example}"
    return f"did you mean {_with_unit(amount, unit)}?"


def _quoted_fits(schema: dict[str, Any], value: Any) -> bool:
    """Whether quoting a number would satisfy the field (`version: 1.1`; not `retention: 5`)."""
    pattern = schema.get("pattern")
    return pattern is None or re.search(pattern, str(value)) is not None
