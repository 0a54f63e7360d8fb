"""``verify_licence`` refuses each bad licence with its precise reason and check, in order;
the signature cross-checks with the ``openssl`` CLI over the documented signed bytes; the
offline CLI ``yrdgw licence verify`` says each check and exits 0/1/2."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import timedelta

import pytest

from gateway.encoding import canonical_json
from gateway.errors import Reason
from gateway.licences import (
    CHINESE_REASONS,
    MAX_LICENCE_BYTES,
    LicenceRejected,
    check_licence,
    parse_signed_licence,
    signed_bytes,
    verify_licence,
)
from gateway.registry import DEV_LICENCE_AUTHORITIES
from ledger.crypto import PrivateKey
from tests.licences.support import HOLDER_KEY, OTHER_KEY, REVOKED_ID, Licences, _now
from tests.openssl import needs_openssl_sm2


@pytest.fixture(scope="module")
def lic(tmp_path_factory) -> Licences:
    return Licences.make(tmp_path_factory.mktemp("licences"))


def refused(lic: Licences, data: bytes, **kwargs) -> LicenceRejected:
    with pytest.raises(LicenceRejected) as info:
        verify_licence(data, registry=lic.registry(), now=_now(), **kwargs)
    assert info.value.chinese == CHINESE_REASONS[info.value.reason]
    assert info.value.message.startswith(f"licence {info.value.check}: ")
    return info.value


def tampered(data: bytes, change) -> bytes:
    wire = json.loads(data)
    change(wire["licence"])
    return json.dumps(wire, ensure_ascii=False).encode()


def test_a_valid_licence_verifies_with_its_fields(lic):
    data = lic.licence()
    got = verify_licence(data, registry=lic.registry(), now=_now(), holder_key=HOLDER_KEY)
    assert (got.licence_id, got.licence_type, got.type_label) == (
        "JS-LIC-0001", "business_licence", "营业执照")  # fmt: skip
    assert got.issuer.region == "JS" and got.issuer.authority == DEV_LICENCE_AUTHORITIES["JS"]
    assert got.issuer.key_id == lic.env.licence_keys["JS"].public_key.key_id
    assert got.holder.key == HOLDER_KEY
    # the licence of every region verifies with the same registry
    for region in ("SH", "ZJ", "AH"):
        assert verify_licence(lic.licence(region), registry=lic.registry(), now=_now())


FAR = "2099-01-01T00:00:00.000Z"
CASES = {
    "expired": (
        lambda lic: lic.licence(valid_until=_now() - timedelta(seconds=1)),
        Reason.EXPIRED, "validity"),
    "not_yet_valid": (
        lambda lic: lic.licence(valid_from=_now() + timedelta(days=1)),
        Reason.NOT_YET_VALID, "validity"),
    "revoked": (lambda lic: lic.licence(licence_id=REVOKED_ID), Reason.REVOKED, "revocation"),
    "wrong_type_for_issuer": (  # the dev authorities do not issue 不动产权证书
        lambda lic: lic.licence(licence_type="real_estate_certificate"),
        Reason.NOT_ISSUING_AUTHORITY, "authority"),
    "key_of_another_region": (  # Jiangsu's key, a licence that claims Zhejiang issued it
        lambda lic: lic.licence(region="JS", authority=DEV_LICENCE_AUTHORITIES["ZJ"])
        .replace(b'"region": "JS"', b'"region": "ZJ"'),
        Reason.BAD_SIGNATURE, "signature"),
    "unknown_key": (
        lambda lic: lic.licence(key=PrivateKey.generate()), Reason.UNKNOWN_ISSUER, "issuer_key"),
    "member_key_is_no_licence_key": (
        lambda lic: lic.licence(key=lic.env.member_keys["JS"]),
        Reason.UNKNOWN_ISSUER, "issuer_key"),
    "tampered_data": (
        lambda lic: tampered(lic.licence(), lambda d: d["data"].update(name="别的公司（示例）")),
        Reason.BAD_SIGNATURE, "signature"),
    "tampered_validity": (
        lambda lic: tampered(lic.licence(), lambda d: d.update(valid_until=FAR)),
        Reason.BAD_SIGNATURE, "signature"),
    "garbage": (lambda lic: b"\x00\xffnot json", Reason.MALFORMED, "parse"),
    "oversized": (lambda lic: b"{" + b" " * MAX_LICENCE_BYTES + b"}", Reason.MALFORMED, "parse"),
    "too_deep": (lambda lic: b"[" * 50 + b"]" * 50, Reason.MALFORMED, "parse"),
    "raw_credit_code_in_data": (
        lambda lic: lic.unchecked({"uscc": "91320500MA1YRD0013"}), Reason.MALFORMED, "parse"),
    "raw_id_number_in_data": (
        lambda lic: lic.unchecked({"legal_rep_id": "11010519491231002X"}),
        Reason.MALFORMED, "parse"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_bad_licence_is_refused_with_its_reason(lic, case):
    make, reason, check = CASES[case]
    got = refused(lic, make(lic))
    assert (got.reason, got.check) == (reason, check), got.message


def test_the_builder_refuses_to_sign_a_raw_identifier(lic):
    with pytest.raises(LicenceRejected) as info:
        lic.licence(data={"uscc": "91320500MA1YRD0013"})
    assert info.value.reason == Reason.MALFORMED and "raw id number or credit code" in str(
        info.value
    )


def test_a_wrong_type_for_the_region_names_the_type(lic):
    got = refused(lic, lic.licence(licence_type="marriage_certificate"))
    assert "may not issue marriage_certificate" in got.message


def test_a_signature_by_the_right_key_for_the_wrong_region_is_not_issuing(lic):
    """The licence says Zhejiang, the key is Jiangsu's, and Jiangsu signed it honestly."""
    from gateway.licences import Holder, build_licence

    data = build_licence(
        key=lic.env.licence_keys["JS"], region="ZJ", authority=DEV_LICENCE_AUTHORITIES["ZJ"],
        licence_id="ZJ-X-1", licence_type="business_licence",
        holder=Holder("legal_person", HOLDER_KEY, "示例公司"),
        issued_at=_now() - timedelta(days=1), valid_from=_now() - timedelta(days=1),
        valid_until=_now() + timedelta(days=1),
    )  # fmt: skip
    got = refused(lic, data)
    assert (got.reason, got.check) == (Reason.NOT_ISSUING_AUTHORITY, "authority")
    assert "key of region JS" in got.message


