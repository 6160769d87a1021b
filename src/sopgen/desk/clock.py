"""The desk's clock: `sopgen.clock.now` (SOPGEN_NOW or the system clock) in the company zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sopgen import clock

Clock = Callable[[], datetime]


def system_clock(zone: ZoneInfo) -> Clock:
    def now() -> datetime:
        return clock.now(zone)

    return now
