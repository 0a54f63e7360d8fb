"""``Exchange.GetStatus`` and ``Exchange.WatchStatus``: where an exchange is, for its parties.

A status is read in one query (``GatewayStore.status``: the exchange, its outbox row and
the answer whose ``in_reply_to`` names it) and mapped to ``ExchangeStatus``:

- ANSWERED: an answer is logged (``answer_exchange_id``), whatever the outbox says;
- FAILED: the outbox row is ``rejected``; ``failure`` from its column, ``detail`` its last
  error clipped to 512 characters;
- DELIVERED: the row is ``delivered``;
- ACCEPTED: logged and waiting (``detail`` the last failed attempt's error, if any).

Only the sender or the recipient of an exchange may see it (``gateway.rpc.access``:
``not_permitted``, also for an auditor; an unknown id is ``not_found``). WatchStatus
sends the current status of each named exchange (at most
1,000, else ``malformed``), then one message per change until the client cancels; with no
ids it follows every exchange the caller sends from the moment it asked. It wakes on the
gateway's :class:`~gateway.exchange.delivery.StatusBell` (commits, acks, push outcomes) and
polls every second as a safety net.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from gateway.dialects.base import RESPONSE_KIND
from gateway.errors import Refusal, clip
from gateway.exchange.delivery import PullHub
from gateway.exchange.limits import check_exchange_id
from gateway.exchange.store import (
    DELIVERED,
    FAILURE_REFUSED,
    FAILURE_TRANSLATION,
    FAILURE_UNDELIVERABLE,
    REJECTED,
    GatewayStore,
    StatusRow,
)
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.registry import TrustRegistry
from gateway.rpc.access import Caller, authorize, identify
from gateway.rpc.status import abort
from gateway.times import timestamp_from_seconds

__all__ = ["MAX_WATCHED", "ExchangeStatusMixin", "status_proto"]

MAX_WATCHED = 1000
MAX_DETAIL = 512
POLL_SECONDS = 1.0

_FAILURES = {
    FAILURE_TRANSLATION: exchange_pb2.FAILURE_REASON_TRANSLATION,
    FAILURE_REFUSED: exchange_pb2.FAILURE_REASON_REFUSED_BY_PARTNER,
    FAILURE_UNDELIVERABLE: exchange_pb2.FAILURE_REASON_UNDELIVERABLE,
}


def status_proto(row: StatusRow) -> exchange_pb2.ExchangeStatus:
    """The ``ExchangeStatus`` of one stored status row (rules in the module docstring)."""
    out = exchange_pb2.ExchangeStatus(
        exchange_id=row.exchange_id,
        kind=row.kind,
        accepted_at=timestamp_from_seconds(row.received_at),
        attempts=row.attempts,
        expects_answer=row.kind in RESPONSE_KIND,
    )
    updated = max(row.received_at, row.updated_at or 0.0, row.answered_at or 0.0)
    if row.delivered_at is not None:
        out.delivered_at.CopyFrom(timestamp_from_seconds(row.delivered_at))
    if row.answer_exchange_id is not None:
        out.state = exchange_pb2.EXCHANGE_STATE_ANSWERED
        out.answer_exchange_id = row.answer_exchange_id
    elif row.outbox_status == REJECTED:
        out.state = exchange_pb2.EXCHANGE_STATE_FAILED
        # a row rejected before the column existed: the partner refused it
        out.failure = _FAILURES.get(
            row.failure or "", exchange_pb2.FAILURE_REASON_REFUSED_BY_PARTNER
        )
        out.detail = (row.last_error or "")[:MAX_DETAIL]
    elif row.outbox_status == DELIVERED:
        out.state = exchange_pb2.EXCHANGE_STATE_DELIVERED
    else:
        out.state = exchange_pb2.EXCHANGE_STATE_ACCEPTED
        out.detail = (row.last_error or "")[:MAX_DETAIL]
    out.updated_at.CopyFrom(timestamp_from_seconds(updated))
    return out


def _permitted(row: StatusRow | None, exchange_id: str, caller: Caller, method: str) -> StatusRow:
    if row is None:
        raise Refusal("not_found", f"unknown exchange {clip(exchange_id)}")
    authorize(caller, method, (row.sender, row.recipient), f"the status of {exchange_id}")
    return row


class ExchangeStatusMixin:
    """GetStatus and WatchStatus for ``ExchangeServicer``: it provides ``store``, ``hub``
    and ``registry()`` (who the caller is: ``gateway.rpc.access``)."""

    store: GatewayStore
    hub: PullHub
    registry: Callable[[], TrustRegistry]

    async def GetStatus(self, request, context):
        try:
            caller = identify(context, self.registry())
            check_exchange_id(request.exchange_id)
            row = await self.store.run(self.store.status, request.exchange_id)
            return status_proto(_permitted(row, request.exchange_id, caller, "Exchange.GetStatus"))
        except Refusal as refusal:
            await abort(context, refusal)

    async def WatchStatus(self, request, context):
        ids = list(dict.fromkeys(request.exchange_ids))
        try:
            caller = identify(context, self.registry())
            authorize(caller, "Exchange.WatchStatus", (caller.id,), "watching statuses")
            if len(ids) > MAX_WATCHED:
                raise Refusal(
                    "malformed", f"{len(ids)} exchange ids to watch; at most {MAX_WATCHED}"
                )
            for exchange_id in ids:
                check_exchange_id(exchange_id, "exchange_ids[]")
            rows = await self.store.run(self.store.statuses, ids)
            for exchange_id in ids:
                _permitted(rows.get(exchange_id), exchange_id, caller, "Exchange.WatchStatus")
        except Refusal as refusal:
            await abort(context, refusal)
            return
        async for status in self._watch(caller.id, ids, rows):
            yield status

    async def _watch(
        self, caller: str, ids: list[str], rows: dict[str, StatusRow]
    ) -> AsyncIterator[exchange_pb2.ExchangeStatus]:
        follow = not ids
        bell = self.hub.status
        seen_generation = bell.generation
        after = await self.store.run(self.store.last_rowid) if follow else 0
        last: dict[str, Any] = {}
        watched = set(ids)
        while True:
            if follow:
                fresh = await self.store.run(self.store.sent_since, caller, after)
                for rowid, exchange_id in fresh:
                    after = rowid
                    watched.add(exchange_id)
                rows = await self.store.run(self.store.statuses, sorted(watched))
            for exchange_id in sorted(rows):
                out = status_proto(rows[exchange_id])
                key = out.SerializeToString(deterministic=True)
                if last.get(exchange_id) != key:
                    last[exchange_id] = key
                    yield out
                if follow and _final(out):  # nothing more will change: stop asking
                    watched.discard(exchange_id)
                    last.pop(exchange_id, None)
            seen_generation = await bell.wait(seen_generation, POLL_SECONDS)
            if not follow:
                rows = await self.store.run(self.store.statuses, sorted(watched))


def _final(status: exchange_pb2.ExchangeStatus) -> bool:
    if status.state in (exchange_pb2.EXCHANGE_STATE_ANSWERED, exchange_pb2.EXCHANGE_STATE_FAILED):
        return True
    return status.state == exchange_pb2.EXCHANGE_STATE_DELIVERED and not status.expects_answer
