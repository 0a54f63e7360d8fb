"""``yrdgw sm2``/``sm3`` on bad input: exit codes 1 and 2, one-line messages, no tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

YRDGW = [sys.executable, "-m", "gateway.cli"]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*YRDGW, *args], capture_output=True, text=True, check=False)


@pytest.fixture()
def keys(tmp_path):
    key, pub = tmp_path / "k.pem", tmp_path / "p.pem"
    assert _run("sm2", "keygen", "--out-key", str(key), "--out-pub", str(pub)).returncode == 0
    msg = tmp_path / "m.txt"
    msg.write_bytes(b"hello")
    sig = tmp_path / "s.der"
    assert (
        _run("sm2", "sign", "--key", str(key), "--in", str(msg), "--out", str(sig)).returncode == 0
    )
    return tmp_path, key, pub, msg, sig


def _assert_clean(out: subprocess.CompletedProcess, code: int, needle: str) -> None:
    assert out.returncode == code, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr
    assert needle in out.stderr


def test_valid_signature(keys):
    _, _, pub, msg, sig = keys
    out = _run("sm2", "verify", "--pub", str(pub), "--in", str(msg), "--sig", str(sig))
    assert out.returncode == 0 and "signature ok" in out.stdout


def test_tampered_message_is_invalid(keys):
    _tmp, _, pub, msg, sig = keys
    msg.write_bytes(b"hellO")
    out = _run("sm2", "verify", "--pub", str(pub), "--in", str(msg), "--sig", str(sig))
    _assert_clean(out, 1, "does not verify")


def test_truncated_der_is_invalid(keys):
    _tmp, _, pub, msg, sig = keys
    sig.write_bytes(sig.read_bytes()[:-3])
    out = _run("sm2", "verify", "--pub", str(pub), "--in", str(msg), "--sig", str(sig))
    _assert_clean(out, 1, "truncated der")


def test_empty_signature_file_is_usage_error(keys):
    _tmp, _, pub, msg, sig = keys
    sig.write_bytes(b"")
    out = _run("sm2", "verify", "--pub", str(pub), "--in", str(msg), "--sig", str(sig))
    _assert_clean(out, 2, "is empty")


def test_malformed_pem_is_usage_error(keys):
    tmp, key, pub, msg, sig = keys
    pub.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    out = _run("sm2", "verify", "--pub", str(pub), "--in", str(msg), "--sig", str(sig))
    _assert_clean(out, 2, "bad public key")
    key.write_text("garbage")
    out = _run("sm2", "sign", "--key", str(key), "--in", str(msg), "--out", str(tmp / "x"))
    _assert_clean(out, 2, "no -----BEGIN")


def test_empty_key_file_is_usage_error(keys):
    tmp, key, _, msg, _ = keys
    key.write_bytes(b"")
    out = _run("sm2", "sign", "--key", str(key), "--in", str(msg), "--out", str(tmp / "x"))
    _assert_clean(out, 2, "is empty")


def test_wrong_curve_key_is_usage_error(keys):
    from tests.ledger.test_crypto_strict import P256_PKCS8

    tmp, key, _, msg, _ = keys
    key.write_text(P256_PKCS8)
    out = _run("sm2", "sign", "--key", str(key), "--in", str(msg), "--out", str(tmp / "x"))
    _assert_clean(out, 2, "wrong curve")


def test_missing_file_is_usage_error(keys):
    _, _, pub, _, sig = keys
    out = _run("sm2", "verify", "--pub", str(pub), "--in", "/nonexistent", "--sig", str(sig))
    _assert_clean(out, 2, "cannot read input file")
    _assert_clean(_run("sm3", "/nonexistent"), 2, "cannot read")


def test_missing_argument_is_usage_error():
    out = _run("sm2", "verify", "--pub", "x")
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_selfcheck():
    out = _run("selfcheck")
    assert out.returncode == 0
    assert "verified by reference: ok" in out.stdout
