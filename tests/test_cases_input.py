"""Reading what users type: timestamps and case ids."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sopgen.cases.errors import CaseError
from sopgen.cases.model import check_case_id
from sopgen.cases.timestamps import human, iso, parse_timestamp

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-20T18:05",
        "2026-11-20 18:05",
        "2026-11-20T18:05:00",
        "2026-11-20T17:05Z",
        "2026-11-20T17:05:00+00:00",
        "2026-11-20T12:05-05:00",
        " 2026-11-20T18:05 ",
        "20261120T180500",
    ],
)
def test_timestamps_users_write(text: str):
    moment = parse_timestamp(text, BERLIN)
    assert moment == datetime(2026, 11, 20, 18, 5, tzinfo=BERLIN)
    assert iso(moment, BERLIN) == "2026-11-20T18:05:00+01:00"


def test_summer_time_and_its_gap():
    assert iso(parse_timestamp("2026-07-01T09:00", BERLIN), BERLIN) == "2026-07-01T09:00:00+02:00"
    with pytest.raises(CaseError, match="does not exist in Europe/Berlin"):
        parse_timestamp("2026-03-29T02:30", BERLIN)
    autumn = parse_timestamp("2026-10-25T02:30", BERLIN)  # happens twice: the first one
    assert autumn.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("yesterday", "is not a timestamp"),
        ("2026-11-20", "has a date but no time"),
        ("2026-02-30T10:00", "is not a real date"),
        ("2026-13-01T10:00", "is not a real date"),
        ("1999-12-31T10:00", "outside the years"),
        ("2100-01-01T10:00", "outside the years"),
    ],
)
def test_bad_timestamps(text: str, message: str):
    with pytest.raises(CaseError, match=message) as info:
        parse_timestamp(text, BERLIN)
    assert info.value.hint


def test_an_impossible_date_says_how_long_the_month_is():
    with pytest.raises(CaseError) as info:
        parse_timestamp("2026-02-30T10:00", BERLIN)
    assert info.value.hint == "Feb 2026 has 28 days; write YYYY-MM-DDTHH:MM"


def test_human_form():
    assert (
        human(datetime(2026, 11, 24, 17, 0, tzinfo=BERLIN), BERLIN) == "Tue 24 Nov 2026 17:00 CET"
    )
    assert human(datetime(2026, 7, 1, 7, 0, tzinfo=ZoneInfo("UTC")), BERLIN) == (
        "Wed 01 Jul 2026 09:00 CEST"
    )


@pytest.mark.parametrize(
    "case_id", ["C-2026-0042", "c1", "A.b_c-d", "9", "x" * 64, "CONSOLE", "COM10", "nul-1"]
)
def test_good_case_ids(case_id: str):
    assert check_case_id(case_id) is None


@pytest.mark.parametrize(
    "case_id",
    [
        "",
        "../../etc",
        "a/b",
        "a\\b",
        ".hidden",
        "-x",
        "a..b",
        "end.",
        "x" * 65,
        "CON",
        "con.txt",
        "LPT1",
        "com3",
        "a b",
        "C-1\n",
        "ü",
        "<script>",
    ],
)
def test_unsafe_case_ids(case_id: str):
    assert check_case_id(case_id) is not None


def test_german_day_first_times_are_read_and_checked():
    assert parse_timestamp("22.12.2026 10:00", BERLIN).isoformat() == "2026-12-22T10:00:00+01:00"
    assert parse_timestamp("1.2.2027 08:05:30", BERLIN).isoformat() == "2027-02-01T08:05:30+01:00"
    with pytest.raises(CaseError, match="not a real date"):
        parse_timestamp("31.11.2026 10:00", BERLIN)
