"""What normalised delivery costs per exchange, side by side with what the commit path did
before it, in one process.

    .venv/bin/python bench/translation.py [--seconds 2]

For a 1-material and a 200-material canonical ``case.submit`` and each recipient dialect:

- baseline: what the commit path did before translation (the canonical JSON and its SM3);
- translation: ``Translator.translate`` as the commit path runs it now: canonical JSON and
  SM3, the recipient's payload (``from_canonical``), its SM3, the attestation statement and
  its SM2 signature (native backend);
- the parts: ``from_canonical`` alone and the SM2 signature alone.

CPU time per operation (this process's user + system time), so a busy shared machine
inflates it less than wall time. Prints the figures and the ratio; writes
bench/results/translation.json.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import write_results
from gateway.dialects.catalogue import default_dialects
from gateway.encoding import canonical_json
from gateway.exchange.commit import VerifiedExchange
from gateway.exchange.envelopes import signed_envelope
from gateway.exchange.translation import Translator
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.registry import (
    DEV_MEMBERS,
    Region,
    TrustRegistry,
    build_dev_registry,
    load_registry,
    sign_registry,
)
from ledger.crypto import PrivateKey, sm3

KIND = "case.submit"


def case(materials: int) -> dict[str, Any]:
    """A canonical case.submit (SAMPLE values, pseudonymous person key)."""
    return {
        "case_id": "G60-SZ-2026-000101",
        "matter_code": "010010300100",
        "applicant": {"person_key": "pk:yrd:7f3a9c0e5b1d2468", "masked_name": "李*华"},
        "handling_mode": "异地代收代办",
        "materials": [
            {"material_id": f"M{i:03d}", "name": "公司登记（备案）申请书", "digest_sm3": "ab" * 32}
            for i in range(materials)
        ],
        "receiving_city": "苏州",
        "submitted_at": "2026-11-28T10:15:00+08:00",
    }


def cpu_per_op(fn, seconds: float) -> tuple[float, int]:
    """CPU microseconds per call of ``fn`` over about ``seconds`` of CPU time."""
    calls = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        for _ in range(10):
            fn()
        calls += 10
    return 1e6 * (time.process_time() - start) / calls, calls


ATTESTATION = PrivateKey.generate()


def dev_registry() -> TrustRegistry:
    """The dev registry (each member receives in its region's dialect), freshly signed."""
    governance = PrivateKey.generate()
    document = build_dev_registry(
        {r: PrivateKey.generate().public_key for r in Region},
        governance.public_key,
        [PrivateKey.generate().public_key],
        attestation_keys=[ATTESTATION.public_key],
    )
    return load_registry(sign_registry(document, governance), [governance.public_key])


def _digest(canonical: dict[str, Any]) -> bytes:
    """What the commit path did with the canonical form before translation."""
    return sm3(canonical_json(canonical))


def _translate(loop: asyncio.AbstractEventLoop, translator: Translator, verified) -> None:
    loop.run_until_complete(translator.translate(verified))


def run(seconds: float) -> dict[str, Any]:
    dialects = default_dialects()
    sender = DEV_MEMBERS[Region.SH]
    registry = dev_registry()
    results: dict[str, Any] = {}
    for materials in (1, 200):
        canonical = case(materials)
        source = dialects.get("SH").codec
        payload = source.from_canonical(KIND, canonical)
        per_size: dict[str, Any] = {"canonical_bytes": len(canonical_json(canonical))}
        for region in (Region.SH, Region.JS, Region.ZJ, Region.AH):
            recipient = DEV_MEMBERS[region]
            translator = Translator(dialects=dialects, registry=lambda: registry, key=ATTESTATION)
            signed = signed_envelope(
                key=PrivateKey.generate(), sender=str(sender.member_id),
                recipient=str(recipient.member_id), kind=KIND, matter="010010300100",
                payload=payload, dialect=source.dialect, content_type=source.content_type,
            )  # fmt: skip
            envelope = exchange_pb2.Envelope.FromString(signed.envelope)
            verified = VerifiedExchange(
                signed, envelope, sm3(signed.envelope), str(sender.member_id),
                str(recipient.member_id), canonical, time.time(), "010010300100",
            )  # fmt: skip
            codec = dialects.by_dialect(recipient.dialect).codec
            delivered = codec.from_canonical(KIND, canonical)
            loop = asyncio.new_event_loop()
            try:
                baseline, _ = cpu_per_op(partial(_digest, canonical), seconds)
                full, calls = cpu_per_op(partial(_translate, loop, translator, verified), seconds)
            finally:
                loop.close()
            encode, _ = cpu_per_op(partial(codec.from_canonical, KIND, canonical), seconds)
            sign, _ = cpu_per_op(partial(ATTESTATION.sign, b"x" * 400), seconds)
            per_size[recipient.dialect] = {
                "baseline_us": baseline,
                "translation_us": full,
                "from_canonical_us": encode,
                "sm2_sign_us": sign,
                "added_us": full - baseline,
                "ratio": full / baseline,
                "delivered_bytes": len(delivered),
                "calls": calls,
            }
            print(
                f"{materials:>3} materials -> {recipient.dialect:<18} baseline {baseline:8.1f} us"
                f"  translation {full:8.1f} us (from_canonical {encode:7.1f}, sm2 sign "
                f"{sign:6.1f})  +{full - baseline:7.1f} us/exchange  x{full / baseline:.1f}"
            )
        results[str(materials)] = per_size
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    results = run(args.seconds)
    print(f"wrote {write_results('translation', {'seconds': args.seconds, 'sizes': results})}")


if __name__ == "__main__":
    main()
