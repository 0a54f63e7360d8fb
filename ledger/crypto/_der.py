"""A minimal, strict DER reader and writer: just what SM2 keys need.

Strict means: definite minimal lengths, minimal INTEGER and OID encodings, no trailing bytes.

Signatures (GM/T 0009-2012: ``SEQUENCE { r INTEGER, s INTEGER }``) are decoded and encoded
by ``cryptography``'s ``decode_dss_signature``/``encode_dss_signature``, which are as strict
(see ``_curve.decode_signature``); this reader only names the check a refused one fails.
Keys stay here: ``cryptography`` has no SM2 curve, so it cannot load SM2 SubjectPublicKeyInfo
or PKCS#8, and it has no public decoder for a bare OBJECT IDENTIFIER.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Code, CryptoError

INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
OID = 0x06
SEQUENCE = 0x30
CONTEXT_0 = 0xA0
CONTEXT_1 = 0xA1


class DERError(CryptoError, ValueError):
    """The bytes are not strict DER of the expected shape."""

    code = Code.DER


@dataclass(frozen=True, slots=True)
class TLV:
    tag: int
    value: bytes


def read_tlv(data: bytes, offset: int = 0) -> tuple[TLV, int]:
    """Read one TLV at ``offset``; return it and the offset just past it."""
    if offset + 2 > len(data):
        raise DERError("truncated der: missing tag or length")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DERError("unsupported der: multi-byte tag")
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise DERError("non-der: indefinite length")
    else:
        count = first & 0x7F
        if count > 4 or pos + count > len(data):
            raise DERError("truncated der: length bytes")
        raw = data[pos : pos + count]
        if raw[0] == 0:
            raise DERError("non-minimal der length: leading zero byte")
        length = int.from_bytes(raw, "big")
        if length < 0x80:
            raise DERError("non-minimal der length: long form for a short length")
        pos += count
    end = pos + length
    if end > len(data):
        raise DERError(f"truncated der: length {length} exceeds the {len(data) - pos} bytes left")
    return TLV(tag, data[pos:end]), end


def read_single(data: bytes, tag: int) -> bytes:
    """Parse ``data`` as exactly one TLV of ``tag``; reject trailing bytes."""
    tlv, end = read_tlv(data)
    if tlv.tag != tag:
        raise DERError(f"unexpected der tag: expected 0x{tag:02x}, got 0x{tlv.tag:02x}")
    if end != len(data):
        raise DERError(f"trailing bytes after der value: {len(data) - end}")
    return tlv.value


def read_sequence(data: bytes) -> list[TLV]:
    """Split the contents of a constructed value into its TLVs."""
    items = []
    pos = 0
    while pos < len(data):
        tlv, pos = read_tlv(data, pos)
        items.append(tlv)
    return items


def decode_integer(value: bytes) -> int:
    """Decode a non-negative INTEGER's contents strictly (minimal, not negative)."""
    if not value:
        raise DERError("empty der integer")
    if value[0] & 0x80:
        raise DERError("negative der integer")
    if len(value) > 1 and value[0] == 0 and not value[1] & 0x80:
        raise DERError("non-minimal der integer: superfluous leading zero")
    return int.from_bytes(value, "big")


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def encode(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + _length(len(value)) + value


def encode_integer(n: int) -> bytes:
    if n < 0:
        raise ValueError("negative integers are not used here")
    raw = n.to_bytes(n.bit_length() // 8 + 1, "big")  # one spare bit keeps it positive
    while len(raw) > 1 and raw[0] == 0 and not raw[1] & 0x80:
        raw = raw[1:]
    return encode(INTEGER, raw)


def encode_sequence(*items: bytes) -> bytes:
    return encode(SEQUENCE, b"".join(items))


def encode_oid(dotted: str) -> bytes:
    """DER OBJECT IDENTIFIER of a dotted OID; each subidentifier base 128, minimal."""
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return encode(OID, bytes(body))


def decode_oid(value: bytes) -> str:
    """Decode an OBJECT IDENTIFIER's contents strictly (X.690 section 8.19) to dotted form.

    Refused: empty contents, a subidentifier cut short (last byte with bit 8 set), and a
    subidentifier whose first byte is 0x80 (a non-minimal encoding: DER, like BER, demands
    the fewest bytes, so one OID has exactly one encoding and compares bytewise).
    """
    if not value:
        raise DERError("empty der oid")
    if value[-1] & 0x80:
        raise DERError("truncated der oid: last subidentifier has its continuation bit set")
    arcs: list[int] = []
    acc = 0
    start = True
    for byte in value:
        if start and byte == 0x80:
            raise DERError("non-minimal der oid: subidentifier starts with 0x80")
        acc = (acc << 7) | (byte & 0x7F)
        start = not byte & 0x80
        if start:
            arcs.append(acc)
            acc = 0
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(a) for a in head + arcs[1:])
