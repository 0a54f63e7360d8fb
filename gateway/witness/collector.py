"""The collector: each new checkpoint of the log to every witness, cosignatures kept.

Runs in the process that signs checkpoints (the embedded log, or the PostgreSQL sequencer's
leader: ``role()`` says which); elsewhere it idles. Each round (every ``poll`` seconds):

1. the log's latest checkpoint; the witnesses of its origin in the current registry;
2. each witness that has not cosigned it and is not backing off gets ``POST
   <url>/add-checkpoint`` (C2SP tlog-witness), all concurrently, each within ``timeout``:
   ``old <size it last cosigned>``, the consistency proof from there, the note. A 409
   ``text/x.tlog.size`` says the witness holds another size: the request is made once more
   from that size;
3. each returned line is kept only if it verifies against the witness's registry key
   (``ledger.cosignature.verify_cosignatures``); a witness answering garbage is logged and
   backed off like one that is down (exponential from ``backoff``, capped at ``cap``);
4. the newest size with a quorum moves on; a quorum missing for longer than
   ``lag_alarm_seconds`` is logged (once) and shown by ``yrd_witness_quorum_lag_entries``.

Only the newest checkpoint is ever sent, at most once a round (``poll``, 1 s by default):
fifty checkpoints in a second cost one round, so a witness sees at most one checkpoint a
second of each log and a receipt can be witnessed about a second after it is issued. With a
round every 0.2 s (and a store read per receipt) the gateway did 0.76x the exchanges/s of
no witnesses, three witnesses on the same two cores; once a second (and no read for a fresh
receipt), 0.96-1.10x (bench/witness.py).

Nothing here is on the exchange path; a witness down or slow changes nothing for exchanges.
The worker runs under the gateway's supervisor (``witness-collector``): only a bug ends a
round with an exception, and then the supervisor says so.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from prometheus_client import Gauge

from gateway.errors import Refusal
from gateway.exchange.logview import GatewayLog
from gateway.ops.metrics import Metrics
from gateway.ops.supervision import Beat, describe
from gateway.registry import TrustRegistry, Witness
from gateway.witness.errors import WitnessCode, WitnessError
from gateway.witness.store import WitnessStore
from ledger.checkpoint import SignedCheckpoint
from ledger.cosignature import TrustedWitness, add_signature_lines, verify_cosignatures
from ledger.errors import CheckpointError

__all__ = ["MAX_ANSWER", "SIGNING_ROLES", "WitnessCollector", "WitnessState"]

log = logging.getLogger("gateway.witness.collector")

MAX_ANSWER = 64 << 10
"""Largest witness answer read; a longer one is refused as garbage."""
SIGNING_ROLES = ("embedded", "leader")
TLOG_SIZE = "text/x.tlog.size"


@dataclass
class WitnessState:
    """What the collector knows of one witness (shown in ``/healthz``)."""

    name: str
    cosigned_size: int | None = None
    """The newest size it cosigned (None: none yet; the witness's own size once a 409
    named it)."""
    last_success: float | None = None
    last_error: str | None = None
    failures: int = 0
    next_attempt: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "cosigned_size": self.cosigned_size,
            "last_success": self.last_success,
            "last_error": self.last_error,
            "failures": self.failures,
            "reachable": self.failures == 0 and self.last_success is not None,
        }


class WitnessCollector:
    """Gathers cosignatures of ``log``'s checkpoints into ``store`` (module docstring)."""

    def __init__(
        self,
        log: GatewayLog,
        store: WitnessStore,
        registry: Callable[[], TrustRegistry],
        role: Callable[[], str],
        metrics: Metrics | None = None,
        *,
        timeout: float = 3.0,
        poll: float = 1.0,
        backoff: float = 0.5,
        cap: float = 30.0,
        lag_alarm_seconds: float = 60.0,
    ) -> None:
        self.log = log
        self.store = store
        self.registry = registry
        self.role = role
        self.timeout, self.poll, self.backoff, self.cap = timeout, poll, backoff, cap
        self.lag_alarm_seconds = lag_alarm_seconds
        self.states: dict[str, WitnessState] = {}
        self.witnessed_size = 0
        """The newest tree size cosigned by a quorum (0: none yet)."""
        self.log_size = 0
        self._loaded = False
        self._lagging_since: float | None = None
        self._alarmed = False
        self._gauges = _Gauges(metrics) if metrics is not None else None

    # -- state ----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """The ``witnesses`` field of ``/healthz``."""
        registry = self.registry()
        return {
            "quorum": registry.witness_quorum,
            "witnessed_size": self.witnessed_size,
            "lag_entries": self.lag(),
            "role": self.role(),
            "witnesses": {  # (a witness not tried yet: its defaults; no store read here)
                w.name: self.states.get(w.name, WitnessState(w.name)).as_dict()
                for w in registry.log_witnesses(self.log.origin)
            },
        }

    def lag(self) -> int:
        """Entries of the log not yet under a quorum of cosignatures (0 without a quorum)."""
        if self.registry().witness_quorum < 1:
            return 0
        return max(0, self.log_size - self.witnessed_size)

    def _state(self, name: str) -> WitnessState:
        state = self.states.get(name)
        if state is None:
            state = self.states[name] = WitnessState(name)
            state.cosigned_size = self.store.newest_size(self.log.origin, name)
        return state

    # -- the worker -------------------------------------------------------------------------
    async def run(self, beat: Beat) -> None:
        """Rounds forever (supervised); ``beat`` after each one."""
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                if self.role() in SIGNING_ROLES:
                    await self.round(session)
                beat()
                await asyncio.sleep(self.poll)

    async def round(self, session: aiohttp.ClientSession) -> None:
        """One round (module docstring, steps 1-4)."""
        # (1): the newest checkpoint and who witnesses it
        try:
            registry = self.registry()
        except Refusal:  # past its grace: nothing is vouched for now (registry alarm)
            return
        witnesses = registry.log_witnesses(self.log.origin)
        if not witnesses:
            return
        checkpoint = await asyncio.to_thread(self.log.latest_checkpoint)
        if checkpoint is None or checkpoint.size == 0:
            return
        self.log_size = checkpoint.size
        await asyncio.to_thread(lambda: [self._state(w.name) for w in witnesses])
        if not self._loaded:  # once: where the last run left the quorum
            await self._advance(registry, 0)
            self._loaded = True
        # (2): concurrently, to each witness behind it and due
        now = time.time()
        due = [
            w
            for w in witnesses
            if (self.states[w.name].cosigned_size or 0) < checkpoint.size
            and self.states[w.name].next_attempt <= now
        ]
        if due:
            await asyncio.gather(*(self._witness(session, w, checkpoint) for w in due))
            # (4): the quorum moves on
            await self._advance(registry, self.witnessed_size)
        self._watch_lag(registry)

    async def _witness(
        self, session: aiohttp.ClientSession, witness: Witness, checkpoint: SignedCheckpoint
    ) -> None:
        state = self.states[witness.name]
        try:
            answer = await self._cosign(session, witness, checkpoint, state)
            # (3): kept once verified (SM2: off the loop, with the write in one hand-off)
            await self.store.run(self._keep, witness, checkpoint, answer)
        except WitnessError as exc:
            state.failures += 1
            delay = min(self.cap, self.backoff * 2 ** (state.failures - 1))
            state.next_attempt = time.time() + delay
            if state.last_error != str(exc):
                log.warning(
                    "witness %s did not cosign tree size %d (%s): %s; next try in %.1f s",
                    witness.name,
                    checkpoint.size,
                    exc.code,
                    exc,
                    delay,
                )
            state.last_error = str(exc)
            self._count(witness.name, state)
            return
        if state.failures:
            log.info("witness %s cosigns again (tree size %d)", witness.name, checkpoint.size)
        state.cosigned_size = checkpoint.size
        state.last_success = time.time()
        state.last_error = None
        state.failures = 0
        state.next_attempt = 0.0
        self._count(witness.name, state)

    async def _cosign(
        self,
        session: aiohttp.ClientSession,
        witness: Witness,
        checkpoint: SignedCheckpoint,
        state: WitnessState,
    ) -> bytes:
        """The witness's 200 answer to ``checkpoint`` (WitnessError otherwise)."""
        old = state.cosigned_size or 0
        for attempt in range(2):
            if old > checkpoint.size:
                raise WitnessError(
                    WitnessCode.AHEAD,
                    f"witness {witness.name} holds tree size {old}, the log only {checkpoint.size}",
                )
            status, kind, body = await self._post(session, witness, checkpoint, old)
            if status == 200:
                return body
            if status == 409 and kind == TLOG_SIZE and attempt == 0:
                learned = _size(body)
                if learned is not None and learned != old:
                    state.cosigned_size = old = learned
                    continue
            text = body[:200].decode("utf-8", "replace").strip()
            raise WitnessError(
                WitnessCode.REFUSED,
                f"witness {witness.name} answered {status} from old size {old}: {text}",
            )
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post(
        self,
        session: aiohttp.ClientSession,
        witness: Witness,
        checkpoint: SignedCheckpoint,
        old: int,
    ) -> tuple[int, str, bytes]:
        proof: list[bytes] = []
        if 0 < old < checkpoint.size:
            proof = await asyncio.to_thread(self.log.consistency_proof, old, checkpoint.size)
        lines = [f"old {old}"] + [base64.b64encode(p).decode() for p in proof]
        body = ("\n".join(lines) + "\n\n" + checkpoint.text).encode()
        url = witness.url.rstrip("/") + "/add-checkpoint"
        try:
            async with session.post(url, data=body) as response:
                data = await response.content.read(MAX_ANSWER + 1)
                if len(data) > MAX_ANSWER:
                    raise WitnessError(
                        WitnessCode.BAD_COSIGNATURE,
                        f"witness {witness.name} answered over {MAX_ANSWER} bytes",
                    )
                return response.status, response.content_type, data
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise WitnessError(
                WitnessCode.UNREACHABLE, f"witness {witness.name} at {url}: {describe(exc)}"
            ) from exc

    def _keep(self, witness: Witness, checkpoint: SignedCheckpoint, body: bytes) -> None:
        """Store the line of ``body`` that verifies with the witness's key (blocks)."""
        line = self._verified(witness, checkpoint, body)
        self.store.add(self.log.origin, checkpoint.size, witness.name, line)

    def _verified(self, witness: Witness, checkpoint: SignedCheckpoint, body: bytes) -> str:
        trusted = [TrustedWitness(witness.name, witness.public_key)]
        for raw in body.decode("utf-8", "replace").splitlines():
            line = raw.strip("\r")
            if not line:
                continue
            try:
                valid, _ = verify_cosignatures(
                    add_signature_lines(checkpoint.text, [line]), trusted
                )
            except CheckpointError:
                continue
            if valid:
                return line
        raise WitnessError(
            WitnessCode.BAD_COSIGNATURE,
            f"witness {witness.name} answered no cosignature line that verifies with its "
            f"registry key for tree size {checkpoint.size}",
        )

    async def _advance(self, registry: TrustRegistry, since: int) -> None:
        quorum = registry.witness_quorum
        if quorum < 1:
            return
        names = [w.name for w in registry.log_witnesses(self.log.origin)]
        newest = await self.store.run(
            self.store.newest_with_quorum, self.log.origin, since, names, quorum
        )
        if newest is not None and newest > self.witnessed_size:
            self.witnessed_size = newest

    def _watch_lag(self, registry: TrustRegistry) -> None:
        lag = self.lag()
        if self._gauges is not None:
            self._gauges.lag.set(lag)
            self._gauges.witnessed.set(self.witnessed_size)
        now = time.monotonic()
        if lag == 0 or registry.witness_quorum < 1:
            if self._alarmed:
                log.info("witness quorum reached again at tree size %d", self.witnessed_size)
            self._lagging_since, self._alarmed = None, False
            return
        if self._lagging_since is None:
            self._lagging_since = now
        elif not self._alarmed and now - self._lagging_since > self.lag_alarm_seconds:
            self._alarmed = True
            log.error(
                "no witness quorum (%d of %d) for %.0f s: %d log entries not witnessed "
                "(newest witnessed tree size %d)",
                registry.witness_quorum,
                len(registry.log_witnesses(self.log.origin)),
                now - self._lagging_since,
                lag,
                self.witnessed_size,
            )

    def _count(self, name: str, state: WitnessState) -> None:
        if self._gauges is None:
            return
        self._gauges.up.labels(name).set(1 if state.failures == 0 else 0)
        self._gauges.cosigned.labels(name).set(state.cosigned_size or 0)


class _Gauges:
    """The collector's metrics (docs/operations.md, metric table)."""

    def __init__(self, metrics: Metrics) -> None:
        registry = metrics.registry
        self.lag = Gauge(
            "yrd_witness_quorum_lag_entries",
            "Log entries not yet under a checkpoint cosigned by a quorum of witnesses",
            registry=registry,
        )
        self.witnessed = Gauge(
            "yrd_witness_witnessed_size",
            "The newest tree size cosigned by a quorum of witnesses",
            registry=registry,
        )
        self.up = Gauge(
            "yrd_witness_up",
            "1 while the witness's last add-checkpoint succeeded, else 0",
            ["witness"],
            registry=registry,
        )
        self.cosigned = Gauge(
            "yrd_witness_cosigned_size",
            "The newest tree size the witness cosigned",
            ["witness"],
            registry=registry,
        )


def _size(body: bytes) -> int | None:
    """The size of a ``text/x.tlog.size`` body (``N\\n``), or None if it is not one."""
    text = body.decode("ascii", "replace").strip()
    if not text.isdigit() or len(text) > 19:
        return None
    return int(text)
