"""The desk's public address, one answer for `serve`, `remind` and `user token`.

In this order: the command's `--base-url`, the SOPGEN_BASE_URL variable, then
`reminders.base_url` in sopgen.yaml. None when none is set: `serve` then shows
the feed's path on My work and says how to set the address (never the Host a
request names), `remind` leaves links out, and `user token` prints the feed's
path and says how to set the address.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from sopgen.model import Config

VARIABLE = "SOPGEN_BASE_URL"
HOW_TO_SET = (
    "set the desk's address with --base-url, SOPGEN_BASE_URL or reminders.base_url "
    "in sopgen.yaml (the same as sopgen serve uses)"
)


def desk_base_url(
    given: str | None, config: Config | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """`given`, else SOPGEN_BASE_URL, else sopgen.yaml's reminders.base_url; no trailing /."""
    env = os.environ if environ is None else environ
    configured = config.reminders.base_url if config is not None else None
    chosen = given or env.get(VARIABLE) or configured
    return chosen.rstrip("/") or None if chosen else None
