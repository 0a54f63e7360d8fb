"""What the window's identity page shows of a recognition, and its refusals, in Chinese.

A recognition reaches the page masked only (``gateway.ops.privacy``): name, document number,
enterprise name, credit code and agent are masked here, never sent in full. For a legal
person ``person_key`` is the organisation's key; the agent, role and agent key are read from
the recognised identity when it carries them (the legal-person work adds ``agent``, ``role``,
``agent_key``), else from the verified assertion's ``agent``/``role``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.responses import JSONResponse

from gateway.cases.chinese import LEVELS_ZH, region_zh
from gateway.errors import Refusal
from gateway.identity import LegalPerson, NaturalPerson
from gateway.identity.errors import RejectionReason
from gateway.identity.service import Recognised
from gateway.ops.privacy import mask_id_number, mask_name, mask_uscc

__all__ = [
    "KIND_ZH",
    "METHODS_ZH",
    "REFUSALS_ZH",
    "ROLES_ZH",
    "identity_refusal",
    "recognised_view",
]

#: canonical authentication methods (``gateway.identity.AuthMethod`` values)
METHODS_ZH = {
    "password": "账号密码",
    "sms_otp": "短信验证码",
    "face_recognition": "人脸识别",
    "electronic_id_card": "电子身份证",
    "usb_key": "数字证书（UKey）",
    "digital_certificate": "数字证书",
    "app_qr_scan": "政务 App 扫码",
    "e_business_licence": "电子营业执照",
}
#: canonical agent roles (``gateway.identity.AgentRole`` values)
ROLES_ZH = {"legal_representative": "法定代表人", "authorised_agent": "经办人"}
KIND_ZH = {"natural_person": "自然人", "legal_person": "法人"}

#: every reason a recognition can be refused with -> (HTTP status, what the window reads)
REFUSALS_ZH: dict[str, tuple[int, str]] = {
    "bad_signature": (422, "身份断言签名无效：不是该省身份认证平台登记的密钥所签，或内容已被改动"),
    "expired": (422, "身份断言已过期，请申请人重新认证后再提交"),
    "not_yet_valid": (422, "身份断言尚未生效：签发时间晚于网关当前时间"),
    "wrong_audience": (422, "身份断言的接收方不是本网关，不能在此使用"),
    "level_too_low": (422, "认证等级不足"),
    "invalid_id_number": (422, "身份断言中的证件号码无效：未通过校验"),
    "unknown_issuer": (422, "该省没有登记的身份认证平台或身份断言格式"),
    "malformed": (422, "身份断言格式错误，无法解析"),
    "replay": (409, "该身份断言已经核验过一次，不能重复使用（防重放）；请申请人重新认证"),
    "revoked": (422, "该身份断言或其签发密钥已被撤销"),
    "wrong_subject_kind": (422, "主体类型不符：该事项要求的是另一类主体（自然人或法人）"),
    "not_found": (404, "事项编码不在事项目录中"),
    "unavailable": (503, "日志暂时无法记录本次核验，核验未完成，请稍后重试"),
    "registry_expired": (503, "成员登记册已过期，网关暂停办理"),
}
_LEVEL = re.compile(r"expected at least (low|substantial|high), got (low|substantial|high)")


def identity_refusal(refusal: Refusal) -> JSONResponse:
    """A refused recognition in the API's error shape: the reason as ``code`` (machine),
    the check it names in Chinese as ``message``; the English detail never reaches it."""
    reason = str(refusal.reason)
    status, message = REFUSALS_ZH.get(reason, (422, "身份断言未通过核验"))
    if reason == RejectionReason.MALFORMED:  # name the legal-person check that failed
        detail = refusal.message
        if "uscc" in detail or "credit code" in detail:
            message = "身份断言中的统一社会信用代码无效：未通过校验（GB 32100）"
        elif " role" in detail:
            message = "身份断言中的办理人角色无效：不是该省登记的角色，或与法定代表人不符"
    if reason == RejectionReason.LEVEL_TOO_LOW:
        found = _LEVEL.search(refusal.message)
        if found:
            need, got = (LEVELS_ZH[g] for g in found.groups())
            message = f"认证等级不足：该事项需要“{need}”，该断言为“{got}”"
    body = {"code": reason, "message": message, "field": None, "field_label": None}
    return JSONResponse({"error": body}, status_code=status)


def _person(person: NaturalPerson) -> dict[str, str]:
    return {
        "masked_name": mask_name(person.name),
        "document_type": person.document_type.value,
        "masked_document_number": mask_id_number(person.document_number),
    }


def recognised_view(found: Recognised, *, relying_party: str) -> dict[str, Any]:
    """The page's view of a recognition: masked subject, level, methods, keys, receipt."""
    recognition = found.recognition
    identity = recognition.identity
    assertion = recognition.assertion
    subject = identity.subject
    level = identity.level.value
    methods = sorted(m.value for m in identity.methods)
    out: dict[str, Any] = {
        "recognition_id": recognition.recognition_id,
        "issuing_province": str(identity.issuing_province.value),
        "issuing_province_name": region_zh(identity.issuing_province.value),
        "format": assertion.format,
        "level": level,
        "level_name": LEVELS_ZH.get(level, level),
        "methods": methods,
        "method_names": [METHODS_ZH.get(m, m) for m in methods],
        "person_key": identity.person_key,
        "authenticated_at": identity.authenticated_at.isoformat(),
        "expires_at": recognition.expires_at.isoformat(),
        "relying_party": relying_party,
        "required_level": recognition.required_level.value if recognition.required_level else None,
        "receipt": {
            "leaf_index": found.receipt["leaf_index"],
            "tree_size": found.receipt["tree_size"],
            "document": found.receipt,
        },
    }
    if isinstance(subject, LegalPerson):
        # the recognised identity names the agent, role and agent key once the legal-person
        # work is in (its person_key is then the organisation's key); else the assertion's
        agent = getattr(identity, "agent", None) or assertion.agent
        found_role = getattr(identity, "role", None) or assertion.role
        role = found_role.value if found_role is not None else None
        out.update(
            subject_kind="legal_person",
            masked_organisation_name=mask_name(subject.name),
            masked_uscc=mask_uscc(subject.uscc),
            masked_legal_representative=mask_name(subject.legal_representative),
            role=role,
            role_name=ROLES_ZH.get(role or "", ""),
            agent=_person(agent) if agent is not None else None,
            organisation_key=identity.person_key,
            agent_key=getattr(identity, "agent_key", None) or None,
        )
    else:
        out.update(subject_kind="natural_person", **_person(subject))
    out["subject_kind_name"] = KIND_ZH[out["subject_kind"]]
    return out
