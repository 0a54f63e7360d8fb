"""``yrdgw init``: make a new deployment's trust material, explicitly and once.

``serve`` never makes keys or registries (only ``--dev`` does, for a throwaway local
environment); this command is how an operator makes them. It writes under ``--data-dir D``:

- ``D/keys/{log,attestation,identity}.pem`` (+ ``.pub``): one SM2 key per purpose;
- ``D/keys/governance.pub`` and ``D/offline/governance.pem``: the consortium's governance
  key; the private half signs registries and must be moved offline (the gateway only needs
  the public key);
- ``D/tls/ca.crt``, ``D/tls/server.{crt,key}`` and ``D/offline/ca.key``: the mTLS CA and
  the gateway's server certificate (ECDSA P-256; the CA key issues member certificates and
  belongs offline too);
- ``D/registry.json``: serial 1 of the signed registry, listing the members (and the
  auditors, if any) given with ``--members`` and the three gateway keys with their purposes;
  an auditor brings its own client certificate (its CSR signed with ``D/offline/ca.key``,
  or a certificate of the CA the gateway trusts) and is listed by that certificate's
  SHA-256 fingerprint (docs/access.md, "An auditor's certificate");
- ``D/yrdgw.toml``: the settings naming every file, for ``yrdgw serve --config``.

It refuses to overwrite any of them. Exit 0 done, 2 bad input or existing material.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.app.pki import issue, make_ca
from gateway.errors import Code, Error
from gateway.registry import RegistryError, format_time, loads_strict, sign_registry
from ledger.boundedjson import JsonLimitError
from ledger.boundedjson import loads as bounded_loads
from ledger.crypto import PrivateKey, PublicKey

__all__ = [
    "InitError",
    "add_init_command",
    "cmd_init",
    "init_deployment",
]

MAX_MEMBERS_BYTES = 4 << 20
TARGETS = ("yrdgw.toml", "registry.json", "keys", "tls", "offline")


class InitError(Error):
    """Bad input, or material that already exists: exit 2."""

    code = Code.USAGE


def add_init_command(subparsers: Any) -> None:
    """Add ``init`` to the ``yrdgw`` subcommands."""
    parser = subparsers.add_parser(
        "init",
        help="make a new deployment's trust material and yrdgw.toml (never overwrites)",
        description=(
            "Write D/keys (one SM2 key per purpose), D/tls (CA and server certificate), "
            "D/registry.json (signed, serial 1), D/offline (governance private key and CA "
            "key: move them offline) and D/yrdgw.toml for yrdgw serve --config. Refuses to "
            "overwrite existing material."
        ),
    )
    parser.add_argument("--data-dir", required=True, type=Path, help="where to write (D)")
    parser.add_argument(
        "--members",
        required=True,
        type=Path,
        help='JSON {"members": [...], "identity_providers": [...], "auditors": [...]} in '
        "registry format (docs/registry.md section 2)",
    )
    parser.add_argument("--origin", default="yrd.gateway/log", help="log origin line")
    parser.add_argument("--days", type=int, default=365, help="registry validity in days (365)")
    parser.set_defaults(func=cmd_init)


def cmd_init(args: argparse.Namespace) -> int:
    try:
        written = init_deployment(args.data_dir, args.members, origin=args.origin, days=args.days)
    except InitError as exc:
        print(f"yrdgw: error: {exc}", file=sys.stderr)
        return 2
    print(f"yrdgw: wrote a new deployment's trust material under {written['data_dir']}")
    print(f"yrdgw: start it with: yrdgw serve --config {written['config']}")
    print(
        f"yrdgw: MOVE {written['offline']} OFFLINE NOW: it holds the governance private key "
        "(signs registries) and the TLS CA key (issues member certificates); the gateway "
        "needs neither"
    )
    return 0


def _members(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InitError(f"--members: cannot read {path}: {exc.strerror or exc}") from exc
    try:
        bounded_loads(data, max_bytes=MAX_MEMBERS_BYTES)  # size and depth before parsing
        value = loads_strict(data)
    except (JsonLimitError, RegistryError) as exc:
        raise InitError(f"--members {path}: {exc}") from exc
    if not isinstance(value, dict) or not isinstance(value.get("members"), list):
        raise InitError(f'--members {path}: expected {{"members": [...]}}')
    unknown = sorted(value.keys() - {"members", "identity_providers", "auditors"})
    if unknown:
        raise InitError(f"--members {path}: unknown field {unknown[0]!r}")
    return value


def _key_entry(key: PublicKey, start: datetime, end: datetime) -> dict[str, str]:
    return {
        "key_id": key.key_id,
        "public_key": key.to_pem().decode("ascii"),
        "not_before": format_time(start),
        "not_after": format_time(end),
    }


def _write(path: Path, data: bytes, private: bool = False) -> None:
    """Create ``path``; never replace an existing file (O_EXCL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def init_deployment(
    data_dir: Path, members_file: Path, *, origin: str = "yrd.gateway/log", days: int = 365
) -> dict[str, Path]:
    """Make the trust material and ``yrdgw.toml``; the paths written. Raises InitError.

    1. refuse if any target already exists (nothing is written then);
    2. read and check the members file;
    3. make the keys, the TLS CA and server certificate;
    4. build and sign registry serial 1 (validated as ``serve`` will load it);
    5. write everything, private keys 0600, then the config.
    """
    data_dir = Path(data_dir).absolute()
    if days < 1:
        raise InitError("--days must be at least 1")
    # (1): never overwrite
    if data_dir.exists() and not data_dir.is_dir():
        raise InitError(f"--data-dir {data_dir} exists and is not a directory")
    existing = [name for name in TARGETS if (data_dir / name).exists()]
    if existing:
        raise InitError(f"refusing to overwrite existing trust material: {data_dir / existing[0]}")
    # (2): members
    listed = _members(members_file)
    # (3): keys and TLS
    keys = {p: PrivateKey.generate() for p in ("governance", "log", "attestation", "identity")}
    ca = make_ca("YRD Gateway CA")
    server = issue(ca, "localhost", server=True)
    # (4): the registry
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    end = start + timedelta(days=days)
    document: dict[str, Any] = {
        "version": 1,
        "serial": 1,
        "issued_at": format_time(start),
        "expires_at": format_time(end),
        "governance_key_id": keys["governance"].public_key.key_id,
        "log": {"origin": origin, "keys": [_key_entry(keys["log"].public_key, start, end)]},
        "gateway_keys": [
            {"purpose": p, **_key_entry(keys[p].public_key, start, end)}
            for p in ("attestation", "identity")
        ],
        "members": listed["members"],
        "identity_providers": listed.get("identity_providers", []),
    }
    if listed.get("auditors"):
        document["auditors"] = listed["auditors"]
    try:
        signed = sign_registry(document, keys["governance"])
    except RegistryError as exc:
        raise InitError(f"registry: {exc}") from exc
    # (5): write
    paths = {
        "data_dir": data_dir,
        "registry_path": data_dir / "registry.json",
        "governance_public_key": data_dir / "keys" / "governance.pub",
        "log_key_path": data_dir / "keys" / "log.pem",
        "attestation_key_path": data_dir / "keys" / "attestation.pem",
        "identity_key_path": data_dir / "keys" / "identity.pem",
        "tls_ca": data_dir / "tls" / "ca.crt",
        "tls_cert": data_dir / "tls" / "server.crt",
        "tls_key": data_dir / "tls" / "server.key",
    }
    offline = data_dir / "offline"
    try:
        _write(offline / "governance.pem", keys["governance"].to_pem(), private=True)
        _write(offline / "ca.key", ca.key_pem, private=True)
        _write(paths["governance_public_key"], keys["governance"].public_key.to_pem())
        for purpose in ("log", "attestation", "identity"):
            _write(data_dir / "keys" / f"{purpose}.pem", keys[purpose].to_pem(), private=True)
            _write(data_dir / "keys" / f"{purpose}.pub", keys[purpose].public_key.to_pem())
        _write(paths["tls_ca"], ca.cert_pem)
        _write(paths["tls_cert"], server.cert_pem)
        _write(paths["tls_key"], server.key_pem, private=True)
        _write(paths["registry_path"], signed)
        config = data_dir / "yrdgw.toml"
        lines = [
            "# written by yrdgw init: the trust material of this deployment",
            *(f"{name} = {json.dumps(str(path))}" for name, path in paths.items()),
        ]
        _write(config, ("\n".join(lines) + "\n").encode("utf-8"))
    except OSError as exc:
        raise InitError(f"cannot write under {data_dir}: {exc.strerror or exc}") from exc
    return {**paths, "config": config, "offline": offline}
