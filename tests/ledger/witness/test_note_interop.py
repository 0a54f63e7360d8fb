"""The cosigned checkpoint a real witness serves, read without the project's note code.

The parser below is written from the C2SP texts (signed-note, tlog-checkpoint,
tlog-cosignature), not from ``ledger.checkpoint`` / ``ledger.cosignature``: the body ends at
the first empty line; each signature line is an em dash (U+2014), a space, the key name, a
space and base64 of a 4-byte key ID and the signature; a cosignature's signature is an
8-byte big-endian timestamp then the signature proper. Key IDs are recomputed with SM3 from
``cryptography`` and the raw point that ``openssl`` extracts; the SM2 signatures are checked
by the ``openssl`` CLI over the documented signed bytes (docs/witness.md):
``cosignature/v1\\ntime <T>\\n`` + body for the witness, the body alone for the log.
"""

from __future__ import annotations

import base64
import json
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes

from tests.openssl import needs_openssl_sm2

from .conftest import ORIGIN, body, request

pytestmark = needs_openssl_sm2
DISTID = "distid:1234567812345678"
EM_DASH = "\u2014"


@dataclass
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes


@dataclass
class Note:
    body: bytes
    signatures: list[NoteSignature]


def parse_note(text: str) -> Note:
    """signed-note: text, an empty line, then one or more signature lines."""
    assert text.endswith("\n")
    body, sep, rest = text.partition("\n\n")
    assert sep, "no empty line"
    signatures = []
    for line in rest.split("\n")[:-1]:  # every line ends in a newline
        assert line.startswith(EM_DASH + " "), line
        name, blob = line[2:].split(" ")
        raw = base64.b64decode(blob, validate=True)
        assert len(raw) > 4
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    assert signatures
    return Note((body + "\n").encode(), signatures)


def _sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def _point(tmp_path: Path, pem: str) -> bytes:
    """The 65-byte uncompressed point: the tail of openssl's DER SubjectPublicKeyInfo."""
    path = tmp_path / "point.pem"
    path.write_text(pem)
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", str(path), "-outform", "DER"],
        capture_output=True,
        check=True,
    ).stdout
    assert der[-66:-64] == b"\x00\x04"
    return der[-65:]


def _openssl_verifies(tmp_path: Path, pem: str, message: bytes, signature: bytes) -> bool:
    pub, msg, sig = tmp_path / "pub.pem", tmp_path / "msg", tmp_path / "sig"
    pub.write_text(pem)
    msg.write_bytes(message)
    sig.write_bytes(signature)
    out = subprocess.run(
        [
            "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pub), "-rawin",
            "-in", str(msg), "-sigfile", str(sig), "-digest", "sm3", "-pkeyopt", DISTID,
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    return out.returncode == 0 and "Signature Verified Successfully" in out.stdout


def test_the_cosigned_checkpoint_parses_and_verifies_independently(
    tmp_path, witness, test_log, log_key
):
    assert witness.add(body(0, [], test_log.note(6))).status == 200
    assert witness.add(body(6, test_log.proof(6, 11), test_log.note(11))).status == 200
    note = witness.latest()
    assert note.status == 200
    witness_pem = json.loads(request(witness.url, "GET", "/healthz").body)["public_key"]
    log_pem = log_key.public_key.to_pem().decode()

    parsed = parse_note(note.text)
    lines = parsed.body.decode().split("\n")
    assert lines[:2] == [ORIGIN, "11"] and lines[3] == ""
    assert base64.b64decode(lines[2], validate=True) == test_log.root(11)
    by_name = {s.name: s for s in parsed.signatures}
    assert set(by_name) == {ORIGIN, "w1"}

    # the log's line: key ID with type 0x53, SM2 over the body
    log_line = by_name[ORIGIN]
    point = _point(tmp_path, log_pem)
    assert log_line.key_id == _sm3(ORIGIN.encode() + b"\n\x53" + point)[:4]
    assert _openssl_verifies(tmp_path, log_pem, parsed.body, log_line.signature)

    # the witness's line: key ID with type 0x54, timestamp, SM2 over cosignature/v1 bytes
    cosig = by_name["w1"]
    point = _point(tmp_path, witness_pem)
    assert cosig.key_id == _sm3(b"w1\n\x54" + point)[:4]
    (timestamp,) = struct.unpack(">Q", cosig.signature[:8])
    assert 0 < timestamp < 2**63
    der = cosig.signature[8:]
    assert der[0] == 0x30 and der[1] == len(der) - 2  # one DER SEQUENCE, nothing after
    message = b"cosignature/v1\ntime %d\n" % timestamp + parsed.body
    assert _openssl_verifies(tmp_path, witness_pem, message, der)
    # and not over other bytes: another time, or without the header
    assert not _openssl_verifies(
        tmp_path, witness_pem, b"cosignature/v1\ntime %d\n" % (timestamp + 1) + parsed.body, der
    )
    assert not _openssl_verifies(tmp_path, witness_pem, parsed.body, der)
