"""Auditors in the trust registry: parsed, validated, looked up by certificate; not members."""

from __future__ import annotations

import argparse
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.app.init_cmd import init_deployment
from gateway.app.pki import issue, make_ca
from gateway.registry import (
    DEV_AUDITOR_ID,
    Region,
    RegistryFormatError,
    build_dev_registry,
    certificate_fingerprint,
    load_registry,
    parse_document,
    sign_registry,
)
from gateway.registry.cli import add_registry_commands, cmd_inspect
from ledger.crypto import PrivateKey

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
ISSUED = NOW - timedelta(days=1)
FP_MEMBER = "ab" * 32
FP_AUDITOR = "cd" * 32


def _document(**overrides) -> tuple[dict, PrivateKey]:
    governance = PrivateKey.generate()
    document = build_dev_registry(
        {r: PrivateKey.generate().public_key for r in Region},
        governance.public_key,
        [PrivateKey.generate().public_key],
        tls_fingerprints={"JS": [FP_MEMBER]},
        now=ISSUED,
        **{"auditor_fingerprints": [FP_AUDITOR.upper()], **overrides},
    )
    return document, governance


def test_dev_auditor_is_listed_and_found_by_fingerprint():
    document, governance = _document()
    registry = load_registry(sign_registry(document, governance), [governance.public_key], NOW)
    (auditor,) = registry.auditors
    assert auditor.id == DEV_AUDITOR_ID
    assert auditor.tls_fingerprints == (FP_AUDITOR,)  # normalised to lower case
    assert registry.auditor_for_cert_fingerprint(FP_AUDITOR) == auditor
    assert registry.get_auditor(DEV_AUDITOR_ID) == auditor
    assert auditor.validity_problem(NOW) is None
    assert "expired" in (auditor.validity_problem(NOW + timedelta(days=400)) or "")
    assert "not valid before" in (auditor.validity_problem(ISSUED - timedelta(1)) or "")
    # an auditor is no member, and a member no auditor
    assert registry.member_for_cert_fingerprint(FP_AUDITOR) is None
    assert registry.auditor_for_cert_fingerprint(FP_MEMBER) is None
    assert registry.auditor_for_cert_fingerprint("not hex") is None


def test_registry_without_auditors_still_parses():
    document, _ = _document(auditor_fingerprints=())
    assert "auditors" not in document
    assert parse_document(document).auditors == ()


def _set(path: str, value):
    def mutate(document: dict) -> None:
        *parents, last = path.split(".")
        target = document["auditors"][0]
        for name in parents:
            target = target[name]
        target[last] = value

    return mutate


def _duplicate(document: dict) -> None:
    document["auditors"].append(copy.deepcopy(document["auditors"][0]))


def _other_auditor_same_cert(document: dict) -> None:
    other = copy.deepcopy(document["auditors"][0])
    other["id"] = "auditor/second"
    document["auditors"].append(other)


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (_set("id", "dev"), "auditors[0].id", "expected auditor/"),
        (_set("id", "auditor/a b"), "auditors[0].id", "expected auditor/"),
        (_set("display_name", ""), "auditors[0].display_name", "non-empty string"),
        (_set("tls_fingerprints", []), "auditors[0].tls_fingerprints", "non-empty list"),
        (_set("tls_fingerprints", ["zz"]), "auditors[0].tls_fingerprints[0]", "64 hex"),
        (_set("tls_fingerprints", [FP_MEMBER]), "auditors[0].tls_fingerprints[0]", "bound to JS/"),
        (_set("not_after", "2020-01-01T00:00:00Z"), "auditors[0].not_after", "later than"),
        (_set("not_before", "yesterday"), "auditors[0].not_before", "rfc 3339"),
        (_set("role", "member"), "auditors[0].role", "unknown field"),
        (_duplicate, "auditors[1].id", "duplicate auditor"),
        (_other_auditor_same_cert, "auditors[1].tls_fingerprints[0]", "bound to auditor/dev"),
    ],
)
def test_invalid_auditor_names_field(mutate, field, message):
    document, _ = _document()
    mutate(document)
    with pytest.raises(RegistryFormatError) as info:
        parse_document(document)
    assert info.value.field == field
    assert message in str(info.value)


def test_inspect_lists_auditors(tmp_path, capsys):
    document, _ = _document()
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document))

    class Args:
        file, trust, at = path, [], None

    assert cmd_inspect(Args()) == 0
    out = capsys.readouterr().out
    assert "auditors (1):" in out
    assert f"{DEV_AUDITOR_ID}" in out and f"tls sha256 {FP_AUDITOR}" in out


def test_init_registers_an_auditor_by_its_own_certificate(tmp_path: Path):
    # the auditor brings its own certificate (here: issued by some CA), the operator lists
    # its fingerprint in the members file given to yrdgw init
    auditor_cert = issue(make_ca("auditor's own CA"), "auditor/sh-audit", server=False)
    fingerprint = certificate_fingerprint(auditor_cert.cert_pem)
    start = datetime.now(UTC).replace(microsecond=0)
    member_doc, _ = _document()
    for member in member_doc["members"]:  # outside a dev registry push is https, pinned
        delivery = member["delivery"]
        if delivery.get("endpoint", "").startswith("http://"):
            delivery["endpoint"] = "https" + delivery["endpoint"][4:]
            delivery["server_cert_sha256"] = "ab" * 32
    members = {
        "members": member_doc["members"],
        "auditors": [
            {
                "id": "auditor/sh-audit",
                "display_name": "上海市审计局 Shanghai audit bureau",
                "tls_fingerprints": [fingerprint],
                "not_before": start.isoformat().replace("+00:00", "Z"),
                "not_after": (start + timedelta(days=30)).isoformat().replace("+00:00", "Z"),
            }
        ],
    }
    members_file = tmp_path / "members.json"
    members_file.write_text(json.dumps(members, ensure_ascii=False))
    written = init_deployment(tmp_path / "d", members_file)
    governance = PrivateKey.from_pem((tmp_path / "d" / "offline" / "governance.pem").read_bytes())
    registry = load_registry(
        written["registry_path"].read_bytes(),
        [governance.public_key],
        datetime.now(UTC) + timedelta(minutes=1),
    )
    assert registry.auditor_for_cert_fingerprint(fingerprint).id == "auditor/sh-audit"


def test_registry_create_lists_the_auditor_certificate_in_keys_dir(tmp_path: Path):
    keys = tmp_path / "keys"
    keys.mkdir()
    cert = issue(make_ca(), DEV_AUDITOR_ID, server=False)
    (keys / "auditor.crt.pem").write_bytes(cert.cert_pem)
    parser = argparse.ArgumentParser(prog="yrdgw")
    add_registry_commands(parser.add_subparsers(dest="command", required=True))
    out = tmp_path / "doc.json"
    args = parser.parse_args(["registry", "create", "--out", str(out), "--keys-dir", str(keys)])
    assert args.func(args) == 0
    (auditor,) = parse_document(json.loads(out.read_text())).auditors
    assert auditor.tls_fingerprints == (certificate_fingerprint(cert.cert_pem),)
