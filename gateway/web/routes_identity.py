"""REST routes of 身份核验 at a G60 window: a province's identity assertion, recognised by
the same flow as gRPC ``Identity.Recognize`` (``gateway.identity.service``), logged with a
receipt, shown masked.

``POST /api/identity/recognize`` (window staff, Bearer token): the body names the issuing
province, the assertion (as text, or base64 for binary formats) and optionally the matter.
The relying party is the window's member: the registered member of the window city's
region that holds the member key this gateway signs that region's case exchanges with (the
same member the window's cases are sent as), else the region's first registered member.
Refusals: ``gateway.web.identity_view.identity_refusal`` (reason as ``code``, Chinese
message); a refusal writes nothing.

``GET /api/identity/formats``: each province's format and whether dev samples are offered.
Only with ``yrdgw serve --dev`` (``settings.dev``) and a dev environment:
``GET /api/identity/samples`` lists the fictitious sample people and organisations of a
province's mapping data and ``POST /api/identity/sample`` issues one a fresh assertion with
the dev identity-provider key (the key the dev registry lists, as the simulator's
``POST /identity/assert`` does), so a newcomer can try the page.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from gateway.cases import (
    Account,
    CaseInvalid,
    CaseNotFound,
    CaseService,
)
from gateway.cases.members import window_member
from gateway.errors import Refusal
from gateway.identity.errors import IdentityError
from gateway.identity.province import AssertionFormat
from gateway.identity.service import RecognitionService
from gateway.ops.privacy import mask_name, mask_uscc
from gateway.regions import REGIONS, Region
from gateway.registry import TrustRegistry
from gateway.web.api import Acct
from gateway.web.identity_view import identity_refusal, recognised_view

__all__ = [
    "IdentityRecognize",
    "IdentitySample",
    "IdentitySource",
    "build_identity_router",
    "relying_party",
]

log = logging.getLogger("gateway.web.identity")

MAX_ASSERTION_CHARS = 128 * 1024
"""Text (or base64) of one assertion; the format's own ``max_bytes`` applies after decoding."""
_CHARSET = re.compile(r"charset=([A-Za-z0-9_-]{1,20})")


class IdentitySource(Protocol):
    """What the identity routes need of the gateway (``gateway.app.gateway.Gateway``)."""

    @property
    def recognition(self) -> RecognitionService: ...


class IdentityRecognize(BaseModel):
    province: Literal["SH", "JS", "ZJ", "AH"] = Field(description="签发断言的省份")
    assertion: str = Field(
        min_length=1, max_length=MAX_ASSERTION_CHARS, description="身份断言：文本或 base64"
    )
    encoding: Literal["text", "base64"] = Field(
        "text", description="text：按该省格式的字符集编码；base64：二进制断言（如安徽 GB18030）"
    )
    matter_code: str | None = Field(None, max_length=40, description="事项编码（可选）")


class IdentitySample(BaseModel):
    province: Literal["SH", "JS", "ZJ", "AH"]
    sample_id: str = Field(min_length=1, max_length=64, description="样例人员或样例企业编号")


def relying_party(registry: TrustRegistry | None, account: Account, keys: Mapping) -> str:
    """The member a window recognises identities for (``gateway.cases.members``)."""
    return window_member(registry, account, keys)


