"""The gRPC ``yrd.v1.Matters`` service: resolve, list, search and compare matters, and fetch
the answers to evidence requests.

``gateway.app.compose.compose`` builds the servicer (and, apart, the evidence relay of
``gateway.exchange.evidence`` that records the answers it shows); ``add_matters_service``
registers it and returns the service's full name. Every call needs an mTLS
client certificate bound to a registered member. The catalogue is SAMPLE DATA
(``docs/matters.md``).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import grpc

from gateway import regions
from gateway.errors import Refusal, clip
from gateway.exchange.evidence import REQUEST_KIND
from gateway.exchange.limits import check_exchange_id
from gateway.exchange.logview import GatewayLog
from gateway.exchange.store import DELIVERED, PENDING, REJECTED, GatewayStore
from gateway.matters import (
    REGIONS,
    Catalogue,
    Comparison,
    HandlingMode,
    Matter,
    MatterError,
    MatterNotFound,
    MatterType,
    compare_matter,
)
from gateway.pb.yrd.v1 import common_pb2, exchange_pb2, matters_pb2, matters_pb2_grpc
from gateway.registry import TrustRegistry
from gateway.rpc.exchange import caller_member, receipt_proto
from gateway.rpc.status import abort
from gateway.times import BEIJING
from gateway.workdays import WorkdayCalendar

__all__ = [
    "SERVICE_NAME",
    "MattersServicer",
    "add_matters_service",
    "comparison_proto",
    "matter_proto",
]

SERVICE_NAME = matters_pb2.DESCRIPTOR.services_by_name["Matters"].full_name
DEFAULT_PAGE, MAX_PAGE = 50, 200

# canonical value <-> proto enum number, one table per enum
_REGION_CODE = regions.TO_PB
_MATTER_TYPE = {
    MatterType.LICENSING: matters_pb2.MATTER_TYPE_LICENSING,
    MatterType.LEVY: matters_pb2.MATTER_TYPE_LEVY,
    MatterType.BENEFIT: matters_pb2.MATTER_TYPE_BENEFIT,
    MatterType.CONFIRMATION: matters_pb2.MATTER_TYPE_CONFIRMATION,
    MatterType.OTHER_POWER: matters_pb2.MATTER_TYPE_OTHER_POWER,
    MatterType.PUBLIC_SERVICE: matters_pb2.MATTER_TYPE_PUBLIC_SERVICE,
}
_HANDLING = {
    HandlingMode.FULL_ONLINE: matters_pb2.HANDLING_MODE_FULL_ONLINE,
    HandlingMode.PROXY: matters_pb2.HANDLING_MODE_PROXY,
    HandlingMode.MULTI_SITE: matters_pb2.HANDLING_MODE_MULTI_SITE,
}
_UNIT = {"working_days": matters_pb2.TIME_UNIT_WORKING_DAYS,
         "natural_days": matters_pb2.TIME_UNIT_NATURAL_DAYS}  # fmt: skip
_FORM = {"original": matters_pb2.MATERIAL_FORM_ORIGINAL, "copy": matters_pb2.MATERIAL_FORM_COPY,
         "electronic": matters_pb2.MATERIAL_FORM_ELECTRONIC}  # fmt: skip
_ASSURANCE = {"low": matters_pb2.MIN_ASSURANCE_LOW,
              "substantial": matters_pb2.MIN_ASSURANCE_SUBSTANTIAL,
              "high": matters_pb2.MIN_ASSURANCE_HIGH}  # fmt: skip


# -- translation -----------------------------------------------------------------------------
def _time_limit(limit) -> matters_pb2.TimeLimit:
    return matters_pb2.TimeLimit(value=limit.value, unit=_UNIT[limit.unit.value])


def _fee(fee) -> matters_pb2.Fee:
    return matters_pb2.Fee(item=fee.item, amount_fen=fee.amount_fen, basis=fee.basis)


def matter_proto(m: Matter) -> matters_pb2.Matter:
    """The typed view of a matter record plus its canonical JSON."""
    out = matters_pb2.Matter(
        basic_code=m.basic_code,
        implementation_code=m.implementation_code or "",
        local_code=m.local_code or "",
        name=m.name,
        matter_type=_MATTER_TYPE[m.matter_type],
        legal_time_limit=_time_limit(m.legal_time_limit),
        promised_time_limit=_time_limit(m.promised_time_limit),
        materials=[
            matters_pb2.Material(
                material_id=x.material_id,
                name=x.name,
                required=x.required,
                form=_FORM[x.form.value],
                shareable=x.shareable,
                source_department=x.source_department or "",
            )
            for x in m.materials
        ],
        fees=[_fee(f) for f in m.fees],
        online_depth=int(m.online_depth),
        handling_modes=[_HANDLING[h] for h in m.handling_modes],
        min_assurance=_ASSURANCE[m.min_assurance.value],
        version=m.version,
        valid_from=m.valid_from.isoformat(),
        valid_to=m.valid_to.isoformat() if m.valid_to else "",
        region=_REGION_CODE.get(m.region, common_pb2.REGION_UNSPECIFIED),
        baseline=m.is_baseline,
        json=json.dumps(m.to_dict(), ensure_ascii=False),
    )
    if m.implementing_body is not None:
        out.implementing_body.CopyFrom(
            matters_pb2.ImplementingBody(
                name=m.implementing_body.name, uscc=m.implementing_body.uscc
            )
        )
    return out


def comparison_proto(c: Comparison) -> matters_pb2.Comparison:
    """The clerk's view: one column per region, materials aligned by canonical id."""
    columns = [
        matters_pb2.RegionColumn(
            region=_REGION_CODE[r],
            local_code=c.local_codes[r] or "",
            name=c.names[r],
            legal_time_limit=_time_limit(c.legal_time_limit[r]),
            promised_time_limit=_time_limit(c.promised_time_limit[r]),
            legal_working_days=c.legal_working_days[r],
            promised_working_days=c.promised_working_days[r],
            fees=[_fee(f) for f in c.fees[r]],
            fee_total_fen=c.fee_total_fen[r],
            online_depth=c.online_depth[r],
            handling_modes=[_HANDLING[HandlingMode(h)] for h in c.handling_modes[r]],
            min_assurance=_ASSURANCE[c.min_assurance[r]],
        )
        for r in c.regions
    ]
    rows = [
        matters_pb2.MaterialRow(
            material_id=row.material_id,
            name=row.name,
            differs=row.differs,
            by_region=[
                matters_pb2.MaterialPresence(
                    region=_REGION_CODE[r],
                    present=p.present,
                    required=p.required,
                    shareable=p.shareable,
                    form=_FORM[p.form] if p.form else matters_pb2.MATERIAL_FORM_UNSPECIFIED,
                    source_department=p.source_department or "",
                )
                for r, p in row.by_region.items()
            ],
        )
        for row in c.materials
    ]
    return matters_pb2.Comparison(
        basic_code=c.basic_code,
        name=c.name,
        regions=[_REGION_CODE[r] for r in c.regions],
        reference_date=c.reference_date.isoformat(),
        columns=columns,
        materials=rows,
        differing_fields=list(c.differing_fields),
        json=json.dumps(c.to_dict(), ensure_ascii=False),
    )


