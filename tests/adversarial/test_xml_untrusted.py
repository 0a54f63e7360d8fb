"""Finding 5: the XML entity guard was bypassed by the encoding.

``_wire_xml`` looked for ``<!DOCTYPE`` in text decoded as UTF-8 but let expat parse the raw
bytes, so UTF-16LE without a byte order mark passed the check and expat expanded entities;
the Zhejiang identity format checked the raw bytes only, so UTF-16 with a mark passed.

Every hostile document below is submitted as a real ``zj-xml/1`` exchange over mTLS and
must be refused with the adapter's error (``normalisation_failed``) and nothing written;
the Zhejiang assertion variants must be refused as ``malformed``.
"""

from __future__ import annotations

import codecs
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from gateway.dialects import default_dialects
from gateway.identity import AssertionRejected
from gateway.rpc.status import reason_of
from ledger.crypto import PrivateKey
from tests.adversarial.probes import written_rows
from tests.envelopes import dialect_envelope
from tests.gateway.harness import GatewayThread

CASE = {
    "case_id": "C-XML-1",
    "matter_code": "010010300100",
    "applicant": {"person_key": "pk:zj:0123456789abcdef", "masked_name": "王*明"},
    "handling_mode": "异地代收代办",
    "materials": [{"material_id": "M01", "name": "申请书", "digest_sm3": "ab" * 32}],
    "receiving_city": "苏州",
    "submitted_at": "2025-09-26T10:15:00+08:00",
}
ZJ = default_dialects().get("ZJ")
GOOD = ZJ.codec.from_canonical("case.submit", CASE).decode("utf-8")
BODY = GOOD.split("?>", 1)[1].lstrip()  # without the declaration
LAUGHS = (
    '<!DOCTYPE ajsb [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" if i > 1 else "&lol;"}' * 10 + '">'
              for i in range(1, 10))
    + "]>"
)  # fmt: skip
DOCTYPES = {
    "billion-laughs": (LAUGHS, "&lol9;"),
    "small-laughs": ('<!DOCTYPE ajsb [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>', "&b;"),
    "external-file": ('<!DOCTYPE ajsb [<!ENTITY x SYSTEM "file:///etc/hostname">]>', "&x;"),
    "external-http": ('<!DOCTYPE ajsb [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>', "&x;"),
    "external-dtd": ('<!DOCTYPE ajsb SYSTEM "http://127.0.0.1:9/ajsb.dtd">', "C-XML-1"),
    "parameter-entity": (
        '<!DOCTYPE ajsb [<!ENTITY % p SYSTEM "file:///etc/hostname"> %p;]>',
        "C-XML-1",
    ),
}
ENCODINGS = {  # name -> (codec, byte order mark)
    "utf-8": ("utf-8", b""),
    "utf-8-bom": ("utf-8", codecs.BOM_UTF8),
    "utf-16le": ("utf-16-le", b""),
    "utf-16le-bom": ("utf-16-le", codecs.BOM_UTF16_LE),
    "utf-16be": ("utf-16-be", b""),
    "utf-16be-bom": ("utf-16-be", codecs.BOM_UTF16_BE),
}


def hostile(doctype: str, value: str) -> str:
    """The good case with a DTD and the entity reference as the case number, in ASCII (non-
    ASCII as character references, so the UTF-16LE form is also valid UTF-8)."""
    body = BODY.replace("<ajbh>C-XML-1</ajbh>", f"<ajbh>{value}</ajbh>")
    return (doctype + body).encode("ascii", "xmlcharrefreplace").decode("ascii")


def encoded(text: str, encoding: str) -> bytes:
    codec, bom = ENCODINGS[encoding]
    return bom + text.encode(codec)


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    thread = GatewayThread(tmp_path_factory.mktemp("xml")).start()
    yield thread
    thread.stop()


