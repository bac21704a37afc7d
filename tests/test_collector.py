"""The garbage-collector policy (``tidings/collector.py``): survivors of a full collection are
frozen; a sweep collects what a cycle among frozen objects kept."""

from __future__ import annotations

import gc
import weakref

from tidings.collector import SurvivorFreezer


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> tuple[_Node, weakref.ref[_Node]]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return a, weakref.ref(a)


def test_survivors_of_a_full_collection_are_frozen_and_a_sweep_collects_their_cycles():
    freezer = SurvivorFreezer()
    freezer.install()
    try:
        assert gc.get_freeze_count() > 0  # the process as it was at install
        node, alive = _cycle()
        before = freezer.freezes
        gc.collect()  # a full collection: the cycle, still in use, survives and is frozen
        assert freezer.freezes == before + 1
        del node
        gc.collect()  # unreachable now, but frozen: full collections no longer walk it
        assert alive() is not None
        freezer.sweep()  # everything unfrozen and collected once
        assert alive() is None
        assert gc.get_freeze_count() > 0  # and the survivors frozen again
    finally:
        freezer.uninstall()
    assert gc.get_freeze_count() == 0
    node, alive = _cycle()
    del node
    gc.collect()  # uninstalled: CPython's own collector again
    assert alive() is None
