"""The background task that records a handling province's answer to a pushed ``case.submit``.

A province answers the push in its HTTP response; the gateway logs that answer as a
``case.status`` exchange from the province with ``in_reply_to`` the submission
(``gateway.exchange.answers``), the one path every answer takes. The watcher reads that
answer exchange and turns ``accepted`` into the ``accepted`` transition and ``rejected`` (or
a submission that failed: refused by the province, or undeliverable) into ``refused``. A
delivered push whose answer the outbox kept but no exchange holds (a file written before
answers were exchanges) is read from the outbox, as before. It only speaks for provinces
whose member key this gateway holds; the others answer with a signed ``case.status`` of
their own. It survives anything a partner sends.

It reads the stores in one hand-off to a worker thread per pass (never on the event loop)
and wakes on the events that matter: a submission (:meth:`AnswerWatcher.notify`) and, while
a submitted case waits for its answer, the gateway's status bell (rung by every commit, ack
and push outcome: an answer's commit or the push's rejection). A slow safety poll
(``SAFETY_POLL_SECONDS``) remains for what rings no bell of this process: an answer
committed by another process on the same database, a case left SUBMITTED by a crash. With
no bell (a case service without a gateway) it looks every ``POLL_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from asyncio import FIRST_COMPLETED
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from gateway.cases.chinese import partner_refusal_zh
from gateway.cases.errors import CaseError
from gateway.cases.model import REGION_NAMES, Actor, Status
from gateway.cases.store import CaseStore

__all__ = [
    "POLL_SECONDS",
    "SAFETY_POLL_SECONDS",
    "AnswerWatcher",
    "Bell",
    "LoggedAnswer",
    "OutboxReader",
    "Step",
]

POLL_SECONDS = 0.25
SAFETY_POLL_SECONDS = 5.0

log = logging.getLogger("gateway.cases")


class LoggedAnswer(Protocol):
    """What the watcher reads of an answer exchange: its canonical JSON."""

    @property
    def canonical(self) -> str: ...


class OutboxReader(Protocol):
    """The delivery state of an exchange (``GatewayStore.outbox_row``: status, attempts,
    last error, the recipient's answer kept by the push) and its logged answer
    (``GatewayStore.answer_to``)."""

    def outbox_row(self, exchange_id: str) -> tuple[str, int, str | None, str | None] | None: ...

    def answer_to(self, request_id: str) -> LoggedAnswer | None: ...


class Bell(Protocol):
    """``gateway.exchange.delivery.StatusBell``: a generation that grows at each status change."""

    generation: int

    async def wait(self, seen: int, timeout: float) -> int: ...  # noqa: ASYNC109


# (case id, target, actor, note, timeline label): ``lifecycle.Transitions.step``
Step = Callable[[str, Status, Actor, str | None, str], Awaitable[None]]


class AnswerWatcher:
    """Watches the outbox rows of submitted cases; ``step`` records the answer."""

    def __init__(
        self,
        outbox: OutboxReader,
        store: CaseStore,
        keys: Mapping[str, Any],
        step: Step,
        bell: Bell | None = None,
    ) -> None:
        self._outbox = outbox
        self._bell = bell
        self._waiting = True  # submitted cases of ours may wait for an answer
        self._store = store
        self._keys = keys
        self._step = step
        self._task: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None

    def arm(self) -> None:
        """From now on ``notify`` wakes the watcher (once it is started)."""
        self._wake = asyncio.Event()

    def start(self) -> None:
        """Run the watcher in the running loop; :meth:`arm` first."""
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="case-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def notify(self) -> None:
        """A case was submitted: look at the outbox now rather than at the next tick."""
        if self._wake is not None:
            self._wake.set()

    async def poll(self) -> int:
        """Record answers of handling provinces to pushed ``case.submit`` exchanges."""
        found, waiting = await self._store.run(self._answers)
        self._waiting = waiting
        recorded = 0
        for case_id, region, target, note in found:
            try:
                await self._step(
                    case_id, target, Actor.HANDLER, note, f"{region}承办系统（推送应答）"
                )
                recorded += 1
            except CaseError as exc:
                log.info("answer for case %s not recorded: %s", case_id, exc)
        return recorded

    def _answers(self) -> tuple[list[tuple[str, str, Status, str | None]], bool]:
        """In a worker thread: (case, province, target, note) of each answered submission of
        ours, and whether any submission of ours is still waiting."""
        rows = self._store.query(
            "SELECT c.case_id, c.handling_region, e.exchange_id FROM cases c JOIN events e"
            " ON e.case_id = c.case_id AND e.seq = 0 WHERE c.status = ?",
            (Status.SUBMITTED.value,),
        )
        found, waiting = [], False
        for row in rows:
            if row["handling_region"] not in self._keys:
                continue  # the province answers with its own signed case.status
            waiting = True
            logged = self._outbox.answer_to(row["exchange_id"])
            outbox = self._outbox.outbox_row(row["exchange_id"])
            if outbox is None:
                continue
            status, _attempts, error, response = outbox
            target, note = None, None
            if logged is not None or (status == "delivered" and response):
                answer = json.loads(logged.canonical if logged is not None else response or "{}")
                note = answer.get("note")
                if answer.get("status") == "accepted":
                    target = Status.ACCEPTED
                elif answer.get("status") == "rejected":
                    target = Status.REFUSED
            elif status == "rejected":
                target, note = Status.REFUSED, partner_refusal_zh(error)
            if target is not None:
                region = REGION_NAMES[row["handling_region"]]
                found.append((row["case_id"], region, target, note))
        return found, waiting

    async def _watch(self) -> None:
        assert self._wake is not None
        seen = self._bell.generation if self._bell is not None else 0
        while True:
            try:
                await self.poll()
            except Exception:  # the watcher must survive anything a partner sends
                log.exception("case watcher failed")
            seen = await self._sleep(seen)
            self._wake.clear()

    async def _sleep(self, seen: int) -> int:
        """Until a submission, or (while a case of ours waits) the bell, or the safety poll."""
        assert self._wake is not None
        if self._bell is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            return seen
        waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(self._wake.wait())]
        if self._waiting:
            waits.append(asyncio.ensure_future(self._bell.wait(seen, SAFETY_POLL_SECONDS)))
        try:
            await asyncio.wait(waits, timeout=SAFETY_POLL_SECONDS, return_when=FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        return self._bell.generation
