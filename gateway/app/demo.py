"""``yrdgw demo``: a scripted cross-region scenario against a real gateway on loopback.

1. a Jiangsu city system (Suzhou) submits a signed case in Jiangsu's dialect to Shanghai;
2. Shanghai pulls the delivery (normalised to the canonical model) and acks it;
3. Shanghai sends a status update to Zhejiang (Hangzhou);
4. the Zhejiang system pulls that delivery and acks it;
5. every receipt is written to DIR with the trust file, and ``yrd-audit verify`` checks each.

Exit status 0 only if every step and every check passed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from gateway.app.devenv import DevEnvironment
from gateway.app.gateway import Gateway
from gateway.app.instance import InstanceLock
from gateway.app.serve import build_gateway
from gateway.app.settings import Settings
from gateway.client import GatewayClient
from gateway.errors import ConfigError
from gateway.pb.yrd.v1 import exchange_pb2
from gateway.tls import TlsFiles
from ledger.crypto import sm3
from ledger.trust import TrustStore

__all__ = [
    "main",
    "run",
]

CASE = {
    "case_id": "SZ-G60-2026-000123",
    "matter_code": "010010300100",
    "applicant": {"person_key": "pk-demo-0000000000000001", "masked_name": "李*华"},
    "handling_mode": "全程网办",
    "materials": [
        {
            "material_id": "M01",
            "name": "公司登记（备案）申请书",
            "digest_sm3": sm3("申请书（示例）".encode()).hex(),
        },
    ],
    "receiving_city": "苏州",
    "submitted_at": "2026-11-28T09:30:00+08:00",
}


def _dev_env(gateway: Gateway) -> DevEnvironment:
    """The demo runs on ``--dev`` material (``build_gateway(..., dev=True)`` makes it)."""
    env = gateway.dev_env
    assert env is not None
    return env


def _outbox_status(gateway: Gateway, exchange_id: str) -> str:
    row = gateway.store.outbox_row(exchange_id)
    return "missing" if row is None else row[0]


def _client(gateway: Gateway, region: str) -> GatewayClient:
    env = _dev_env(gateway)
    cert = env.clients[region]
    return GatewayClient(
        f"127.0.0.1:{gateway.grpc_port}",
        member=env.member_id(region),
        key=env.member_keys[region],
        tls=TlsFiles(env.ca.cert_pem, cert.cert_pem, cert.key_pem),
        trust=TrustStore.load(env.trust_path.read_bytes()),
    )


def _step(n: int, text: str) -> None:
    print(f"[{n}] {text}", flush=True)


async def _pull_one(
    client: GatewayClient, exchange_id: str, within: float = 60.0
) -> exchange_pb2.Delivery:
    """Pull and ack until ``exchange_id`` arrives; a demo that never gets it fails, not hangs."""
    try:
        async with asyncio.timeout(within), client.pull() as deliveries:
            async for delivery in deliveries:
                await deliveries.ack(delivery)
                envelope = exchange_pb2.Envelope.FromString(delivery.envelope.envelope)
                if envelope.exchange_id == exchange_id:
                    return delivery
    except TimeoutError:
        pass
    raise ConfigError(f"delivery of {exchange_id} did not arrive within {within:.0f} s")


async def run(out_dir: Path, data_dir: Path) -> int:
    settings = Settings.load(
        env={}, data_dir=data_dir, grpc_port=0, http_port=0, anchor_mode="off", dev=True
    )
    gateway = await build_gateway(settings, simulators=None)
    await gateway.start()
    receipts: list[tuple[str, exchange_pb2.Receipt]] = []
    try:
        env = _dev_env(gateway)
        _step(
            0,
            f"gateway up: gRPC 127.0.0.1:{gateway.grpc_port} (mTLS), log origin "
            f"{gateway.log.origin}",
        )
        jiangsu = gateway.adapters.get("JS").codec
        payload = jiangsu.from_canonical("case.submit", CASE)
        async with _client(gateway, "JS") as suzhou:
            signed = suzhou.build(
                recipient=env.member_id("SH"),
                kind="case.submit",
                payload=payload,
                matter=str(CASE["matter_code"]),
                dialect=jiangsu.dialect,
                content_type=jiangsu.content_type,
            )
            receipt = await suzhou.submit(signed)
            receipts.append(("1-jiangsu-case-submit", receipt))
            _step(
                1,
                f"Suzhou ({env.member_id('JS')}) submitted case {CASE['case_id']} in "
                f"{jiangsu.dialect}: leaf {receipt.leaf_index}, tree {receipt.tree_size}, "
                "receipt verified",
            )
        first_id = exchange_pb2.Envelope.FromString(signed.envelope).exchange_id
        async with _client(gateway, "SH") as shanghai:
            delivery = await _pull_one(shanghai, first_id)
            row = gateway.store.exchange(first_id)
            assert row is not None  # pulled and acked: it was committed
            canonical = json.loads(row.canonical)
            _step(
                2,
                f"Shanghai pulled and acked delivery (attempt {delivery.attempt}); "
                f"normalised case_id={canonical['case_id']}, "
                f"outbox: {_outbox_status(gateway, first_id)}",
            )
            status = json.dumps(
                {
                    "case_id": CASE["case_id"],
                    "status": "in_progress",
                    "time": "2026-11-28T10:00:00+08:00",
                    "note": "材料已流转至浙江办理",
                },
                ensure_ascii=False,
            ).encode()
            update = shanghai.build(
                recipient=env.member_id("ZJ"),
                kind="case.status",
                payload=status,
                dialect="yrd-canonical/1",
            )
            receipt = await shanghai.submit(update)
            receipts.append(("3-shanghai-case-status", receipt))
            _step(3, f"Shanghai sent a status update to Hangzhou: leaf {receipt.leaf_index}")
        second_id = exchange_pb2.Envelope.FromString(update.envelope).exchange_id
        async with _client(gateway, "ZJ") as hangzhou:
            delivery = await _pull_one(hangzhou, second_id)
            _step(
                4,
                f"Hangzhou ({env.member_id('ZJ')}) pulled and acked it; outbox: "
                f"{_outbox_status(gateway, second_id)}",
            )
    finally:
        await gateway.stop(grace=2)

    # Files and the auditor subprocess block: run them off the event loop.
    failures = await asyncio.to_thread(_write_and_audit, out_dir, env, receipts)
    return 0 if not failures else 1


def _write_and_audit(
    out_dir: Path, env: DevEnvironment, receipts: list[tuple[str, exchange_pb2.Receipt]]
) -> int:
    """Write the trust file and each receipt to ``out_dir`` and audit each with
    ``yrd-audit verify`` in a subprocess; the number that failed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    trust = out_dir / "trust.json"
    trust.write_bytes(env.trust_path.read_bytes())
    failures = 0
    for name, receipt in receipts:
        path = out_dir / f"{name}.json"
        path.write_text(receipt.receipt_json, encoding="utf-8")
        audit = subprocess.run(
            [sys.executable, "-m", "ledger.audit_cli", "verify", str(path), "--trust", str(trust)],
            capture_output=True,
            text=True,
            check=False,
        )
        ok = audit.returncode == 0
        failures += not ok
        _step(
            5,
            f"yrd-audit verify {path.name}: {'VALID' if ok else 'INVALID'} "
            f"{(audit.stderr or '').strip()}",
        )
    print("demo: all checks passed" if not failures else f"demo: {failures} check(s) failed")
    return failures


def _writable_dir(path: Path, what: str) -> None:
    """Make ``path`` (and its parents) now, so a bad ``--out`` fails before the scenario."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {path} is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {what} {path}: {exc.strerror or exc}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {path} is not writable")


def main(out: str | None, data_dir: str | None) -> int:
    """Run the scenario; ``ConfigError`` if ``out`` or ``data_dir`` cannot be used (checked
    first) or the data directory is held by a running gateway."""
    with tempfile.TemporaryDirectory(prefix="yrd-demo-") as tmp:
        out_dir = Path(out) if out else Path(tmp) / "receipts"
        data = Path(data_dir) if data_dir else Path(tmp) / "data"
        _writable_dir(out_dir, "--out directory")
        with InstanceLock(data):
            code = asyncio.run(run(out_dir, data))
        if out:
            print(f"receipts written to {out_dir}")
        return code
