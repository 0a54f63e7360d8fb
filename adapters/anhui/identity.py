"""Anhui identity documents (``ah-signed-json/1``): a signed JSON envelope in GB18030.

The document is a JSON object encoded in **GB18030**, with the platform's own field names;
all times (the birth date included, as 00:00 Beijing time) are integer **epoch
milliseconds**::

    {"head": {"ver": "AHZW-ID/1.0", "signAlg": "SM2WithSM3",
              "keyId": <identity-provider key id>, "idpCode": "AHZWFW-IDP-DEV"},
     "data": {"ticketId": "9f1c...",          令牌编号
              "appId": "yrd-gateway",         接收方 (audience)
              "issueTime": 1764322200000,     签发 (also not-before)
              "expireTime": 1764322500000,    失效 (exclusive)
              "user": {"realName": "吴海峰", "certType": "SFZ",
                       "certNo": "340104199506120123", "birthday": 802886400000},
              "auth": {"authMode": "04", "authTime": 1764322190000}},
     "sign": "3045022100..."}                 upper-case hex of the DER SM2 signature

``idpCode`` is the issuer. ``certType`` codes (``SFZ`` 居民身份证, ``GATXZ`` 港澳通行证, ...) and
``authMode`` codes (``01`` password, ``02`` SMS, ``03`` password + SMS, ``04`` face,
``05`` electronic ID card, ``06`` USB key, ``07`` electronic business licence) are in
``identity.json``.

**Legal persons** (法人): ``data`` carries one more object, ``corp``, naming the enterprise
for which the person in ``user`` (who authenticated) acts::

     "corp": {"corpName": "合肥示例新能源有限公司",  企业名称
              "creditCode": "91340104MA3E4F5G6U",     统一社会信用代码 USCC
              "legalPerson": "吴海峰",                 法定代表人
              "agentType": "1"}                       1 法定代表人, 2 经办人 (``roles``)

With ``authMode`` ``07`` (high) the document is an electronic business licence (电子营业执照)
presentation: the holder scanned the enterprise's licence in 皖事通 and the platform vouches
for it; with any other mode it is a legal-representative or agent login. A document without
``corp`` is about a natural person.

Signature: SM2 (GB/T 32918.2, default user id) over the **canonical JSON** of the document
without ``sign``: keys sorted (by code point) at every level, no insignificant whitespace,
non-ASCII characters written as themselves (no ``\\u`` escapes), integers only, encoded in
GB18030. The verifier rebuilds these bytes from the parsed document, so the sender's
whitespace and key order do not matter; duplicate keys, floats and NaN are refused.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.identity import AssertionRejected, IdentityError
from gateway.identity.province import AssertionFormat, Claims, Signed, exact_fields, strict_json
from gateway.times import BEIJING
from ledger.crypto import PrivateKey

__all__ = ["AnhuiSignedJson", "canonical_bytes", "create_format"]

_HERE = Path(__file__).parent
ENCODING = "gb18030"
VERSION = "AHZW-ID/1.0"
SIGN_ALG = "SM2WithSM3"
_TOP = {"head": dict, "data": dict, "sign": str}
_HEAD = {"ver": str, "signAlg": str, "keyId": str, "idpCode": str}
_DATA = {
    "ticketId": str,
    "appId": str,
    "issueTime": int,
    "expireTime": int,
    "user": dict,
    "auth": dict,
}
_USER = {"realName": str, "certType": str, "certNo": str, "birthday": int}
_AUTH = {"authMode": str, "authTime": int}
_CORP = {"corpName": str, "creditCode": str, "legalPerson": str, "agentType": str}
_HEX = re.compile(r"(?:[0-9A-F]{2})+")


def canonical_bytes(document: dict[str, Any]) -> bytes:
    """The signed bytes: canonical JSON of ``document`` without ``sign``, in GB18030."""
    unsigned = {k: v for k, v in document.items() if k != "sign"}
    text = json.dumps(unsigned, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode(ENCODING)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000) // 1


def _time(value: int, label: str) -> datetime:
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise AssertionRejected("malformed", f"ah-signed-json {label}: out of range") from None


class AnhuiSignedJson(AssertionFormat):
    """The ``ah-signed-json/1`` format (see the module docstring)."""

    def split(self, data: bytes) -> Signed:
        try:
            text = data.decode(ENCODING)
        except UnicodeDecodeError as exc:
            raise AssertionRejected(
                "malformed", f"ah-signed-json: not valid GB18030 at byte {exc.start}"
            ) from None
        document = exact_fields(strict_json(text, "ah-signed-json"), _TOP, "ah-signed-json")
        head = exact_fields(document["head"], _HEAD, "ah-signed-json head")
        if (head["ver"], head["signAlg"]) != (VERSION, SIGN_ALG):
            raise AssertionRejected(
                "malformed",
                f"ah-signed-json head: expected {VERSION}/{SIGN_ALG}, got "
                f"{head['ver'][:20]}/{head['signAlg'][:20]}",
            )
        if not _HEX.fullmatch(document["sign"]):
            raise AssertionRejected("malformed", "ah-signed-json sign: expected upper-case hex")
        return Signed(
            signed_bytes=canonical_bytes(document),
            signature=bytes.fromhex(document["sign"]),
            key_id=head["keyId"],
            body=document,
        )

    def decode(self, signed: Signed) -> Claims:
        document = signed.body
        raw = document["data"]
        corp = None
        if isinstance(raw, dict) and "corp" in raw:
            raw = dict(raw)
            corp = exact_fields(raw.pop("corp"), _CORP, "ah-signed-json data.corp")
        data = exact_fields(raw, _DATA, "ah-signed-json data")
        user = exact_fields(data["user"], _USER, "ah-signed-json data.user")
        auth = exact_fields(data["auth"], _AUTH, "ah-signed-json data.auth")
        if data["expireTime"] <= data["issueTime"]:
            raise AssertionRejected("malformed", "ah-signed-json: expected expireTime > issueTime")
        born = _time(user["birthday"], "data.user.birthday").astimezone(BEIJING)
        if (born.hour, born.minute, born.second, born.microsecond) != (0, 0, 0, 0):
            raise AssertionRejected(
                "malformed", "ah-signed-json data.user.birthday: expected 00:00 Beijing time"
            )
        legal = {}
        if corp is not None:
            legal = {
                "subject_kind": "legal_person",
                "organisation_name": corp["corpName"],
                "uscc": corp["creditCode"],
                "legal_representative": corp["legalPerson"],
                "role_code": corp["agentType"],
            }
        return Claims(
            **legal,
            assertion_id=data["ticketId"],
            issuer=document["head"]["idpCode"],
            audience=data["appId"],
            issued_at=_time(data["issueTime"], "data.issueTime"),
            not_before=_time(data["issueTime"], "data.issueTime"),
            not_after=_time(data["expireTime"], "data.expireTime"),
            name=user["realName"],
            document_code=user["certType"],
            document_number=user["certNo"],
            date_of_birth=born.date(),
            methods=(auth["authMode"],),
            authenticated_at=_time(auth["authTime"], "data.auth.authTime"),
        )

    def issue(self, claims: Claims, key: PrivateKey) -> bytes:
        if len(claims.methods) != 1:
            raise IdentityError("ah-signed-json: one authMode per document (03 is password + SMS)")
        born = datetime.combine(claims.date_of_birth, datetime.min.time(), BEIJING)
        document: dict[str, Any] = {
            "head": {
                "ver": VERSION,
                "signAlg": SIGN_ALG,
                "keyId": key.public_key.key_id,
                "idpCode": claims.issuer,
            },
            "data": {
                "ticketId": claims.assertion_id,
                "appId": claims.audience,
                "issueTime": _ms(claims.not_before),
                "expireTime": _ms(claims.not_after),
                "user": {
                    "realName": claims.name,
                    "certType": claims.document_code,
                    "certNo": claims.document_number,
                    "birthday": _ms(born),
                },
                "auth": {"authMode": claims.methods[0], "authTime": _ms(claims.authenticated_at)},
            },
        }
        if claims.subject_kind == "legal_person":
            document["data"]["corp"] = {
                "corpName": claims.organisation_name,
                "creditCode": claims.uscc,
                "legalPerson": claims.legal_representative,
                "agentType": claims.role_code,
            }
        document["sign"] = key.sign(canonical_bytes(document)).hex().upper()
        # The wire form is pretty-printed on purpose: the signature does not depend on it.
        return json.dumps(document, ensure_ascii=False, indent=1).encode(ENCODING)


def create_format() -> AnhuiSignedJson:
    """The Anhui identity format from ``identity.json``."""
    return AnhuiSignedJson.from_file(_HERE / "identity.json")  # type: ignore[return-value]