async def submit(gw, payload: bytes):
    async with gw.client("ZJ") as client:
        signed = dialect_envelope(client, gw.env, "SH", ZJ.codec, payload)
        return await client.exchange.Submit(signed, timeout=30)


async def refused(gw, payload: bytes) -> str:
    before = written_rows(gw)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await submit(gw, payload)
    error = info.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert reason_of(error) == "normalisation_failed", error.details()
    assert written_rows(gw) == before, "a refusal must write nothing"
    return error.details()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-bom"])
async def test_utf8_with_and_without_bom_is_accepted(gw, encoding):
    text = GOOD.replace("C-XML-1", f"C-XML-{encoding}")
    receipt = await submit(gw, encoded(text, encoding))
    assert receipt.tree_size >= 1


@pytest.mark.parametrize("encoding", ["utf-16le", "utf-16le-bom", "utf-16be", "utf-16be-bom"])
async def test_utf16_is_refused_naming_the_encoding(gw, encoding):
    text = GOOD.replace('encoding="UTF-8"', 'encoding="UTF-16"')
    details = await refused(gw, encoded(text, encoding))
    assert f"xml in {ENCODINGS[encoding][0]} is refused: expected utf-8" in details


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("attack", sorted(DOCTYPES))
async def test_dtd_and_entities_are_refused_in_every_encoding(gw, attack, encoding):
    details = await refused(gw, encoded(hostile(*DOCTYPES[attack]), encoding))
    if ENCODINGS[encoding][0] == "utf-8":
        assert "xml with a document type declaration is refused" in details
    else:
        assert "is refused: expected utf-8" in details


async def test_declared_encoding_must_match(gw):
    text = GOOD.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    details = await refused(gw, text.encode("utf-8"))
    assert "declaration names encoding ISO-8859-1, the document is utf-8" in details


async def test_deep_nesting_is_refused(gw):
    deep = "<x>" * 10_000 + "</x>" * 10_000
    details = await refused(gw, BODY.replace("C-XML-1", deep).encode())
    assert "nests deeper than" in details


# -- the Zhejiang identity assertion (zj-saml/1) -------------------------------------------

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
KEY = PrivateKey.generate()


def assertion() -> str:
    fmt = ZJ.identity
    claims = fmt.claims_for(
        fmt.sample_people["zj-0001"], assertion_id="_a1b2c3", audience="yrd-gateway", now=NOW
    )
    return fmt.issue(claims, KEY).decode("utf-8")


def rejected(data: bytes) -> str:
    with pytest.raises(AssertionRejected) as info:
        ZJ.identity.verify(
            data,
            [(KEY.public_key.key_id, KEY.public_key)],
            audience="yrd-gateway",
            now=NOW + timedelta(seconds=10),
        )
    assert info.value.reason == "malformed", str(info.value)
    return str(info.value)


def test_assertion_in_utf8_verifies_with_and_without_bom():
    for encoding in ("utf-8", "utf-8-bom"):
        ZJ.identity.verify(
            encoded(assertion(), encoding),
            [(KEY.public_key.key_id, KEY.public_key)],
            audience="yrd-gateway",
            now=NOW + timedelta(seconds=10),
        )


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("attack", ["billion-laughs", "external-file", "external-http"])
def test_assertion_with_entities_is_refused_in_every_encoding(attack, encoding):
    doctype, value = DOCTYPES[attack]
    text = assertion()
    declaration, body = text.split("?>", 1)
    doctype = doctype.replace("ajsb", "zj:Assertion")
    text = declaration.replace("UTF-8", "UTF-16" if "16" in encoding else "UTF-8") + "?>"
    text += doctype + body.replace("<zj:Audience>yrd-gateway", f"<zj:Audience>{value}", 1)
    message = rejected(encoded(text, encoding))
    if ENCODINGS[encoding][0] == "utf-8":
        assert "document type declaration is refused" in message
    else:
        assert "is refused: expected utf-8" in message
