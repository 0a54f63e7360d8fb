"""The generated protobuf code is current and importable by package path; envelopes are
signed over the exact bytes shipped."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.exchange.envelopes import signed_envelope
from gateway.pb.yrd.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    common_pb2,
    exchange_pb2,
    exchange_pb2_grpc,
    licences_pb2,
    licences_pb2_grpc,
)
from gateway.registry import dev_member_id
from ledger.crypto import PrivateKey, sm3
from ledger.errors import SignatureError

ROOT = Path(__file__).resolve().parents[2]
GEN = ROOT / "scripts" / "gen_protos.py"


def _load_generator():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_protos", GEN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_code_is_not_stale():
    result = subprocess.run(
        [sys.executable, str(GEN), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr


def test_check_lists_stale_missing_and_unexpected_files(tmp_path):
    gen = _load_generator()
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    gen.generate(fresh)
    actual = tmp_path / "actual"
    actual.mkdir()
    gen.generate(actual)
    assert gen.diff(fresh, actual) == []

    (actual / "yrd" / "v1" / "exchange_pb2.py").write_text("# edited by hand\n")
    (actual / "yrd" / "v1" / "audit_pb2.pyi").unlink()
    (actual / "yrd" / "v1" / "old_pb2.py").write_text("")
    assert gen.diff(fresh, actual) == [
        "missing: yrd/v1/audit_pb2.pyi",
        "stale: yrd/v1/exchange_pb2.py",
        "unexpected: yrd/v1/old_pb2.py",
    ]


def test_generation_is_deterministic(tmp_path):
    gen = _load_generator()
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    gen.generate(a)
    gen.generate(b)
    assert gen.diff(a, b) == []


def _generated_sources() -> list[Path]:
    """The generated ``.py``/``.pyi`` files; never ``__pycache__/*.pyc`` (bytecode, not text,
    and present whenever the tests run without ``PYTHONDONTWRITEBYTECODE``)."""
    pb = ROOT / "gateway" / "pb"
    return sorted(p for p in pb.rglob("*") if p.suffix in (".py", ".pyi") and p.is_file())


def test_generated_imports_use_the_gateway_package():
    sources = _generated_sources()
    assert any(p.name == "exchange_pb2.py" for p in sources)
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert "from yrd." not in text, path
        assert "from yrd " not in text, path


def test_signed_envelope_signs_the_bytes_it_ships():
    """``signed_envelope`` serialises once and signs those bytes: the signature verifies over
    ``SignedEnvelope.envelope`` as shipped, one flipped bit breaks it, the digest is SM3 of
    the payload, and the caller's fields (and a fresh UUID4 id) are in the envelope."""
    key = PrivateKey.generate()
    created = datetime(2026, 11, 28, 2, 0, 0, 123_000, tzinfo=UTC)
    payload = b'{"case": "demo"}'
    signed = signed_envelope(
        key=key,
        sender=str(dev_member_id("JS")),
        recipient=str(dev_member_id("SH")),
        kind="case.submit",
        matter="JS-320000-0001",
        payload=payload,
        dialect="js-json/1",
        content_type="application/json",
        created_at=created,
        nonce=bytes(range(16)),
    )
    key.public_key.verify(signed.envelope, signed.signature)
    assert signed.key_id == key.public_key.key_id
    flipped = bytes([signed.envelope[0] ^ 1]) + signed.envelope[1:]
    with pytest.raises(SignatureError):
        key.public_key.verify(flipped, signed.signature)
    envelope = exchange_pb2.Envelope.FromString(signed.envelope)
    assert envelope.payload == payload and envelope.payload_digest == sm3(payload)
    assert envelope.sender.region == common_pb2.REGION_JS
    assert envelope.recipient.region == common_pb2.REGION_SH
    assert (envelope.kind, envelope.matter_ref, envelope.dialect) == (
        "case.submit",
        "JS-320000-0001",
        "js-json/1",
    )
    assert envelope.created_at.ToDatetime(tzinfo=UTC) == created
    assert envelope.nonce == bytes(range(16))
    assert uuid.UUID(envelope.exchange_id).version == 4


@pytest.mark.parametrize(
    ("module", "service", "methods"),
    [
        (
            exchange_pb2_grpc,
            "Exchange",
            ["Submit", "SubmitStream", "Pull", "GetReceipt", "GetStatus", "WatchStatus"],
        ),
        (
            audit_pb2_grpc,
            "Audit",
            ["GetCheckpoint", "GetInclusionProof", "GetConsistencyProof", "GetAnchors"],
        ),
        (licences_pb2_grpc, "Licences", ["Verify"]),
    ],
)
def test_services_have_stubs_and_servicers(module, service, methods):
    assert hasattr(module, f"{service}Stub")
    servicer = getattr(module, f"{service}Servicer")
    for name in methods:
        assert callable(getattr(servicer, name))
    descriptor = {"Exchange": exchange_pb2, "Audit": audit_pb2, "Licences": licences_pb2}[
        service
    ].DESCRIPTOR
    assert [m.name for m in descriptor.services_by_name[service].methods] == methods


def _well_known_root() -> Path:
    from importlib import resources

    return Path(str(resources.files("grpc_tools") / "_proto"))


def test_every_proto_import_resolves_within_protos_or_well_known_types():
    """A client needs only ``protos/`` and protobuf's well-known types to compile ours."""
    protos = ROOT / "protos"
    well_known = _well_known_root()
    files = sorted(protos.rglob("*.proto"))
    assert files
    for path in files:
        for name in re.findall(r'^import\s+(?:public\s+)?"([^"]+)";', path.read_text(), re.M):
            if name.startswith("google/protobuf/"):
                assert (well_known / name).is_file(), (path, name)
            else:
                assert (protos / name).is_file(), (path, name)


def test_google_rpc_protos_are_shipped_unchanged_and_not_generated():
    """protos/google/rpc is a copy of googleapis-common-protos' files (docs/errors.md names
    the version); Python code takes google.rpc from that package, not from gateway.pb."""
    from google.rpc import status_pb2

    installed = Path(status_pb2.__file__).parent
    shipped = ROOT / "protos" / "google" / "rpc"
    names = ["code.proto", "error_details.proto", "status.proto"]
    assert sorted(p.name for p in shipped.glob("*.proto")) == names
    for name in names:
        assert (shipped / name).read_bytes() == (installed / name).read_bytes(), name
    version = importlib.metadata.version("googleapis-common-protos")
    assert f"googleapis-common-protos` Python package, version {version}" in (
        ROOT / "docs" / "errors.md"
    ).read_text(encoding="utf-8")
    gen = _load_generator()
    assert all(p.relative_to(ROOT / "protos").parts[0] != "google" for p in gen.proto_files())
    assert not (ROOT / "gateway" / "pb" / "google").exists()
