"""Keep the cyclic garbage collector's full passes short in a serving process.

A started gateway holds well over 100,000 long-lived objects (modules, protobuf
descriptors, gRPC and web machinery, registries). Python's oldest-generation collection
walks all of them: measured under load (1 KiB exchanges, ~200/s), six such passes in
40 s, up to 59 ms each, every in-flight exchange stalled behind them, which alone put p99
past 25 ms at half load. ``gc.freeze()`` after start moves what exists then into the
permanent generation, which collections skip; what the gateway allocates afterwards is
collected as before. A frozen object is still freed when its reference count drops to
zero; one that later becomes part of an unreachable cycle is not (a leak bounded by the
start-up heap: what exists at start lives as long as the process anyway).

Only the ``yrdgw serve`` process entry calls this, once the gateway is started: an
in-process test server must not freeze its test runner's heap.
"""

from __future__ import annotations

import gc
import logging

__all__ = ["settle_after_start"]

log = logging.getLogger("yrdgw.heap")


def settle_after_start() -> int:
    """Collect once, then freeze the survivors; returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("heap settled after start: %d long-lived objects frozen out of gc passes", frozen)
    return frozen
