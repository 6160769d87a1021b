"""Case operations: open, done, reopen, show, list, refresh, import (`CaseService`).

`CaseService` is composed of its parts, one module each: `commands` (what
changes a case), `queries` (lists, counts and the report's rows), `feeds` (the
calendar feeds' raw-SQL reads) and `importing` (`case import`); `base` holds
what they share (the store, the library, reading and planning a case).

Each operation takes the store, the library and `now` (never the clock), checks
its input completely before it changes anything, and does its change in one
transaction. Bad input raises `CaseError` (a message and a hint) or
`InputError` (problems pointing into a file) with the store unchanged and no
file written.

A case is planned from the SOP text it was opened under (a snapshot kept in
the store), never from the current file: revising an SOP does not move the
deadlines of the cases already running under it. The business calendar is the
current config's: a new closure day moves open deadlines at once, and
`refresh` carries that into the cases' files.
"""

from __future__ import annotations

from sopgen.cases.service.base import NO_FILES, FileWriter, StagedWriter
from sopgen.cases.service.commands import CaseCommands
from sopgen.cases.service.feeds import CaseFeeds, FeedRows
from sopgen.cases.service.importing import CaseImports
from sopgen.cases.service.queries import CaseQueries

__all__ = ["NO_FILES", "CaseService", "FeedRows", "FileWriter", "StagedWriter"]


class CaseService(CaseCommands, CaseQueries, CaseFeeds, CaseImports):
    """Case operations on one store, for one library (config + SOPs)."""
