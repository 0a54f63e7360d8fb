"""``yrd-audit``'s input: files from outside, read with size and depth limits, and usage errors.

Every reader refuses (``UsageError``, exit 2) what it cannot read, what is too large and what
does not parse, before any check runs, so that exit 1 always means "a check failed".
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import boundedjson
from .checkpoint import parse_checkpoint
from .clitext import one_line
from .errors import CheckpointError, Code, Error, ReceiptError
from .trust import TrustStore

__all__ = [
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_USAGE",
    "MAX_CHECKPOINT_BYTES",
    "MAX_INPUT_BYTES",
    "ArgumentParser",
    "UsageError",
    "count_arg",
    "read_checkpoint",
    "read_input",
    "read_json",
    "read_proof",
    "read_trust",
]

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
MAX_INPUT_BYTES = 16 << 20
"""Largest receipt, trust, proof or checkpoint file read; ours are kilobytes."""
MAX_CHECKPOINT_BYTES = 64 << 10


class UsageError(Error):
    """Bad input on the command line: exit 2."""

    code = Code.USAGE


class ArgumentParser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error of this CLI."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)} (see --help)\n")


def read_input(path: str, what: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise UsageError(f"{what} {path} is larger than {limit} bytes")
    if not data.strip():
        raise UsageError(f"{what} {path} is empty")
    return data


def read_json(path: str, what: str, limit: int = MAX_INPUT_BYTES) -> Any:
    """A JSON file from outside: size and nesting depth checked before the parser runs."""
    try:
        return boundedjson.loads(read_input(path, what, limit), max_bytes=limit)
    except boundedjson.JsonLimitError as exc:
        if exc.__cause__ is not None:  # the parser's own complaint, not a limit
            raise UsageError(f"{what} {path} is not json: {exc.__cause__}") from exc
        raise UsageError(f"{what} {path} refused: {exc}") from exc


def read_trust(path: str) -> TrustStore:
    data = read_input(path, "trust file")
    try:
        boundedjson.check_depth(data)
        return TrustStore.load(data)
    except boundedjson.JsonLimitError as exc:
        raise UsageError(f"trust file {path}: {exc}") from exc
    except ReceiptError as exc:
        raise UsageError(str(exc)) from exc


def read_checkpoint(path: str, label: str) -> str:
    """A checkpoint note's text, refused (exit 2) unless it parses as one."""
    raw = read_input(path, f"{label} checkpoint", MAX_CHECKPOINT_BYTES)
    try:
        text = raw.decode("utf-8")
        parse_checkpoint(text)
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{label} checkpoint {path} is not utf-8 text (byte {exc.start}: "
            f"{raw[exc.start : exc.start + 8]!r})"
        ) from exc
    except CheckpointError as exc:
        raise UsageError(f"{label} checkpoint {path} is not a checkpoint note: {exc}") from exc
    return text


def read_proof(path: str) -> tuple[int | None, int | None, list[bytes]]:
    """A consistency proof file: ``{old_size, new_size, proof: [hex...]}`` or a bare list."""
    document = read_json(path, "proof file")
    try:
        items = document["proof"] if isinstance(document, dict) else document
        proof = [bytes.fromhex(p) for p in items]
        old = document.get("old_size") if isinstance(document, dict) else None
        new = document.get("new_size") if isinstance(document, dict) else None
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(
            f"proof file {path} must be json {{old_size, new_size, proof: [hex...]}}"
        ) from exc
    return old, new, proof


def count_arg(text: str) -> int:
    """An argparse type: a whole number, 0 or more (a quorum K)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value
