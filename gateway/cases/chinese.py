"""Chinese words for refusals shown to government staff (issue 14: Chinese throughout).

Messages of :class:`~gateway.cases.errors.CaseError` are read by window clerks, handlers and
auditors, so they are written in Chinese at the raise site; the machine ``code`` beside each
stays ASCII and stable. The helpers here name the things those messages mention (provinces,
cities, roles, statuses, assurance levels) and turn the English refusals of the identity
library (shared with the gRPC services, so left as they are) into Chinese without echoing
the personal data they quote (an id number's digits, a birth date).
"""

from __future__ import annotations

import re

from gateway.cases.model import CITIES, REGION_NAMES, Status
from gateway.regions import Region

__all__ = [
    "LEVELS_ZH",
    "ROLES_ZH",
    "city_zh",
    "id_number_message",
    "identity_message",
    "partner_refusal_zh",
    "refusal_zh",
    "region_zh",
    "status_zh",
]

#: account roles, as the pages name them
ROLES_ZH = {"clerk": "窗口工作人员", "handler": "承办地审批人员", "auditor": "审计人员"}
#: identity assurance levels (eIDAS low / substantial / high), as the new-case form names them
LEVELS_ZH = {"low": "低", "substantial": "较高", "high": "高"}


def region_zh(code: object) -> str:
    """``JS`` -> 江苏; anything else is shown as given (it is the caller's input, clipped)."""
    try:
        return REGION_NAMES[Region(str(code))]
    except ValueError:
        return repr(str(code)[:20])


def city_zh(code: object) -> str:
    """``suzhou`` -> 苏州; an unknown code is shown as given, clipped."""
    city = CITIES.get(str(code))
    return city.name_zh if city else repr(str(code)[:20])


def status_zh(value: object) -> str:
    """``accepted`` -> 已受理; an unknown status is shown as given, clipped."""
    try:
        return Status(str(value)).label_zh
    except ValueError:
        return repr(str(value)[:20])


#: (a phrase of ``gateway.identity.validation``'s refusal, the Chinese check it names)
_ID_CHECKS = (
    ("length", "长度应为 18 位（不受理 15 位旧号码）"),
    ("check character", "最后一位应为数字或 X"),
    ("character", "前 17 位应全部为数字"),
    ("region code", "前两位不是省级行政区代码"),
    ("not a calendar date", "出生日期不是有效日期"),
    ("before 1900", "出生日期早于 1900 年"),
    ("in the future", "出生日期晚于今天"),
    ("check digit", "校验位不符（GB 11643）"),
    ("expected a string", "应为文本"),
)


def id_number_message(english: str) -> str:
    """The Chinese refusal of a resident id number, naming the failed check only (the
    English text quotes digits of the number, which must not reach a log or a page)."""
    check = next((zh for phrase, zh in _ID_CHECKS if phrase in english), "不符合 GB 11643")
    return f"申请人身份证号无效：{check}"


def identity_message(english: str) -> str:
    """The Chinese refusal of the applicant's identity (``check_level``, ``AuthMethod``,
    ``NaturalPerson``), e.g. 申请人认证等级不足：需要"高"，实际"较高"."""
    if "assurance level too low" in english:
        need = english.partition("expected at least ")[2].partition(",")[0].strip()
        got = english.partition(", got ")[2].strip()
        return (
            f"申请人认证等级不足：需要“{LEVELS_ZH.get(need, need)}”，"
            f"实际“{LEVELS_ZH.get(got, got)}”；请加用人脸识别或电子身份证等方式核验"
        )
    if "AuthMethod" in english or "auth" in english.lower():
        return "申请人核验方式无效：不是可识别的身份核验方式"
    return "申请人身份信息无效：请核对姓名、证件号码与核验方式"


#: the gateway's refusal reasons (``gateway.errors.Reason`` values), in Chinese
_REFUSALS_ZH = {
    "malformed": "报文格式错误",
    "digest_mismatch": "摘要不符",
    "stale": "报文已过期",
    "normalisation_failed": "报文无法转换为标准格式",
    "unknown_recipient": "接收方未登记",
    "not_found": "找不到对应记录",
    "unauthenticated": "未通过身份认证",
    "signature_invalid": "签名无效",
    "key_invalid": "密钥无效",
    "sender_mismatch": "发送方与签名不符",
    "not_permitted": "无权进行此交换",
    "replay": "重复提交的报文",
    "conflict": "与已有记录冲突",
    "too_large": "报文过大",
    "unknown_matter": "事项不在目录中",
    "matter_mismatch": "事项与报文不符",
    "unknown_request": "找不到所答复的请求",
    "answer_mismatch": "答复与请求不符",
    "already_answered": "该请求已答复",
    "bad_signature": "身份断言签名无效",
    "unknown_issuer": "身份断言签发方未登记",
    "expired": "身份断言已过期",
    "not_yet_valid": "身份断言尚未生效",
    "wrong_audience": "身份断言的接收方不符",
    "invalid_id_number": "证件号码无效",
    "level_too_low": "认证等级不足",
    "unavailable": "服务暂不可用",
    "registry_expired": "成员登记册已过期，网关暂停办理",
    "internal": "网关内部错误",
}


_PARTNER = re.compile(r"http (\d{3})(?:: ([A-Za-z0-9_.-]{1,40}))?")


def partner_refusal_zh(error: str | None) -> str:
    """The timeline note of a submission the handling province's system refused, from the
    delivery error (``partner refused: http 422: bad_id: ...``): its HTTP status and code,
    in Chinese; the partner's free text stays in the operator log, not on the staff page."""
    found = _PARTNER.search(error or "")
    if found is None:
        return "承办地系统拒收该办件"
    code = f"，代码 {found.group(2)}" if found.group(2) and found.group(2) != "None" else ""
    return f"承办地系统拒收该办件（HTTP {found.group(1)}{code}）"


def refusal_zh(reason: str) -> str:
    """The Chinese words for a gateway refusal reason (``registry_expired`` -> ...)."""
    return _REFUSALS_ZH.get(str(reason).lower(), "网关拒绝了该请求")
