"""What docs/deadlines.md states about the order things are recorded in (issue #18, item 21):

- a step done before the step it is anchored `after` keeps the deadline it had when
  it was done: the other step's completion later does not re-anchor it, and a
  completion of that step dated before it is refused (reopen it first);
- a step done (`--at`) before a priority change already recorded was done under the
  priority in force at its completion, and a change dated at the completion itself
  comes after it;
- holds never overlap (one beginning before the previous one ended is refused), and
  a hold beginning when the previous one ended counts with it as one.

SOP-CS-001 of the example library (Berlin, Mon–Fri 09:00–17:00), its `plan` step
given `2 business days after investigate`; received Friday 2026-11-20 18:05:
`investigate` (5 business days) is due Monday 30th 17:00.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from casekit import Project, project_fixture  # noqa: F401 - the `project` fixture

LATER = "2026-12-10T10:00"  # the clock for the tests that date steps into December


def show(project: Project, case: str, now: str = LATER) -> dict[str, Any]:
    result = project.run("show", case, "--format", "json", now=now)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def steps(project: Project, case: str, now: str = LATER) -> dict[str, dict[str, Any]]:
    return {s["step"]: s for s in show(project, case, now)["steps"]}


def run_ok(project: Project, *args: str, now: str = LATER) -> str:
    result = project.run(*args, now=now)
    assert result.exit_code == 0, result.output
    return result.output


def open_case(project: Project, case: str = "C-1") -> None:
    run_ok(project, "open", case, "--sop", "SOP-CS-001", "--received", "2026-11-20T18:05")


@pytest.fixture(name="chained")
def chained_fixture(project: Project) -> Project:
    """`plan` anchored after `investigate` (in the example it counts from the receipt)."""
    sop = project.root / "sops" / "sop-cs-001.yaml"
    text = sop.read_text()
    old = "        within: Within 7 business days\n"
    assert text.count(old) == 1
    sop.write_text(text.replace(old, "        within: 2 business days after investigate\n"))
    return project


# ------------------------------------------------------- a step done before its anchor step


def test_a_step_done_before_its_anchor_step_is_not_re_anchored_when_that_step_is_done(
    chained: Project,
) -> None:
    project = chained
    open_case(project)
    # plan done Tuesday while investigate was open (due Mon 30th): due Wed 2 Dec 17:00
    run_ok(project, "done", "C-1", "resolution.plan", "--at", "2026-11-24T10:00")
    assert steps(project, "C-1")["resolution.plan"]["due"] == "2026-12-02T17:00:00+01:00"
    # investigate done late, after plan: plan stays where it was (re-anchored on Thu 3rd
    # 10:00 it would read due Mon 7th)
    run_ok(project, "done", "C-1", "resolution.investigate", "--at", "2026-12-03T10:00")
    after = steps(project, "C-1")
    assert after["resolution.investigate"]["status"] == "done-late"
    assert after["resolution.plan"]["due"] == "2026-12-02T17:00:00+01:00"
    assert after["resolution.plan"]["status"] == "done"


def test_a_completion_dated_before_a_step_anchored_after_it_was_done_is_refused(
    chained: Project,
) -> None:
    project = chained
    open_case(project)
    run_ok(project, "done", "C-1", "resolution.plan", "--at", "2026-11-24T10:00")
    refused = project.run("done", "C-1", "investigate", "--at", "2026-11-23T10:00", now=LATER)
    assert refused.exit_code == 1
    message = " ".join(refused.output.split())
    assert (
        "step resolution.investigate cannot be done at Mon 23 Nov 2026 10:00 CET: step "
        "resolution.plan, anchored after it, was done later (Tue 24 Nov 2026 10:00 CET) "
        "while resolution.investigate was still open, and keeps the deadline it had then "
        "(Wed 02 Dec 2026 17:00 CET)" in message
    )
    assert "give an --at time after Tue 24 Nov 2026 10:00 CET, or reopen resolution.plan" in (
        message
    )
    assert steps(project, "C-1")["resolution.investigate"]["done"] is None
    # at the same time it would count first (plan anchored on it): refused as well
    same = project.run("done", "C-1", "investigate", "--at", "2026-11-24T10:00", now=LATER)
    assert same.exit_code == 1 and "was done at the same time" in " ".join(same.output.split())
    # after plan's completion it is accepted, and plan keeps its deadline
    run_ok(project, "done", "C-1", "investigate", "--at", "2026-11-24T11:00")
    assert steps(project, "C-1")["resolution.plan"]["due"] == "2026-12-02T17:00:00+01:00"
    # correcting the record: reopen plan, date investigate back, tick plan again
    run_ok(project, "reopen", "C-1", "investigate")
    run_ok(project, "reopen", "C-1", "plan")
    run_ok(project, "done", "C-1", "investigate", "--at", "2026-11-23T10:00")
    run_ok(project, "done", "C-1", "plan", "--at", "2026-11-24T10:00")
    # anchored on investigate's completion Monday 10:00: 2 business days, Wednesday 17:00
    assert steps(project, "C-1")["resolution.plan"]["due"] == "2026-11-25T17:00:00+01:00"


# ------------------------------------------------ a step done before a recorded priority change

TARGETS = "within: {critical: 2 business hours, high: 2 business days, normal: 5 business days}"


@pytest.fixture(name="prio")
def prio_fixture(project: Project) -> Project:
    """investigate with targets per priority (docs/deadlines.md "Priorities")."""
    sop = project.root / "sops" / "sop-cs-001.yaml"
    text = sop.read_text()
    assert "        within: Within 5 business days\n" in text
    sop.write_text(text.replace("        within: Within 5 business days\n", f"        {TARGETS}\n"))
    return project


@pytest.mark.parametrize("done_at", ["2026-11-23T09:15", "2026-11-23T09:30"])
def test_a_step_done_before_a_recorded_priority_change_was_done_under_the_earlier_one(
    prio: Project, done_at: str
) -> None:
    """Raised to critical at Monday 09:30 first; investigate then ticked `--at` 09:15
    (or 09:30, the change's own time): it was done under normal, 5 business days, due
    Monday 30th 17:00 and on time (critical's 2 business hours would be Mon 11:00)."""
    open_case(prio)
    run_ok(prio, "priority", "C-1", "critical", "--at", "2026-11-23T09:30")
    run_ok(prio, "done", "C-1", "investigate", "--at", done_at)
    investigate = steps(prio, "C-1")["resolution.investigate"]
    assert investigate["due"] == "2026-11-30T17:00:00+01:00"
    assert investigate["within"] == "5 business days"
    assert investigate["status"] == "done"
    text = " ".join(prio.run("show", "C-1", now=LATER).output.split())
    assert "5 business days (normal)" in text


# ------------------------------------------------------------------------------------ holds


def test_holds_never_overlap_and_a_hold_beginning_as_one_ends_counts_with_it_as_one(
    project: Project,
) -> None:
    now = "2026-11-23T14:00"
    open_case(project, "C-1")
    run_ok(project, "hold", "C-1", "--at", "2026-11-23T10:00", now=now)
    run_ok(project, "resume", "C-1", "--at", "2026-11-23T11:00", now=now)
    run_ok(project, "hold", "C-1", "--at", "2026-11-23T11:00", now=now)  # adjacent: accepted
    run_ok(project, "resume", "C-1", "--at", "2026-11-23T12:30", now=now)
    overlapping = project.run("hold", "C-1", "--at", "2026-11-23T12:00", now=now)
    assert overlapping.exit_code == 1
    assert "would overlap the previous hold of case C-1, which ended Mon 23 Nov 2026 12:30" in (
        " ".join(overlapping.output.split())
    )
    assert len(show(project, "C-1", now)["holds"]) == 2
    open_case(project, "C-2")  # one hold over the same time
    run_ok(project, "hold", "C-2", "--at", "2026-11-23T10:00", now=now)
    run_ok(project, "resume", "C-2", "--at", "2026-11-23T12:30", now=now)
    two, one = steps(project, "C-1", now), steps(project, "C-2", now)
    assert {k: s["due"] for k, s in two.items()} == {k: s["due"] for k, s in one.items()}
    # 2.5 business hours on hold: investigate moves from Mon 30th 17:00 to Tue 1st 11:30
    assert two["resolution.investigate"]["due"] == "2026-12-01T11:30:00+01:00"