def _assertion_bytes(body: IdentityRecognize, fmt: AssertionFormat | None) -> bytes:
    if body.encoding == "base64":
        try:
            return base64.b64decode(body.assertion.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise CaseInvalid(
                "invalid", "身份断言不是有效的 base64 文本", field="assertion"
            ) from None
    found = _CHARSET.search(fmt.media_type) if fmt is not None else None
    charset = found.group(1) if found else "utf-8"
    try:
        return body.assertion.strip().encode(charset)
    except (LookupError, UnicodeEncodeError):
        raise CaseInvalid(
            "invalid", "身份断言含有该省格式字符集无法表示的字符", field="assertion"
        ) from None


def _samples(fmt: AssertionFormat) -> list[dict[str, str]]:
    """The fictitious sample subjects of ``fmt``'s mapping data, masked for the list."""
    out = [
        {"sample_id": pid, "kind": "natural_person", "label": mask_name(p.get("name", ""))}
        for pid, p in fmt.sample_people.items()
    ]
    organisations = getattr(fmt, "sample_organisations", None) or {}
    if hasattr(fmt, "claims_for_organisation"):
        items = organisations.values() if isinstance(organisations, Mapping) else organisations
        out += [
            {"sample_id": o["organisation_id"], "kind": "legal_person",
             "label": f"{mask_name(o['name'])}（{mask_uscc(o['uscc'])}）"}
            for o in items
        ]  # fmt: skip
    return out


def _issue_sample(fmt: AssertionFormat, key: Any, sample_id: str, audience: str) -> bytes:
    """A fresh assertion for one sample subject, as the province simulator issues it."""
    now = datetime.now(UTC)
    common: dict[str, Any] = {"audience": audience, "now": now, "ttl": timedelta(minutes=5),
                              "methods": None, "assertion_id": secrets.token_hex(16)}  # fmt: skip
    person = fmt.sample_people.get(sample_id)
    if person is not None:
        return fmt.issue(fmt.claims_for(person, **common), key)
    organisations = getattr(fmt, "sample_organisations", None) or {}
    items = organisations.values() if isinstance(organisations, Mapping) else organisations
    org = next((o for o in items if o.get("organisation_id") == sample_id), None)
    if org is None or not hasattr(fmt, "claims_for_organisation"):
        raise CaseNotFound("not_found", "没有这个样例人员或样例企业", field="sample_id")
    return fmt.issue(fmt.claims_for_organisation(org, **common), key)


def build_identity_router(
    gateway: IdentitySource, service: CaseService, *, dev_keys: Callable[[], Mapping | None]
) -> APIRouter:
    """The identity routes; ``dev_keys()`` is the dev identity-provider keys by region when
    ``--dev`` is on, else None (then the sample routes refuse with 404)."""
    router = APIRouter(prefix="/api/identity")
    recognition = gateway.recognition

    @router.get("/formats", tags=["identity"])
    def formats(_acct: Acct) -> dict[str, Any]:
        """各省身份断言格式；dev 为真时页面提供样例断言（仅开发环境）。"""
        rows = []
        for region in REGIONS:
            fmt = recognition.formats(str(region))
            if fmt is not None:
                rows.append({"province": str(region), "format": fmt.format,
                             "media_type": fmt.media_type, "binary": _binary(fmt)})  # fmt: skip
        return {"dev": dev_keys() is not None, "formats": rows}

    @router.post("/recognize", tags=["identity"])
    async def recognize(body: IdentityRecognize, acct: Acct) -> Any:
        """窗口核验一份省级身份断言（与 gRPC Identity.Recognize 同一流程，记入日志并返回收据）。"""
        member = relying_party(recognition.registry(), acct, service.keys)
        fmt = recognition.formats(body.province)
        data = _assertion_bytes(body, fmt)
        try:
            found = await recognition.recognise(
                caller=member, region=Region(body.province), assertion=data,
                matter_code=(body.matter_code or "").strip(),
            )  # fmt: skip
        except Refusal as refusal:
            log.info("window identity recognition refused",
                     extra={"reason": refusal.reason, "relying_party": member})  # fmt: skip
            return identity_refusal(refusal)
        identity = found.recognition.identity
        log.info(
            "window identity recognised",
            extra={"recognition_id": found.recognition.recognition_id, "relying_party": member,
                   "issuing_province": identity.issuing_province.value,
                   "level": identity.level.value, "person_key": identity.person_key},
        )  # fmt: skip
        return recognised_view(found, relying_party=member)

    @router.get("/samples", tags=["identity"])
    def samples(_acct: Acct, province: str = Query(max_length=4)) -> list[dict[str, str]]:
        """开发环境：该省映射数据中的样例人员与样例企业（虚构数据）。"""
        fmt = _dev_format(province)
        return _samples(fmt)

    @router.post("/sample", tags=["identity"])
    def sample(body: IdentitySample, _acct: Acct) -> dict[str, str]:
        """开发环境：用开发身份认证平台密钥为一个样例对象签发一份新的身份断言。"""
        fmt = _dev_format(body.province)
        keys = dev_keys() or {}
        try:
            data = _issue_sample(fmt, keys[body.province], body.sample_id,
                                 recognition.recognizer.audience)  # fmt: skip
        except (IdentityError, KeyError) as exc:
            raise CaseInvalid("invalid", "无法为该样例签发断言") from exc
        try:
            return {"encoding": "text", "assertion": data.decode("utf-8")}
        except UnicodeDecodeError:
            return {"encoding": "base64", "assertion": base64.b64encode(data).decode("ascii")}

    def _dev_format(province: str) -> AssertionFormat:
        if dev_keys() is None:  # outside --dev the sample routes do not exist
            raise CaseNotFound("not_found", "仅开发环境（yrdgw serve --dev）提供样例断言")
        fmt = recognition.formats(province)
        if fmt is None:
            raise CaseInvalid("invalid", "该省没有身份断言格式", field="province")
        return fmt

    return router


def _binary(fmt: AssertionFormat) -> bool:
    """Whether ``fmt``'s assertions are bytes a page should upload or send as base64 (a
    charset other than UTF-8/ASCII, e.g. Anhui's GB18030)."""
    found = _CHARSET.search(fmt.media_type)
    return found is not None and found.group(1).lower() not in ("utf-8", "us-ascii", "ascii")
