"""One case exchange, end to end: sign in the sender's dialect, journal, log, apply.

These are steps (3)-(6) of ``gateway.cases.service``, shared by submissions, transitions and
ratings. The intent journal makes a crash between logging and applying harmless:
``recover`` resubmits the journalled envelope (idempotent on its exchange id) and applies the
change, or drops it if the log refuses it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from gateway.cases._clock import stamp
from gateway.cases._signing import member_for_key, signed_envelope
from gateway.cases.chinese import refusal_zh, region_zh
from gateway.cases.errors import CaseError, CaseInvalid, CaseUnavailable, TransitionRefused
from gateway.cases.model import Actor, Status
from gateway.cases.store import CaseStore
from gateway.dialects.catalogue import DialectCatalogue
from gateway.dialects.errors import AdapterError
from gateway.errors import Refusal
from gateway.exchange.commit import Committed
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.registry import TrustRegistry
from ledger.crypto import PrivateKey

__all__ = ["CaseExchanges", "Submit"]

# ``ExchangeCore.submit``: every exchange check, then the one commit path; the receipt
Submit = Callable[[exchange_pb2.SignedEnvelope, str | None], Awaitable[Committed]]

log = logging.getLogger("gateway.cases")


class CaseExchanges:
    """Exchanges of the cases of one gateway, signed with ``keys`` (member keys by region)."""

    def __init__(
        self,
        submit: Submit,
        registry: Callable[[], TrustRegistry],
        adapters: DialectCatalogue,
        store: CaseStore,
        keys: Mapping[str, PrivateKey],
    ) -> None:
        self._submit = submit
        self._registry = registry
        self._adapters = adapters
        self._store = store
        self._keys = keys

    async def send_status(
        self,
        case: Mapping[str, Any],
        actor: Actor,
        transition: str,
        canonical_status: str,
        note: str | None,
        sets: dict[str, Any],
        now: datetime,
        label: str,
        *,
        status_after: Status,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """A ``case.status`` exchange from ``actor``'s side to the other that ``sets`` columns
        of ``case``, applied only if the case is still in the status it was read in;
        ``extra`` adds to the change (补正 rounds and attached materials, ``CaseStore.apply``)."""
        window, handling = case["window_region"], case["handling_region"]
        sender, recipient = (handling, window) if actor is Actor.HANDLER else (window, handling)
        canonical = {
            "case_id": case["case_id"],
            "status": canonical_status,
            "time": stamp(now),
            "note": f"[{transition}]" + (f" {note}" if note else ""),
        }
        change = {"case_id": case["case_id"], "from": case["status"], "set": sets, **(extra or {})}
        await self.send(
            case_id=case["case_id"],
            sender_region=sender,
            recipient_region=recipient,
            kind="case.status",
            matter=case["matter_code"],
            canonical=canonical,
            change=change,
            transition=transition,
            status_after=status_after,
            actor=label,
            note=note,
            at=now,
        )

    async def send(
        self,
        *,
        case_id: str,
        sender_region: str,
        recipient_region: str,
        kind: str,
        matter: str,
        canonical: dict[str, Any],
        change: dict[str, Any],
        transition: str,
        status_after: Status,
        actor: str,
        note: str | None,
        at: datetime,
    ) -> dict[str, Any]:
        """Sign, journal, log and apply one exchange; the timeline event, with its receipt.

        :class:`CaseUnavailable` if there is no key or member to sign with or the log refuses
        the exchange (nothing is then left behind), :class:`CaseInvalid` if the sender's
        dialect cannot carry it, :class:`TransitionRefused` if the case changed meanwhile.
        """
        # (3): sign, in the sender's dialect
        key = self._keys.get(sender_region)
        if key is None:
            raise CaseUnavailable(
                "no_signing_key", f"网关未配置{region_zh(sender_region)}的成员签名密钥，暂不能办理"
            )
        registry = self._registry()
        sender = member_for_key(registry.members, sender_region, key)
        recipient = next(
            (str(m.id) for m in registry.members if str(m.id.region) == recipient_region), None
        )
        if sender is None or recipient is None:
            missing = sender_region if sender is None else recipient_region
            raise CaseUnavailable(
                "no_member", f"{region_zh(missing)}没有密钥可用的已登记成员，暂不能交换"
            )
        try:
            adapter = self._adapters.get(sender_region).codec
            payload = adapter.from_canonical(kind, canonical)
        except AdapterError as exc:
            raise CaseInvalid(
                "not_expressible", f"{region_zh(sender_region)}的报文格式无法表达该交换（{kind}）"
            ) from exc
        signed = signed_envelope(
            key=key, sender=sender, recipient=recipient, kind=kind, matter=matter,
            payload=payload, dialect=adapter.dialect, content_type=adapter.content_type,
        )  # fmt: skip
        exchange_id = _exchange_id(signed)
        change = {
            **change,
            "event": {
                "case_id": case_id,
                "transition": transition,
                "status_after": status_after.value,
                "at": stamp(at),
                "actor": actor,
                "note": note,
                "exchange_id": exchange_id,
                "kind": kind,
                "sender": sender,
                "recipient": recipient,
            },
        }
        # (4): journal
        await self._store.run(
            self._store.add_intent, exchange_id, case_id, change, signed.SerializeToString(),
            sender, time.time(),
        )  # fmt: skip
        # (5): log
        try:
            accepted = await self._submit(signed, sender)
        except Refusal as exc:
            await self._store.run(self._store.drop_intent, exchange_id)
            raise CaseUnavailable(
                "exchange_refused", f"交换（{kind}）被网关拒绝：{refusal_zh(str(exc.reason))}"
            ) from exc
        # (6): apply
        return await self._apply(exchange_id, change, accepted.receipt)

    async def recover(self) -> int:
        """Replay intents left by a crash: resubmit (idempotent), then apply or drop."""
        done = 0
        for intent in await self._store.run(self._store.intents):
            signed = exchange_pb2.SignedEnvelope.FromString(intent["signed"])
            try:
                accepted = await self._submit(signed, intent["caller"])
                await self._apply(intent["exchange_id"], intent["change"], accepted.receipt)
                done += 1
            except Refusal as exc:
                log.warning("dropping case intent %s: %s", intent["exchange_id"], exc.reason)
                await self._store.run(self._store.drop_intent, intent["exchange_id"])
            except CaseError as exc:
                log.warning("case intent %s not applied: %s", intent["exchange_id"], exc)
        return done

    async def _apply(
        self, exchange_id: str, change: dict[str, Any], receipt: dict[str, Any]
    ) -> dict[str, Any]:
        event = {
            **change["event"],
            "leaf_index": receipt["leaf_index"],
            "tree_size": receipt["tree_size"],
            "receipt": json.dumps(receipt, ensure_ascii=False),
        }
        body = {k: v for k, v in change.items() if k != "event"}
        applied = await self._store.run(self._store.apply, exchange_id, body, event)
        if not applied:
            raise TransitionRefused("conflict", "记录本步骤时办件已被他人更新，请刷新后重试")
        return event


def _exchange_id(signed: exchange_pb2.SignedEnvelope) -> str:
    return exchange_pb2.Envelope.FromString(signed.envelope).exchange_id
