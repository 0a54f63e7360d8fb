"""A real ``yrdgw serve`` in a subprocess, for the findings that are about the process.

The gateway runs from explicit trust material (the dev environment's files named in a TOML
config), so it is the production start path, not ``--dev``. Output goes to files the test
can read; every process is killed at the end of the test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.app.devenv import DevEnvironment, ensure_dev_environment

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(data_dir: Path, env: DevEnvironment, **extra: Any) -> Path:
    """A TOML config naming the dev environment's trust files explicitly."""
    values: dict[str, Any] = {
        "data_dir": str(data_dir),
        **env.trust_settings(),
        "anchor_mode": "off",
        **extra,
    }
    lines = []
    for name, value in values.items():
        if isinstance(value, bool):
            lines.append(f"{name} = {'true' if value else 'false'}")
        elif isinstance(value, int | float):
            lines.append(f"{name} = {value}")
        else:
            lines.append(f'{name} = "{value}"')
    path = data_dir / "yrdgw.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class ServeProcess:
    """One ``python -m gateway.cli serve`` subprocess with its output in files."""

    def __init__(self, workdir: Path, args: list[str], env: dict[str, str] | None = None):
        self.grpc_port = free_port()
        self.http_port = free_port()
        self.workdir = workdir
        self.stdout_path = workdir / f"serve-{self.http_port}.out"
        self.stderr_path = workdir / f"serve-{self.http_port}.err"
        full_env = {**os.environ, "PYTHONPATH": str(REPO), "YRD_ANCHOR_MODE": "off", **(env or {})}
        argv = [sys.executable, "-m", "gateway.cli", "serve", *args]
        if "--grpc-port" not in args:
            argv += ["--grpc-port", str(self.grpc_port)]
        if "--http-port" not in args:
            argv += ["--http-port", str(self.http_port)]
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                argv, env=full_env, cwd=workdir, stdout=out, stderr=err, stdin=subprocess.DEVNULL
            )

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def healthz(self, timeout: float = 2.0) -> int | None:
        """The /healthz status code, or None if nothing answers."""
        try:
            with urllib.request.urlopen(f"{self.http_url}/healthz", timeout=timeout) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None

    def wait_ready(self, timeout: float = 60.0) -> ServeProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gateway exited {self.proc.returncode}: {self.stderr()}")
            if self.healthz() == 200:
                return self
            time.sleep(0.2)
        raise AssertionError(f"gateway not ready in {timeout} s: {self.stderr()}")

    def wait_exit(self, timeout: float = 60.0) -> int:
        """Wait for the process to end by itself; its exit code."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            self.kill()
            raise AssertionError(f"gateway still running after {timeout} s") from exc

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def terminate(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.wait_exit(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class ServeFactory:
    """Makes dev trust material once per test and starts gateways on it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[ServeProcess] = []
        self._env: DevEnvironment | None = None

    @property
    def env(self) -> DevEnvironment:
        if self._env is None:
            self._env = ensure_dev_environment(self.root, pull_regions=("SH", "JS", "ZJ", "AH"))
        return self._env

    def config(self, **extra: Any) -> Path:
        return write_config(self.root, self.env, **extra)

    def start(
        self, *args: str, env: dict[str, str] | None = None, config: Path | None = None
    ) -> ServeProcess:
        """Start ``serve --config <config>`` (made with defaults if not given) plus ``args``."""
        config = config or self.config()
        proc = ServeProcess(self.root, ["--config", str(config), *args], env)
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeFactory]:
    factory = ServeFactory(tmp_path)
    yield factory
    factory.close()
