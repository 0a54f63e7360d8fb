"""A partner system that is not Python: tests/interop/partner.mjs, a Node.js client written
from ``protos/`` and ``docs/`` only (grpc-js, protobufjs, sm-crypto), against a real
``yrdgw serve --dev`` on loopback.

It submits a signed Jiangsu case to Shanghai, pulls it as Shanghai and verifies the sender's
signature, the translation attestation (when the server sends one), the receipt (leaf hash,
RFC 9162 inclusion proof, signed checkpoint); then answers and looks up (``in_reply_to``)
and asks for status. If our protobuf bytes, SM2/SM3, checkpoint note or receipt format
differ from what an independent implementation makes of the docs, this fails, naming the
check. ``vectors.mjs`` first checks that implementation against tests/vectors.

The Node packages come from ``package-lock.json`` (``npm ci``, which scripts/bootstrap.sh
runs on a fresh machine; here only when ``node_modules`` is missing or older than the lock).
The tests are skipped only when ``node`` itself is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.app.devenv import ensure_dev_environment
from tests.adversarial.serving import REPO, ServeProcess

HERE = Path(__file__).resolve().parent

NOT_SUPPORTED = "not supported by server"
PARTNER_SECONDS = 180


@pytest.fixture(scope="module")
def node() -> str:
    """The ``node`` binary, with tests/interop's packages installed from the lock."""
    binary = shutil.which("node")
    if binary is None:
        pytest.skip("node is not installed: the Node.js partner cannot run")
    modules, lock = HERE / "node_modules", HERE / "package-lock.json"
    stale = not modules.is_dir() or lock.stat().st_mtime > modules.stat().st_mtime
    if stale and not modules.is_symlink():  # a link is another checkout's: never npm ci through it
        npm = shutil.which("npm")
        assert npm is not None, "node is installed but npm is not: cannot install the partner"
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            check=True,
            timeout=600,
        )
    return binary


def _node(
    node: str, script: str, env: dict[str, str], timeout: float
) -> tuple[int, dict[str, Any]]:
    """Run a node script here: its exit code and its one JSON line of results."""
    out = subprocess.run(
        [node, str(HERE / script)],
        cwd=HERE,
        env={**os.environ, "YRD_PROTOS": str(REPO / "protos"), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = out.stdout.strip().splitlines()
    assert lines, f"{script} printed nothing (exit {out.returncode}): {out.stderr[-2000:]}"
    return out.returncode, {**json.loads(lines[-1]), "stderr": out.stderr[-2000:]}


def _run(node: str, script: str, env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run a node script that must succeed; its results."""
    code, result = _node(node, script, env, timeout)
    assert code == 0 and result.get("ok") is True, f"{script} failed: {result}"
    return result


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, Path]]:
    """A real ``yrdgw serve --dev`` on free loopback ports, and its data directory."""
    root = tmp_path_factory.mktemp("interop")
    data = root / "data"
    process = ServeProcess(root, ["--dev", "--data-dir", str(data)])
    try:
        yield process.wait_ready(timeout=120), data
    finally:
        process.kill()


def _partner_env(gateway: ServeProcess, dev: Path) -> dict[str, str]:
    return {
        "YRD_GRPC_TARGET": gateway.target,
        "YRD_DEV_DIR": str(dev),
        "YRD_WAIT_SECONDS": "30",
        "YRD_ANSWER_WAIT_SECONDS": "20",
    }


def test_partner_crypto_matches_the_vectors(node: str, tmp_path: Path) -> None:
    env = ensure_dev_environment(tmp_path)
    result = _run(node, "vectors.mjs", {"YRD_DEV_DIR": str(env.root)}, timeout=120)
    assert result["sm3"] >= 3 and result["sm2"] >= 5
    assert result["inclusion"] >= 80  # every case under tests/vectors/merkle/inclusion
    assert result["keys"] > 0 and result["checkpoint"] == 4


def test_node_partner_against_a_real_gateway(node: str, gateway: tuple[ServeProcess, Path]) -> None:
    process, data = gateway
    result = _run(node, "partner.mjs", _partner_env(process, data / "dev"), PARTNER_SECONDS)
    assert result["registry"] == "verified"
    assert result["submit"]["tree_size"] > result["submit"]["leaf_index"]
    assert result["pull"]["attempt"] == 1
    # the server supports all of it: the partner's "absent" / "not supported" answers fail
    assert result["attestation"] == "verified"
    assert result["answers"] == "ok"
    assert result["status"] != NOT_SUPPORTED
    assert result["status"]["case"] == "EXCHANGE_STATE_ANSWERED", result["status"]


def test_partner_names_the_failed_check(
    node: str, gateway: tuple[ServeProcess, Path], tmp_path: Path
) -> None:
    """The partner is not vacuous: another consortium's registry under the gateway's
    governance key fails "registry"; another consortium's members are turned away
    by the gateway ("submit": its certificates are not the gateway's CA's)."""
    process, data = gateway
    stranger = ensure_dev_environment(tmp_path / "stranger").root
    forged = tmp_path / "forged"
    shutil.copytree(data / "dev", forged)
    shutil.copy(stranger / "registry.json", forged / "registry.json")
    for dev, check in ((forged, "registry"), (stranger, "submit")):
        code, result = _node(node, "partner.mjs", _partner_env(process, dev), PARTNER_SECONDS)
        assert (code, result["ok"], result["failed"]) == (1, False, check), result
