"""The gRPC ``yrd.v1.Identity`` service: identity mutual recognition between the regions.

``gateway.app.compose.compose`` builds the servicer; ``add_identity_service`` registers it.
``Recognize`` (``protos/yrd/v1/identity.proto``):

1. caller: the member bound to the mTLS client certificate (``unauthenticated``);
2. the rest is :class:`gateway.identity.service.RecognitionService`, shared with the
   windows' REST endpoint: the province's format, the required level (the matter's and
   ``minimum_level``), recognition with the trust registry's identity-provider keys and
   level mapping, and one log entry whose receipt is returned with the canonical assertion.
   Refusals keep the identity package's reasons (on the wire their ``ErrorReason`` names,
   ``BAD_SIGNATURE``..., see docs/errors.md).

Configuration, in ``settings.extra["identity"]`` (all optional):

- ``audience``: what province assertions must be addressed to (``"yrd-gateway"``);
- ``per_relying_party``: person keys scoped to the calling member (``false``);
- ``person_key_secret_file``: the HMAC secret (at least 32 bytes). Default
  ``<data_dir>/identity/person-key.secret``, made once with 32 random bytes. Keep it and
  back it up: a new secret changes every person key;
- ``assertion_ttl_seconds`` (300) and ``leeway_seconds`` (30);
- revocation lists (:func:`revocation_watch_for`): ``revocation_poll_seconds`` (30),
  ``revocation_fetch_timeout_seconds`` (10), ``revocation_grace_seconds`` (60) and
  ``revocation_max_bytes`` (1 MiB).

The canonical assertions are signed with the gateway's identity key, which the trust
registry lists with purpose ``identity``; members verify them with
``registry.gateway_keys("identity")`` (never the checkpoint key).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import grpc

from gateway import regions
from gateway.dialects.catalogue import DialectCatalogue
from gateway.dialects.errors import CatalogueError
from gateway.errors import ConfigError, Refusal
from gateway.exchange.logview import GatewayLog
from gateway.identity import (
    AssuranceLevel,
    IdentityError,
    NaturalPerson,
    PersonKeyDeriver,
    RecognisedIdentity,
)
from gateway.identity.province import AssertionFormat
from gateway.identity.recognition import DEFAULT_AUDIENCE, Recognition, Recognizer
from gateway.identity.replay import Claims
from gateway.identity.revocation_watch import RevocationWatch
from gateway.identity.service import RecognitionService
from gateway.matters import Catalogue, default_catalogue
from gateway.ops.metrics import Metrics
from gateway.ops.privacy import mask_id_number, mask_name, mask_uscc
from gateway.pb.yrd.v1 import identity_pb2, identity_pb2_grpc
from gateway.registry import Region, TrustRegistry
from gateway.rpc.exchange import caller_member, receipt_proto
from gateway.rpc.status import abort
from gateway.times import to_timestamp
from ledger.crypto import PrivateKey

__all__ = [
    "IdentityServicer",
    "IdentitySettings",
    "add_identity_service",
    "load_person_key_secret",
    "recognizer_for",
    "revocation_watch_for",
]

log = logging.getLogger("gateway.identity")

SERVICE_NAME = identity_pb2.DESCRIPTOR.services_by_name["Identity"].full_name
_LEVEL_TO_PB = {
    AssuranceLevel.LOW: identity_pb2.ASSURANCE_LEVEL_LOW,
    AssuranceLevel.SUBSTANTIAL: identity_pb2.ASSURANCE_LEVEL_SUBSTANTIAL,
    AssuranceLevel.HIGH: identity_pb2.ASSURANCE_LEVEL_HIGH,
}
_PB_TO_LEVEL = {v: k for k, v in _LEVEL_TO_PB.items()}


class IdentitySettings(Protocol):
    """The settings identity recognition reads (``gateway.app.settings.Settings``): the data
    directory and the ``[extra.identity]`` table."""

    @property
    def data_dir(self) -> Path: ...

    @property
    def extra(self) -> Mapping[str, Any]: ...


def load_person_key_secret(settings: IdentitySettings) -> bytes:
    """The person-key HMAC secret: the configured file, or one made once in the data dir."""
    config = _config(settings)
    configured = config.get("person_key_secret_file")
    if configured:
        try:
            return Path(configured).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read person_key_secret_file: {exc}") from exc
    path = Path(settings.data_dir) / "identity" / "person-key.secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(secrets.token_bytes(32))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_bytes()


def _config(settings: IdentitySettings) -> Mapping[str, Any]:
    extra = getattr(settings, "extra", None) or {}
    config = extra.get("identity", {})
    if not isinstance(config, Mapping):
        raise ConfigError("settings extra.identity: expected a table")
    return config


def recognizer_for(settings: IdentitySettings, identity_key: PrivateKey) -> Recognizer:
    """The recognizer configured by ``settings`` (``extra.identity`` and the person-key
    secret), signing canonical assertions with the gateway's ``identity_key``."""
    config = _config(settings)
    try:
        deriver = PersonKeyDeriver(
            load_person_key_secret(settings),
            per_relying_party=bool(config.get("per_relying_party", False)),
        )
    except IdentityError as exc:
        raise ConfigError(f"identity person keys: {exc}") from exc
    return Recognizer(
        gateway_key=identity_key,
        deriver=deriver,
        audience=str(config.get("audience", DEFAULT_AUDIENCE)),
        ttl=timedelta(seconds=int(config.get("assertion_ttl_seconds", 300))),
        leeway=timedelta(seconds=int(config.get("leeway_seconds", 30))),
    )


