"""``yrdgw registry ...``: create, sign, inspect and verify trust registry files.

Wire into the main CLI with ``add_registry_commands(subparsers)``; every command sets
``args.func``, a function that takes the parsed namespace and returns the exit code:

- ``0``: done / the registry is valid;
- ``1``: the registry failed a check (the message names it);
- ``2``: usage or input error (unreadable file, malformed key, bad option).

Errors are printed as one line on stderr, never as a traceback.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.errors import Code, Error
from gateway.registry._dev import DEV_MEMBERS, build_dev_registry
from gateway.registry._model import (
    Region,
    RegistryDocument,
    certificate_fingerprint,
    format_time,
    normalize_fingerprint,
)
from gateway.registry._parse import loads_strict, parse_document, parse_time
from gateway.registry._signing import load_registry, sign_registry
from gateway.registry.errors import RegistryError, RegistryFormatError
from ledger.boundedjson import JsonLimitError, check_depth
from ledger.clitext import one_line
from ledger.crypto import PrivateKey, PublicKey
from ledger.errors import KeyFormatError

__all__ = [
    "add_registry_commands",
    "cmd_create",
    "cmd_inspect",
    "cmd_sign",
    "cmd_verify",
]

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class _InputError(Error):
    """A usage or input problem: exit code 2."""

    code = Code.USAGE


def _command(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Any]:
    def wrap(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        @functools.wraps(func)
        def run(args: argparse.Namespace) -> int:
            try:
                return func(args)
            except _InputError as exc:
                print(f"registry {name}: error: {one_line(exc)}", file=sys.stderr)
                return EXIT_USAGE
            except RegistryError as exc:
                print(f"registry {name}: invalid: {one_line(exc)}", file=sys.stderr)
                return EXIT_INVALID

        return run

    return wrap


def add_registry_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``registry {create,sign,inspect,verify}`` to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "registry",
        help="create, sign, inspect and verify trust registry files",
        description="Create, sign, inspect and verify the consortium's signed trust registry.",
    )
    sub = parser.add_subparsers(dest="registry_command", metavar="COMMAND", required=True)

    create = sub.add_parser(
        "create",
        help="write an unsigned dev registry for the four regions",
        description=(
            "Write an unsigned dev registry document. Keys are read from KEYS_DIR "
            "(member-sh.key.pem or member-sh.pub.pem, log.*, attestation.*, identity.*, "
            "idp-*, governance.*) and "
            "generated there when missing; member-<region>.crt.pem, if present, gives the "
            "member's TLS certificate fingerprint, and auditor.crt.pem the dev auditor's."
        ),
    )
    create.add_argument("--out", required=True, type=Path, help="document to write (JSON)")
    create.add_argument("--keys-dir", required=True, type=Path, help="where keys live")
    create.add_argument(
        "--governance-pub", type=Path, help="governance public key PEM (default: KEYS_DIR)"
    )
    create.add_argument("--days", type=int, default=365, help="validity in days (365)")
    create.add_argument("--serial", type=int, default=1, help="registry serial (1)")
    create.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="REGION=URL",
        help="push endpoint for a region (repeatable)",
    )
    create.add_argument(
        "--server-pin",
        action="append",
        default=[],
        metavar="REGION=SHA256",
        help="sha-256 of the server certificate of a region's https endpoint (repeatable; "
        "required for https endpoints)",
    )
    create.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    create.set_defaults(func=cmd_create)

    sign = sub.add_parser("sign", help="sign a registry document with the governance key")
    sign.add_argument("--key", required=True, type=Path, help="governance private key PEM")
    sign.add_argument("--in", dest="input", required=True, type=Path, help="document (JSON)")
    sign.add_argument("--out", required=True, type=Path, help="signed registry to write")
    sign.set_defaults(func=cmd_sign)

    inspect = sub.add_parser("inspect", help="print a summary of a (signed) registry")
    inspect.add_argument("file", type=Path, help="signed registry or bare document")
    inspect.add_argument(
        "--trust", action="append", type=Path, default=[], help="also verify with this key"
    )
    inspect.add_argument("--at", help="judge validity at this RFC 3339 time (default: now)")
    inspect.set_defaults(func=cmd_inspect)

    verify = sub.add_parser(
        "verify", help="verify signature and validity; exit 0 valid, 1 invalid, 2 input error"
    )
    verify.add_argument("file", type=Path, help="signed registry")
    verify.add_argument(
        "--trust",
        action="append",
        type=Path,
        required=True,
        help="trusted governance public key PEM (repeatable)",
    )
    verify.add_argument("--at", help="verify as of this RFC 3339 time (default: now)")
    verify.set_defaults(func=cmd_verify)
    return parser


# -- helpers ------------------------------------------------------------------------------


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


def _read_json(path: Path, what: str) -> bytes:
    """A JSON file's bytes, refused before parsing if it nests deeper than any registry."""
    data = _read(path, what)
    try:
        check_depth(data)
    except JsonLimitError as exc:
        raise _InputError(f"{what} {path}: {exc}") from exc
    return data


