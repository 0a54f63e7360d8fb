"""Finding 6a: trust fails closed. ``serve`` without ``--dev`` and without configured trust
material used to generate a governance key and a self-signed registry silently; now it
refuses with one line saying what to configure, and ``yrdgw init`` is the explicit way to
make a deployment's material (never overwriting it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gateway.registry import KeyPurpose, build_dev_registry, load_registry
from ledger.crypto import PrivateKey, PublicKey
from tests.adversarial.serving import REPO, ServeProcess


def _yrdgw(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def _members_file(path: Path) -> Path:
    """Two members in registry format (what a consortium would hand the operator)."""
    keys = {r: PrivateKey.generate().public_key for r in ("SH", "JS")}
    # a deployment's registry pushes over https only, to the server certificate it pins
    document = build_dev_registry(
        keys,
        PrivateKey.generate().public_key,
        [],
        endpoints={"JS": "https://js.example/yrd/inbox"},
        server_cert_pins={"JS": "ab" * 32},
    )
    path.write_text(json.dumps({"members": document["members"]}), encoding="utf-8")
    return path


def test_serve_without_trust_material_refuses_to_start(tmp_path):
    data = tmp_path / "data"
    proc = ServeProcess(tmp_path, ["--data-dir", str(data)])
    try:
        assert proc.wait_exit(60) == 2
    finally:
        proc.kill()
    line = _one_line(proc.stderr())
    for what in ("registry_path", "governance_public_key", "log_key_path", "tls_", "yrdgw init"):
        assert what in line, line
    # nothing was generated: no keys, no self-signed registry, no database
    assert not (data / "dev").exists()
    assert not any(data.rglob("*.pem")) if data.exists() else True


def test_serve_with_a_registry_but_a_missing_purpose_key_names_the_setting(serve):
    config = serve.config(attestation_key_path=str(serve.root / "nowhere" / "attestation.pem"))
    proc = serve.start(config=config)
    assert proc.wait_exit(60) == 2
    line = _one_line(proc.stderr())
    assert "attestation_key_path" in line and "nowhere" in line, line


def test_serve_refuses_one_key_for_two_purposes(serve):
    # the log key given as the attestation key: it is not listed for that purpose
    config = serve.config(attestation_key_path=str(serve.env.root / "keys" / "log.pem"))
    proc = serve.start(config=config)
    assert proc.wait_exit(60) == 2
    line = _one_line(proc.stderr())
    assert "attestation key is not listed" in line and "is for checkpoint" in line, line


def test_init_makes_material_that_serve_starts_from_and_never_overwrites(tmp_path):
    data = tmp_path / "deploy"
    members = _members_file(tmp_path / "members.json")

    # (1): init writes everything and says where the offline material is
    out = _yrdgw("init", "--data-dir", str(data), "--members", str(members), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "offline" in out.stdout.lower() and "yrdgw serve --config" in out.stdout
    config = data / "yrdgw.toml"
    text = config.read_text(encoding="utf-8")
    for name in (
        "registry_path",
        "governance_public_key",
        "log_key_path",
        "attestation_key_path",
        "identity_key_path",
        "tls_ca",
        "tls_cert",
        "tls_key",
    ):
        assert f"{name} = " in text
    for private in ("keys/log.pem", "keys/attestation.pem", "keys/identity.pem", "tls/server.key"):
        assert (data / private).stat().st_mode & 0o077 == 0, private
    governance_private = data / "offline" / "governance.pem"
    assert governance_private.stat().st_mode & 0o077 == 0
    assert not (data / "keys" / "governance.pem").exists()  # not next to the gateway

    # the registry lists one distinct key per purpose, and verifies under the governance key
    governance = PublicKey.from_pem((data / "keys" / "governance.pub").read_bytes())
    registry = load_registry((data / "registry.json").read_bytes(), [governance])
    assert PrivateKey.from_pem(governance_private.read_bytes()).public_key == governance
    ids = {}
    for purpose, stem in (
        (KeyPurpose.CHECKPOINT, "log"),
        (KeyPurpose.ATTESTATION, "attestation"),
        (KeyPurpose.IDENTITY, "identity"),
    ):
        key = PrivateKey.from_pem((data / "keys" / f"{stem}.pem").read_bytes()).public_key
        assert registry.gateway_key(key.key_id, purpose) == key
        ids[stem] = key.key_id
    assert len(set(ids.values())) == 3
    assert len(registry.members) == 2

    # (2): serve --config D/yrdgw.toml starts from it
    proc = ServeProcess(tmp_path, ["--config", str(config)])
    try:
        proc.wait_ready()
        assert proc.healthz() == 200
        assert proc.terminate() == 0
    finally:
        proc.kill()

    # (3): a second init refuses and changes nothing
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file() and p.suffix != ".db"}
    again = _yrdgw("init", "--data-dir", str(data), "--members", str(members), cwd=tmp_path)
    assert again.returncode == 2
    line = _one_line(again.stderr)
    assert "refusing to overwrite" in line, line
    assert {p: p.read_bytes() for p in before} == before


def test_init_refuses_bad_members_with_one_line(tmp_path):
    cases = {
        "missing": None,
        "deep": b'{"members": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "dup": b'{"members": [], "members": []}',
        "empty": b'{"members": []}',
        "shape": b"[1, 2]",
    }
    for name, content in cases.items():
        path = tmp_path / f"{name}.json"
        if content is not None:
            path.write_bytes(content)
        data = tmp_path / f"d-{name}"
        out = _yrdgw("init", "--data-dir", str(data), "--members", str(path), cwd=tmp_path)
        assert out.returncode == 2, (name, out.stderr)
        _one_line(out.stderr)
        assert not (data / "yrdgw.toml").exists(), name


def test_serve_dev_still_makes_its_dev_environment(tmp_path):
    data = tmp_path / "devdata"
    proc = ServeProcess(tmp_path, ["--dev", "--data-dir", str(data)])
    try:
        proc.wait_ready(120)
        assert (data / "dev" / "registry.json").exists()
        for stem in ("log", "attestation", "identity"):
            assert (data / "dev" / "keys" / f"{stem}.pem").exists()
        assert proc.terminate() == 0
    finally:
        proc.kill()
