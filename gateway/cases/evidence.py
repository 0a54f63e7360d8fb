"""可共享免交: a case's shareable materials, fetched through the once-only evidence exchange.

A material the matter marks shareable (``Material.shareable``, ``certificate_type``) is not
uploaded. When a case is submitted, the gateway asks the material's source region (the
handling province, whose departments the catalogue variant names) for it with one
``evidence.request`` per material: signed with the receiving window's member key, checked,
normalised and logged like every exchange (``Submit``, ``gateway.exchange``), delivered to
the holder, whose ``evidence.response`` comes back as the request's logged answer
(``gateway.exchange.answers``). The request names its subject by key only: the applicant's
person key (``subject_person_key``); an organisation's certificate needs ``subject_uscc``,
which a case does not record yet, so it fails at once, saying so.

A material's state is read, never polled: ``pending`` (待获取) until the answer is logged,
``fetched`` (已获取, with the answer's SM3 digest), ``failed`` (获取失败, with the reason in
Chinese: the holder refused, it could not be delivered, the gateway refused the request).
:func:`licence_verified` is the one place where a fetched answer will show 已核验 once
answers carry an SM2-signed e-licence (``gateway.licences``).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from gateway.cases._signing import member_for_key, signed_envelope
from gateway.cases.chinese import refusal_zh
from gateway.cases.errors import CaseForbidden, CaseNotFound, CaseUnavailable
from gateway.cases.store import CaseStore
from gateway.dialects.catalogue import DialectCatalogue
from gateway.dialects.errors import AdapterError
from gateway.errors import Refusal
from gateway.licences import check_licence
from gateway.matters import Catalogue, MatterError
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.registry import TrustRegistry
from ledger.crypto import PrivateKey

__all__ = ["ORGANISATION_TYPES", "STATES_ZH", "CaseEvidence", "EvidenceAnswers", "licence_verified"]

log = logging.getLogger("gateway.cases")

#: certificate types whose subject is an organisation (``subject_uscc``)
ORGANISATION_TYPES = frozenset(
    {"business_licence", "industrial_product_licence", "tax_clearance_certificate"}
)
STATES_ZH = {"pending": "待获取", "fetched": "已获取", "failed": "获取失败"}
MAX_EVIDENCE_BYTES = 4 * 1024 * 1024
"""A fetched answer's content larger than this is not opened (the exchange limit is lower)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS evidence_requests (
    case_id TEXT NOT NULL,
    material_id TEXT NOT NULL,
    name TEXT NOT NULL,
    certificate_type TEXT NOT NULL,
    source_region TEXT NOT NULL,
    exchange_id TEXT,
    requested_at REAL NOT NULL,
    failure TEXT,
    PRIMARY KEY (case_id, material_id)
)
"""
_PARTNER = re.compile(r"http (\d{3})(?:: ([A-Za-z0-9_.-]{1,40}))?")
_Submit = Callable[[exchange_pb2.SignedEnvelope, str | None], Any]


class EvidenceAnswers(Protocol):
    """The logged answer to an exchange and its delivery (``GatewayStore``)."""

    def outbox_row(self, exchange_id: str) -> tuple[str, int, str | None, str | None] | None: ...

    def answer_to(self, request_id: str) -> Any: ...


def licence_verified(
    answer: Mapping[str, Any], *, registry: TrustRegistry, holder_key: str | None
) -> tuple[bool | None, str | None]:
    """THE seam for 已核验: whether the e-licence an ``evidence.response`` carries verifies on
    its own (:func:`gateway.licences.check_licence`: SM2 signature of the issuing region's
    licence key, issuer authority for the type, validity, revocation, and that the holder is
    the applicant), and the Chinese reason when it does not. ``(None, None)`` for an answer
    that carries no signed licence (the holder's system did not sign one)."""
    licence = answer.get("licence")
    if not licence:
        return None, None
    verdict = check_licence(
        licence, registry=registry, now=datetime.now(UTC), holder_key=holder_key
    )
    if verdict.valid:
        return True, None
    refusal = verdict.refusal
    return False, (refusal.chinese if refusal is not None else "电子证照核验未通过")


class CaseEvidence:
    """Requests and states of the shareable materials of cases (see the module docstring)."""

    def __init__(
        self,
        submit: _Submit,
        registry: Callable[[], TrustRegistry],
        adapters: DialectCatalogue,
        store: CaseStore,
        keys: Mapping[str, PrivateKey],
        answers: EvidenceAnswers,
        catalogue: Catalogue,
    ) -> None:
        self._submit = submit
        self._registry = registry
        self._adapters = adapters
        self._store = store
        self._keys = keys
        self._answers = answers
        self._catalogue = catalogue
        store.ensure(_SCHEMA)

    async def request_all(self, case: Mapping[str, Any]) -> int:
        """One ``evidence.request`` per shareable material of a just-submitted ``case``; a
        request that cannot be made is recorded as failed. Returns how many were sent."""
        try:
            variant = self._catalogue.get(case["matter_code"], case["handling_region"])
        except MatterError:
            return 0
        sent = 0
        for material in variant.materials:
            if not material.shareable or not material.certificate_type:
                continue
            failure, exchange_id = None, None
            try:
                exchange_id = await self._request(case, material.material_id,
                                                  material.certificate_type)  # fmt: skip
                sent += 1
            except _NotRequested as exc:
                failure = exc.reason_zh
            await self._store.run(
                self._record, case["case_id"], material.material_id, material.name,
                material.certificate_type, case["handling_region"], exchange_id, failure,
            )  # fmt: skip
        return sent

    async def _request(self, case: Mapping[str, Any], material_id: str, kind: str) -> str:
        if kind in ORGANISATION_TYPES:
            raise _NotRequested("办件未登记企业统一社会信用代码，无法向出具部门获取")
        sender_region, source = case["window_region"], case["handling_region"]
        key = self._keys.get(sender_region)
        registry = self._registry()
        sender = member_for_key(registry.members, sender_region, key) if key else None
        recipient = next((str(m.id) for m in registry.members if str(m.id.region) == source), None)
        if key is None or sender is None or recipient is None:
            raise _NotRequested("没有可用于证据交换的已登记成员")
        canonical = {
            "request_id": f"{case['case_id']}:{material_id}",
            "certificate_type": kind,
            "subject_uscc": None,
            "subject_person_key": case["applicant_person_key"],
            "purpose": f"跨省通办办件 {case['number']} 可共享免交材料",
            "requester": sender,
        }
        try:
            adapter = self._adapters.get(sender_region).codec
            payload = adapter.from_canonical("evidence.request", canonical)
        except AdapterError as exc:
            raise _NotRequested("本省报文格式无法表达该证据请求") from exc
        signed = signed_envelope(
            key=key, sender=sender, recipient=recipient, kind="evidence.request",
            matter=case["matter_code"], payload=payload, dialect=adapter.dialect,
            content_type=adapter.content_type,
        )  # fmt: skip
        try:
            await self._submit(signed, sender)
        except Refusal as exc:
            log.info("evidence request refused: %s", exc.reason)
            raise _NotRequested(f"网关拒绝了证据请求：{refusal_zh(str(exc.reason))}") from exc
        return exchange_pb2.Envelope.FromString(signed.envelope).exchange_id

    def _record(self, case_id: str, material_id: str, name: str, kind: str, source: str,
                exchange_id: str | None, failure: str | None) -> None:  # fmt: skip
        with self._store.transaction() as conn:
            conn.execute(
                "INSERT INTO evidence_requests VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (case_id, material_id) DO UPDATE SET name = excluded.name,"
                " certificate_type = excluded.certificate_type,"
                " source_region = excluded.source_region, exchange_id = excluded.exchange_id,"
                " requested_at = excluded.requested_at, failure = excluded.failure",
                (case_id, material_id, name, kind, source, exchange_id, time.time(), failure),
            )

    def states(self, case_id: str) -> list[dict[str, Any]]:
        """Each shareable material's state, read from the log and the outbox now."""
        rows = self._store.query(
            "SELECT * FROM evidence_requests WHERE case_id = ? ORDER BY material_id", (case_id,)
        )
        holder = self._store.query(
            "SELECT applicant_person_key FROM cases WHERE case_id = ?", (case_id,)
        )
        holder_key = holder[0][0] if holder else None
        return [self._state(dict(row), holder_key) for row in rows]

    def _state(self, row: dict[str, Any], holder_key: str | None) -> dict[str, Any]:
        out = {k: row[k] for k in ("material_id", "name", "certificate_type", "source_region",
                                   "exchange_id")}  # fmt: skip
        state, reason, digest, verified, unverified = "pending", None, None, None, None
        if row["failure"]:
            state, reason = "failed", row["failure"]
        else:
            answer = self._answer(row["exchange_id"])
            delivery = self._answers.outbox_row(row["exchange_id"])
            if answer is not None and "digest_sm3" in answer:
                state, digest = "fetched", answer["digest_sm3"]
                verified, unverified = licence_verified(
                    answer, registry=self._registry(), holder_key=holder_key
                )
            elif answer is not None:
                state, reason = "failed", "出具部门答复了错误"
            elif delivery is not None and delivery[0] == "rejected":
                state, reason = "failed", _holder_refusal_zh(delivery[2])
            elif delivery is not None and delivery[0] not in ("pending", "delivered"):
                state, reason = "failed", "证据请求无法送达出具部门"
        out.update(state=state, state_label=STATES_ZH[state], reason=reason, digest_sm3=digest,
                   verified=verified, verify_reason=unverified)  # fmt: skip
        return out

    def _answer(self, exchange_id: str | None) -> dict[str, Any] | None:
        if not exchange_id:
            return None
        logged = self._answers.answer_to(exchange_id)
        if logged is None:
            return None
        try:
            found = json.loads(logged.canonical)
        except (TypeError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def open(self, case: Mapping[str, Any], account: Any, material_id: str) -> tuple[dict, bytes]:
        """(metadata, content) of a fetched material, for the receiving window and the
        handling province (the caller records the opening)."""
        from gateway.cases.accounts import Role

        if not (
            (account.role is Role.CLERK and account.city == case["receiving_city"])
            or (account.role is Role.HANDLER and account.region == case["handling_region"])
        ):
            raise CaseForbidden("forbidden", "材料仅向受理窗口和承办地提供")
        found = next((s for s in self.states(case["case_id"]) if s["material_id"] == material_id),
                     None)  # fmt: skip
        if found is None or found["state"] != "fetched":
            raise CaseNotFound("not_found", f"该办件没有已获取的共享材料 {material_id[:20]}")
        answer = self._answer(found["exchange_id"]) or {}
        try:
            text = str(answer.get("content_base64", ""))
            if len(text) > MAX_EVIDENCE_BYTES * 4 // 3 + 4:
                raise ValueError("too large")
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CaseUnavailable("material_corrupt", f"共享材料 {material_id} 无法读取") from exc
        meta = {"material_id": material_id, "name": found["name"],
                "digest_sm3": found["digest_sm3"]}  # fmt: skip
        return meta, data


class _NotRequested(CaseUnavailable):
    """A request that could not be made; ``reason_zh`` is what the checklist shows."""

    def __init__(self, reason_zh: str) -> None:
        super().__init__("exchange_refused", reason_zh)
        self.reason_zh = reason_zh


def _holder_refusal_zh(error: str | None) -> str:
    """The holder refused the request (``partner refused: http 404: no_certificate: ...``):
    its HTTP status and code in Chinese; its free text stays in the operator log."""
    found = _PARTNER.search(error or "")
    if found is None:
        return "出具部门拒绝了证据请求"
    if found.group(2) == "no_certificate":
        return f"出具部门没有该申请人的此类证照（HTTP {found.group(1)}）"
    code = f"，代码 {found.group(2)}" if found.group(2) and found.group(2) != "None" else ""
    return f"出具部门拒绝了证据请求（HTTP {found.group(1)}{code}）"
