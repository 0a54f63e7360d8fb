"""The witness protocol (C2SP tlog-witness ``add-checkpoint``), independent of HTTP.

:meth:`Witness.add_checkpoint` takes the request body and returns the :class:`Response` to
send. The checks run in the order the spec lists them, each refusal with its own status:

  (1) parse: ``old N``, at most 63 base64 hashes, an empty line, a checkpoint note (400;
      413 over :data:`MAX_BODY`);
  (2) the origin is one this witness witnesses (404);
  (3) a signature on the note verifies with a trusted key of that origin; others are
      ignored (403);
  then, in one store transaction:
  (4) a checkpoint of this size cosigned earlier with another root: record split-view
      evidence and refuse (409), whatever the old size says (even one beyond the
      checkpoint's size: a signed conflict matters more than a malformed request);
  (5) old size <= checkpoint size (400);
  (6) the old size is the latest cosigned size, or 0 if none (409 ``text/x.tlog.size``);
  (7) the consistency proof from the latest cosigned checkpoint verifies (422; a validly
      signed checkpoint with a refused proof is logged and kept as "inconsistent_proof"
      evidence, which proves nothing on its own);
  (8) cosign, store as the latest, commit (fsync), answer 200 with the cosignature line.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger import merkle
from ledger.checkpoint import SignedCheckpoint, parse_checkpoint, verify_checkpoint
from ledger.clitext import one_line
from ledger.cosignature import add_signature_lines, cosign
from ledger.crypto import PrivateKey
from ledger.errors import CheckpointError, ProofError
from ledger.evidence import evidence_document
from ledger.trust import TrustedLog, TrustStore

from ._store import Cosigned, Transaction, WitnessStore
from .errors import WitnessCode, WitnessError

__all__ = ["MAX_BODY", "STATUS", "Response", "Witness"]

log = logging.getLogger("ledger.witness")

MAX_BODY = 64 << 10
"""Largest add-checkpoint body: 63 proof lines and a note with many signatures fit easily."""
MAX_PROOF_LINES = 63
MAX_SIZE = 2**63 - 1
"""Largest tree size accepted (what SQLite's INTEGER and cosignature timestamps hold)."""
SPLIT_VIEW = "split_view"
INCONSISTENT_PROOF = "inconsistent_proof"
TEXT = "text/plain; charset=utf-8"
TLOG_SIZE = "text/x.tlog.size"

STATUS = {
    WitnessCode.MALFORMED: 400,
    WitnessCode.OLD_SIZE_AHEAD: 400,
    WitnessCode.FORBIDDEN: 403,
    WitnessCode.UNKNOWN_ORIGIN: 404,
    WitnessCode.NOT_FOUND: 404,
    WitnessCode.METHOD: 405,
    WitnessCode.STALE_OLD_SIZE: 409,
    WitnessCode.CONFLICT: 409,
    WitnessCode.LENGTH_REQUIRED: 411,
    WitnessCode.TOO_LARGE: 413,
    WitnessCode.BAD_PROOF: 422,
    WitnessCode.CONFIG: 500,
}
"""The HTTP status of each refusal (C2SP tlog-witness where it names one)."""


@dataclass(frozen=True, slots=True)
class Response:
    """What to answer: status, content type, body; ``code`` and ``reason`` (one line) say
    why for a refusal, for the log line."""

    status: int
    content_type: str
    body: bytes
    code: WitnessCode | None = None
    reason: str = ""

    @classmethod
    def refusal(cls, error: WitnessError) -> Response:
        reason = one_line(error)
        if error.code is WitnessCode.STALE_OLD_SIZE:
            body = f"{error.latest_size}\n".encode()
            return cls(STATUS[error.code], TLOG_SIZE, body, error.code, reason)
        body = f"{error.code.value}: {reason}\n".encode()
        return cls(STATUS[error.code], TEXT, body, error.code, reason)


@dataclass(frozen=True, slots=True)
class _Request:
    old_size: int
    proof: list[bytes]
    note: str
    origin: str


def _decimal(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit() or (text != "0" and text.startswith("0")):
        raise WitnessError(WitnessCode.MALFORMED, f"{what} is not a canonical decimal: {text!r}")
    if len(text) > 19 or int(text) > MAX_SIZE:
        raise WitnessError(WitnessCode.MALFORMED, f"{what} exceeds 2^63-1")
    return int(text)


def parse_request(body: bytes) -> _Request:
    """Step (1): the add-checkpoint body; WitnessError MALFORMED / TOO_LARGE naming the part."""
    if len(body) > MAX_BODY:
        raise WitnessError(WitnessCode.TOO_LARGE, f"body is {len(body)} bytes, limit {MAX_BODY}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WitnessError(WitnessCode.MALFORMED, "body is not utf-8") from exc
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise WitnessError(WitnessCode.MALFORMED, "no empty line before the checkpoint")
    lines = head.split("\n")
    first, proof_lines = lines[0], lines[1:]
    if not first.startswith("old "):
        raise WitnessError(WitnessCode.MALFORMED, "first line must be 'old <size>'")
    old_size = _decimal(first[4:], "old size")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise WitnessError(
            WitnessCode.MALFORMED,
            f"consistency proof has {len(proof_lines)} lines, at most {MAX_PROOF_LINES}",
        )
    proof = []
    for n, line in enumerate(proof_lines):
        try:
            node = base64.b64decode(line, validate=True)
        except binascii.Error as exc:
            raise WitnessError(
                WitnessCode.MALFORMED, f"consistency proof line {n + 1} is not base64"
            ) from exc
        if len(node) != merkle.HASH_SIZE or base64.b64encode(node).decode() != line:
            raise WitnessError(
                WitnessCode.MALFORMED,
                f"consistency proof line {n + 1}: expected a {merkle.HASH_SIZE}-byte hash in "
                f"canonical base64, got {len(node)} bytes",
            )
        proof.append(node)
    try:
        signed = parse_checkpoint(note)
    except CheckpointError as exc:
        raise WitnessError(WitnessCode.MALFORMED, f"checkpoint: {exc}") from exc
    if signed.size > MAX_SIZE:
        raise WitnessError(WitnessCode.MALFORMED, "checkpoint size exceeds 2^63-1")
    return _Request(old_size, proof, note, signed.checkpoint.origin)


class Witness:
    """A witness named ``name`` with SM2 key ``key``, cosigning the logs of ``logs`` (each
    log entry with an explicit origin), keeping its state in ``store``. ``clock`` gives
    the POSIX time for cosignature timestamps and evidence."""

    def __init__(
        self,
        name: str,
        key: PrivateKey,
        logs: TrustStore,
        store: WitnessStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not name or any(c.isspace() for c in name) or "+" in name:
            raise WitnessError(WitnessCode.CONFIG, "witness name must be one word with no '+'")
        if any(entry.origin is None for entry in logs.logs):
            raise WitnessError(
                WitnessCode.CONFIG, "every log in the trust file must name its origin"
            )
        self.name = name
        self.key = key
        self.logs = logs
        self.store = store
        self._clock = clock

    @property
    def origins(self) -> list[str]:
        return sorted({entry.origin for entry in self.logs.logs if entry.origin is not None})

    def add_checkpoint(self, body: bytes) -> Response:
        """Answer one add-checkpoint request (see the module doc for the steps)."""
        try:
            line = self._add(body)
        except WitnessError as exc:
            return Response.refusal(exc)
        return Response(200, TEXT, line.encode(), None, "cosigned")

    def _add(self, body: bytes) -> str:
        # (1): parse
        request = parse_request(body)
        origin = request.origin
        # (2): known origin
        keys = [entry for entry in self.logs.logs if entry.origin == origin]
        if not keys:
            raise WitnessError(WitnessCode.UNKNOWN_ORIGIN, f"unknown origin {origin!r}")
        # (3): a valid signature by a trusted key of the origin
        signed = _verify(request.note, origin, keys)
        with self.store.transaction() as tx:
            refusal, line = self._decide(tx, request, signed)
        if refusal is not None:
            raise refusal
        return line

    def _decide(
        self, tx: Transaction, request: _Request, signed: SignedCheckpoint
    ) -> tuple[WitnessError | None, str]:
        """Steps (4)-(8) inside the transaction. A refusal is returned, not raised, so the
        evidence recorded on the way is committed."""
        origin, size, root = signed.checkpoint.origin, signed.size, signed.root
        # (4): same size, another root, ever
        earlier = tx.cosigned(origin, size)
        if earlier is not None and earlier.root != root:
            document = self._evidence(SPLIT_VIEW, earlier.note, signed)
            if tx.record_evidence(origin, SPLIT_VIEW, size, root, document):
                log.warning(
                    "split view of %s: offered size %d with a root other than the one cosigned; "
                    "evidence recorded",
                    one_line(origin),
                    size,
                )
            return WitnessError(
                WitnessCode.CONFLICT,
                f"a checkpoint of size {size} with another root was cosigned earlier; "
                "evidence recorded",
            ), ""
        # (5): old size not beyond the checkpoint
        if request.old_size > size:
            return WitnessError(
                WitnessCode.OLD_SIZE_AHEAD,
                f"old size {request.old_size} is larger than the checkpoint size {size}",
            ), ""
        # (6): old size is the latest cosigned size
        latest = tx.latest(origin)
        latest_size = 0 if latest is None else latest.size
        if request.old_size != latest_size:
            return WitnessError(
                WitnessCode.STALE_OLD_SIZE,
                f"old size {request.old_size} is not the latest cosigned size {latest_size}",
                latest_size,
            ), ""
        # (7): consistency from the latest cosigned checkpoint
        old_root = merkle.EMPTY_ROOT if latest is None else latest.root
        try:
            merkle.verify_consistency(latest_size, size, request.proof, old_root, root)
        except ProofError as exc:
            if latest is not None:
                log.warning(
                    "refused consistency proof of %s from %d to %d (validly signed): %s",
                    one_line(origin),
                    latest_size,
                    size,
                    one_line(exc),
                )
                document = self._evidence(INCONSISTENT_PROOF, latest.note, signed)
                document["old_size"] = latest_size
                document["proof"] = [base64.b64encode(p).decode() for p in request.proof]
                tx.record_evidence(origin, INCONSISTENT_PROOF, size, root, document)
            return WitnessError(WitnessCode.BAD_PROOF, f"consistency proof: {exc}"), ""
        # (8): cosign and keep; the time never goes back for an origin, so a later, larger
        # checkpoint never carries an earlier "as of" time than a smaller one (C2SP semantics)
        when = max(int(self._clock()), 0 if latest is None else latest.cosigned_at)
        cosignature = cosign(signed.checkpoint, self.key, self.name, when)
        note = add_signature_lines(signed.text, [cosignature.line])
        tx.record_cosigned(Cosigned(origin, size, root, note, when))
        return None, cosignature.line

    def _evidence(self, kind: str, cosigned: str, offered: SignedCheckpoint) -> dict[str, Any]:
        document = evidence_document(offered.checkpoint.origin, self.name, cosigned, offered.text)
        document["kind"] = kind
        return document

    def latest_note(self, origin: str) -> str | None:
        """The latest cosigned note for ``origin`` (log signature and this witness's)."""
        latest = self.store.latest(origin)
        return None if latest is None else latest.note

    def evidence(self, origin: str | None = None) -> list[dict[str, Any]]:
        return self.store.evidence(origin)


def _verify(note: str, origin: str, keys: list[TrustedLog]) -> SignedCheckpoint:
    """Step (3): the note as signed by the first trusted key of ``origin`` that verifies."""
    failures = []
    for entry in keys:
        try:
            return verify_checkpoint(note, entry.public_key, origin=origin, key_name=entry.key_name)
        except CheckpointError as exc:
            failures.append(str(exc))
    raise WitnessError(
        WitnessCode.FORBIDDEN,
        f"no signature verifies with a trusted key of {origin!r}: {'; '.join(failures)}",
    )
