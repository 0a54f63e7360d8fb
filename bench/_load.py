"""The parts of bench/exchange.py that run in other processes: the load generator and the echo.

The load generator runs in its own process(es), each with its own grpc.aio channel, so its
CPU is neither counted as the server's nor fought over inside the server. It signs its
envelopes before it says it is ready (signing is the sender's cost, never timed), then waits
for "go" and sends raw bytes: the same request bytes and the same deserialisation cost for
the gateway and the echo. Results go back over a pipe as plain numbers.

Each load process opens ``channels`` connections (a local subchannel pool per channel, so
gRPC does not share one connection between them): with ``serve --workers`` the kernel gives
each new connection to one worker (SO_REUSEPORT), so one connection would reach one worker.

Open-loop latency is measured from each request's SCHEDULED send time, so a client or server
that falls behind shows up in the latency (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import grpc

from gateway.app.devenv import ensure_dev_environment
from gateway.exchange.envelopes import signed_envelope
from gateway.pb.yrd.v1 import exchange_pb2
from ledger.crypto import PrivateKey

__all__ = [
    "ECHO_METHOD",
    "OPTIONS",
    "SUBMIT_METHOD",
    "LoadSpec",
    "echo_server",
    "load_process",
    "payload",
]

ECHO_METHOD = "/bench.Echo/Echo"
SUBMIT_METHOD = "/yrd.v1.Exchange/Submit"
OPTIONS = [("grpc.max_receive_message_length", 4 << 20), ("grpc.max_send_message_length", 4 << 20)]
WARMUP = 3


@dataclass(frozen=True)
class LoadSpec:
    """What one load process does; picklable, so it crosses a spawn boundary."""

    target: str
    method: str
    tls: tuple[bytes, bytes, bytes]  # ca, client key, client cert
    key_pem: bytes
    sender: str
    recipient: str
    size: int
    sign: int  # envelopes to pre-sign (unique exchange ids and nonces)
    cycle: bool  # reuse the envelopes (echo only: it has no replay check)
    closed: bool  # closed loop at `concurrency`, else open loop at `rate`
    seconds: float
    concurrency: int = 1
    rate: float = 0.0
    phase: float = 0.0  # open loop: this process's offset in the shared schedule (s)
    channels: int = 1  # connections, each its own channel; requests go round-robin over them


def payload(size: int) -> bytes:
    """A JSON case-status payload of about ``size`` bytes."""
    note = "x" * max(0, size - 120)
    body = {"case_id": "BENCH-1", "status": "received", "time": "2026-11-28T10:00:00+08:00"}
    return json.dumps({**body, "note": note}).encode()


def _sign(spec: LoadSpec, count: int) -> list[bytes]:
    """Sign ``count`` envelopes on every core (the native SM2 backend releases the GIL)."""
    key = PrivateKey.from_pem(spec.key_pem)
    body = payload(spec.size)

    def one(_: int) -> bytes:
        return signed_envelope(
            key=key,
            sender=spec.sender,
            recipient=spec.recipient,
            kind="case.status",
            matter="",
            payload=body,
            dialect="yrd-canonical/1",
            content_type="application/json",
        ).SerializeToString()

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(one, range(count), chunksize=64))


async def _drive(spec: LoadSpec, conn: Connection) -> dict:
    warmup = max(WARMUP, spec.channels)  # every connection is up before the timed run
    requests = _sign(spec, spec.sign + warmup)
    ca, key, cert = spec.tls
    creds = grpc.ssl_channel_credentials(ca, key, cert)
    options = [*OPTIONS, ("grpc.use_local_subchannel_pool", 1)]
    channels = [
        grpc.aio.secure_channel(spec.target, creds, options=options) for _ in range(spec.channels)
    ]
    calls = [channel.unary_unary(spec.method) for channel in channels]
    for i, request in enumerate(requests[:warmup]):
        await calls[i % len(calls)](request)
    requests = requests[warmup:]
    conn.send("ready")
    start_at = await asyncio.to_thread(conn.recv)  # a wall-clock time shared by all processes
    await asyncio.sleep(max(0.0, start_at - time.time()))
    latencies: list[float] = []
    errors: dict[str, int] = {}
    cpu0 = time.process_time()
    start = time.perf_counter()

    async def one(request: bytes, t0: float, call) -> None:
        try:
            await call(request)
        except grpc.aio.AioRpcError as exc:
            errors[exc.code().name] = errors.get(exc.code().name, 0) + 1
            return
        latencies.append(time.perf_counter() - t0)

    exhausted = False
    if spec.closed:
        position = 0
        deadline = start + spec.seconds

        async def worker(call) -> None:
            nonlocal position, exhausted
            while time.perf_counter() < deadline:
                if position >= len(requests) and not spec.cycle:
                    exhausted = True
                    return
                request = requests[position % len(requests)]
                position += 1
                await one(request, time.perf_counter(), call)

        await asyncio.gather(*(worker(calls[k % len(calls)]) for k in range(spec.concurrency)))
    else:
        interval = 1.0 / spec.rate
        count = int(spec.rate * spec.seconds)
        exhausted = count > len(requests) and not spec.cycle
        tasks = []
        for i in range(count if spec.cycle else min(count, len(requests))):
            scheduled = start + spec.phase + i * interval
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            request, call = requests[i % len(requests)], calls[i % len(calls)]
            tasks.append(asyncio.ensure_future(one(request, scheduled, call)))
        await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    for channel in channels:
        await channel.close()
    return {
        "latencies_s": latencies,
        "errors": errors,
        "elapsed_s": elapsed,
        "client_cpu_s": cpu,
        "exhausted": exhausted,
    }


def load_process(spec: LoadSpec, conn: Connection) -> None:
    """Entry point of one load process (multiprocessing, spawn)."""
    try:
        conn.send(asyncio.run(_drive(spec, conn)))
    except Exception as exc:  # reported to the parent, which fails the run with it
        conn.send({"failed": f"{type(exc).__name__}: {exc}"})


# -- the baseline: an echo that parses the envelope and answers with a receipt-sized reply -
async def echo_server(port: int, data_dir: Path, reply_bytes: int) -> None:
    """A bare grpc.aio server on the same transport (mTLS) as the gateway: it parses the
    SignedEnvelope and its Envelope (as the gateway must) and returns a Receipt of about the
    size the gateway's are, so the baseline pays the same (de)serialisation both ways."""
    env = ensure_dev_environment(data_dir)
    padding = "r" * max(0, reply_bytes - 64)

    async def echo(request: exchange_pb2.SignedEnvelope, context) -> exchange_pb2.Receipt:
        envelope = exchange_pb2.Envelope.FromString(request.envelope)
        return exchange_pb2.Receipt(
            exchange_id=envelope.exchange_id, leaf_index=1, tree_size=2, receipt_json=padding
        )

    handler = grpc.method_handlers_generic_handler(
        "bench.Echo",
        {
            "Echo": grpc.unary_unary_rpc_method_handler(
                echo,
                request_deserializer=exchange_pb2.SignedEnvelope.FromString,
                response_serializer=exchange_pb2.Receipt.SerializeToString,
            )
        },
    )
    server = grpc.aio.server(options=OPTIONS)
    server.add_generic_rpc_handlers((handler,))
    creds = grpc.ssl_server_credentials(
        [(env.server.key_pem, env.server.cert_pem)],
        root_certificates=env.ca.cert_pem,
        require_client_auth=True,
    )
    server.add_secure_port(f"127.0.0.1:{port}", creds)
    await server.start()
    await server.wait_for_termination()
