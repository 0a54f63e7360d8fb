"""Zhejiang identity assertions (``zj-saml/1``): a signed, SAML-like XML ``<Assertion>``.

Layout (namespace ``urn:zjzwfw:sso:assertion:1.0``, any prefix)::

    <Assertion ID="_9f1c..." IssueInstant="2026-11-28T09:30:00Z" Version="1.0">
      <Issuer>https://sso.zjzwfw.example/idp/dev</Issuer>
      <Subject>
        <NameID Format="urn:zjzwfw:nameid-format:idcard">330106199204180121</NameID>
      </Subject>
      <Conditions NotBefore="2026-11-28T09:30:00Z" NotOnOrAfter="2026-11-28T09:35:00Z">
        <AudienceRestriction><Audience>yrd-gateway</Audience></AudienceRestriction>
      </Conditions>
      <AuthnStatement AuthnInstant="2026-11-28T09:29:50Z">          (one or more)
        <AuthnContext>
          <AuthnContextClassRef>urn:zjzwfw:ac:classes:FaceLiveness</AuthnContextClassRef>
        </AuthnContext>
      </AuthnStatement>
      <AttributeStatement>
        <Attribute Name="xingming"><AttributeValue>林晓燕</AttributeValue></Attribute>
        <Attribute Name="chushengriqi"><AttributeValue>1992-04-18</AttributeValue></Attribute>
      </AttributeStatement>
      <Signature>                                                    (last child)
        <KeyName>identity-provider key id</KeyName>
        <SignatureValue>base64 of the DER SM2 signature</SignatureValue>
      </Signature>
    </Assertion>

Times are UTC, ``YYYY-MM-DDTHH:MM:SS[.fff]Z``. The name-id ``Format`` gives the document
type, the ``AuthnContextClassRef`` the method (one class may be a combination, such as
``PasswordSmsOtp``), both listed in ``identity.json``. The structure is checked strictly:
no missing, repeated or unknown element or attribute, no text outside leaf elements. The
document is UTF-8 (a byte order mark is allowed) and is parsed only by
``gateway.dialects.untrusted_xml`` (no DTD, no entities, no external references).

Signature: SM2 (GB/T 32918.2, default user id) over the **canonical form** ``zj-c14n/1``,
a line-oriented text made from the *parsed* document (so indentation, attribute order,
quoting, namespace prefixes and character references do not matter, but every element,
attribute and text value the gateway reads is bound). In UTF-8::

    c14n      = "zj-c14n/1" LF element(root)
    element(e) = "<" name(e) LF
                 ( "@" attribute-name "=" esc(value) LF )*   -- sorted by attribute name
                 ( '"' esc(strip(text)) LF )?                -- if the stripped text is not ""
                 element(child)*                             -- document order; the root's
                                                             -- Signature child is left out
                 ">" LF
    name(e)    = "{" namespace-uri "}" local-name
    esc(v)     = v with "\\" -> "\\\\", LF -> "\\n", CR -> "\\r"

No xmldsig library is involved, and none is needed to check it.

**Legal persons** (法人): the ``<Subject>`` of an enterprise login has a second child after
the ``<NameID>`` of the person who authenticated, naming the enterprise and the role in
which that person acts for it::

    <LegalPerson CreditCode="91330106MA2B3C4D5D" Role="urn:zjzwfw:role:fddbr">
      <OrgName>杭州示例网络科技有限公司</OrgName>
      <LegalRepresentative>林晓燕</LegalRepresentative>
    </LegalPerson>

``Role`` is ``urn:zjzwfw:role:fddbr`` (法定代表人) or ``urn:zjzwfw:role:jbr`` (经办人), listed
in ``identity.json`` ``roles``. The authentication class
``urn:zjzwfw:ac:classes:EBusinessLicence`` (high) says the person presented the enterprise's
electronic business licence (电子营业执照); any other class is a legal-representative or agent
login. The canonical form binds the element like every other.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from gateway.dialects.untrusted_xml import UntrustedXmlError, parse_untrusted_xml
from gateway.identity import AssertionRejected
from gateway.identity.province import AssertionFormat, Claims, Signed
from ledger.crypto import PrivateKey

__all__ = ["NS", "ZhejiangSamlAssertion", "canonical_form", "create_format"]

_HERE = Path(__file__).parent
NS = "urn:zjzwfw:sso:assertion:1.0"
C14N = "zj-c14n/1"
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_NAME_ATTR = "xingming"  # 姓名
_BIRTH_ATTR = "chushengriqi"  # 出生日期


def _q(local: str) -> str:
    return f"{{{NS}}}{local}"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def _bad(message: str) -> AssertionRejected:
    return AssertionRejected("malformed", f"zj-saml {message}")


def canonical_form(root: ET.Element) -> bytes:
    """The ``zj-c14n/1`` bytes of a parsed assertion (see the module docstring)."""
    lines = [C14N]

    def walk(element: ET.Element, is_root: bool) -> None:
        lines.append(f"<{element.tag}")
        for name in sorted(element.attrib):
            lines.append(f"@{name}={_esc(element.attrib[name])}")
        text = (element.text or "").strip()
        if text:
            lines.append('"' + _esc(text))
        for child in element:
            if (child.tail or "").strip():
                raise _bad(f"<{_local(element.tag)}>: text between elements is refused")
            if is_root and child.tag == _q("Signature"):
                continue
            walk(child, False)
        lines.append(">")

    walk(root, True)
    return ("\n".join(lines) + "\n").encode("utf-8")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, *expected: str) -> list[ET.Element]:
    """The children of ``element``, which must be exactly the ``expected`` local names."""
    got = [child.tag for child in element]
    if got != [_q(name) for name in expected]:
        names = ", ".join(_local(t) for t in got) or "none"
        raise _bad(f"<{_local(element.tag)}> children: expected {', '.join(expected)}, got {names}")
    return list(element)


def _attrs(element: ET.Element, *names: str) -> list[str]:
    if sorted(element.attrib) != sorted(names):
        raise _bad(
            f"<{_local(element.tag)}> attributes: expected {', '.join(names) or 'none'}, "
            f"got {', '.join(sorted(element.attrib)) or 'none'}"
        )
    return [element.attrib[name] for name in names]


def _leaf(element: ET.Element, *attrs: str) -> str:
    _children(element)
    _attrs(element, *attrs)
    text = (element.text or "").strip()
    if not text:
        raise _bad(f"<{_local(element.tag)}>: expected text")
    return text


def _container(element: ET.Element) -> None:
    if (element.text or "").strip():
        raise _bad(f"<{_local(element.tag)}>: text in a container element is refused")


def _time(value: str, label: str) -> datetime:
    if not _TIME.fullmatch(value):
        raise _bad(f"{label}: expected YYYY-MM-DDTHH:MM:SSZ, got {value[:40]!r}")
    try:
        return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)
    except ValueError:
        raise _bad(f"{label}: not a time: {value[:40]!r}") from None


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ZhejiangSamlAssertion(AssertionFormat):
    """The ``zj-saml/1`` format (see the module docstring)."""

    def split(self, data: bytes) -> Signed:
        try:
            root = parse_untrusted_xml(data, ("utf-8",))
        except UntrustedXmlError as exc:
            raise _bad(exc.message) from exc
        if root.tag != _q("Assertion"):
            raise _bad(f"root element: expected {{{NS}}}Assertion, got {root.tag[:80]}")
        _container(root)
        signatures = [child for child in root if child.tag == _q("Signature")]
        if len(signatures) != 1 or root[-1] is not signatures[0]:
            raise _bad("<Signature>: expected exactly one, as the last child of <Assertion>")
        signature = signatures[0]
        _container(signature)
        _attrs(signature)
        key_name, value = _children(signature, "KeyName", "SignatureValue")
        try:
            raw = base64.b64decode("".join(_leaf(value).split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _bad(f"<SignatureValue>: expected base64: {exc}") from exc
        return Signed(
            signed_bytes=canonical_form(root),
            signature=raw,
            key_id=_leaf(key_name),
            body=root,
        )

    def decode(self, signed: Signed) -> Claims:
        root: ET.Element = signed.body
        assertion_id, issue_instant, version = _attrs(root, "ID", "IssueInstant", "Version")
        if version != "1.0":
            raise _bad(f"Version: expected 1.0, got {version[:20]!r}")
        tags = [_local(child.tag) for child in root]
        statements = tags.count("AuthnStatement")
        expected = (
            ["Issuer", "Subject", "Conditions"]
            + ["AuthnStatement"] * max(statements, 1)
            + ["AttributeStatement", "Signature"]
        )
        children = _children(root, *expected)
        issuer = _leaf(children[0])

        subject = children[1]
        _container(subject)
        _attrs(subject)
        legal: dict[str, str] = {}
        if [_local(child.tag) for child in subject] == ["NameID", "LegalPerson"]:
            name_id, legal_person = _children(subject, "NameID", "LegalPerson")
            legal = _legal_person(legal_person)
        else:
            (name_id,) = _children(subject, "NameID")
        number = _leaf(name_id, "Format")
        (document_code,) = _attrs(name_id, "Format")

        conditions = children[2]
        _container(conditions)
        not_before, not_after = _attrs(conditions, "NotBefore", "NotOnOrAfter")
        (restriction,) = _children(conditions, "AudienceRestriction")
        _container(restriction)
        _attrs(restriction)
        (audience_el,) = _children(restriction, "Audience")
        audience = _leaf(audience_el)

        methods, instants = [], []
        for statement in children[3 : 3 + statements]:
            _container(statement)
            (instant,) = _attrs(statement, "AuthnInstant")
            (context,) = _children(statement, "AuthnContext")
            _container(context)
            _attrs(context)
            (class_ref,) = _children(context, "AuthnContextClassRef")
            methods.append(_leaf(class_ref))
            instants.append(_time(instant, "AuthnInstant"))

        attributes: dict[str, str] = {}
        statement = children[3 + statements]
        _container(statement)
        _attrs(statement)
        for attribute in _children(statement, *(["Attribute"] * len(statement))):
            _container(attribute)
            (name,) = _attrs(attribute, "Name")
            (value,) = _children(attribute, "AttributeValue")
            if name in attributes:
                raise _bad(f"<Attribute Name={name[:40]!r}>: repeated")
            attributes[name] = _leaf(value)
        if sorted(attributes) != sorted([_NAME_ATTR, _BIRTH_ATTR]):
            raise _bad(
                f"attributes: expected {_BIRTH_ATTR}, {_NAME_ATTR}, got "
                f"{', '.join(sorted(attributes)) or 'none'}"
            )
        birth = attributes[_BIRTH_ATTR]
        if not _DATE.fullmatch(birth):
            raise _bad(f"{_BIRTH_ATTR}: expected YYYY-MM-DD")
        try:
            born = date.fromisoformat(birth)
        except ValueError:
            raise _bad(f"{_BIRTH_ATTR}: not a date") from None
        start, end = _time(not_before, "NotBefore"), _time(not_after, "NotOnOrAfter")
        if end <= start:
            raise _bad("Conditions: expected NotOnOrAfter after NotBefore")
        return Claims(
            **legal,
            assertion_id=assertion_id,
            issuer=issuer,
            audience=audience,
            issued_at=_time(issue_instant, "IssueInstant"),
            not_before=start,
            not_after=end,
            name=attributes[_NAME_ATTR],
            document_code=document_code,
            document_number=number,
            date_of_birth=born,
            methods=tuple(methods),
            authenticated_at=max(instants),
        )

    def issue(self, claims: Claims, key: PrivateKey) -> bytes:
        authn = "".join(
            f'  <zj:AuthnStatement AuthnInstant="{_format_time(claims.authenticated_at)}">\n'
            "    <zj:AuthnContext>\n"
            f"      <zj:AuthnContextClassRef>{escape(m)}</zj:AuthnContextClassRef>\n"
            "    </zj:AuthnContext>\n"
            "  </zj:AuthnStatement>\n"
            for m in claims.methods
        )
        body = (
            f'<zj:Assertion xmlns:zj="{NS}" ID={quoteattr(claims.assertion_id)} '
            f'IssueInstant="{_format_time(claims.issued_at)}" Version="1.0">\n'
            f"  <zj:Issuer>{escape(claims.issuer)}</zj:Issuer>\n"
            "  <zj:Subject>\n"
            f"    <zj:NameID Format={quoteattr(claims.document_code)}>"
            f"{escape(claims.document_number)}</zj:NameID>\n"
            f"{_legal_person_xml(claims)}"
            "  </zj:Subject>\n"
            f'  <zj:Conditions NotBefore="{_format_time(claims.not_before)}" '
            f'NotOnOrAfter="{_format_time(claims.not_after)}">\n'
            "    <zj:AudienceRestriction>\n"
            f"      <zj:Audience>{escape(claims.audience)}</zj:Audience>\n"
            "    </zj:AudienceRestriction>\n"
            "  </zj:Conditions>\n"
            f"{authn}"
            "  <zj:AttributeStatement>\n"
            f'    <zj:Attribute Name="{_NAME_ATTR}">'
            f"<zj:AttributeValue>{escape(claims.name)}</zj:AttributeValue></zj:Attribute>\n"
            f'    <zj:Attribute Name="{_BIRTH_ATTR}">'
            f"<zj:AttributeValue>{claims.date_of_birth.isoformat()}</zj:AttributeValue>"
            "</zj:Attribute>\n"
            "  </zj:AttributeStatement>\n"
        )
        unsigned = f"{body}</zj:Assertion>"
        signed_bytes = canonical_form(ET.fromstring(unsigned.encode("utf-8")))  # noqa: S314
        signature = base64.b64encode(key.sign(signed_bytes)).decode("ascii")
        document = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"{body}"
            "  <zj:Signature>\n"
            f"    <zj:KeyName>{key.public_key.key_id}</zj:KeyName>\n"
            f"    <zj:SignatureValue>{signature}</zj:SignatureValue>\n"
            "  </zj:Signature>\n"
            "</zj:Assertion>\n"
        )
        return document.encode("utf-8")


def _legal_person(element: ET.Element) -> dict[str, str]:
    """The legal-person fields of :class:`Claims` from a ``<LegalPerson>`` element."""
    _container(element)
    credit_code, role = _attrs(element, "CreditCode", "Role")
    org_name, representative = _children(element, "OrgName", "LegalRepresentative")
    return {
        "subject_kind": "legal_person",
        "organisation_name": _leaf(org_name),
        "uscc": credit_code,
        "legal_representative": _leaf(representative),
        "role_code": role,
    }


def _legal_person_xml(claims: Claims) -> str:
    if claims.subject_kind != "legal_person":
        return ""
    return (
        f"    <zj:LegalPerson CreditCode={quoteattr(claims.uscc)} "
        f"Role={quoteattr(claims.role_code)}>\n"
        f"      <zj:OrgName>{escape(claims.organisation_name)}</zj:OrgName>\n"
        f"      <zj:LegalRepresentative>{escape(claims.legal_representative)}"
        "</zj:LegalRepresentative>\n"
        "    </zj:LegalPerson>\n"
    )


def create_format() -> ZhejiangSamlAssertion:
    """The Zhejiang identity format from ``identity.json``."""
    return ZhejiangSamlAssertion.from_file(_HERE / "identity.json")  # type: ignore[return-value]