# -- request checks --------------------------------------------------------------------------
def _optional_region(value: int) -> str | None:
    return None if value == common_pb2.REGION_UNSPECIFIED else _region(value)


def _region(value: int) -> str:
    code = regions.from_pb(value)
    if code is None:
        raise Refusal("malformed", f"region must be SH, JS, ZJ or AH, got enum value {value}")
    return code


def _enum_filter(value: int, table: dict, what: str) -> Any:
    if value == 0:
        return None
    for canonical, number in table.items():
        if number == value:
            return canonical
    raise Refusal("malformed", f"unknown {what} enum value {value}")


def _page(items: Sequence[Matter], size: int, token: str) -> matters_pb2.ListMattersResponse:
    """A page after the basic code the token names (stable if the catalogue changes)."""
    start = 0
    if token:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        except (ValueError, UnicodeDecodeError):
            after = ""
        if not (after.isdigit() and len(after) == 12):
            raise Refusal("malformed", f"page_token {clip(token)} is not a token of this service")
        start = next((i for i, m in enumerate(items) if m.basic_code > after), len(items))
    size = min(size or DEFAULT_PAGE, MAX_PAGE)
    chunk = items[start : start + size]
    more = start + size < len(items)
    next_token = base64.urlsafe_b64encode(chunk[-1].basic_code.encode()).decode() if more else ""
    return matters_pb2.ListMattersResponse(
        matters=[matter_proto(m) for m in chunk], next_page_token=next_token, total_size=len(items)
    )


