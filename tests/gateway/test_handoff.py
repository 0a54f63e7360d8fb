"""LoopHandoff: results of worker threads reach the loop, many per wake-up."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from gateway.exchange.handoff import LoopHandoff

DEADLINE = 10.0  # s


async def test_a_burst_is_resolved_with_one_call_into_the_loop():
    handoff = LoopHandoff.current()
    assert LoopHandoff.current() is handoff
    pending: list[Future[int]] = [Future() for _ in range(50)]
    waiting = [handoff.wrap(done) for done in pending]

    def finish_all() -> None:  # as the log's sequencer answers a whole batch
        for n, done in enumerate(pending):
            done.set_result(n)

    before = handoff.wakeups
    worker = threading.Thread(target=finish_all)
    worker.start()
    worker.join(DEADLINE)  # the loop is blocked meanwhile: every result queues
    async with asyncio.timeout(DEADLINE):
        assert await asyncio.gather(*waiting) == list(range(50))
    assert handoff.wakeups - before == 1


async def test_errors_and_cancellation_pass_through():
    handoff = LoopHandoff.current()
    with ThreadPoolExecutor(max_workers=2) as executor:
        async with asyncio.timeout(DEADLINE):
            assert await handoff.run(executor, pow, 2, 10) == 1024
            with pytest.raises(ZeroDivisionError):
                await handoff.run(executor, divmod, 1, 0)
    cancelled: Future[int] = Future()
    waiting = handoff.wrap(cancelled)
    cancelled.cancel()
    async with asyncio.timeout(DEADLINE):
        with pytest.raises(asyncio.CancelledError):
            await waiting
    given_up: Future[int] = Future()
    handoff.wrap(given_up).cancel()  # the awaiting side gave up: the work is not cancelled
    given_up.set_result(1)
    await asyncio.sleep(0)
    assert given_up.result() == 1
