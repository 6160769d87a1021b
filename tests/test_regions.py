"""Holiday regions in sopgen.yaml: checked against the holidays package, answered from cache."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from sopgen import regions


def test_known_and_unknown_regions(tmp_path: Path) -> None:
    assert regions.region_problem("DE", "BE", tmp_path) is None
    field, message, hint = regions.region_problem("XX", None, tmp_path) or ("", "", "")
    assert (field, message) == (
        "country",
        "the holidays package has no public holidays for country 'XX'",
    )
    field, message, hint = regions.region_problem("DE", "ZZ", tmp_path) or ("", "", "")
    assert (field, message) == ("subdivision", "'ZZ' is not a subdivision of DE")
    assert "BE" in hint


def test_answers_come_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert regions.region_problem("DE", "BY", tmp_path) is None
    cached = json.loads((tmp_path / regions.CACHE_FILE).read_text())
    assert cached["holidays"] == regions.holidays_release()
    assert cached["answers"] == {"DE/BY": None}

    def no_asking(country: str, subdivision: str | None) -> regions.Answer:
        raise AssertionError("asked the holidays package again")

    monkeypatch.setattr(regions, "ask_holidays", no_asking)
    assert regions.region_problem("DE", "BY", tmp_path) is None


def test_another_holidays_release_asks_again(tmp_path: Path) -> None:
    (tmp_path / regions.CACHE_FILE).write_text(
        json.dumps({"holidays": "0.0.1", "answers": {"DE/XX": None}})
    )
    assert regions.region_problem("DE", "XX", tmp_path) is not None


def test_the_cache_lives_in_the_user_cache_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert regions.region_problem("DE", "HH") is None
    assert (tmp_path / "xdg" / "sopgen" / regions.CACHE_FILE).is_file()


@pytest.mark.parametrize("content", ["{not json", "[]", '{"holidays": 1}', ""])
def test_a_broken_cache_is_ignored(tmp_path: Path, content: str) -> None:
    (tmp_path / regions.CACHE_FILE).write_text(content)
    assert regions.region_problem("DE", "BE", tmp_path) is None
    assert regions.region_problem("DE", "XX", tmp_path) is not None


def test_holiday_dates_come_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dates = regions.holiday_dates("DE", "BE", 2026, tmp_path)
    assert date(2026, 3, 8) in dates  # International Women's Day: Berlin only
    assert date(2026, 12, 25) in dates
    assert date(2026, 3, 8) not in regions.holiday_dates("DE", "BY", 2026, tmp_path)

    def no_asking(country: str, subdivision: str | None, year: int) -> frozenset[date]:
        raise AssertionError("asked the holidays package again")

    monkeypatch.setattr(regions, "ask_dates", no_asking)
    assert regions.holiday_dates("DE", "BE", 2026, tmp_path) == dates
    with pytest.raises(AssertionError, match="asked the holidays package again"):
        regions.holiday_dates("DE", "BE", 2027, tmp_path)  # another year is another question


@pytest.mark.parametrize("entry", ['["2026-02-30"]', '["Christmas"]', "[20261225]", "7"])
def test_a_damaged_holiday_entry_is_asked_again(tmp_path: Path, entry: str) -> None:
    right = regions.holiday_dates("DE", "BE", 2026, tmp_path)
    cached = json.loads((tmp_path / regions.DATES_FILE).read_text())
    cached["answers"]["DE/BE/2026"] = json.loads(entry)
    (tmp_path / regions.DATES_FILE).write_text(json.dumps(cached))
    assert regions.holiday_dates("DE", "BE", 2026, tmp_path) == right