def _reference_date(text: str, today: Callable[[], date]) -> date:
    if not text:
        return today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refusal("malformed", f"reference_date must be yyyy-mm-dd, got {clip(text)}") from None


def _unusable(request, response: str | None) -> str | None:
    """Why a push-mode holder's stored answer was not relayed, if it was not usable."""
    if not response:
        return None
    answer = json.loads(response)
    if "undecodable_answer" in answer:
        return f"the holder's answer could not be decoded: {answer['undecodable_answer']}"
    asked = json.loads(request.canonical).get("request_id")
    if answer.get("request_id") != asked:
        return f"the holder answered request_id {clip(answer.get('request_id'))}, not {asked!r}"
    return None


class MattersServicer(matters_pb2_grpc.MattersServicer):
    """Translates ``yrd.v1.Matters`` calls to ``gateway.matters`` and the gateway store."""

    def __init__(
        self,
        *,
        registry: Callable[[], TrustRegistry],
        catalogue: Catalogue,
        store: GatewayStore,
        log: GatewayLog,
        calendar: WorkdayCalendar | None = None,
        today: Callable[[], date] = lambda: datetime.now(BEIJING).date(),
    ) -> None:
        self.registry = registry
        self.catalogue = catalogue
        self.calendar = calendar
        self.store = store
        self.log = log
        self.today = today

    async def _call(self, context: grpc.aio.ServicerContext, fn: Callable[[str], Any]) -> Any:
        """Authenticate the caller, run ``fn(caller)``, map refusals to statuses."""
        try:
            caller = caller_member(context, self.registry())
            if caller is None:
                raise Refusal("unauthenticated", "no client certificate bound to a member")
            result = fn(caller)
            if asyncio.iscoroutine(result):
                result = await result
            return result
        except MatterNotFound as exc:
            refusal = Refusal("not_found", exc.message, field=exc.field)
        except MatterError as exc:  # the request's values fail a matter check
            refusal = Refusal("malformed", exc.message, field=exc.field)
        except Refusal as exc:
            refusal = exc
        await abort(context, refusal)
        raise AssertionError("unreachable")

    async def Resolve(self, request, context):
        def resolve(_caller: str) -> matters_pb2.ResolveResponse:
            region = _region(request.region)
            if not request.local_code:
                raise Refusal("malformed", "local_code must not be empty")
            baseline = self.catalogue.resolve(request.local_code, region)
            local = self.catalogue.get(baseline.basic_code, region)
            return matters_pb2.ResolveResponse(
                canonical=matter_proto(baseline), local=matter_proto(local)
            )

        return await self._call(context, resolve)

    def _filtered(self, request, text: str | None) -> list[Matter]:
        return self.catalogue.search(
            text,
            region=_optional_region(request.region),
            matter_type=_enum_filter(request.matter_type, _MATTER_TYPE, "matter_type"),
            handling_mode=_enum_filter(request.handling_mode, _HANDLING, "handling_mode"),
        )

    async def List(self, request, context):
        def listing(_caller: str) -> matters_pb2.ListMattersResponse:
            return _page(self._filtered(request, None), request.page_size, request.page_token)

        return await self._call(context, listing)

    async def Search(self, request, context):
        def search(_caller: str) -> matters_pb2.ListMattersResponse:
            if not request.text.strip():
                raise Refusal("malformed", "text must not be empty (use List to list all)")
            return _page(self._filtered(request, request.text), request.page_size,
                         request.page_token)  # fmt: skip

        return await self._call(context, search)

    async def Compare(self, request, context):
        def compare(_caller: str) -> matters_pb2.Comparison:
            regions = tuple(_region(r) for r in request.regions) or REGIONS
            if len(set(regions)) != len(regions):
                raise Refusal("malformed", f"regions repeat: {', '.join(regions)}")
            if not request.basic_code:
                raise Refusal("malformed", "basic_code must not be empty")
            comparison = compare_matter(
                self.catalogue,
                request.basic_code,
                reference_date=_reference_date(request.reference_date, self.today),
                regions=regions,
                calendar=self.calendar,
            )
            return comparison_proto(comparison)

        return await self._call(context, compare)

    async def GetEvidence(self, request, context):
        async def get(caller: str) -> matters_pb2.EvidenceAnswer:
            if self.store is None:
                raise Refusal("unavailable", "this gateway keeps no exchanges")
            check_exchange_id(request.exchange_id)
            row = await self.store.run(self.store.exchange, request.exchange_id)
            if row is None:
                raise Refusal("not_found", f"unknown exchange {clip(request.exchange_id)}")
            if caller != row.sender:
                raise Refusal(
                    "not_permitted", "only the sender of an evidence request may fetch its answer"
                )
            if row.kind != REQUEST_KIND:
                raise Refusal(
                    "malformed", f"exchange {row.exchange_id} is a {row.kind}, not {REQUEST_KIND}"
                )
            return await self._evidence(row)

        return await self._call(context, get)

    async def _evidence(self, row) -> matters_pb2.EvidenceAnswer:
        out = matters_pb2.EvidenceAnswer(request_exchange_id=row.exchange_id)
        outbox = await self.store.run(self.store.outbox_row, row.exchange_id)
        status, attempts, error, response = outbox or (PENDING, 0, None, None)
        out.attempts = attempts
        out.error = error or ""
        # relayed from a push holder, or the pull holder's own signed evidence.response
        answer = await self.store.run(self.store.answer_to, row.exchange_id)
        if answer is not None:
            canonical = json.loads(answer.canonical)
            receipt = await asyncio.to_thread(
                self.log.receipt, answer.leaf_index, answer.tree_size, answer.exchange_id
            )
            out.state = matters_pb2.EVIDENCE_STATE_ANSWERED
            out.answer_exchange_id = answer.exchange_id
            out.response.CopyFrom(
                matters_pb2.EvidenceResponse(
                    request_id=canonical["request_id"],
                    certificate_type=canonical["certificate_type"],
                    certificate_number=canonical["certificate_number"],
                    holder=canonical["holder"],
                    issued_date=canonical["issued_date"],
                    digest_sm3=canonical["digest_sm3"],
                    content=base64.b64decode(canonical["content_base64"]),
                    licence=base64.b64decode(canonical.get("licence") or ""),
                )
            )
            out.answer_receipt.CopyFrom(receipt_proto(receipt, answer.received_at))
            out.answer_envelope.CopyFrom(
                exchange_pb2.SignedEnvelope(
                    envelope=answer.envelope, signature=answer.signature, key_id=answer.key_id
                )
            )
        elif status == REJECTED:
            out.state = matters_pb2.EVIDENCE_STATE_REFUSED
        elif status == DELIVERED and (problem := _unusable(row, response)):
            out.state = matters_pb2.EVIDENCE_STATE_REFUSED
            out.error = problem
        elif status == DELIVERED:
            out.state = matters_pb2.EVIDENCE_STATE_FORWARDED
        else:
            out.state = matters_pb2.EVIDENCE_STATE_PENDING
        return out


def add_matters_service(server: grpc.aio.Server, servicer: MattersServicer) -> str:
    """Register ``yrd.v1.Matters`` on ``server``; return its full name."""
    matters_pb2_grpc.add_MattersServicer_to_server(servicer, server)
    return SERVICE_NAME
