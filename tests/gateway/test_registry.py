"""Trust registry: signing, loading, refusals, validation errors and lookups."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

import gateway.registry as registry_pkg
from gateway.registry import (
    DEV_MEMBERS,
    MemberId,
    Region,
    RegistryExpired,
    RegistryFormatError,
    RegistryLookupError,
    RegistryNotYetValid,
    RegistrySignatureError,
    RegistryUnsignedError,
    RegistryUntrustedKeyError,
    build_dev_registry,
    canonical_bytes,
    dev_member_id,
    load_registry,
    sign_registry,
)
from gateway.registry._dev import DEV_KINDS
from ledger.crypto import PrivateKey

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
ISSUED = NOW - timedelta(days=1)
JS, SH, ZJ, AH = (dev_member_id(r) for r in ("JS", "SH", "ZJ", "AH"))
FP_JS = "ab" * 32


@dataclass
class World:
    governance: PrivateKey
    members: dict[Region, PrivateKey]
    log: PrivateKey
    idp: PrivateKey
    document: dict

    def signed(self, document: dict | None = None, key: PrivateKey | None = None) -> bytes:
        return sign_registry(document or self.document, key or self.governance)


def make_world(**overrides) -> World:
    governance = PrivateKey.generate()
    members = {r: PrivateKey.generate() for r in Region}
    log, idp = PrivateKey.generate(), PrivateKey.generate()
    document = build_dev_registry(
        {r: k.public_key for r, k in members.items()},
        governance.public_key,
        [log.public_key],
        tls_fingerprints={"JS": [FP_JS]},
        identity_provider_keys={"ZJ": idp.public_key},
        now=ISSUED,
        **overrides,
    )
    return World(governance, members, log, idp, document)


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


@pytest.fixture(scope="module")
def reg(world):
    return load_registry(world.signed(), [world.governance.public_key], NOW)


def _resign_raw(world: World, document: dict) -> bytes:
    """Sign without validating: to provoke format errors only load_registry would see."""
    signature = world.governance.sign(canonical_bytes(document))
    wrapper = {
        "registry": document,
        "signature": base64.b64encode(signature).decode(),
        "key_id": world.governance.public_key.key_id,
    }
    return json.dumps(wrapper).encode()


# -- signing and refusals -----------------------------------------------------------------


def test_sign_and_load(world, reg):
    assert reg.serial == 1
    assert len(reg.members) == 4
    assert reg.governance_key_id == world.governance.public_key.key_id
    assert reg.canonical == canonical_bytes(world.document)
    wrapper = json.loads(world.signed())
    assert set(wrapper) == {"registry", "signature", "key_id"}
    world.governance.public_key.verify(
        canonical_bytes(wrapper["registry"]), base64.b64decode(wrapper["signature"])
    )


def test_canonical_bytes_rule():
    doc = {"b": [1, {"d": "上海", "c": True}], "a": None}
    assert canonical_bytes(doc) == '{"a":null,"b":[1,{"c":true,"d":"上海"}]}'.encode()


def test_wrapper_formatting_does_not_matter(world):
    wrapper = json.loads(world.signed())
    compact = json.dumps(wrapper, separators=(",", ":")).encode()
    assert load_registry(compact, [world.governance.public_key], NOW).serial == 1


def test_tampered_document_refused(world):
    wrapper = json.loads(world.signed())
    wrapper["registry"]["members"][1]["send_permissions"][0]["kinds"].append("identity.*")
    with pytest.raises(RegistrySignatureError, match="does not verify"):
        load_registry(json.dumps(wrapper).encode(), [world.governance.public_key], NOW)


def test_corrupted_signature_refused(world):
    wrapper = json.loads(world.signed())
    sig = bytearray(base64.b64decode(wrapper["signature"]))
    sig[-1] ^= 1
    wrapper["signature"] = base64.b64encode(bytes(sig)).decode()
    with pytest.raises(RegistrySignatureError):
        load_registry(json.dumps(wrapper).encode(), [world.governance.public_key], NOW)
    wrapper["signature"] = "not base64!"
    with pytest.raises(RegistrySignatureError, match="base64"):
        load_registry(json.dumps(wrapper).encode(), [world.governance.public_key], NOW)


def test_unsigned_refused(world):
    bare = json.dumps(world.document).encode()
    with pytest.raises(RegistryUnsignedError, match="bare document"):
        load_registry(bare, [world.governance.public_key], NOW)
    wrapper = json.loads(world.signed())
    wrapper["signature"] = ""
    with pytest.raises(RegistryUnsignedError, match="signature is missing"):
        load_registry(json.dumps(wrapper).encode(), [world.governance.public_key], NOW)


def test_signed_by_untrusted_key_refused(world):
    rogue = PrivateKey.generate()
    doc = copy.deepcopy(world.document)
    doc["governance_key_id"] = rogue.public_key.key_id
    with pytest.raises(RegistryUntrustedKeyError, match="untrusted key"):
        load_registry(world.signed(doc, rogue), [world.governance.public_key], NOW)


def test_claiming_trusted_key_id_with_other_key_refused(world):
    rogue = PrivateKey.generate()
    wrapper = json.loads(world.signed())
    wrapper["signature"] = base64.b64encode(rogue.sign(canonical_bytes(wrapper["registry"])))
    wrapper["signature"] = wrapper["signature"].decode()
    with pytest.raises(RegistrySignatureError):
        load_registry(json.dumps(wrapper).encode(), [world.governance.public_key], NOW)


def test_document_naming_another_governance_key_refused(world):
    other = PrivateKey.generate()
    doc = copy.deepcopy(world.document)
    doc["governance_key_id"] = other.public_key.key_id
    data = _resign_raw(world, doc)
    with pytest.raises(RegistryUntrustedKeyError, match="governance_key_id mismatch"):
        load_registry(data, [world.governance.public_key, other.public_key], NOW)
    with pytest.raises(RegistryUntrustedKeyError, match="governance_key_id mismatch"):
        sign_registry(doc, world.governance)


def test_expired_refused(world):
    expiry = ISSUED + timedelta(days=365)
    with pytest.raises(RegistryExpired, match="expired at") as info:
        load_registry(world.signed(), [world.governance.public_key], expiry)
    assert info.value.expires_at == expiry
    # One second before expiry it is still good.
    load_registry(world.signed(), [world.governance.public_key], expiry - timedelta(seconds=1))


def test_not_yet_valid_refused(world):
    with pytest.raises(RegistryNotYetValid, match="not yet valid"):
        load_registry(world.signed(), [world.governance.public_key], ISSUED - timedelta(seconds=1))


def test_no_trusted_keys_refused(world):
    with pytest.raises(RegistryUntrustedKeyError, match="none configured"):
        load_registry(world.signed(), [], NOW)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"{not json", "malformed json"),
        (b'{"registry": {}, "registry": {}}', "duplicate json key"),
        (b'{"registry": {"serial": 1.5}, "signature": "x", "key_id": "y"}', "integers"),
        (b"\xff\xfe", "not utf-8"),
        (b"[]", "expected a json object"),
    ],
)
def test_malformed_files_refused(world, data, match):
    with pytest.raises(RegistryFormatError, match=match):
        load_registry(data, [world.governance.public_key], NOW)


# -- validation errors name the field -----------------------------------------------------


def _mutations():
    def member(doc, i=0):
        return doc["members"][i]

    return [
        (lambda d: d.pop("serial"), "serial", "required field is missing"),
        (lambda d: d.__setitem__("serial", True), "serial", "expected an integer"),
        (lambda d: d.__setitem__("version", 2), "version", "unsupported version"),
        (lambda d: d.__setitem__("extra", 1), "extra", "unknown field"),
        (lambda d: d.__setitem__("expires_at", d["issued_at"]), "expires_at", "later than"),
        (lambda d: d.__setitem__("issued_at", "2025-03-01"), "issued_at", "rfc 3339"),
        (
            lambda d: member(d)["id"].__setitem__("org_code", "91350100M000100Y44"),
            "members[0].id.org_code",
            "check character mismatch: expected 3, got 4",
        ),
        (
            lambda d: member(d)["id"].__setitem__("region", "BJ"),
            "members[0].id.region",
            "expected one of SH, JS, ZJ, AH",
        ),
        (
            lambda d: member(d)["id"].__setitem__("subsystem", "a b"),
            "members[0].id.subsystem",
            "expected 1-64",
        ),
        (
            lambda d: member(d, 1)["keys"][0].__setitem__("key_id", "00" * 32),
            "members[1].keys[0].key_id",
            "does not match public_key",
        ),
        (
            lambda d: member(d, 1)["keys"][0].__setitem__("public_key", "04abcd"),
            "members[1].keys[0].public_key",
            "public key",
        ),
        (
            lambda d: member(d, 1)["keys"][0].__setitem__("not_after", "2000-01-01T00:00:00Z"),
            "members[1].keys[0].not_after",
            "later than not_before",
        ),
        (
            lambda d: member(d, 1)["tls_fingerprints"].append("xyz"),
            "members[1].tls_fingerprints[1]",
            "64 hex digits",
        ),
        (
            lambda d: member(d, 2)["send_permissions"][0]["recipients"].append(
                "JS/91350100M000100Y43/nobody"
            ),
            "members[2].send_permissions[0].recipients[1]",
            "names no registered member",
        ),
        (
            lambda d: member(d, 2)["receive_permissions"][0]["senders"].append("XX/*"),
            "members[2].receive_permissions[0].senders[1]",
            "expected *, REGION/*",
        ),
        (
            lambda d: member(d, 2)["send_permissions"][0]["kinds"].append("Case Submit"),
            f"members[2].send_permissions[0].kinds[{len(DEV_KINDS)}]",
            "expected",
        ),
        (
            lambda d: member(d)["delivery"].__setitem__("endpoint", "http://x"),
            "members[0].delivery.endpoint",
            "absent when mode is pull",
        ),
        (
            lambda d: member(d, 1)["delivery"].__setitem__("endpoint", "ftp://x/y"),
            "members[1].delivery.endpoint",
            "http(s) url",
        ),
        (
            lambda d: member(d, 1)["delivery"].__setitem__("mode", "email"),
            "members[1].delivery.mode",
            "expected pull or push",
        ),
        (
            lambda d: d["members"].append(copy.deepcopy(member(d))),
            "members[4].id",
            "duplicate member",
        ),
        (
            lambda d: member(d, 3)["keys"].append(copy.deepcopy(member(d, 2)["keys"][0])),
            "members[3].keys[1].key_id",
            "also belongs to ZJ/",
        ),
        (
            lambda d: member(d, 3)["tls_fingerprints"].append(FP_JS.upper()),
            "members[3].tls_fingerprints[0]",
            "already bound to JS/",
        ),
        (
            lambda d: d["log"].__setitem__("origin", "two\nlines"),
            "log.origin",
            "one line",
        ),
        (
            lambda d: d["identity_providers"][0]["loa_mapping"].__setitem__("x", 3),
            "identity_providers[0].loa_mapping.x",
            "non-empty string",
        ),
    ]


@pytest.mark.parametrize(("mutate", "field", "message"), _mutations())
def test_invalid_document_names_field(world, mutate, field, message):
    doc = copy.deepcopy(world.document)
    mutate(doc)
    with pytest.raises(RegistryFormatError) as info:
        load_registry(_resign_raw(world, doc), [world.governance.public_key], NOW)
    assert info.value.field == field
    assert message in str(info.value)
    assert str(info.value).startswith(f"{field}: ")
    # sign_registry refuses to sign the same document.
    with pytest.raises(RegistryFormatError):
        sign_registry(doc, world.governance)


# -- lookups ------------------------------------------------------------------------------


def test_member_lookups(reg):
    assert reg.member(JS).display_name.startswith("苏州")
    assert reg.member(str(JS)) is reg.member(JS)
    assert reg.get_member("SH/91350100M000100Y43/platform") is None
    assert reg.get_member("garbage") is None
    with pytest.raises(RegistryLookupError, match="unknown member"):
        reg.member("SH/91350100M000100Y43/platform")


def test_member_for_cert_fingerprint(reg):
    assert reg.member_for_cert_fingerprint(FP_JS).id == JS
    assert reg.member_for_cert_fingerprint(":".join(["AB"] * 32)).id == JS
    assert reg.member_for_cert_fingerprint(bytes.fromhex(FP_JS)).id == JS
    assert reg.member_for_cert_fingerprint("cd" * 32) is None
    assert reg.member_for_cert_fingerprint("nonsense") is None


def test_keys_valid_at_time(world, reg):
    key = world.members[Region.JS].public_key
    assert reg.signing_key(JS, key.key_id, NOW) == key
    assert reg.key_valid_at(key.key_id, NOW).public_key == key
    assert reg.key_owner(key.key_id).id == JS
    with pytest.raises(RegistryLookupError, match="not valid before"):
        reg.signing_key(JS, key.key_id, ISSUED - timedelta(seconds=1))
    with pytest.raises(RegistryLookupError, match="expired at"):
        reg.key_valid_at(key.key_id, ISSUED + timedelta(days=365))
    sh_key = world.members[Region.SH].public_key.key_id
    with pytest.raises(RegistryLookupError, match="belongs to SH/"):
        reg.signing_key(JS, sh_key, NOW)
    with pytest.raises(RegistryLookupError, match="unknown key"):
        reg.signing_key(JS, "00" * 32, NOW)
    with pytest.raises(RegistryLookupError, match="unknown key"):
        reg.key_valid_at("00" * 32, NOW)


def test_delivery_log_and_identity_providers(world, reg):
    assert str(reg.delivery(SH).mode) == "pull" and reg.delivery(SH).endpoint is None
    js = reg.delivery(JS)
    assert (str(js.mode), js.dialect) == ("push", "js-json/1")
    assert js.endpoint.startswith("http://127.0.0.1:")
    assert reg.log_origin == registry_pkg.DEV_LOG_ORIGIN
    assert reg.log_key(world.log.public_key.key_id, NOW) == world.log.public_key
    with pytest.raises(RegistryLookupError):
        reg.log_key("00" * 32)
    keys = reg.identity_provider_keys("ZJ", NOW)
    assert [k.public_key for k in keys] == [world.idp.public_key]
    assert reg.identity_provider_keys("AH") == ()
    assert (
        reg.identity_providers("ZJ")[0].loa_mapping["urn:zjzwfw:ac:classes:FaceLiveness"]
        == "substantial"
    )


# -- permissions --------------------------------------------------------------------------


def test_dev_permissions_allow_demo_flows(reg):
    for sender in (SH, JS, ZJ, AH):
        for recipient in (SH, JS, ZJ, AH):
            if sender != recipient:
                for kind in ("case.submit", "evidence.request", "matter.lookup"):
                    assert reg.may_send(sender, recipient, kind, "310117-001"), (sender, kind)


def test_permission_refusals_have_reasons(reg):
    decision = reg.check_send(JS, SH, "identity.assert", "x")
    assert not decision and "no send permission of JS/" in decision.reason
    assert "kind 'identity.assert'" in decision.reason
    decision = reg.check_send(JS, JS, "case.submit", "x")
    assert not decision and "same member" in decision.reason
    decision = reg.check_send("SH/91350100M000100Y43/x", JS, "case.submit", "x")
    assert not decision and "sender SH/91350100M000100Y43/x is not a registered" in decision.reason
    decision = reg.check_send(JS, "bad id", "case.submit", "x")
    assert not decision and "recipient bad id is not a registered member" in decision.reason
    assert reg.check_send(JS, SH, "case.submit", "x").reason.startswith("allowed by")


def test_both_sides_must_agree(world):
    doc = copy.deepcopy(world.document)
    members = {MemberId(**m["id"]): m for m in doc["members"]}
    # JS may send cases only for Suzhou matters (3205*) and only to Shanghai.
    members[JS]["send_permissions"] = [
        {"kinds": ["case.submit"], "matters": ["3205*"], "recipients": [str(SH)]},
        {"kinds": ["matter.*"], "matters": ["*"], "recipients": ["ZJ/*"]},
    ]
    # SH accepts case.submit from Jiangsu members only.
    members[SH]["receive_permissions"] = [
        {"kinds": ["case.submit"], "matters": ["*"], "senders": ["JS/*"]}
    ]
    reg = load_registry(world.signed(doc), [world.governance.public_key], NOW)
    assert reg.may_send(JS, SH, "case.submit", "320500-0001")
    assert not reg.may_send(JS, SH, "case.submit", "330100-0001")  # matter pattern
    assert not reg.may_send(JS, ZJ, "case.submit", "320500-0001")  # recipient
    assert reg.may_send(JS, ZJ, "matter.lookup", "")  # region wildcard, empty matter
    assert not reg.may_send(JS, AH, "matter.lookup", "")
    refused = reg.check_send(ZJ, SH, "case.submit", "320500-0001")
    assert not refused and "no receive permission of SH/" in refused.reason
    assert not reg.may_send(JS, SH, "case.submitx", "320500-0001")  # glob is anchored


def test_member_without_permissions_can_do_nothing(world):
    doc = copy.deepcopy(world.document)
    for m in doc["members"]:
        m.pop("send_permissions")
    reg = load_registry(world.signed(doc), [world.governance.public_key], NOW)
    assert not reg.may_send(JS, SH, "case.submit", "x")


# -- dev registry and package surface -----------------------------------------------------


def test_dev_registry_members():
    assert [str(r) for r in DEV_MEMBERS] == ["SH", "JS", "ZJ", "AH"]
    for dev in DEV_MEMBERS.values():
        assert registry_pkg.is_valid_uscc(dev.member_id.org_code)
    assert DEV_MEMBERS[Region.JS].member_id.subsystem == "suzhou"


def test_dev_registry_endpoint_override_and_subset():
    w = make_world(endpoints={"SH": "https://sh.example/yrd"}, serial=5)
    assert w.document["serial"] == 5
    sh = w.document["members"][0]
    assert sh["delivery"] == {
        "mode": "push",
        "dialect": "yrd-canonical/1",
        "endpoint": "https://sh.example/yrd",
    }
    governance = PrivateKey.generate()
    doc = build_dev_registry(
        {"SH": PrivateKey.generate().public_key, "AH": PrivateKey.generate().public_key},
        governance.public_key,
        [PrivateKey.generate().public_key],
        now=ISSUED,
    )
    reg = load_registry(sign_registry(doc, governance), [governance.public_key], NOW)
    assert [m.id for m in reg.members] == [SH, AH]


def test_all_is_sorted_and_complete():
    names = registry_pkg.__all__
    # the order of tests/test_public_api.py (ruff's isort style): CONSTANTS, Classes, functions
    assert names == sorted(
        names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )
    for name in names:
        assert hasattr(registry_pkg, name), name
