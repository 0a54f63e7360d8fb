"""Three member witnesses for ``yrdgw serve --dev``: real ``yrd-witness`` processes on loopback.

Each dev witness stands for one partner province (Jiangsu, Zhejiang, Anhui: the members that
do not run the gateway) with its own SM2 key under ``<data_dir>/dev/keys/witness-<r>.pem`` and
its own state under ``<data_dir>/dev/witnesses/<r>``, so a restarted dev gateway finds them
where they left off. They are child processes: stopped with the gateway, and (on Linux) sent
SIGTERM by the kernel if the gateway dies first, so no witness outlives its dev gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gateway.app.devenv import dev_key
from ledger.crypto import PublicKey
from ledger.trust import trust_document

__all__ = ["DEV_WITNESS_QUORUM", "DevWitness", "DevWitnesses", "dev_witness_name"]

log = logging.getLogger(__name__)

DEV_WITNESS_REGIONS = ("JS", "ZJ", "AH")
DEV_WITNESS_QUORUM = 2
"""Two of the three dev witnesses: one may be down and receipts are still witnessed."""
START_TIMEOUT = 20.0
PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 5.0


def dev_witness_name(region: str) -> str:
    """The cosignature key name of a dev witness (a schema-less URL, as C2SP suggests)."""
    return f"witness.{region.lower()}.yrd.dev"


@dataclass(frozen=True)
class DevWitness:
    region: str
    name: str
    public_key: PublicKey
    url: str


def _parent_death_signal() -> Callable[[], None] | None:
    """Linux: a function that makes the calling (child) process get SIGTERM when the
    gateway dies, even by SIGKILL; resolved here, in the parent, so the child between fork
    and exec only makes one system call (no import, no library loading)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def set_signal() -> None:  # pragma: no cover - runs in the child before exec
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return set_signal


@dataclass
class DevWitnesses:
    """Start, list and stop the dev witnesses of one dev data directory."""

    root: Path
    host: str = "127.0.0.1"
    witnesses: list[DevWitness] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    async def start(self, origin: str, log_key: PublicKey) -> list[DevWitness]:
        """Start one witness per partner region, witnessing ``origin`` signed by ``log_key``.

        Spawned from the calling thread (the event loop's, which lives as long as the
        gateway): Linux's parent-death signal fires when the *thread* that forked exits, so a
        pool thread would take the witnesses down with it when the pool shrinks."""
        pending = self._spawn(origin, log_key)
        return await asyncio.to_thread(self._wait_all, pending)

    async def stop(self) -> None:
        await asyncio.to_thread(self.stop_blocking)

    def start_blocking(self, origin: str, log_key: PublicKey) -> list[DevWitness]:
        """:meth:`start` for callers without an event loop (the benchmark)."""
        return self._wait_all(self._spawn(origin, log_key))

    def _spawn(self, origin: str, log_key: PublicKey) -> list[tuple]:
        logs = self.root / "witness-logs.json"
        logs.parent.mkdir(parents=True, exist_ok=True)
        logs.write_text(json.dumps(trust_document(origin, log_key), indent=2))
        pending = []
        for region in DEV_WITNESS_REGIONS:
            name = dev_witness_name(region)
            key_path = self.root / "keys" / f"witness-{region}.pem"
            key = dev_key(key_path)
            data = self.root / "witnesses" / region
            data.mkdir(parents=True, exist_ok=True)
            ready = data / "ready"
            ready.unlink(missing_ok=True)
            command = [
                sys.executable, "-m", "ledger.witness", "serve",
                "--name", name, "--key", str(key_path), "--logs", str(logs),
                "--data", str(data), "--listen", f"{self.host}:0", "--ready-file", str(ready),
            ]  # fmt: skip
            with (data / "witness.log").open("ab") as stderr:
                process = subprocess.Popen(
                    command,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    preexec_fn=_parent_death_signal(),
                )
            self.processes.append(process)
            pending.append((region, name, key.public_key, ready, process))
        return pending

    def _wait_all(self, pending: list[tuple]) -> list[DevWitness]:
        try:
            for region, name, public, ready, process in pending:
                url = self._wait_ready(ready, process, name)
                self.witnesses.append(DevWitness(region, name, public, url))
        except BaseException:
            self.stop_blocking()
            raise
        log.info("dev witnesses: %s", ", ".join(f"{w.name} at {w.url}" for w in self.witnesses))
        return list(self.witnesses)

    def _wait_ready(self, ready: Path, process: subprocess.Popen[bytes], name: str) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if ready.exists() and (url := ready.read_text().strip()):
                return url
            if process.poll() is not None:
                raise RuntimeError(
                    f"dev witness {name} exited with {process.returncode} before listening "
                    f"(see {ready.parent / 'witness.log'})"
                )
            time.sleep(0.05)
        raise RuntimeError(f"dev witness {name} did not listen within {START_TIMEOUT:.0f} s")

    def stop_blocking(self) -> None:
        """SIGTERM every witness, then SIGKILL what is still running after a few seconds."""
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
