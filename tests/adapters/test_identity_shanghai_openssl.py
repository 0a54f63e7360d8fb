"""Shanghai's ID token (sh-oidc/1) cross-checked with an independent SM2 implementation, the
``openssl`` CLI: openssl verifies a token the format signed (over ASCII ``header.payload``,
SM3, default id, the JOSE r||s signature converted to DER), and the format accepts a token
whose signature openssl made; one changed byte is refused by both."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from adapters.shanghai._signature import der_to_raw, raw_to_der
from tests.adapters.test_identity_shanghai import FMT, KEY, KEYS, NOW, b64, make, unb64
from tests.openssl import needs_openssl_sm2

pytestmark = needs_openssl_sm2
DIST_ID = "distid:1234567812345678"


def _openssl(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", "pkeyutl", *args, "-rawin", "-digest", "sm3",
                           "-pkeyopt", DIST_ID],
                          cwd=tmp, capture_output=True, text=True, check=False)  # fmt: skip


def test_openssl_verifies_a_token_the_format_signed(tmp_path):
    token = make()
    signed, _, signature = token.rpartition(b".")
    (tmp_path / "signed.bin").write_bytes(signed)
    (tmp_path / "sig.der").write_bytes(raw_to_der(unb64(signature)))
    (tmp_path / "idp.pem").write_bytes(KEY.public_key.to_pem())
    good = _openssl(tmp_path, "-verify", "-pubin", "-inkey", "idp.pem", "-in", "signed.bin",
                    "-sigfile", "sig.der")  # fmt: skip
    assert good.returncode == 0 and "Signature Verified Successfully" in good.stdout, good.stderr
    (tmp_path / "changed.bin").write_bytes(signed[:-1] + bytes([signed[-1] ^ 1]))
    bad = _openssl(tmp_path, "-verify", "-pubin", "-inkey", "idp.pem", "-in", "changed.bin",
                   "-sigfile", "sig.der")  # fmt: skip
    assert bad.returncode != 0


def test_the_format_accepts_a_signature_openssl_made(tmp_path):
    token = make()
    signed, _, _ = token.rpartition(b".")
    (tmp_path / "signed.bin").write_bytes(signed)
    (tmp_path / "idp.key").write_bytes(KEY.to_pem())
    made = _openssl(tmp_path, "-sign", "-inkey", "idp.key", "-in", "signed.bin",
                    "-out", "sig.der")  # fmt: skip
    assert made.returncode == 0, made.stderr
    raw = der_to_raw((tmp_path / "sig.der").read_bytes())
    by_openssl = signed + b"." + b64(raw)
    assert by_openssl != token  # SM2 signatures are randomised: a different signature
    result = FMT.verify(by_openssl, KEYS, audience="yrd-gateway", now=NOW)
    assert result.format == "sh-oidc/1"
    header, payload = signed.split(b".")
    flipped = base64.urlsafe_b64encode(bytes([raw[0] ^ 1]) + raw[1:]).rstrip(b"=")
    with pytest.raises(Exception) as refused:
        FMT.verify(header + b"." + payload + b"." + flipped, KEYS, audience="yrd-gateway", now=NOW)
    assert getattr(refused.value, "reason", None) == "bad_signature"
