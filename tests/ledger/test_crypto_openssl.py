"""Interop with the ``openssl`` 3 CLI in both directions (keys and signatures)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ledger.crypto import PrivateKey, PublicKey
from tests.openssl import needs_openssl_sm2

pytestmark = needs_openssl_sm2
DISTID = "distid:1234567812345678"
YRDGW = [sys.executable, "-m", "gateway.cli"]


def _run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, check=False, **kwargs)


@pytest.fixture()
def message(tmp_path):
    path = tmp_path / "m.bin"
    path.write_bytes(b"cross-region exchange \x00\x01\x02" * 7)
    return path


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_openssl_verifies_our_signature(tmp_path, message, backend, monkeypatch):
    monkeypatch.setenv("YRD_SM2_BACKEND", backend)
    key, pub, sig = tmp_path / "k.pem", tmp_path / "p.pem", tmp_path / "s.der"
    assert (
        _run(*YRDGW, "sm2", "keygen", "--out-key", str(key), "--out-pub", str(pub)).returncode == 0
    )
    assert (
        _run(
            *YRDGW, "sm2", "sign", "--key", str(key), "--in", str(message), "--out", str(sig)
        ).returncode
        == 0
    )
    out = _run(
        "openssl",
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        str(pub),
        "-rawin",
        "-in",
        str(message),
        "-sigfile",
        str(sig),
        "-digest",
        "sm3",
        "-pkeyopt",
        DISTID,
    )
    assert out.returncode == 0, out.stderr
    assert "Signature Verified Successfully" in out.stdout
    # openssl reads our private key too
    assert _run("openssl", "pkey", "-in", str(key), "-noout").returncode == 0


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_we_verify_openssl_signature(tmp_path, message, backend, monkeypatch):
    monkeypatch.setenv("YRD_SM2_BACKEND", backend)
    key, pub, sig = tmp_path / "k.pem", tmp_path / "p.pem", tmp_path / "s.der"
    assert _run("openssl", "genpkey", "-algorithm", "SM2", "-out", str(key)).returncode == 0
    assert _run("openssl", "pkey", "-in", str(key), "-pubout", "-out", str(pub)).returncode == 0
    out = _run(
        "openssl",
        "pkeyutl",
        "-sign",
        "-inkey",
        str(key),
        "-rawin",
        "-in",
        str(message),
        "-out",
        str(sig),
        "-digest",
        "sm3",
        "-pkeyopt",
        DISTID,
    )
    assert out.returncode == 0, out.stderr
    verify = _run(
        *YRDGW, "sm2", "verify", "--pub", str(pub), "--in", str(message), "--sig", str(sig)
    )
    assert verify.returncode == 0, verify.stderr
    # the private key imports and derives the same public key
    assert PrivateKey.from_pem(key.read_bytes()).public_key == PublicKey.from_pem(pub.read_bytes())


def test_custom_id_both_ways(tmp_path, message):
    key, pub, sig = tmp_path / "k.pem", tmp_path / "p.pem", tmp_path / "s.der"
    _run(*YRDGW, "sm2", "keygen", "--out-key", str(key), "--out-pub", str(pub))
    _run(
        *YRDGW,
        "sm2",
        "sign",
        "--key",
        str(key),
        "--in",
        str(message),
        "--out",
        str(sig),
        "--id",
        "ALICE123@YAHOO.COM",
    )
    ok = _run(
        "openssl",
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        str(pub),
        "-rawin",
        "-in",
        str(message),
        "-sigfile",
        str(sig),
        "-digest",
        "sm3",
        "-pkeyopt",
        "distid:ALICE123@YAHOO.COM",
    )
    assert ok.returncode == 0, ok.stderr
    osig = tmp_path / "o.der"
    _run(
        "openssl",
        "pkeyutl",
        "-sign",
        "-inkey",
        str(key),
        "-rawin",
        "-in",
        str(message),
        "-out",
        str(osig),
        "-digest",
        "sm3",
        "-pkeyopt",
        "distid:ALICE123@YAHOO.COM",
    )
    good = _run(
        *YRDGW,
        "sm2",
        "verify",
        "--pub",
        str(pub),
        "--in",
        str(message),
        "--sig",
        str(osig),
        "--id",
        "ALICE123@YAHOO.COM",
    )
    assert good.returncode == 0, good.stderr
    wrong = _run(
        *YRDGW, "sm2", "verify", "--pub", str(pub), "--in", str(message), "--sig", str(osig)
    )
    assert wrong.returncode == 1


def test_openssl_empty_id_pitfall_is_refused(tmp_path, message):
    """Without distid the OpenSSL CLI signs with an empty id: we must not accept it as default."""
    key, pub, sig = tmp_path / "k.pem", tmp_path / "p.pem", tmp_path / "s.der"
    _run("openssl", "genpkey", "-algorithm", "SM2", "-out", str(key))
    _run("openssl", "pkey", "-in", str(key), "-pubout", "-out", str(pub))
    _run(
        "openssl",
        "pkeyutl",
        "-sign",
        "-inkey",
        str(key),
        "-rawin",
        "-in",
        str(message),
        "-out",
        str(sig),
        "-digest",
        "sm3",
    )
    default = _run(
        *YRDGW, "sm2", "verify", "--pub", str(pub), "--in", str(message), "--sig", str(sig)
    )
    empty = _run(
        *YRDGW,
        "sm2",
        "verify",
        "--pub",
        str(pub),
        "--in",
        str(message),
        "--sig",
        str(sig),
        "--id",
        "",
    )
    assert (default.returncode, empty.returncode) == (1, 0)


def test_sm3_matches_openssl_dgst(tmp_path, message):
    ours = _run(*YRDGW, "sm3", str(message)).stdout.strip()
    theirs = _run("openssl", "dgst", "-sm3", "-r", str(message)).stdout.split()[0]
    assert ours == theirs
