"""The desk's clock: SOPGEN_NOW when set (demos, tests), else the system clock."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sopgen.cases.timestamps import parse_env_now

Clock = Callable[[], datetime]


def system_clock(zone: ZoneInfo) -> Clock:
    def now() -> datetime:
        text = os.environ.get("SOPGEN_NOW")
        return parse_env_now(text, zone) if text else datetime.now(UTC)

    return now
