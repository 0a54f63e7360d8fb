"""Who may read what of the log: the one access policy of ``Exchange`` and ``Audit``.

docs/access.md states it, with the same table as :data:`POLICY` (a test checks the table
against this module and against a running gateway). Callers are known by the SHA-256
fingerprint of their mTLS client certificate, looked up in the trust registry in use:

- a **member** (``members[].tls_fingerprints``) reads what it is a party to;
- an **auditor** (``auditors[].tls_fingerprints``, inside its validity period) reads every
  log entry, proof, anchor and receipt: entries hold digests and organisation ids only;
- any other certificate is refused ``unauthenticated`` before anything is read.

Checkpoints, consistency proofs and anchors reveal only tree sizes, roots and chain
transactions, so every authenticated caller may have them: a member needs them to check its
own receipts against the log and the chain.

The parties of a log entry (:func:`entry_parties`): an exchange's sender and recipient; an
identity recognition's relying party; nobody for any other entry (auditors only). A refusal
never says who the parties are, so walking leaf indexes tells an outsider nothing beyond
the tree size that checkpoints publish anyway.
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

import grpc

from gateway.errors import Refusal
from gateway.identity.recognition import ENTRY_TYPE as RECOGNITION_TYPE
from gateway.registry import TrustRegistry, certificate_fingerprint

__all__ = [
    "POLICY",
    "Caller",
    "Role",
    "Scope",
    "authorize",
    "entry_parties",
    "identify",
]

_EXCHANGE_TYPE = "exchange"  # gateway.exchange.entry's "type" of an exchange entry


class Role(enum.StrEnum):
    """What a client certificate is bound to in the trust registry."""

    MEMBER = "member"
    AUDITOR = "auditor"


class Scope(enum.StrEnum):
    """How much of a method's data a role may read."""

    ALL = "all"  # every entry, exchange or size
    PARTY = "party"  # only entries and exchanges the caller is a party to
    SELF = "self"  # only as itself (the envelope's sender, the pulling member)
    NONE = "none"  # refused


_A, _P, _S, _N = Scope.ALL, Scope.PARTY, Scope.SELF, Scope.NONE

#: method -> role -> scope. The read methods are enforced by :func:`authorize`; ``SELF``
#: rows are enforced by the member checks of Submit and Pull (an auditor is no member).
POLICY: Mapping[str, Mapping[Role, Scope]] = MappingProxyType(
    {
        method: MappingProxyType({Role.MEMBER: member, Role.AUDITOR: auditor})
        for method, member, auditor in (
            ("Audit.GetCheckpoint", _A, _A),
            ("Audit.GetConsistencyProof", _A, _A),
            ("Audit.GetAnchors", _A, _A),
            ("Audit.GetInclusionProof", _P, _A),
            ("Exchange.GetReceipt", _P, _A),
            ("Exchange.GetStatus", _P, _N),
            ("Exchange.WatchStatus", _P, _N),
            ("Exchange.Submit", _S, _N),
            ("Exchange.Pull", _S, _N),
        )
    }
)


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: its role and id (a member id, or ``auditor/<name>``)."""

    role: Role
    id: str


@functools.lru_cache(maxsize=1024)
def _fingerprint(pem: bytes) -> str:
    return certificate_fingerprint(pem)


def identify(
    context: grpc.aio.ServicerContext, registry: TrustRegistry, now: datetime | None = None
) -> Caller:
    """The member or auditor the caller's client certificate is bound to.

    Raises ``Refusal(unauthenticated)`` for a certificate bound to nobody (fail closed) and
    for an auditor outside its validity period at ``now`` (default: the current time).
    """
    certs = context.auth_context().get("x509_pem_cert") or []
    if not certs:
        raise Refusal("unauthenticated", "no client certificate")
    fingerprint = _fingerprint(certs[0])
    member = registry.member_for_cert_fingerprint(fingerprint)
    if member is not None:
        return Caller(Role.MEMBER, str(member.id))
    auditor = registry.auditor_for_cert_fingerprint(fingerprint)
    if auditor is None:
        raise Refusal("unauthenticated", "no member or auditor is bound to the client certificate")
    problem = auditor.validity_problem(now or datetime.now(UTC))
    if problem:
        raise Refusal("unauthenticated", problem)
    return Caller(Role.AUDITOR, auditor.id)


def authorize(caller: Caller, method: str, parties: Iterable[str] = (), what: str = "") -> None:
    """Let ``caller`` read ``what`` through ``method`` (a key of :data:`POLICY`), or refuse.

    ``parties`` are the members ``what`` names (:func:`entry_parties`, or an exchange's
    sender and recipient). Raises ``Refusal(not_permitted)``, whose message names neither
    the parties nor anything of the entry.
    """
    scope = POLICY[method][caller.role]
    if scope is Scope.ALL:
        return
    if scope is Scope.PARTY and caller.id in set(parties):
        return
    if scope is Scope.NONE:
        raise Refusal("not_permitted", f"{method} is not open to a {caller.role}")
    raise Refusal(
        "not_permitted",
        f"{what or method}: only a party to it or an auditor may read it (docs/access.md)",
    )


def entry_parties(entry: bytes) -> frozenset[str]:
    """The members a log entry names as parties; empty for an entry only auditors read.

    An exchange entry (``"type": "exchange"``, any version): its sender and recipient. An
    identity recognition (``"identity.recognition"``): its relying party. Anything else,
    or bytes that are not a JSON object: nobody.
    """
    try:
        value = json.loads(entry)
    except (ValueError, UnicodeDecodeError):
        return frozenset()
    if not isinstance(value, dict):
        return frozenset()
    kind = value.get("type")
    names: tuple[object, ...]
    if kind == _EXCHANGE_TYPE:
        names = (value.get("sender"), value.get("recipient"))
    elif kind == RECOGNITION_TYPE:
        names = (value.get("relying_party"),)
    else:
        names = ()
    return frozenset(name for name in names if isinstance(name, str) and name)
