"""The ``openssl`` CLI in the interop tests: skip marks for a CLI without SM2 or SM3."""

from __future__ import annotations

import shutil
import subprocess

import pytest

__all__ = ["needs_openssl_sm2", "needs_openssl_sm3", "openssl_lists"]


def openssl_lists(option: str, name: str) -> bool:
    """Whether ``openssl list <option>`` names ``name`` (False without an openssl CLI)."""
    if not shutil.which("openssl"):
        return False
    out = subprocess.run(["openssl", "list", option], capture_output=True, text=True, check=False)
    return name in out.stdout


needs_openssl_sm2 = pytest.mark.skipif(
    not openssl_lists("-public-key-algorithms", "SM2"), reason="openssl CLI with SM2 not found"
)
needs_openssl_sm3 = pytest.mark.skipif(
    not openssl_lists("-digest-algorithms", "SM3"), reason="openssl CLI with SM3 not found"
)
