"""The example library (sops/) is consistent with itself and keeps the seeds' facts.

These are the checks a QA reviewer makes by reading the documents side by
side: the same deadline is the same everywhere, every obligation is one, and
what a retention box says is what the text says.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from sopgen.businesstime import BusinessCalendar
from sopgen.cases.plan import plan
from sopgen.library import Library, load_library
from sopgen.model import Sop
from sopgen.render.view import retention_text
from sopgen.timeframe import Kind

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library(REPO)


@pytest.fixture(scope="module")
def sops(library: Library) -> dict[str, Sop]:
    return library.sops


def within(sop: Sop, step: str) -> str:
    found = sop.step(step)
    assert found is not None, (sop.id, step)
    return found.within.text


def test_sample_sop_facts_are_kept(sops: dict[str, Sop]) -> None:
    """SOP-CS-001 keeps every step and timeframe of the seed's sample SOP, in order."""
    seed = [
        ("Immediate", "cs-rep"),
        ("Within 1 hour", "cs-rep"),
        ("Within 24 hours", "cs-rep"),
        ("Within 24 hours", "cs-rep"),
        ("Within 48 hours", "cs-rep"),
        ("Within 48 hours", "cs-rep"),
        ("Within 5 business days", "relevant-dept"),
        ("Within 7 business days", "relevant-dept"),
        ("Within 10 business days", "relevant-dept"),
        ("Within 14 business days", "cs-rep"),
        ("Within 15 business days", "qa-team"),
        ("Within 20 business days", "qa-team"),
    ]
    sop = sops["SOP-CS-001"]
    assert [(s.within.text, s.responsible) for s in sop.steps()] == seed
    assert [s.title for s in sop.procedure] == [
        "Complaint Intake",
        "Complaint Assessment",
        "Resolution Process",
        "Follow-Up and Feedback",
    ]
    assert "must be documented in the CRM system" in " ".join(sop.documentation.split())
    assert sop.retention is not None and str(sop.retention) == "3 years"
    assert [r.title for r in sop.references[:2]] == [
        "CRM System User Guide",
        "{company} Customer Service Policies",
    ]
    assert sop.revisions[0].description == "Initial SOP creation"


@pytest.mark.parametrize(
    "received", ["2026-11-20T18:05", "2026-11-23T09:00", "2026-12-24T16:40", "2026-03-29T01:30"]
)
def test_acknowledgement_and_recording_deadlines_agree(
    library: Library, sops: dict[str, Sop], received: str
) -> None:
    """The same complaint gets the same acknowledgement and recording deadlines in all three."""
    assert library.config is not None
    calendar = BusinessCalendar.from_config(library.config)
    moment = datetime.fromisoformat(received).replace(tzinfo=library.config.zone)

    def due(sop_id: str) -> dict[str, datetime]:
        return {p.step.id: p.due for p in plan(sops[sop_id], calendar, moment)}

    handling, protocol, records = due("SOP-CS-001"), due("SOP-CS-002"), due("SOP-CS-003")
    assert handling["acknowledge"] == protocol["acknowledge"]
    assert handling["record"] == records["record-details"]
    assert within(sops["SOP-CS-001"], "acknowledge") == "Within 24 hours"  # the seed's
    assert within(sops["SOP-CS-001"], "record") == "Within 1 hour"


def test_critical_complaints_have_their_own_level_3_timing(sops: dict[str, Sop]) -> None:
    escalation = sops["SOP-CS-005"]
    step = escalation.step("critical-decision")
    assert step is not None and step.section == "level-3"
    assert step.within.after == "initiate.summary"
    assert step.within.kind is Kind.BUSINESS_DAYS
    assert step.within.text != within(escalation, "management-review")


def test_retention_boxes_say_what_the_text_says(library: Library, sops: dict[str, Sop]) -> None:
    assert library.config is not None
    training = sops["SOP-CS-008"]
    assert retention_text(training, library.config) == "3 years after the end of employment"
    assert "duration of employment plus 3 years" in " ".join(training.documentation.split())
    records = sops["SOP-CS-003"]
    assert retention_text(records, library.config) == "3 years after closure of the complaint"
    for sop in sops.values():  # the period in the box is the period in the text
        if sop.retention is not None:
            assert str(sop.retention) in " ".join(sop.documentation.split()), sop.id


def test_handling_links_root_cause_analysis_where_the_need_is_recognised(
    sops: dict[str, Sop],
) -> None:
    handling = sops["SOP-CS-001"]
    investigate = handling.step("investigate")
    assert investigate is not None and investigate.notes is not None
    assert "root cause analysis" in investigate.notes and "SOP-CS-004" in investigate.notes
    assert any(r.sop == "SOP-CS-004" for r in handling.references)


def test_obligations_keep_their_force(sops: dict[str, Sop]) -> None:
    for sop in sops.values():
        text = " ".join(sop.documentation.split())
        assert re.search(r"\bmust\b", text), sop.id
        assert not re.search(r"\b(are|is) kept for at least\b", text), sop.id


def test_no_step_falls_due_at_a_weekend_by_calendar_days(sops: dict[str, Sop]) -> None:
    """Day and week timeframes are business days; only the seed's hours stay calendar time."""
    for sop in sops.values():
        for step in sop.steps():
            assert step.within.kind is not Kind.CALENDAR, (sop.id, step.key)


def test_library_validates_without_warnings(library: Library) -> None:
    assert library.problems == []
