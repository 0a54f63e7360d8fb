"""RegistryHolder keeps the last good registry when a reload fails."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from gateway.registry import (
    RegistryError,
    RegistryExpired,
    RegistryFormatError,
    RegistryHolder,
    RegistryRollbackError,
    RegistrySignatureError,
    RegistrySourceError,
    RegistryUntrustedKeyError,
)
from ledger.crypto import PrivateKey

from .test_registry import ISSUED, NOW, make_world


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def _doc(world, serial):
    doc = copy.deepcopy(world.document)
    doc["serial"] = serial
    return doc


def test_holder_keeps_last_good_copy(tmp_path):
    world = make_world()
    path = tmp_path / "registry.json"
    path.write_bytes(world.signed(_doc(world, 1)))
    clock = Clock(NOW)
    holder = RegistryHolder(path, [world.governance.public_key], clock)
    assert holder.current is None and not holder.healthy

    assert holder.reload() is True
    good = holder.current
    assert good.serial == 1 and holder.healthy and holder.last_error is None
    assert holder.loaded_at == NOW

    # Same bytes again: unchanged, no error.
    assert holder.reload() is False
    assert holder.current is good and holder.last_error is None

    # A tampered file: refused, old copy kept, error recorded.
    path.write_bytes(world.signed(_doc(world, 2)).replace(b'"serial": 2', b'"serial": 3'))
    assert holder.reload() is False
    assert holder.current is good
    assert isinstance(holder.last_error, RegistrySignatureError)
    assert holder.failures == 1 and not holder.healthy

    # Garbage, a missing file, a rogue signer: each refused, the copy survives.
    path.write_bytes(b"{")
    assert holder.reload() is False
    assert isinstance(holder.last_error, RegistryFormatError)
    path.unlink()
    assert holder.reload() is False
    assert isinstance(holder.last_error, RegistrySourceError)
    assert "cannot read registry file" in str(holder.last_error)
    rogue = PrivateKey.generate()
    doc = _doc(world, 9)
    doc["governance_key_id"] = rogue.public_key.key_id
    path.write_bytes(world.signed(doc, rogue))
    assert holder.reload() is False
    assert isinstance(holder.last_error, RegistryUntrustedKeyError)
    assert holder.failures == 4
    assert holder.current is good

    # A good new serial replaces it and clears the alarm.
    path.write_bytes(world.signed(_doc(world, 2)))
    assert holder.reload() is True
    assert holder.current.serial == 2
    assert holder.last_error is None and holder.failures == 0 and holder.healthy


def test_holder_refuses_rollback(tmp_path):
    world = make_world()
    path = tmp_path / "registry.json"
    path.write_bytes(world.signed(_doc(world, 5)))
    holder = RegistryHolder(path, [world.governance.public_key], Clock(NOW))
    assert holder.reload()
    for serial in (4, 5):  # older, and same serial with different content
        doc = _doc(world, serial)
        doc["log"]["origin"] = f"other-{serial}"
        path.write_bytes(world.signed(doc))
        assert holder.reload() is False
        assert isinstance(holder.last_error, RegistryRollbackError)
        assert f"in use 5, got {serial}" in str(holder.last_error)
    assert holder.current.serial == 5


def test_holder_reports_expiry_of_copy_in_use(tmp_path):
    world = make_world()
    path = tmp_path / "registry.json"
    path.write_bytes(world.signed())
    clock = Clock(NOW)
    holder = RegistryHolder(path, [world.governance.public_key], clock)
    assert holder.reload()
    clock.now = ISSUED + timedelta(days=400)
    assert holder.reload() is False
    assert isinstance(holder.last_error, RegistryExpired)
    assert holder.current is not None  # kept; the server decides what an expired copy means


def test_require_without_registry(tmp_path):
    world = make_world()
    holder = RegistryHolder(tmp_path / "missing.json", [world.governance.public_key])
    with pytest.raises(RegistryError, match="no trust registry loaded"):
        holder.require()
    assert holder.reload() is False
    with pytest.raises(RegistrySourceError, match=r"missing\.json"):
        holder.require()
