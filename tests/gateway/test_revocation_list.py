"""The revocation-list format: what is accepted, and each refusal named by its check."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from gateway.encoding import canonical_json
from gateway.identity.revocation import (
    RevocationCheck,
    RevocationListError,
    sign_list,
    verify_list,
)
from ledger.crypto import PrivateKey

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
KEY, OTHER, STRANGER = PrivateKey.generate(), PrivateKey.generate(), PrivateKey.generate()
KEYS = [(k.public_key.key_id, k.public_key) for k in (KEY, OTHER)]
ISSUER = "https://tyrz.jszwfw.gov.cn"


def doc(key=KEY, **over) -> bytes:
    fields = {
        "issuer": ISSUER,
        "region": "JS",
        "version": 3,
        "issued_at": NOW,
        "next_update": NOW + timedelta(minutes=5),
        "revoked_assertions": {"a-1": NOW},
        "revoked_keys": {},
    }
    fields.update(over)
    return sign_list(key, **fields)


def verify(data: bytes, last=None, max_bytes: int = 1 << 20):
    return verify_list(data, keys=KEYS, issuer=ISSUER, region="JS", last=last, max_bytes=max_bytes)


def test_a_good_list_is_accepted():
    listed = verify(doc())
    assert (listed.version, listed.signed_by) == (3, KEY.public_key.key_id)
    assert set(listed.revoked_assertions) == {"a-1"}
    assert listed.next_update == NOW + timedelta(minutes=5)
    # the same version with the same bytes again: accepted, nothing changes
    assert verify(doc(), last=listed).version == 3
    assert verify(doc(version=4), last=listed).version == 4


def _resigned(mutate) -> bytes:
    """A document whose list bytes are changed by ``mutate`` and signed again."""
    outer = json.loads(doc())
    body = json.loads(base64.b64decode(outer["list"]))
    mutate(body)
    raw = canonical_json(body)
    outer["list"] = base64.b64encode(raw).decode()
    outer["signature"] = base64.b64encode(KEY.sign(raw)).decode()
    return canonical_json(outer)


def _flip_signature() -> bytes:
    outer = json.loads(doc())
    sig = bytearray(base64.b64decode(outer["signature"]))
    sig[-1] ^= 1
    outer["signature"] = base64.b64encode(bytes(sig)).decode()
    return canonical_json(outer)


def _changed_body_same_signature() -> bytes:
    outer = json.loads(doc())
    body = json.loads(base64.b64decode(outer["list"]))
    body["revoked_assertions"] = []
    outer["list"] = base64.b64encode(canonical_json(body)).decode()
    return canonical_json(outer)


def _deep() -> bytes:
    return b'{"v":1,"key_id":' + b"[" * 10 + b"]" * 10 + b',"list":"","signature":""}'


CASES = [
    ("oversized", lambda: doc() + b" " * 2048, RevocationCheck.TOO_LARGE, "limit"),
    ("not json", lambda: b"<html>", RevocationCheck.MALFORMED, "not valid json"),
    ("too deep", _deep, RevocationCheck.MALFORMED, "nest"),
    ("extra field", lambda: _resigned(lambda b: b.update(extra=1)), RevocationCheck.MALFORMED,
     "expected fields"),
    ("unknown key", lambda: doc(key=STRANGER), RevocationCheck.UNKNOWN_KEY, "not a valid key"),
    ("flipped signature", _flip_signature, RevocationCheck.BAD_SIGNATURE, "signature"),
    ("changed list", _changed_body_same_signature, RevocationCheck.BAD_SIGNATURE, "signature"),
    ("other issuer", lambda: doc(issuer="https://evil"), RevocationCheck.WRONG_ISSUER, "evil"),
    ("other region", lambda: doc(region="ZJ"), RevocationCheck.WRONG_ISSUER, "(ZJ)"),
    ("version 0", lambda: doc(version=0), RevocationCheck.MALFORMED, "version"),
    ("next_update first", lambda: doc(next_update=NOW - timedelta(seconds=1)),
     RevocationCheck.MALFORMED, "next_update"),
    ("self-revoking key", lambda: doc(revoked_keys={KEY.public_key.key_id: NOW}),
     RevocationCheck.REVOKED_KEY, "revokes it"),
    ("long id", lambda: doc(revoked_assertions={"x" * 129: NOW}), RevocationCheck.MALFORMED,
     "1..128"),
    ("bad time", lambda: _resigned(lambda b: b.update(issued_at="yesterday")),
     RevocationCheck.MALFORMED, "issued_at"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "check", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_refusals_name_the_check(data, check, words):
    with pytest.raises(RevocationListError) as info:
        verify(data(), max_bytes=len(doc()) + 1024)
    assert info.value.code is check, str(info.value)
    assert str(info.value).startswith(f"{check}: ")
    assert words in str(info.value)


def test_versions_never_go_backwards_and_revoked_keys_cannot_sign():
    last = verify(doc(version=5, revoked_keys={OTHER.public_key.key_id: NOW}))
    with pytest.raises(RevocationListError) as info:
        verify(doc(version=4), last=last)
    assert info.value.code is RevocationCheck.OLDER_VERSION
    with pytest.raises(RevocationListError) as info:
        verify(doc(version=5, revoked_assertions={}), last=last)
    assert info.value.code is RevocationCheck.CONFLICTING_VERSION
    with pytest.raises(RevocationListError) as info:
        verify(doc(key=OTHER, version=6), last=last)
    assert info.value.code is RevocationCheck.REVOKED_KEY
    assert "version 5" in str(info.value)


# -- the registry field ---------------------------------------------------------------------


def _registry(**providers_url) -> bytes:
    from gateway.registry import build_dev_registry, sign_registry

    governance = GOVERNANCE
    document = build_dev_registry(
        {"JS": MEMBER.public_key},
        governance.public_key,
        [LOG.public_key],
        identity_provider_keys={"JS": KEY.public_key, "ZJ": OTHER.public_key},
        now=NOW - timedelta(days=1),
        revocation_urls=providers_url,
    )
    return sign_registry(document, governance)


GOVERNANCE, MEMBER, LOG = PrivateKey.generate(), PrivateKey.generate(), PrivateKey.generate()


def test_registry_revocation_url_is_optional_and_checked():
    from gateway.registry import RegistryFormatError, load_registry

    url = "https://idp.js.example/identity/revocations"
    reg = load_registry(_registry(JS=url), [GOVERNANCE.public_key], NOW)
    assert [p.revocation_url for p in reg.identity_providers("JS")] == [url]
    assert [p.revocation_url for p in reg.identity_providers("ZJ")] == [""]
    for bad in ("ftp://idp/list", "https://idp/ list", "https://" + "a" * 2048):
        with pytest.raises(RegistryFormatError, match="revocation_url"):
            load_registry(_registry(JS=bad), [GOVERNANCE.public_key], NOW)


def test_revocation_settings_are_read_and_checked(tmp_path):
    from gateway.app.settings import Settings
    from gateway.dialects import default_dialects
    from gateway.errors import ConfigError
    from gateway.rpc.identity import revocation_watch_for

    def watch(**identity):
        settings = Settings.load(env={}, data_dir=tmp_path, extra={"identity": identity})
        return revocation_watch_for(settings, lambda: None, default_dialects(), None)

    default = watch()
    assert (default.poll_seconds, default.timeout_seconds) == (30, 10)
    assert (default.grace.total_seconds(), default.max_bytes) == (60, 1 << 20)
    configured = watch(revocation_poll_seconds=0.2, revocation_max_bytes=4096)
    assert (configured.poll_seconds, configured.max_bytes) == (0.2, 4096)
    for bad in (0, -1, "30", True):
        with pytest.raises(ConfigError, match="revocation_poll_seconds"):
            watch(revocation_poll_seconds=bad)