def test_the_holder_must_be_the_applicant(lic):
    got = refused(lic, lic.licence(), holder_key=OTHER_KEY)
    assert (got.reason, got.check) == (Reason.HOLDER_MISMATCH, "holder")


def test_a_separate_revocation_list_is_honoured(lic):
    got = refused(lic, lic.licence(), revoked={"JS-LIC-0001"})
    assert got.reason == Reason.REVOKED


def test_checks_run_in_order(lic):
    """An expired licence of an unknown key is UNKNOWN_ISSUER; an expired, revoked one is
    EXPIRED; a revoked one of another holder is REVOKED."""
    unknown = lic.licence(key=PrivateKey.generate(), valid_until=_now() - timedelta(days=1))
    assert refused(lic, unknown).reason == Reason.UNKNOWN_ISSUER
    expired = lic.licence(licence_id=REVOKED_ID, valid_until=_now() - timedelta(days=1))
    assert refused(lic, expired).reason == Reason.EXPIRED
    assert refused(lic, lic.licence(licence_id=REVOKED_ID), holder_key=OTHER_KEY).reason == (
        Reason.REVOKED
    )


def test_a_verdict_keeps_the_parsed_licence_of_a_refusal(lic):
    verdict = check_licence(lic.licence(), registry=lic.registry(), now=_now(),
                            holder_key=OTHER_KEY)  # fmt: skip
    shown = verdict.to_dict()
    assert shown["valid"] is False and shown["reason"] == "HOLDER_MISMATCH"
    assert shown["message"] == "证照持有人与申请人不一致"
    assert shown["detail"].startswith("licence holder: ")
    assert shown["licence"]["type_label"] == "营业执照"
    assert check_licence(b"junk", registry=lic.registry(), now=_now()).licence is None


def test_signed_bytes_are_the_canonical_licence(lic):
    signed = parse_signed_licence(lic.licence())
    assert signed_bytes(signed.licence) == canonical_json(dict(signed.canonical))


