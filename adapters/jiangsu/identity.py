"""Jiangsu identity tokens (``js-idtoken/1``): a compact, JWT-like SM2-signed token.

Layout::

    token   = b64url(header) "." b64url(claims) "." b64url(signature)
    header  = {"alg": "SM2SM3", "kid": <identity-provider key id>, "typ": "JSZWFW-ID", "ver": 1}
    signature = DER SM2 (GB/T 32918.2, default user id) over the ASCII bytes
                b64url(header) "." b64url(claims)

``b64url`` is RFC 4648 base64url without padding; the JSON is UTF-8. The claims use the
platform's own (pinyin-abbreviated) names; times are integer epoch seconds:

=========  ==========================================  ======================
claim      meaning                                     example
=========  ==========================================  ======================
``lpbh``   令牌编号 token id                           ``"9f1c..."``
``qfz``    签发者 issuer                               ``"https://idp..."``
``jsf``    接收方 audience                             ``"yrd-gateway"``
``qfsj``   签发时间 issued at (also not-before)        ``1764322200``
``sxsj``   失效时间 expires at (exclusive)             ``1764322500``
``xm``     姓名 name                                   ``"王小明"``
``zjlx``   证件类型 document type code                 ``"111"`` (居民身份证)
``zjhm``   证件号码 document number                    18 characters
``csrq``   出生日期 birth date, ``yyyyMMdd``           ``"19900307"``
``rzfs``   认证方式 method codes (list)                ``["PWD", "SMS"]``
``rzsj``   认证时间 authentication time                ``1764322190``
=========  ==========================================  ======================

Method codes and their levels are in ``identity.json`` (``PWD`` and ``SMS`` are low each,
``PWD+SMS`` together substantial, ``FACE`` substantial, ``CTID`` and ``UKEY`` high).

**Legal persons** (法人): an enterprise login (企业登录) is the same token with one more claim,
``ent``, an object binding the person above (who authenticated) to the enterprise::

    "ent": {"tyshxydm": "91320505MA1X2Y3W4Q",   统一社会信用代码 USCC
            "qymc": "苏州示例精密机械有限公司",    企业名称 enterprise name
            "fddbr": "王小明",                   法定代表人 legal representative
            "sf": "FR"}                          身份 role: FR 法定代表人, JBR 经办人

Role codes are in ``identity.json`` ``roles``. The method ``DZYYZZ`` (high) says the person
presented the enterprise's electronic business licence (电子营业执照) in the official app; any
other method is a legal-representative or agent login. A token without ``ent`` is about a
natural person; ``ent`` with a missing, extra or mistyped field is refused.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from gateway.identity import AssertionRejected
from gateway.identity.province import (
    AssertionFormat,
    Claims,
    Signed,
    b64url_decode,
    b64url_encode,
    exact_fields,
    strict_json,
)
from ledger.crypto import PrivateKey

__all__ = ["JiangsuIdToken", "create_format"]

_HERE = Path(__file__).parent
_HEADER = {"alg": str, "kid": str, "typ": str, "ver": int}
_CLAIMS = {
    "lpbh": str,
    "qfz": str,
    "jsf": str,
    "qfsj": int,
    "sxsj": int,
    "xm": str,
    "zjlx": str,
    "zjhm": str,
    "csrq": str,
    "rzfs": list,
    "rzsj": int,
}
_ENT = {"tyshxydm": str, "qymc": str, "fddbr": str, "sf": str}
_DATE = re.compile(r"\d{8}", re.ASCII)


def _unb64(part: str, label: str) -> bytes:
    return b64url_decode(part, f"js-idtoken {label}")


def _utf8(raw: bytes, label: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AssertionRejected("malformed", f"js-idtoken {label}: expected utf-8") from None


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp() // 1)


def _time(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


class JiangsuIdToken(AssertionFormat):
    """The ``js-idtoken/1`` format (see the module docstring)."""

    ALG = "SM2SM3"
    TYP = "JSZWFW-ID"
    VERSION = 1

    def split(self, data: bytes) -> Signed:
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise AssertionRejected("malformed", "js-idtoken: expected ascii") from None
        parts = text.strip().split(".")
        if len(parts) != 3:
            raise AssertionRejected("malformed", f"js-idtoken parts: expected 3, got {len(parts)}")
        header = exact_fields(
            strict_json(_utf8(_unb64(parts[0], "header"), "header"), "js-idtoken header"),
            _HEADER,
            "js-idtoken header",
        )
        if (header["alg"], header["typ"], header["ver"]) != (self.ALG, self.TYP, self.VERSION):
            raise AssertionRejected(
                "malformed",
                f"js-idtoken header: expected {self.ALG}/{self.TYP}/{self.VERSION}, got "
                f"{header['alg']}/{header['typ']}/{header['ver']}",
            )
        _unb64(parts[1], "claims")  # shape only: the claims are read after the signature
        return Signed(
            signed_bytes=f"{parts[0]}.{parts[1]}".encode("ascii"),
            signature=_unb64(parts[2], "signature"),
            key_id=header["kid"],
            body=parts[1],
        )

    def decode(self, signed: Signed) -> Claims:
        text = _utf8(_unb64(signed.body, "claims"), "claims")
        raw = strict_json(text, "js-idtoken claims")
        ent = None
        if isinstance(raw, dict) and "ent" in raw:
            ent = exact_fields(raw.pop("ent"), _ENT, "js-idtoken claims.ent")
        c = exact_fields(raw, _CLAIMS, "js-idtoken claims")
        if not c["rzfs"] or not all(isinstance(m, str) for m in c["rzfs"]):
            raise AssertionRejected("malformed", "js-idtoken claims.rzfs: expected method codes")
        if not _DATE.fullmatch(c["csrq"]):
            raise AssertionRejected("malformed", "js-idtoken claims.csrq: expected yyyyMMdd")
        try:
            born = date(int(c["csrq"][:4]), int(c["csrq"][4:6]), int(c["csrq"][6:]))
        except ValueError:
            raise AssertionRejected("malformed", "js-idtoken claims.csrq: not a date") from None
        if c["sxsj"] <= c["qfsj"]:
            raise AssertionRejected("malformed", "js-idtoken claims: expected sxsj > qfsj")
        legal = {}
        if ent is not None:
            legal = {
                "subject_kind": "legal_person",
                "organisation_name": ent["qymc"],
                "uscc": ent["tyshxydm"],
                "legal_representative": ent["fddbr"],
                "role_code": ent["sf"],
            }
        return Claims(
            **legal,
            assertion_id=c["lpbh"],
            issuer=c["qfz"],
            audience=c["jsf"],
            issued_at=_time(c["qfsj"]),
            not_before=_time(c["qfsj"]),
            not_after=_time(c["sxsj"]),
            name=c["xm"],
            document_code=c["zjlx"],
            document_number=c["zjhm"],
            date_of_birth=born,
            methods=tuple(c["rzfs"]),
            authenticated_at=_time(c["rzsj"]),
        )

    def issue(self, claims: Claims, key: PrivateKey) -> bytes:
        header = {"alg": self.ALG, "kid": key.public_key.key_id, "typ": self.TYP, "ver": 1}
        body: dict[str, Any] = {
            "lpbh": claims.assertion_id,
            "qfz": claims.issuer,
            "jsf": claims.audience,
            "qfsj": _seconds(claims.not_before),
            "sxsj": _seconds(claims.not_after),
            "xm": claims.name,
            "zjlx": claims.document_code,
            "zjhm": claims.document_number,
            "csrq": claims.date_of_birth.strftime("%Y%m%d"),
            "rzfs": list(claims.methods),
            "rzsj": _seconds(claims.authenticated_at),
        }
        if claims.subject_kind == "legal_person":
            body["ent"] = {
                "tyshxydm": claims.uscc,
                "qymc": claims.organisation_name,
                "fddbr": claims.legal_representative,
                "sf": claims.role_code,
            }
        signing_input = f"{b64url_encode(_json(header))}.{b64url_encode(_json(body))}"
        signature = key.sign(signing_input.encode("ascii"))
        return f"{signing_input}.{b64url_encode(signature)}".encode("ascii")


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def create_format() -> JiangsuIdToken:
    """The Jiangsu identity format from ``identity.json``."""
    return JiangsuIdToken.from_file(_HERE / "identity.json")  # type: ignore[return-value]
