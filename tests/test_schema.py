"""The JSON Schemas as editors see them: valid draft 2020-12, help text everywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = sorted((ROOT / "schema").glob("*.schema.json"))


def properties(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            yield f"{path}.{name}", sub
        for key, sub in schema.items():
            if key == "properties":
                for name, prop in sub.items():
                    yield from properties(prop, f"{path}.{name}")
            elif isinstance(sub, dict | list):
                yield from properties(sub, path)
    elif isinstance(schema, list):
        for sub in schema:
            yield from properties(sub, path)


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_schema_is_valid_2020_12(path: Path) -> None:
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_every_property_has_a_description(path: Path) -> None:
    schema = json.loads(path.read_text())
    missing = [name for name, prop in properties(schema) if not prop.get("description")]
    assert missing == []


def test_every_sop_file_points_editors_at_the_schema() -> None:
    files = sorted((ROOT / "sops").glob("*.yaml"))
    assert len(files) == 8
    for file in files:
        first = file.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schema/sop.schema.json", file
    config_first = (ROOT / "sopgen.yaml").read_text().splitlines()[0]
    assert config_first == "# yaml-language-server: $schema=schema/config.schema.json"
