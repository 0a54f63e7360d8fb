"""Shanghai ID tokens (``sh-oidc/1``): an OIDC-style ID token, JWS compact, SM2-signed.

Shanghai's unified identity platform (随申办 / 一网通办 统一身份认证) answers a relying party
with an OpenID Connect ID token. Layout (RFC 7515 compact serialization)::

    token     = b64url(header) "." b64url(claims) "." b64url(signature)
    header    = {"alg": "SM2SM3", "typ": "JWT", "kid": <identity-provider key id>}
    signature = SM2 (GB/T 32918.2, default user id) over the ASCII bytes
                b64url(header) "." b64url(claims), as the 64-byte r || s (each integer
                32 bytes big-endian, as JOSE carries ECDSA: RFC 7518 §3.4), not DER

``b64url`` is unpadded canonical base64url; the JSON is UTF-8, strict (no duplicate keys,
no floats), at most 2 levels deep, and the whole token is at most 8 KiB. ``alg`` is named
and must be ``SM2SM3``: ``none``, ``ES256``, ``HS256``, a missing ``alg`` and every other
value are refused (``malformed``) before any key is looked at. The header has exactly these
three members (no ``jwk``, ``jku``, ``x5u`` or ``crit``: the key comes from the trust
registry only). A JWE (5 parts) or a JWS JSON serialization is refused.

Claims: the registered OIDC names for the envelope, ``sh_``-prefixed pinyin abbreviations
(Shanghai's own) for the person; times are integer epoch seconds (NumericDate):

=============  ==========================================  ================================
claim          meaning                                     example
=============  ==========================================  ================================
``iss``        issuer                                      ``"https://id.sh.gov.example/dev"``
``aud``        audience (one string, not an array)         ``"yrd-gateway"``
``sub``        pairwise subject (per relying party)        22..64 base64url characters
``jti``        token id                                    ``"9f1c..."``
``iat``        issued at                                   ``1764322200``
``nbf``        not before                                  ``1764322200``
``exp``        expires (exclusive; ``exp > nbf``)          ``1764322500``
``auth_time``  authentication time (``<= iat``)            ``1764322190``
``acr``        user class: 自然人 or 法人                  ``"urn:sh:ywtb:acr:zrr"``
``amr``        method codes (list, distinct)               ``["pwd", "sms"]``
``sh_zjlx``    证件类型 document type code                 ``"01"`` (居民身份证)
``sh_zjhm``    证件号码 document number                    18 characters
``sh_xm``      姓名 name                                   ``"张申明"``
``sh_csrq``    出生日期 birth date, ``YYYY-MM-DD``         ``"1988-05-16"``
``sh_frxx``    法人信息, only with ``acr`` 法人            object, below
=============  ==========================================  ================================

``acr`` is ``urn:sh:ywtb:acr:zrr`` (自然人, natural person: no ``sh_frxx``) or
``urn:sh:ywtb:acr:fr`` (法人, legal person: ``sh_frxx`` required). ``sh_frxx`` is
``{"tyshxydm": USCC, "qymc": 企业名称, "fddbr": 法定代表人姓名, "jsdm": 角色代码}``; the person
claims then describe who logged in for the organisation, in the role ``jsdm`` (``FDDBR``
法定代表人, ``JBR`` 经办人; ``roles`` in ``identity.json``).

Method codes (``amr``, RFC 8176 style) and their levels are in ``identity.json``: ``pwd``
and ``sms`` low each, together substantial, ``face`` substantial, ``ctid`` (网证),
``hwk`` (法人一证通 USB key) and ``dzyyzz`` (电子营业执照) high.

``sub`` is Shanghai's pseudonym for the person at this relying party; the gateway checks its
shape only and derives its own person key from the document. The simulator derives it from
its signing key, the audience and the document, so it is stable and not guessable.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from adapters.shanghai._signature import RAW_SIZE, der_to_raw, raw_to_der
from gateway.identity import AssertionRejected, IdentityError
from gateway.identity.province import (
    AssertionFormat,
    Claims,
    Signed,
    b64url_decode,
    b64url_encode,
    check_depth,
    exact_fields,
    strict_json,
)
from ledger.crypto import PrivateKey, sm3

__all__ = [
    "ACR_LEGAL_PERSON",
    "ACR_NATURAL_PERSON",
    "ShanghaiIdToken",
    "create_format",
    "pairwise_subject",
]

_HERE = Path(__file__).parent
_LABEL = "sh-oidc"
ACR_NATURAL_PERSON = "urn:sh:ywtb:acr:zrr"  # 自然人
ACR_LEGAL_PERSON = "urn:sh:ywtb:acr:fr"  # 法人
_KIND_OF_ACR = {ACR_NATURAL_PERSON: "natural_person", ACR_LEGAL_PERSON: "legal_person"}
_ACR_OF_KIND = {kind: acr for acr, kind in _KIND_OF_ACR.items()}
_HEADER = {"alg": str, "typ": str, "kid": str}
_CLAIMS = {
    "iss": str,
    "aud": str,
    "sub": str,
    "jti": str,
    "iat": int,
    "nbf": int,
    "exp": int,
    "auth_time": int,
    "acr": str,
    "amr": list,
    "sh_zjlx": str,
    "sh_zjhm": str,
    "sh_xm": str,
    "sh_csrq": str,
}
_FRXX = {"tyshxydm": str, "qymc": str, "fddbr": str, "jsdm": str}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_SUB = re.compile(r"[A-Za-z0-9_-]{22,64}", re.ASCII)
_MAX_DEPTH = 2  # claims -> amr list / sh_frxx object


def _unb64(part: str, label: str) -> bytes:
    return b64url_decode(part, f"{_LABEL} {label}")


def _json(raw: bytes, label: str) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AssertionRejected("malformed", f"{_LABEL} {label}: expected utf-8") from None
    check_depth(text, _MAX_DEPTH, f"{_LABEL} {label}")
    return strict_json(text, f"{_LABEL} {label}")


def _time(value: int, name: str) -> datetime:
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise AssertionRejected("malformed", f"{_LABEL} claims.{name}: out of range") from None


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp() // 1)


def _shown(value: object) -> str:
    return repr(value)[:24]


class ShanghaiIdToken(AssertionFormat):
    """The ``sh-oidc/1`` format (see the module docstring)."""

    ALG = "SM2SM3"
    TYP = "JWT"
    max_bytes = 8 * 1024

    def split(self, data: bytes) -> Signed:
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise AssertionRejected("malformed", f"{_LABEL}: expected ascii") from None
        parts = text.split(".")
        if len(parts) != 3:
            raise AssertionRejected(
                "malformed",
                f"{_LABEL}: expected a JWS compact serialization of 3 parts, got {len(parts)}",
            )
        header = _json(_unb64(parts[0], "header"), "header")
        if "alg" not in header:
            raise AssertionRejected(
                "malformed", f"{_LABEL} header.alg: missing, expected {self.ALG}"
            )
        if header["alg"] != self.ALG:
            raise AssertionRejected(
                "malformed",
                f"{_LABEL} header.alg: expected {self.ALG}, got {_shown(header['alg'])}",
            )
        exact_fields(header, _HEADER, f"{_LABEL} header")
        if header["typ"] != self.TYP:
            raise AssertionRejected(
                "malformed",
                f"{_LABEL} header.typ: expected {self.TYP}, got {_shown(header['typ'])}",
            )
        _unb64(parts[1], "claims")  # shape only: the claims are read after the signature
        raw = _unb64(parts[2], "signature")
        if len(raw) != RAW_SIZE:
            raise AssertionRejected(
                "malformed",
                f"{_LABEL} signature: expected {RAW_SIZE} bytes r||s, got {len(raw)}",
            )
        return Signed(
            signed_bytes=f"{parts[0]}.{parts[1]}".encode("ascii"),
            signature=raw_to_der(raw),
            key_id=header["kid"],
            body=parts[1],
        )

    def decode(self, signed: Signed) -> Claims:
        c = _json(_unb64(signed.body, "claims"), "claims")
        acr = c.get("acr")
        kind = _KIND_OF_ACR.get(acr) if isinstance(acr, str) else None
        if kind is None:
            raise AssertionRejected(
                "malformed",
                f"{_LABEL} claims.acr: expected {ACR_NATURAL_PERSON} or {ACR_LEGAL_PERSON}, "
                f"got {_shown(acr)}",
            )
        legal = kind == "legal_person"
        exact_fields(c, {**_CLAIMS, **({"sh_frxx": dict} if legal else {})}, f"{_LABEL} claims")
        amr = c["amr"]
        if not amr or not all(isinstance(m, str) and m for m in amr) or len(set(amr)) != len(amr):
            raise AssertionRejected(
                "malformed", f"{_LABEL} claims.amr: expected distinct method codes"
            )
        if not _SUB.fullmatch(c["sub"]):
            raise AssertionRejected(
                "malformed", f"{_LABEL} claims.sub: expected 22..64 base64url characters"
            )
        if not _DATE.fullmatch(c["sh_csrq"]):
            raise AssertionRejected("malformed", f"{_LABEL} claims.sh_csrq: expected YYYY-MM-DD")
        try:
            born = date.fromisoformat(c["sh_csrq"])
        except ValueError:
            raise AssertionRejected("malformed", f"{_LABEL} claims.sh_csrq: not a date") from None
        if c["exp"] <= c["nbf"]:
            raise AssertionRejected("malformed", f"{_LABEL} claims: expected exp > nbf")
        if c["auth_time"] > c["iat"]:
            raise AssertionRejected("malformed", f"{_LABEL} claims: expected auth_time <= iat")
        organisation = (
            exact_fields(c["sh_frxx"], _FRXX, f"{_LABEL} claims.sh_frxx") if legal else None
        )
        return Claims(
            assertion_id=c["jti"],
            issuer=c["iss"],
            audience=c["aud"],
            issued_at=_time(c["iat"], "iat"),
            not_before=_time(c["nbf"], "nbf"),
            not_after=_time(c["exp"], "exp"),
            name=c["sh_xm"],
            document_code=c["sh_zjlx"],
            document_number=c["sh_zjhm"],
            date_of_birth=born,
            methods=tuple(amr),
            authenticated_at=_time(c["auth_time"], "auth_time"),
            subject_kind=kind,
            organisation_name=organisation["qymc"] if organisation else "",
            uscc=organisation["tyshxydm"] if organisation else "",
            legal_representative=organisation["fddbr"] if organisation else "",
            role_code=organisation["jsdm"] if organisation else "",
        )

    def issue(self, claims: Claims, key: PrivateKey) -> bytes:
        acr = _ACR_OF_KIND.get(claims.subject_kind)
        if acr is None:
            raise IdentityError(f"{_LABEL}: unknown subject kind {claims.subject_kind!r}")
        header = {"alg": self.ALG, "typ": self.TYP, "kid": key.public_key.key_id}
        body: dict[str, Any] = {
            "iss": claims.issuer,
            "aud": claims.audience,
            "sub": pairwise_subject(
                key, claims.audience, claims.document_code, claims.document_number
            ),
            "jti": claims.assertion_id,
            "iat": _seconds(claims.issued_at),
            "nbf": _seconds(claims.not_before),
            "exp": _seconds(claims.not_after),
            "auth_time": _seconds(claims.authenticated_at),
            "acr": acr,
            "amr": list(claims.methods),
            "sh_zjlx": claims.document_code,
            "sh_zjhm": claims.document_number,
            "sh_xm": claims.name,
            "sh_csrq": claims.date_of_birth.isoformat(),
        }
        if acr == ACR_LEGAL_PERSON:
            body["sh_frxx"] = {
                "tyshxydm": claims.uscc,
                "qymc": claims.organisation_name,
                "fddbr": claims.legal_representative,
                "jsdm": claims.role_code,
            }
        signing_input = f"{b64url_encode(_encode(header))}.{b64url_encode(_encode(body))}"
        try:
            signature = der_to_raw(key.sign(signing_input.encode("ascii")))
        except ValueError as exc:
            raise IdentityError(f"{_LABEL}: unexpected signature encoding: {exc}") from exc
        return f"{signing_input}.{b64url_encode(signature)}".encode("ascii")


def pairwise_subject(key: PrivateKey, audience: str, document_code: str, number: str) -> str:
    """The simulator's ``sub``: SM3 over its private key, the audience and the document, so
    stable per relying party and person, and not computable from the document alone."""
    values = (audience, document_code, number)
    material = b"\x00".join((b"sh-oidc/sub", key.to_der(), *(v.encode() for v in values)))
    return b64url_encode(sm3(material))


def _encode(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def create_format() -> ShanghaiIdToken:
    """The Shanghai identity format from ``identity.json``."""
    return ShanghaiIdToken.from_file(_HERE / "identity.json")  # type: ignore[return-value]
