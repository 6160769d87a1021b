"""The anchor graph of an SOP: references resolved, unknown anchors and cycles found, order."""

from __future__ import annotations

from sopgen.anchors import anchor_graph
from test_plan import CHAIN, SEED, make_sop


def keys(graph, indexes) -> list[str]:
    return [graph.steps[i].key for i in indexes]


def test_a_sound_sop_has_no_cycle_and_no_unknown_anchor() -> None:
    for sop in (SEED, CHAIN):
        graph = anchor_graph(sop)
        assert graph.sound and graph.problem() is None
        assert graph.cycles == () and graph.unknown == ()


def test_anchors_by_key_and_by_bare_id_resolve_to_the_same_step() -> None:
    graph = anchor_graph(CHAIN)  # first: after s.last; last: after middle
    assert [None if a is None else graph.steps[a].key for a in graph.anchors] == [
        "s.last",
        None,
        "s.middle",
    ]
    assert graph.index("s.middle") == graph.index("middle") == 1
    assert graph.index("nowhere") is None


def test_order_puts_every_anchor_before_its_dependents_and_keeps_document_order() -> None:
    assert keys(anchor_graph(CHAIN), anchor_graph(CHAIN).order) == ["s.middle", "s.last", "s.first"]
    assert keys(anchor_graph(SEED), anchor_graph(SEED).order) == [s.key for s in SEED.steps()]


def test_two_step_cycle() -> None:
    sop = make_sop(a=[("x", "1 day after y"), ("free", "1 hour")], b=[("y", "2 days after a.x")])
    graph = anchor_graph(sop)
    assert graph.cycles == (("a.x", "b.y"),)
    assert not graph.sound
    assert graph.problem() == "the `after` anchors form a cycle: a.x after b.y after a.x"


def test_cycle_starts_at_its_first_step_in_the_document_and_tails_are_left_out() -> None:
    sop = make_sop(
        s=[
            ("tail", "1 hour after c"),
            ("a", "1 hour after c"),
            ("b", "1 hour after a"),
            ("c", "1 hour after b"),
        ]
    )
    assert anchor_graph(sop).cycles == (("s.a", "s.c", "s.b"),)


def test_self_anchor_and_separate_cycles_are_all_found_in_document_order() -> None:
    sop = make_sop(
        s=[
            ("head", "1 hour after q"),  # walking from here meets the p-q cycle first
            ("me", "1 hour after me"),
            ("p", "1 hour after q"),
            ("q", "1 hour after p"),
        ]
    )
    assert anchor_graph(sop).cycles == (("s.me",), ("s.p", "s.q"))


def test_unknown_anchor() -> None:
    sop = make_sop(s=[("x", "1 hour"), ("y", "1 day after nowhere"), ("z", "1 day after t.x")])
    graph = anchor_graph(sop)
    assert [(step.key, ref) for step, ref in graph.unknown] == [("s.y", "nowhere"), ("s.z", "t.x")]
    assert graph.cycles == ()
    assert graph.anchors == (None, None, None)
    assert graph.problem() == "s.y is anchored after 'nowhere': no such step"


def test_the_graph_is_made_once_per_sop_object() -> None:
    assert anchor_graph(CHAIN) is anchor_graph(CHAIN)
