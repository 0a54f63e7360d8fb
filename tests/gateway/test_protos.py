"""The generated protobuf code is current, importable by package path, and round-trips."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from google.protobuf import timestamp_pb2

from gateway.pb.yrd.v1 import audit_pb2, audit_pb2_grpc, common_pb2, exchange_pb2, exchange_pb2_grpc
from ledger.crypto import PrivateKey, sm3

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


def _envelope() -> exchange_pb2.Envelope:
    payload = b'{"case": "demo"}'
    created = timestamp_pb2.Timestamp(seconds=1_735_689_600, nanos=123_000_000)
    return exchange_pb2.Envelope(
        exchange_id=str(uuid.UUID(int=42)),
        sender=common_pb2.MemberId(
            region=common_pb2.REGION_JS, org_code="91350100M000100Y43", subsystem="suzhou"
        ),
        recipient=common_pb2.MemberId(
            region=common_pb2.REGION_SH, org_code="91350100M000100Y43", subsystem="platform"
        ),
        kind="case.submit",
        matter_ref="310117000000-demo",
        payload=payload,
        payload_digest=sm3(payload),
        payload_content_type="application/json",
        dialect="jiangsu",
        created_at=created,
        nonce=bytes(range(16)),
    )


def test_envelope_round_trip_and_signature_over_exact_bytes():
    envelope = _envelope()
    raw = envelope.SerializeToString()
    parsed = exchange_pb2.Envelope.FromString(raw)
    assert parsed == envelope
    assert parsed.sender.region == common_pb2.REGION_JS
    assert parsed.created_at.ToDatetime().year == 2025
    assert parsed.payload_digest == sm3(parsed.payload)

    key = PrivateKey.generate()
    signed = exchange_pb2.SignedEnvelope(
        envelope=raw, signature=key.sign(raw), key_id=key.public_key.key_id
    )
    again = exchange_pb2.SignedEnvelope.FromString(signed.SerializeToString())
    # The gateway verifies the bytes it received, never a re-serialisation.
    key.public_key.verify(again.envelope, again.signature)
    assert exchange_pb2.Envelope.FromString(again.envelope) == envelope


def test_oneofs_and_enums():
    result = exchange_pb2.SubmitResult(
        sequence=3, error=exchange_pb2.SubmitError(code=7, message="not permitted")
    )
    assert result.WhichOneof("outcome") == "error"
    pull = exchange_pb2.PullMessage(
        ack=exchange_pb2.Ack(delivery_id="d1", outcome=exchange_pb2.ACK_OUTCOME_ACCEPTED)
    )
    assert pull.WhichOneof("message") == "ack"
    req = audit_pb2.GetInclusionProofRequest(exchange_id="x", tree_size=0)
    assert req.WhichOneof("leaf") == "exchange_id"
    anchor = audit_pb2.Anchor(status=audit_pb2.ANCHOR_STATUS_CONFIRMED, tree_size=9)
    assert audit_pb2.Anchor.FromString(anchor.SerializeToString()) == anchor


@pytest.mark.parametrize(
    ("module", "service", "methods"),
    [
        (exchange_pb2_grpc, "Exchange", ["Submit", "SubmitStream", "Pull", "GetReceipt"]),
        (
            audit_pb2_grpc,
            "Audit",
            ["GetCheckpoint", "GetInclusionProof", "GetConsistencyProof", "GetAnchors"],
        ),
    ],
)
def test_services_have_stubs_and_servicers(module, service, methods):
    assert hasattr(module, f"{service}Stub")
    servicer = getattr(module, f"{service}Servicer")
    for name in methods:
        assert callable(getattr(servicer, name))
    descriptor = (exchange_pb2 if service == "Exchange" else audit_pb2).DESCRIPTOR
    assert [m.name for m in descriptor.services_by_name[service].methods] == methods
