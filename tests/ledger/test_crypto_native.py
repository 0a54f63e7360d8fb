"""The native backend: public tongsuopy API for the default ID, and the one private path.

tongsuopy offers no public way to sign a precomputed digest or to set the SM2 ID, so
signatures with a custom user ID go through its private binding (see ledger/crypto/_native.py).
These tests fail loudly when a tongsuopy upgrade moves those private names, and check that
the default-ID path never touches them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from ledger.crypto import DEFAULT_ID, NATIVE_AVAILABLE, PrivateKey, _native
from ledger.crypto._curve import GX, GY, N, multiply_g

pytestmark = pytest.mark.skipif(not NATIVE_AVAILABLE, reason="tongsuopy has no wheel here")

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests/vectors/crypto/sm2_sign.json").read_text())


def _pinned_tongsuopy() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (requirement,) = [d for d in project["dependencies"] if d.startswith("tongsuopy")]
    spec = requirement.split(";")[0].removeprefix("tongsuopy").strip()
    assert spec.startswith("=="), f"tongsuopy must be pinned with ==, got {requirement!r}"
    return spec.removeprefix("==")


def test_tongsuopy_is_pinned_to_the_installed_version():
    """The private path was checked against one tongsuopy; an upgrade must re-check it."""
    assert version("tongsuopy") == _pinned_tongsuopy()


def test_private_api_for_custom_ids_is_still_there():
    """If this fails, tongsuopy changed the private names _native.py relies on."""
    api = _native._private_api()
    for name in _native._PRIVATE_LIB_NAMES:
        assert callable(getattr(api.lib, name)), name
    key = _native.public_key(GX, GY)
    assert key._key._evp_pkey != api.ffi.NULL


def test_custom_id_signature_is_native_and_standard():
    """A custom-ID signature made natively verifies under the reference backend, and back."""
    pytest.importorskip("gmssl")
    key = PrivateKey.generate()
    for user_id in (b"", b"alice@example.test", b"\x00" * 40):
        native = key.sign(b"payload", user_id, backend="native")
        key.public_key.verify(b"payload", native, user_id, backend="reference")
        reference = key.sign(b"payload", user_id, backend="reference")
        key.public_key.verify(b"payload", reference, user_id, backend="native")


def test_default_id_path_uses_only_the_public_api():
    """Signing and verifying with the default ID never loads the private binding."""
    code = (
        "from ledger.crypto import PrivateKey, _native\n"
        "key = PrivateKey.generate()\n"
        "signature = key.sign(b'm', backend='native')\n"
        "key.public_key.verify(b'm', signature, backend='native')\n"
        "assert _native._private is None, 'default id touched the private api'\n"
        "key.sign(b'm', b'other id', backend='native')\n"
        "assert _native._private is not None\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_default_id_native_signature_matches_the_standard_vector_key():
    """The public API signs with ID 1234567812345678: the Annex A key verifies it natively
    and (independently of Tongsuo) under the reference backend."""
    case = VECTORS["cases"][0]
    key = PrivateKey(int(case["d"], 16))
    message = case["message_ascii"].encode()
    assert case["user_id_ascii"].encode() == DEFAULT_ID
    signature = key.sign(message, backend="native")
    key.public_key.verify(message, signature, DEFAULT_ID, backend="native")
    if _reference_available():
        key.public_key.verify(message, signature, DEFAULT_ID, backend="reference")


def _reference_available() -> bool:
    from ledger.crypto import _reference

    return _reference.AVAILABLE


def test_public_point_native_and_pure_python_agree():
    case = VECTORS["cases"][0]
    d = int(case["d"], 16)
    assert multiply_g(d) == (int(case["x"], 16), int(case["y"], 16))
    for scalar in (1, 2, 3, N - 1, d, *(PrivateKey.generate()._d for _ in range(5))):
        assert multiply_g(scalar) == _native.public_point(scalar)
    assert multiply_g(1) == (GX, GY)
    with pytest.raises(ValueError, match="outside"):
        multiply_g(0)
