"""A region's signed revocation list: verified against the registry's licence keys of that
region, then its ids are revoked for that region's licences only (API and CLI)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gateway.errors import Reason
from gateway.licences import (
    LicenceRejected,
    load_revocation_list,
    sign_revocation_list,
    verify_licence,
)
from gateway.licences.revocations import merge
from ledger.crypto import PrivateKey
from tests.licences.support import Licences, _now


@pytest.fixture(scope="module")
def lic(tmp_path_factory) -> Licences:
    return Licences.make(tmp_path_factory.mktemp("revocations"))


def js_list(lic: Licences, key: PrivateKey | None = None, region: str = "JS") -> bytes:
    return sign_revocation_list(
        key or lic.env.licence_keys["JS"], region=region, serial=1, issued_at=_now(),
        revoked=["JS-LIC-0001"],
    )  # fmt: skip


def test_a_signed_list_revokes_its_regions_licences_only(lic):
    registry = lic.registry()
    listed = load_revocation_list(js_list(lic), registry)
    assert (listed.region, listed.revoked) == ("JS", frozenset({"JS-LIC-0001"}))
    with pytest.raises(LicenceRejected) as info:
        verify_licence(lic.licence(), registry=registry, now=_now(), revoked=merge([listed]))
    assert (info.value.reason, info.value.check) == (Reason.REVOKED, "revocation")
    # Zhejiang's licence of the same id is not Jiangsu's to revoke
    zj = lic.licence("ZJ", licence_id="JS-LIC-0001")
    assert verify_licence(zj, registry=registry, now=_now(), revoked=merge([listed]))


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda lic: js_list(lic, PrivateKey.generate()), Reason.UNKNOWN_ISSUER),
        (lambda lic: js_list(lic, lic.env.licence_keys["ZJ"]), Reason.NOT_ISSUING_AUTHORITY),
        (lambda lic: js_list(lic).replace(b"JS-LIC-0001", b"JS-LIC-0002"), Reason.BAD_SIGNATURE),
        (lambda lic: b"[" * 10 + b"]" * 10, Reason.MALFORMED),
    ],
)
def test_a_list_that_does_not_verify_is_refused(lic, make, reason):
    with pytest.raises(LicenceRejected) as info:
        load_revocation_list(make(lic), lic.registry())
    assert info.value.reason == reason and info.value.check == "revocation_list"


def test_cli_revocations(lic, tmp_path):
    licence, good, forged = tmp_path / "l.json", tmp_path / "r.json", tmp_path / "f.json"
    licence.write_bytes(lic.licence())
    good.write_bytes(js_list(lic))
    wire = json.loads(js_list(lic))
    wire["revocations"]["revoked"] = ["JS-LIC-0009"]
    forged.write_text(json.dumps(wire))
    base = [sys.executable, "-m", "gateway.cli", "licence", "verify", str(licence), "--trust",
            str(lic.env.licence_trust_path)]  # fmt: skip
    out = subprocess.run([*base, "--revocations", str(good)], capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert out.returncode == 1 and "revocation: FAILED REVOKED" in out.stdout
    out = subprocess.run([*base, "--revocations", str(forged)], capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert out.returncode == 2 and "BAD_SIGNATURE" in out.stderr