def _public_key(path: Path) -> PublicKey:
    try:
        return PublicKey.from_pem(_read(path, "key"))
    except KeyFormatError as exc:
        raise _InputError(f"{path}: {exc}") from exc


def _private_key(path: Path) -> PrivateKey:
    try:
        return PrivateKey.from_pem(_read(path, "key"))
    except KeyFormatError as exc:
        raise _InputError(f"{path}: {exc}") from exc


def _now(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        return parse_time(text, "--at")
    except RegistryFormatError as exc:
        raise _InputError(str(exc)) from exc


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _InputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _key_pair(directory: Path, stem: str) -> PublicKey:
    """``stem.key.pem`` or ``stem.pub.pem`` from ``directory``; a new pair if neither."""
    private, public = directory / f"{stem}.key.pem", directory / f"{stem}.pub.pem"
    if private.exists():
        return _private_key(private).public_key
    if public.exists():
        return _public_key(public)
    key = PrivateKey.generate()
    _write_atomic(private, key.to_pem(), mode=0o600)
    _write_atomic(public, key.public_key.to_pem())
    return key.public_key


# -- commands -----------------------------------------------------------------------------


@_command("create")
def cmd_create(args: argparse.Namespace) -> int:
    """Write an unsigned dev registry document, reading or generating keys in --keys-dir."""
    if args.out.exists() and not args.force:
        raise _InputError(f"{args.out} exists (use --force to overwrite)")
    if args.days < 1 or args.serial < 1:
        raise _InputError("--days and --serial must be at least 1")
    endpoints: dict[Region | str, str] = {}
    for item in args.endpoint:
        region, sep, url = item.partition("=")
        if not sep or region.upper() not in Region.__members__:
            raise _InputError(
                f"--endpoint: expected REGION=URL with REGION in SH/JS/ZJ/AH, got {item!r}"
            )
        endpoints[Region(region.upper())] = url
    pins: dict[Region | str, str] = {}
    for item in args.server_pin:
        region, sep, pin = item.partition("=")
        if not sep or region.upper() not in Region.__members__:
            raise _InputError(
                f"--server-pin: expected REGION=SHA256 with REGION in SH/JS/ZJ/AH, got {item!r}"
            )
        try:
            pins[Region(region.upper())] = normalize_fingerprint(pin)
        except ValueError as exc:
            raise _InputError(f"--server-pin {item!r}: {exc}") from exc
    keys_dir: Path = args.keys_dir
    try:
        keys_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _InputError(f"cannot create {keys_dir}: {exc.strerror or exc}") from exc

    governance = (
        _public_key(args.governance_pub)
        if args.governance_pub
        else _key_pair(keys_dir, "governance")
    )
    member_keys: dict[Region | str, PublicKey | Sequence[PublicKey]] = {}
    idp_keys: dict[Region | str, PublicKey | Sequence[PublicKey]] = {}
    fingerprints: dict[Region | str, Sequence[str]] = {}
    for region in DEV_MEMBERS:
        stem = region.value.lower()
        member_keys[region] = _key_pair(keys_dir, f"member-{stem}")
        idp_keys[region] = _key_pair(keys_dir, f"idp-{stem}")
        cert = keys_dir / f"member-{stem}.crt.pem"
        if cert.exists():
            try:
                fingerprints[region] = [certificate_fingerprint(_read(cert, "certificate"))]
            except ValueError as exc:
                raise _InputError(f"{cert}: not a pem certificate ({exc})") from exc
    auditor_cert = keys_dir / "auditor.crt.pem"
    auditor_fingerprints: list[str] = []
    if auditor_cert.exists():
        try:
            auditor_fingerprints = [
                certificate_fingerprint(_read(auditor_cert, "auditor certificate"))
            ]
        except ValueError as exc:
            raise _InputError(f"{auditor_cert}: not a pem certificate ({exc})") from exc
    document = build_dev_registry(
        member_keys,
        governance,
        [_key_pair(keys_dir, "log")],
        attestation_keys=[_key_pair(keys_dir, "attestation")],
        identity_keys=[_key_pair(keys_dir, "identity")],
        tls_fingerprints=fingerprints,
        identity_provider_keys=idp_keys,
        endpoints=endpoints,
        server_cert_pins=pins,
        valid_for=timedelta(days=args.days),
        serial=args.serial,
        auditor_fingerprints=auditor_fingerprints,
    )
    parse_document(document)  # never write a document that would not load
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    _write_atomic(args.out, text.encode("utf-8"))
    print(
        f"wrote unsigned registry {args.out}: serial {args.serial}, "
        f"{len(document['members'])} members, expires {document['expires_at']}"
    )
    print(
        f"governance key id {governance.key_id}; next: yrdgw registry sign --key ... "
        f"--in {args.out} --out SIGNED.json"
    )
    return EXIT_OK


@_command("sign")
def cmd_sign(args: argparse.Namespace) -> int:
    """Sign --in with the governance key --key and write the signed wrapper to --out."""
    key = _private_key(args.key)
    document = loads_strict(_read_json(args.input, "document"))
    if isinstance(document, dict) and "registry" in document and "signature" in document:
        raise _InputError(f"{args.input} is already signed (sign the bare document)")
    signed = sign_registry(document, key)
    _write_atomic(args.out, signed)
    print(
        f"signed registry serial {document['serial']} with governance key "
        f"{key.public_key.key_id} -> {args.out}"
    )
    return EXIT_OK


def _status(not_before: datetime, not_after: datetime, now: datetime) -> str:
    if now < not_before:
        return "not yet valid"
    if now >= not_after:
        return "expired"
    return f"valid, {(not_after - now).days} days left"


def _summary(doc: RegistryDocument, now: datetime) -> list[str]:
    lines = [
        f"version {doc.version}, serial {doc.serial}",
        f"issued  {format_time(doc.issued_at)}",
        f"expires {format_time(doc.expires_at)} ({_status(doc.issued_at, doc.expires_at, now)})",
        f"governance key {doc.governance_key_id}",
        f"log origin {doc.log.origin!r}",
    ]
    for key in doc.log.keys:
        lines.append(
            f"  log key {key.key_id[:16]}… {format_time(key.not_before)} .. "
            f"{format_time(key.not_after)} ({_status(key.not_before, key.not_after, now)})"
        )
    for gateway_key in doc.gateway_keys:
        key = gateway_key.key
        lines.append(
            f"  {gateway_key.purpose} key {key.key_id[:16]}… {format_time(key.not_before)} .. "
            f"{format_time(key.not_after)} ({_status(key.not_before, key.not_after, now)})"
        )
    lines.append(f"members ({len(doc.members)}):")
    for member in doc.members:
        delivery = member.delivery
        where = f" {delivery.endpoint}" if delivery.endpoint else ""
        lines.append(f"  {member.id}  {member.display_name}")
        lines.append(f"    delivery {delivery.mode}{where}, dialect {delivery.dialect}")
        for key in member.keys:
            lines.append(
                f"    key {key.key_id[:16]}… {format_time(key.not_before)} .. "
                f"{format_time(key.not_after)} ({_status(key.not_before, key.not_after, now)})"
            )
        for fp in member.tls_fingerprints:
            lines.append(f"    tls sha256 {fp}")
        for label, rules in (
            ("send", member.send_permissions),
            ("receive", member.receive_permissions),
        ):
            for rule in rules:
                lines.append(
                    f"    {label} kinds={','.join(rule.kinds)} matters={','.join(rule.matters)} "
                    f"{'to' if label == 'send' else 'from'}={','.join(rule.peers)}"
                )
    lines.append(f"auditors ({len(doc.auditors)}):")
    for auditor in doc.auditors:
        lines.append(
            f"  {auditor.id}  {auditor.display_name}  {format_time(auditor.not_before)} .. "
            f"{format_time(auditor.not_after)} "
            f"({_status(auditor.not_before, auditor.not_after, now)})"
        )
        for fp in auditor.tls_fingerprints:
            lines.append(f"    tls sha256 {fp}")
    if doc.witnesses:
        lines.append(f"witnesses ({len(doc.witnesses)}), quorum {doc.witness_quorum}:")
        for witness in doc.witnesses:
            lines.append(
                f"  {witness.name}  key {witness.public_key.key_id[:16]}…  {witness.url}"
                f"  logs {', '.join(witness.logs)}"
            )
    lines.append(f"identity providers ({len(doc.identity_providers)}):")
    for provider in doc.identity_providers:
        lines.append(f"  {provider.region} {provider.name}: {len(provider.keys)} key(s)")
    return lines


@_command("inspect")
def cmd_inspect(args: argparse.Namespace) -> int:
    """Print a human summary; with --trust, also verify (exit 1 if that fails)."""
    now = _now(args.at)
    trusted = [_public_key(p) for p in args.trust]
    data = _read_json(args.file, "registry")
    wrapper = loads_strict(data)
    signed = isinstance(wrapper, dict) and "registry" in wrapper
    document = parse_document(wrapper["registry"] if signed else wrapper)
    for line in _summary(document, now):
        print(line)
    if not signed:
        print("signature: none (unsigned document)")
    elif not trusted:
        print(f"signature: by key {wrapper.get('key_id')}, not checked (pass --trust)")
    else:
        load_registry(data, trusted, now)
        print(f"signature: valid, by governance key {wrapper['key_id']}")
    return EXIT_OK


@_command("verify")
def cmd_verify(args: argparse.Namespace) -> int:
    """Verify signature, trust, format and validity period; exit 0 valid, 1 invalid."""
    trusted = [_public_key(p) for p in args.trust]
    now = _now(args.at)
    registry = load_registry(_read_json(args.file, "registry"), trusted, now)
    print(
        f"ok: registry serial {registry.serial} signed by {registry.governance_key_id}, "
        f"{len(registry.members)} members, valid until {format_time(registry.expires_at)}"
    )
    return EXIT_OK
