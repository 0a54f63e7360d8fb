"""``gateway.ops.heap``: what exists when the gateway has started is frozen out of the
collector's passes, what is allocated later is still collected."""

from __future__ import annotations

import gc
import logging

from gateway.ops.heap import settle_after_start


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_settle_freezes_the_start_up_heap_and_later_cycles_are_still_collected(caplog):
    gc.unfreeze()
    try:
        with caplog.at_level(logging.INFO, logger="yrdgw.heap"):
            frozen = settle_after_start()
        # frozen objects can still be freed by their reference count, never added to
        assert 1000 < gc.get_freeze_count() <= frozen
        assert f"{frozen} long-lived objects frozen" in caplog.text
        # a cycle made after the freeze is found by the next collection
        _Node()
        assert gc.collect() >= 1
        assert gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()  # the test runner's heap goes back to normal collection