@needs_openssl_sm2
def test_openssl_verifies_the_signature_over_the_documented_bytes(lic, tmp_path):
    """docs/licences.md: the signature is SM2/SM3, default id, DER, over canonical_json of
    the ``licence`` object; openssl agrees, and refuses one changed byte."""
    wire = json.loads(lic.licence())
    (tmp_path / "licence.bin").write_bytes(canonical_json(wire["licence"]))
    (tmp_path / "licence.sig").write_bytes(base64.b64decode(wire["signature"]))
    (tmp_path / "issuer.pem").write_bytes(lic.env.licence_keys["JS"].public_key.to_pem())

    def openssl(message: str):
        return subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "issuer.pem", "-rawin",
             "-in", message, "-sigfile", "licence.sig", "-digest", "sm3",
             "-pkeyopt", "distid:1234567812345678"],
            cwd=tmp_path, capture_output=True, text=True, check=False,
        )  # fmt: skip

    good = openssl("licence.bin")
    assert good.returncode == 0 and "Signature Verified Successfully" in good.stdout, good.stderr
    changed = canonical_json({**wire["licence"], "licence_id": "JS-LIC-0002"})
    (tmp_path / "changed.bin").write_bytes(changed)
    assert openssl("changed.bin").returncode != 0


# -- the offline CLI ------------------------------------------------------------------------


def yrdgw(*args: str):
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "licence", "verify", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_cli_valid_licence_exit_0_and_each_check(lic, tmp_path):
    path = tmp_path / "licence.json"
    path.write_bytes(lic.licence())
    out = yrdgw(str(path), "--trust", str(lic.env.licence_trust_path), "--holder-key", HOLDER_KEY)
    assert out.returncode == 0, out.stderr
    for check in ("parse", "issuer_key", "signature", "authority", "validity", "revocation",
                  "holder"):  # fmt: skip
        assert f"{check}: ok" in out.stdout
    assert "VALID business_licence" in out.stdout
    # base64 of the same licence, read from stdin, is the same licence
    b64 = base64.b64encode(lic.licence())
    piped = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "licence", "verify", "-", "--trust",
         str(lic.env.licence_trust_path)], input=b64, capture_output=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert b"holder: skipped" in piped.stdout


@pytest.mark.parametrize(
    ("case", "wire"),
    [("expired", "EXPIRED"), ("revoked", "REVOKED"), ("wrong_type_for_issuer",
     "NOT_ISSUING_AUTHORITY"), ("tampered_data", "BAD_SIGNATURE"), ("unknown_key",
     "UNKNOWN_ISSUER"), ("garbage", "MALFORMED"), ("not_yet_valid", "NOT_YET_VALID")],
)  # fmt: skip
def test_cli_refusals_exit_1_naming_the_check(lic, tmp_path, case, wire):
    make, _, check = CASES[case]
    path = tmp_path / "licence.json"
    path.write_bytes(make(lic))
    out = yrdgw(str(path), "--trust", str(lic.env.licence_trust_path))
    assert out.returncode == 1, out.stderr
    assert f"{check}: FAILED {wire}" in out.stdout and f"INVALID {wire}" in out.stdout


def test_cli_holder_mismatch_and_at(lic, tmp_path):
    path = tmp_path / "licence.json"
    path.write_bytes(lic.licence())
    trust = str(lic.env.licence_trust_path)
    out = yrdgw(str(path), "--trust", trust, "--holder-key", OTHER_KEY)
    assert out.returncode == 1 and "holder: FAILED HOLDER_MISMATCH" in out.stdout
    # --at: the licence and the registry are checked at that time (both still valid)
    later = (_now() + timedelta(days=300)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert yrdgw(str(path), "--trust", trust, "--at", later).returncode == 0


def test_cli_usage_errors_exit_2(lic, tmp_path):
    path = tmp_path / "licence.json"
    path.write_bytes(lic.licence())
    missing = yrdgw(str(tmp_path / "none.json"), "--trust", str(lic.env.licence_trust_path))
    assert missing.returncode == 2 and "cannot read licence" in missing.stderr
    bad_trust = tmp_path / "trust.json"
    bad_trust.write_text('{"format": "yrd-licence-trust/1"}')
    out = yrdgw(str(path), "--trust", str(bad_trust))
    assert out.returncode == 2 and "licence trust file" in out.stderr
    out = yrdgw(str(path), "--trust", str(lic.env.licence_trust_path), "--at", "yesterday")
    assert out.returncode == 2 and "--at" in out.stderr