def _positive(config: Mapping[str, Any], name: str, default: float) -> float:
    value = config.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"settings extra.identity.{name}: expected a positive number")
    return float(value)


def revocation_watch_for(
    settings: IdentitySettings,
    registry: Callable[[], TrustRegistry],
    adapters: DialectCatalogue,
    metrics: Metrics | None,
) -> RevocationWatch:
    """The revocation-list watcher configured by ``settings`` (``extra.identity``)."""
    config = _config(settings)
    return RevocationWatch(
        registry=registry,
        formats=lambda region: _format_of(adapters, region),
        metrics=metrics,
        poll_seconds=_positive(config, "revocation_poll_seconds", 30),
        timeout_seconds=_positive(config, "revocation_fetch_timeout_seconds", 10),
        grace_seconds=_positive(config, "revocation_grace_seconds", 60),
        max_bytes=int(_positive(config, "revocation_max_bytes", 1 << 20)),
    )


class IdentityServicer(identity_pb2_grpc.IdentityServicer):
    """``yrd.v1.Identity``; the steps are in the module docstring."""

    def __init__(
        self,
        *,
        registry: Callable[[], TrustRegistry],
        adapters: DialectCatalogue,
        log: GatewayLog,
        executor: Executor | None,
        recognizer: Recognizer,
        catalogue: Catalogue | None = None,
        replay: Claims | None = None,
        revocations: RevocationWatch | None = None,
    ) -> None:
        self.registry = registry
        self.recognizer = recognizer
        self.service = RecognitionService(
            registry=registry,
            formats=lambda region: _format_of(adapters, region),
            log=log,
            executor=executor,
            recognizer=recognizer,
            catalogue=catalogue or default_catalogue(),
            replay=replay,
            revocations=revocations,
        )

    async def Recognize(self, request, context):
        try:
            recognition, receipt, received = await self._recognize(request, context)
        except Refusal as refusal:
            log.info(
                "identity recognition refused",
                extra={"reason": refusal.reason, "detail": refusal.message},
            )
            await abort(context, refusal)
            raise AssertionError("unreachable") from None
        identity = recognition.identity
        log.info(
            "identity recognised",
            extra={
                "recognition_id": recognition.recognition_id,
                "relying_party": recognition.audience,
                "issuing_province": identity.issuing_province.value,
                "level": identity.level.value,
                "person_key": identity.person_key,
                "subject_kind": identity.subject.kind,
            },
        )
        return identity_pb2.RecognizeResponse(
            **_subject_fields(identity),
            canonical_assertion=recognition.token,
            gateway_key_id=self.recognizer.gateway_key.public_key.key_id,
            person_key=identity.person_key,
            level=_LEVEL_TO_PB[identity.level],
            methods=sorted(m.value for m in identity.methods),
            issuing_province=regions.to_pb(identity.issuing_province.value),
            authenticated_at=to_timestamp(identity.authenticated_at),
            expires_at=to_timestamp(recognition.expires_at),
            audience=recognition.audience,
            required_level=_LEVEL_TO_PB.get(recognition.required_level, 0),
            recognition_id=recognition.recognition_id,
            receipt=receipt_proto(receipt, received),
        )

    async def _recognize(self, request, context) -> tuple[Recognition, dict, float]:
        registry: TrustRegistry = self.registry()
        caller = caller_member(context, registry)
        if caller is None:
            raise Refusal("unauthenticated", "no member is bound to the client certificate")
        region = regions.from_pb(request.province)
        if region is None:
            raise Refusal("malformed", "province: expected REGION_SH, _JS, _ZJ or _AH")
        minimum = None
        if request.minimum_level:
            minimum = _PB_TO_LEVEL.get(request.minimum_level)
            if minimum is None:
                raise Refusal("malformed", f"minimum_level: unknown value {request.minimum_level}")
        done = await self.service.recognise(
            caller=caller,
            region=Region(region),
            assertion=bytes(request.assertion),
            format=request.format,
            matter_code=request.matter_code,
            minimum_level=minimum,
        )
        return done.recognition, done.receipt, done.received


def _subject_fields(identity: RecognisedIdentity) -> dict[str, str]:
    """The response fields describing the subject, masked: a person (7-9, 16), or an
    organisation with its agent (7-9, 16-22)."""
    subject = identity.subject
    if isinstance(subject, NaturalPerson):
        return {
            "subject_kind": subject.kind,
            "masked_name": mask_name(subject.name),
            "document_type": subject.document_type.value,
            "masked_document_number": mask_id_number(subject.document_number),
        }
    agent = identity.agent
    return {
        "subject_kind": subject.kind,
        "masked_name": mask_name(subject.name),
        "document_type": "unified_social_credit_code",
        "masked_document_number": mask_uscc(subject.uscc),
        "organisation_key": identity.person_key,
        "agent_key": identity.agent_key,
        "role": identity.role.value if identity.role else "",
        "masked_organisation_name": mask_name(subject.name),
        "masked_uscc": mask_uscc(subject.uscc),
        "masked_agent_name": mask_name(agent.name) if agent else "",
    }


def _format_of(adapters: DialectCatalogue, region: str) -> AssertionFormat | None:
    try:
        return adapters.get(region).identity
    except CatalogueError:
        return None


def add_identity_service(server: grpc.aio.Server, servicer: IdentityServicer) -> str:
    """Register ``yrd.v1.Identity`` on ``server``; return its full name."""
    identity_pb2_grpc.add_IdentityServicer_to_server(servicer, server)
    return SERVICE_NAME
