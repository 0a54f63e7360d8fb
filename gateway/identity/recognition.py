"""Identity mutual recognition: a province's assertion in, a gateway-signed canonical one out.

:class:`Recognizer` holds the gateway's side of the policy (its signing key, the person-key
deriver, the audience province assertions must name, the lifetime of what it issues) and
:meth:`Recognizer.recognise` runs, for one province assertion:

1. the province format's own checks (:meth:`AssertionFormat.verify`: signature with the
   province's identity-provider key from the trust registry, issuer, validity window,
   audience, document number, method codes);
2. the level: the province's method codes through its level mapping (the trust
   registry's ``loa_mapping`` when it has one, else the format's ``loa``);
3. the person key (HMAC-SM3, per relying party when so configured); for a legal person
   the organisation's key, plus its agent's person key and the organisation-agent key
   binding them in the role (:func:`gateway.identity.pseudonym.derive_agent_key`);
4. the level a matter requires (``level_too_low``);
5. a canonical assertion for the relying party, signed by the gateway, carrying the person
   key and masked name and number only;
6. the log entry (:func:`recognition_entry`), which holds digests and a commitment to the
   person key (and, for a legal person, to the agent key), never a number or a name.

Refusals are :class:`AssertionRejected` with a reason from ``REJECTION_REASONS``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from gateway.encoding import canonical_json, format_time
from gateway.identity._enums import AssuranceLevel
from gateway.identity.assertion import DEFAULT_ISSUER, issue_canonical_assertion
from gateway.identity.levels import check_level
from gateway.identity.model import RecognisedIdentity
from gateway.identity.province import AssertionFormat, ProvinceAssertion, level_from_mapping
from gateway.identity.pseudonym import PersonKeyDeriver
from ledger.crypto import PrivateKey, PublicKey, sm3

__all__ = [
    "DEFAULT_AUDIENCE",
    "ENTRY_TYPE",
    "Recognition",
    "Recognizer",
    "agent_commitment",
    "person_commitment",
    "recognition_entry",
]

#: What province identity providers name as the audience of assertions for the gateway.
DEFAULT_AUDIENCE = "yrd-gateway"
ENTRY_TYPE = "identity.recognition"
ENTRY_VERSION = 1
#: Version of the entries of legal-person recognitions (v 1 plus subject_kind, role and
#: agent_commitment); natural-person entries stay v 1, byte for byte.
LEGAL_ENTRY_VERSION = 2
_COMMITMENT_DOMAIN = b"yrd-recognition/v1"
_AGENT_COMMITMENT_DOMAIN = b"yrd-recognition-agent/v1"


@dataclass(frozen=True)
class Recognition:
    """A successful recognition: the identity, the token issued for it, the log entry."""

    recognition_id: str
    identity: RecognisedIdentity
    assertion: ProvinceAssertion
    token: str
    audience: str
    issued_at: datetime
    expires_at: datetime
    required_level: AssuranceLevel | None
    entry: bytes


def person_commitment(recognition_id: str, person_key: str) -> bytes:
    """``SM3("yrd-recognition/v1" 0x00 recognition_id 0x00 person_key)``.

    The log holds this, not the person key: entries of one person cannot be linked by
    reading the log, but whoever holds the person key and the recognition id can show
    which entry is theirs.
    """
    return sm3(b"\x00".join((_COMMITMENT_DOMAIN, recognition_id.encode(), person_key.encode())))


def agent_commitment(recognition_id: str, agent_key: str) -> bytes:
    """``SM3("yrd-recognition-agent/v1" 0x00 recognition_id 0x00 agent_key)``: the log's
    commitment to the organisation-agent key, opened like :func:`person_commitment`."""
    parts = (_AGENT_COMMITMENT_DOMAIN, recognition_id.encode(), agent_key.encode())
    return sm3(b"\x00".join(parts))


def recognition_entry(recognition: Recognition, *, matter: str, recognised_at: datetime) -> bytes:
    """The log entry of a recognition: versioned canonical JSON (sorted keys, no spaces)::

    {"assertion_sm3": <hex SM3 of the province assertion bytes>,
     "issuing_province": "ZJ", "format": "zj-saml/1", "level": "substantial",
     "matter": "200060100100" | "", "methods": ["password", "sms_otp"],
     "person_commitment": <hex, see person_commitment>,
     "recognised_at": "...Z", "recognition_id": <uuid>,
     "relying_party": "JS/<USCC>/<subsystem>", "required_level": "substantial" | "",
     "token_sm3": <hex SM3 of the canonical assertion issued>,
     "type": "identity.recognition", "v": 1}

    A legal person's entry is ``"v": 2`` with three more fields: ``"subject_kind":
    "legal_person"``, ``"role"`` (the canonical role) and ``"agent_commitment"`` (hex, see
    :func:`agent_commitment`); ``person_commitment`` then commits to the organisation's key.
    No credit code, ID number or name is in either.
    """
    identity = recognition.identity
    return canonical_json(
        {
            "v": ENTRY_VERSION,
            "type": ENTRY_TYPE,
            "recognition_id": recognition.recognition_id,
            "relying_party": recognition.audience,
            "issuing_province": identity.issuing_province.value,
            "format": recognition.assertion.format,
            "assertion_sm3": recognition.assertion.digest.hex(),
            "person_commitment": person_commitment(
                recognition.recognition_id, identity.person_key
            ).hex(),
            "level": identity.level.value,
            "methods": sorted(m.value for m in identity.methods),
            "matter": matter,
            "required_level": recognition.required_level.value
            if recognition.required_level
            else "",
            "token_sm3": sm3(recognition.token.encode("ascii")).hex(),
            "recognised_at": format_time(recognised_at),
        }
        | _legal_person_fields(recognition)
    )


def _legal_person_fields(recognition: Recognition) -> dict[str, object]:
    """What a legal person's entry adds (v 2), or nothing for a natural person."""
    identity = recognition.identity
    if identity.role is None:
        return {}
    return {
        "v": LEGAL_ENTRY_VERSION,
        "subject_kind": identity.subject.kind,
        "role": identity.role.value,
        "agent_commitment": agent_commitment(recognition.recognition_id, identity.agent_key).hex(),
    }


