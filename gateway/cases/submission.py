"""Submitting a case at a window: steps (1)-(2) of ``gateway.cases.service``, and the
building of what step (3) signs and step (6) writes.

Everything here is a check or a construction; nothing is written until the exchange is
logged, so a refused submission leaves no trace. The applicant's identity is checked the way
an identity provider would check it (GB 11643 number, assurance level against the matter's
minimum) and only its person key and masked forms leave the sealed record.

Completeness (一次性告知): every material the matter requires in the handling province must be
attached, except the shareable ones (可共享免交), which the handling side fetches through the
once-only evidence exchange instead of asking the applicant; a submission missing one is
refused with ``materials_incomplete``, naming each missing material.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from gateway.cases._clock import business_day, stamp
from gateway.cases.accounts import Account, Role
from gateway.cases.chinese import city_zh, id_number_message, identity_message, region_zh
from gateway.cases.deadlines import compute_deadline, log_provisional
from gateway.cases.errors import CaseForbidden, CaseInvalid
from gateway.cases.lifecycle import require
from gateway.cases.materials import Materials
from gateway.cases.model import CITIES, Status
from gateway.identity import (
    AuthMethod,
    DocumentType,
    IdentityError,
    NaturalPerson,
    PersonKeyDeriver,
    Province,
    RecognisedIdentity,
    assess_level,
    check_level,
    validate_resident_id,
)
from gateway.matters import REGIONS, Catalogue, MatterNotFound
from gateway.ops.privacy import mask_id_number, mask_name, scrub
from gateway.workdays import WorkdayCalendar

__all__ = ["Intake", "incomplete", "missing_materials"]


class Intake:
    """Checks submissions against ``catalogue`` and builds their ``case.submit`` exchange;
    ``calendar`` gives the calendar in use (it may be reloaded between two calls)."""

    def __init__(
        self,
        catalogue: Catalogue,
        persons: PersonKeyDeriver,
        materials: Materials,
        clock: Callable[[], datetime],
        calendar: Callable[[], WorkdayCalendar],
    ) -> None:
        self._catalogue = catalogue
        self._persons = persons
        self._materials = materials
        self._clock = clock
        self._calendar = calendar

    def prepare(self, account: Account, request: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments of ``CaseExchanges.send`` for a submission at ``account``'s
        window; :class:`CaseForbidden` or :class:`CaseInvalid` if it may not be made."""
        # (1): who
        require(account, Role.CLERK)
        assert account.city is not None  # Accounts.create requires a clerk's city
        city = CITIES[account.city]
        asked_city = request.get("receiving_city") or city.code
        if asked_city != city.code:
            raise CaseForbidden(
                "wrong_city",
                f"受理城市不符：本账号属于{city.name_zh}，收到 {city_zh(asked_city)}",
                "receiving_city",
            )
        # (2): what
        code = str(request.get("matter_code") or "")
        try:
            self._catalogue.entry(code)
        except MatterNotFound:
            raise CaseInvalid(
                "unknown_matter", f"事项 {code[:20]!r} 不在事项目录中", "matter_code"
            ) from None
        handling = str(request.get("handling_region") or "")
        if handling not in REGIONS:
            raise CaseInvalid(
                "invalid",
                f"承办省份须为上海（SH）、江苏（JS）、浙江（ZJ）或安徽（AH），"
                f"收到 {handling[:20]!r}",
                "handling_region",
            )  # fmt: skip
        if handling == city.region:
            raise CaseInvalid(
                "not_cross_region",
                f"承办省份{region_zh(handling)}与本窗口同省，不属于跨省通办",
                "handling_region",
            )
        try:
            matter = self._catalogue.get(code, handling)
        except MatterNotFound:
            raise CaseInvalid(
                "unknown_matter", f"事项 {code} 在{region_zh(handling)}不办理", "matter_code"
            ) from None
        mode = str(request.get("handling_mode") or "")
        modes = [m.value for m in matter.handling_modes]
        if mode not in modes:
            raise CaseInvalid(
                "invalid_mode",
                f"办理方式无效：{region_zh(handling)}对该事项提供 {'、'.join(modes)}，"
                f"收到 {mode[:20]!r}",
                "handling_mode",
            )
        identity, phone = self._applicant(
            request.get("applicant"), matter.min_assurance.value, city.region
        )
        materials = self._materials.resolve(account, request.get("materials") or [], matter)
        missing = missing_materials(matter, {m["material_id"] for m in materials})
        if missing:
            raise incomplete(missing)
        # (3): what is signed, and what is written once it is logged
        case_id = str(uuid.uuid4())
        now = self._clock()
        today = business_day(now)
        limit = matter.promised_time_limit
        deadline = compute_deadline(today, limit, self._calendar())
        log_provisional(case_id, deadline)
        canonical = {
            "case_id": case_id,
            "matter_code": code,
            "applicant": {
                "person_key": identity.person_key,
                "masked_name": mask_name(identity.subject.name),
            },
            "handling_mode": mode,
            "materials": [
                {"material_id": m["material_id"], "name": m["name"], "digest_sm3": m["sm3"]}
                for m in materials
            ],
            "receiving_city": f"{city.name_zh}G60通办窗口",
            "submitted_at": stamp(now),
        }
        sealed = self._materials.seal_applicant(case_id, identity, phone)
        row = {
            "case_id": case_id,
            "number": f"G60-{city.code[:2].upper()}{today:%Y%m%d}-{case_id[:6].upper()}",
            "receiving_city": city.code,
            "window_region": city.region,
            "handling_region": handling,
            "matter_code": code,
            "matter_name": matter.name,
            "handling_mode": mode,
            "status": Status.SUBMITTED.value,
            "applicant_name_masked": mask_name(identity.subject.name),
            "applicant_id_masked": mask_id_number(_document_number(identity)),
            "applicant_person_key": identity.person_key,
            "applicant_level": identity.level.value,
            "applicant_sealed": sealed.hex(),
            "promised_limit": json.dumps(limit.to_dict()),
            "submitted_at": stamp(now),
            "accepted_on": None,
            "deadline": deadline.day.isoformat(),
            "deadline_missing_years": deadline.stored_years(),
            "finished_on": None,
            "rating": None,
            "rating_comment": None,
            "clerk": account.username,
            "updated_at": stamp(now),
        }
        change = {
            "create": row,
            "materials": [
                {"upload_id": m["upload_id"], "material_id": m["material_id"], "name": m["name"]}
                for m in materials
            ],
        }
        note = scrub(str(request.get("note") or ""))[:500] or None
        return {
            "case_id": case_id,
            "sender_region": city.region,
            "recipient_region": handling,
            "kind": "case.submit",
            "matter": code,
            "canonical": canonical,
            "change": change,
            "transition": "submitted",
            "status_after": Status.SUBMITTED,
            "actor": f"{city.name_zh}窗口 {account.display_name}",
            "note": note,
            "at": now,
        }

    def _applicant(
        self, data: Any, minimum: str, region: str
    ) -> tuple[RecognisedIdentity, str | None]:
        if not isinstance(data, Mapping):
            raise CaseInvalid("invalid", "申请人信息应为对象", "applicant")
        name = str(data.get("name") or "").strip()
        if not name:
            raise CaseInvalid("invalid", "申请人姓名不能为空", "applicant.name")
        try:
            number = validate_resident_id(
                str(data.get("id_number") or ""), today=business_day(self._clock())
            )
        except IdentityError as exc:
            raise CaseInvalid(
                "invalid_id_number", id_number_message(str(exc)), "applicant.id_number"
            ) from exc
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        methods = data.get("auth_methods") or ["electronic_id_card", "face_recognition"]
        try:
            subject = NaturalPerson(name, DocumentType.RESIDENT_ID_CARD, number, born)
            level = assess_level(AuthMethod(m) for m in methods)
            check_level(level, minimum)
            identity = RecognisedIdentity(
                subject=subject,
                level=level,
                methods=frozenset(methods),
                authenticated_at=self._clock(),
                issuing_province=Province(region),
                person_key=self._persons.derive(subject),
            )
        except ValueError as exc:  # IdentityError, a bad AuthMethod, level too low
            raise CaseInvalid("invalid_identity", identity_message(str(exc)), "applicant") from exc
        phone = str(data.get("phone") or "").strip() or None
        return identity, phone


def missing_materials(matter: Any, given: set[str]) -> list[Any]:
    """The materials ``matter`` requires from the applicant (required, not shareable) that
    ``given`` (material ids) lacks, in the matter's order."""
    return [
        m for m in matter.materials if m.required and not m.shareable and m.material_id not in given
    ]


def incomplete(missing: list[Any]) -> CaseInvalid:
    """The refusal naming every missing material (一次性告知: all of them at once)."""
    names = "、".join(f"{m.name}（{m.material_id}）" for m in missing)
    return CaseInvalid(
        "materials_incomplete", f"申请材料不齐全，缺少必需材料：{names}", "materials"
    )


def _document_number(identity: RecognisedIdentity) -> str:
    """A window applicant is a natural person (``_recognise`` builds one)."""
    subject = identity.subject
    assert isinstance(subject, NaturalPerson)
    return subject.document_number
