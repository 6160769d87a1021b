"""Cases as JSON: the plan `case show --format json` prints and the desk's API serves,
and the rows of `case list --format json`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sopgen.cases.model import Case, CaseSummary, closed_at
from sopgen.cases.timestamps import iso
from sopgen.model import Config


def case_json(found: Case, config: Config, now: datetime) -> dict[str, Any]:
    """The case plan as JSON: `case show --format json`, the desk's `GET /api/cases/ID`
    (docs/desk.md, "Cases from the command line"; plus title and summary)."""
    zone = config.zone
    return {
        "case": found.id,
        "sop": found.sop.id,
        "sop_version": found.sop_version,
        "received": iso(found.received, zone),
        "assignee": found.assignee,
        "title": config.fill(found.sop.title),
        "summary": found.summary,
        "priority": found.priority,
        "priorities": [{"from": iso(t, zone), "priority": p} for t, p in found.priorities],
        "on_hold": found.on_hold is not None,
        "holds": [
            {
                "from": iso(h.start, zone),
                "until": iso(h.end, zone) if h.end else None,
                "reason": h.reason,
            }
            for h in found.holds
        ],
        "steps": [
            {
                "step": p.key,
                "text": config.fill(p.step.do).strip(),
                "responsible": p.step.responsible,
                "within": p.within.text,
                "due": iso(p.due, zone),
                "done": iso(p.done, zone) if p.done else None,
                "status": found.status(p, now, config.due_soon),
            }
            for p in found.steps
        ],
        "cancelled": iso(found.cancelled_at, zone) if found.cancelled_at else None,
        "cancel_reason": found.cancel_reason,
        # every tick and reopen, as recorded (`done`: the completion time ticked or reopened)
        "history": [
            {
                "step": e.step,
                "action": e.action,
                "done": iso(e.done_at, zone),
                "recorded": iso(e.recorded_at, zone),
                "by": e.actor,
                "via": e.via,
            }
            for e in found.history
        ],
    }


def summary_json(r: CaseSummary, zone: Any) -> dict[str, Any]:
    """An open case as `case list --format json` gives it."""
    return {
        "case": r.case.id,
        "sop": r.case.sop.id,
        "sop_version": r.case.sop_version,
        "received": iso(r.case.received, zone),
        "assignee": r.case.assignee,
        "summary": r.case.summary,
        "priority": r.case.priority,
        "on_hold": r.case.on_hold is not None,
        "next_step": r.next.key,
        "next_due": iso(r.next.due, zone),
        "status": r.status,
        "open_steps": r.open_steps,
        "overdue_steps": r.overdue_steps,
    }


def closed_json(case: Case, zone: Any) -> dict[str, Any]:
    """A closed case as `case list --closed --format json` gives it."""
    return {
        "case": case.id,
        "sop": case.sop.id,
        "sop_version": case.sop_version,
        "received": iso(case.received, zone),
        "assignee": case.assignee,
        "summary": case.summary,
        "priority": case.priority,
        "next_step": None,
        "next_due": None,
        "status": "closed",
        "open_steps": 0,
        "overdue_steps": 0,
        "closed": iso(closed_at(case), zone),
    }