class Recognizer:
    """The gateway's recognition policy (see the module docstring).

    ``gateway_key`` signs canonical assertions (members find its public key in the trust
    registry by key id); ``deriver`` makes person keys; ``audience`` is what province
    assertions must be addressed to; ``ttl`` is the lifetime of issued assertions and
    ``leeway`` the clock skew tolerated on province assertions.
    """

    def __init__(
        self,
        *,
        gateway_key: PrivateKey,
        deriver: PersonKeyDeriver,
        audience: str = DEFAULT_AUDIENCE,
        issuer: str = DEFAULT_ISSUER,
        ttl: timedelta = timedelta(minutes=5),
        leeway: timedelta = timedelta(seconds=30),
    ) -> None:
        self.gateway_key = gateway_key
        self.deriver = deriver
        self.audience = audience
        self.issuer = issuer
        self.ttl = ttl
        self.leeway = leeway

    def recognise(
        self,
        fmt: AssertionFormat,
        data: bytes,
        *,
        keys: Sequence[tuple[str, PublicKey]],
        loa_mapping: Mapping[str, str] | None,
        relying_party: str,
        now: datetime,
        recognition_id: str,
        required_level: AssuranceLevel | None = None,
        matter: str = "",
    ) -> Recognition:
        """Recognise ``data`` (a ``fmt`` assertion) for ``relying_party``; see the module
        docstring for the steps. Raises :class:`AssertionRejected`."""
        now = now.astimezone(UTC)
        # (1): the province's checks
        assertion = fmt.verify(data, keys, audience=self.audience, now=now, leeway=self.leeway)
        # (2): level
        mapping = loa_mapping or fmt.loa
        label = f"{fmt.province} registry" if loa_mapping else fmt.format
        level = level_from_mapping(assertion.local_methods, mapping, label=label)
        # (3): person key
        scope = relying_party if self.deriver.per_relying_party else None
        person_key = self.deriver.derive(assertion.subject, scope)
        agent_key = ""
        if assertion.agent is not None and assertion.role is not None:
            agent_person_key = self.deriver.derive(assertion.agent, scope)
            agent_key = self.deriver.agent_key(person_key, agent_person_key, assertion.role)
        identity = RecognisedIdentity(
            subject=assertion.subject,
            level=level,
            methods=assertion.methods,
            authenticated_at=assertion.authenticated_at,
            issuing_province=assertion.province,
            person_key=person_key,
            agent=assertion.agent,
            role=assertion.role,
            agent_key=agent_key,
        )
        # (4): the matter's level
        if required_level is not None:
            check_level(level, required_level)
        # (5): canonical assertion
        token = issue_canonical_assertion(
            identity, relying_party, self.gateway_key, now, self.ttl, issuer=self.issuer
        )
        issued = now.replace(microsecond=0)
        recognition = Recognition(
            recognition_id=recognition_id,
            identity=identity,
            assertion=assertion,
            token=token,
            audience=relying_party,
            issued_at=issued,
            expires_at=issued + timedelta(seconds=max(1, int(self.ttl.total_seconds()))),
            required_level=required_level,
            entry=b"",
        )
        # (6): log entry
        entry = recognition_entry(recognition, matter=matter, recognised_at=now)
        return replace(recognition, entry=entry)
