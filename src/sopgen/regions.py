"""Questions to the `holidays` package, answered once, then cached.

Does it know a country and subdivision (`region_problem`, for validation)?
Which days of a year are public holidays there (`holiday_dates`, for
deadlines)? Any question to `holidays` imports all of its ~280 country modules
(0.25 s), which every `sopgen validate`, `sopgen build` and case command would
pay for a config that rarely changes. The answers depend only on the installed
`holidays` release and the question, so they are kept in small JSON files
keyed by exactly those, in the user's cache folder (`$XDG_CACHE_HOME/sopgen`,
else `~/.cache/sopgen`), never in the repository; a new `holidays` release
starts a fresh cache. A cache that cannot be read or written is simply not used.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import json
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from sopgen.files import write_atomic

CACHE_FILE = "holiday-regions.json"
DATES_FILE = "holiday-dates.json"
T = TypeVar("T")

Answer = tuple[str, str, str] | None
"""None when the region is known; else (field, message, hint) for a problem."""


def holidays_release() -> str | None:
    """The installed `holidays` version, found without importing the package.

    The dist-info folder beside the package names it; `importlib.metadata`
    (30 ms: it scans every path entry) is the fallback.
    """
    spec = importlib.util.find_spec("holidays")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))).parent
    for info in folder.glob("holidays-*.dist-info"):
        return info.name.removeprefix("holidays-").removesuffix(".dist-info")
    try:
        return importlib.metadata.version("holidays")
    except importlib.metadata.PackageNotFoundError:
        return None


def ask_holidays(country: str, subdivision: str | None) -> Answer:
    import holidays  # the slow part: imports every country module

    try:
        calendar = holidays.country_holidays(country)
    except NotImplementedError:
        return (
            "country",
            f"the holidays package has no public holidays for country '{country}'",
            "use an ISO 3166 alpha-2 code such as DE, AT, CH, GB, US, FR",
        )
    known = list(getattr(calendar, "subdivisions", ()))
    if subdivision is not None and subdivision not in known:
        return (
            "subdivision",
            f"'{subdivision}' is not a subdivision of {country}",
            f"one of: {', '.join(known)}",
        )
    return None


def user_cache_dir() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME")
    try:
        return (Path(base) if base else Path.home() / ".cache") / "sopgen"
    except RuntimeError:  # no home directory
        return None


def region_problem(country: str, subdivision: str | None, cache_dir: Path | None = None) -> Answer:
    """The problem with this holiday region, if any (answers cached in `cache_dir`)."""
    return _cached(
        CACHE_FILE,
        f"{country}/{subdivision or ''}",
        lambda: ask_holidays(country, subdivision),
        lambda answer: None if answer is None else (answer[0], answer[1], answer[2]),
        cache_dir,
    )


def ask_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    import holidays  # the slow part: imports every country module

    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def holiday_dates(
    country: str, subdivision: str | None, year: int, cache_dir: Path | None = None
) -> frozenset[date]:
    """The public holidays of `country` (and `subdivision`) in `year` (cached in `cache_dir`)."""
    dates = _cached(
        DATES_FILE,
        f"{country}/{subdivision or ''}/{year}",
        lambda: sorted(d.isoformat() for d in ask_dates(country, subdivision, year)),
        # a damaged entry fails here, inside the cache's own error handling, and is
        # asked again: deadlines never rest on a date the cache could not read
        lambda answer: [date.fromisoformat(d).isoformat() for d in answer],
        cache_dir,
    )
    return frozenset(date.fromisoformat(d) for d in dates)


def _cached(
    name: str,
    key: str,
    ask: Callable[[], T],
    read: Callable[[Any], T],
    cache_dir: Path | None,
) -> T:
    """The answer under `key` in the cache file `name`, or `ask()`'s, then kept there.

    `ask` returns JSON-ready data; `read` turns the cached JSON back into it.
    """
    cache_dir = cache_dir or user_cache_dir()
    release = holidays_release()
    if cache_dir is None or release is None:
        return ask()
    path = cache_dir / name
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        answers = cached["answers"] if cached.get("holidays") == release else {}
        if not isinstance(answers, dict):
            answers = {}
        elif key in answers:
            return read(answers[key])
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        answers = {}
    result = ask()
    answers[key] = result
    with contextlib.suppress(OSError):  # a read-only checkout just asks again next time
        write_atomic(path, json.dumps({"holidays": release, "answers": answers}, indent=1))
    return result
