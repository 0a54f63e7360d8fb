"""Recognition as a service: one flow for every front door (gRPC ``Identity.Recognize``, the
window's REST endpoint), so both refuse and log alike.

:meth:`RecognitionService.recognise` runs, for a province assertion presented by a member:

1. province and format: the province's identity format (``formats(region)``, from the
   dialect catalogue; ``unknown_issuer`` when it has none); a requested format must be it
   (``malformed``);
2. required level: the matter's minimum level in the catalogue, for the caller's region
   (``not_found`` for an unknown matter), and ``minimum_level``, whichever is higher;
3. recognition (:class:`~gateway.identity.recognition.Recognizer`, in ``executor``): the
   province's identity-provider keys valid now and its ``loa_mapping`` come from the trust
   registry; then the subject kind: a matter declares who may apply (``subject_kinds`` in
   the catalogue), and a natural person for a legal-person matter, or an organisation for
   a natural-person one, is refused (``wrong_subject_kind``);
4. replay and revocation (when configured; :meth:`RecognitionService.admit`): the
   provider's revocation list (``revoked``, or ``unavailable`` while it is stale), then the
   claim of (issuer, assertion id) in the gateway's database (``replay``), last of all the
   checks so a refused assertion is never burnt;
5. the log: one entry per recognition (digests and a person-key commitment only); the
   receipt is returned with the recognition. If the log cannot commit, the claim of (4) is
   released.

Refusals are :class:`gateway.errors.Refusal` with the identity package's reasons.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.errors import Refusal, StorageError
from gateway.exchange.logview import GatewayLog
from gateway.identity._enums import AssuranceLevel
from gateway.identity.errors import AssertionRejected, IdentityError
from gateway.identity.province import AssertionFormat
from gateway.identity.recognition import Recognition, Recognizer
from gateway.identity.replay import Claims
from gateway.identity.revocation_watch import RevocationWatch
from gateway.matters import Catalogue, MatterError
from gateway.registry import MemberId, Region, TrustRegistry
from ledger.errors import Error as LedgerError

__all__ = ["Recognised", "RecognitionService", "check_subject_kind"]


@dataclass(frozen=True)
class Recognised:
    """A recognition that is in the log: the recognition, its receipt, when it was made."""

    recognition: Recognition
    receipt: dict[str, Any]
    received: float


class RecognitionService:
    """Recognition for callers already authenticated as members (see the module docstring).

    ``formats(region)`` is the region's identity format or None; ``registry()`` the trust
    registry in use.
    """

    def __init__(
        self,
        *,
        registry: Callable[[], TrustRegistry],
        formats: Callable[[str], AssertionFormat | None],
        log: GatewayLog,
        executor: Executor | None,
        recognizer: Recognizer,
        catalogue: Catalogue,
        replay: Claims | None = None,
        revocations: RevocationWatch | None = None,
    ) -> None:
        self.registry = registry
        self.formats = formats
        self.log = log
        self.executor = executor
        self.recognizer = recognizer
        self.catalogue = catalogue
        self.replay = replay
        self.revocations = revocations

    async def recognise(
        self,
        *,
        caller: str,
        region: Region,
        assertion: bytes,
        format: str = "",
        matter_code: str = "",
        minimum_level: AssuranceLevel | None = None,
    ) -> Recognised:
        """Recognise ``assertion`` (issued by ``region``'s platform) for member ``caller``."""
        registry = self.registry()
        # (1): province and format
        fmt = self.formats(str(region))
        if fmt is None:
            raise Refusal("unknown_issuer", f"no identity assertion format for region {region}")
        if format and format != fmt.format:
            raise Refusal(
                "malformed",
                f"assertion format: expected {fmt.format} for {region}, got {format[:40]!r}",
            )
        # (2): required level
        required = self.required_level(matter_code, minimum_level, MemberId.parse(caller).region)
        # (3): recognition
        now = datetime.now(UTC)
        keys = [(k.key_id, k.public_key) for k in registry.identity_provider_keys(region, now)]
        loa: dict[str, str] = {}
        for provider in registry.identity_providers(region):
            loa.update(provider.loa_mapping)
        recognition_id = str(uuid.uuid4())
        loop = asyncio.get_running_loop()
        try:
            recognition = await loop.run_in_executor(
                self.executor,
                lambda: self.recognizer.recognise(
                    fmt,
                    bytes(assertion),
                    keys=keys,
                    loa_mapping=loa or None,
                    relying_party=caller,
                    now=now,
                    recognition_id=recognition_id,
                    required_level=required,
                    matter=matter_code,
                ),
            )
        except AssertionRejected as exc:
            raise Refusal(exc.reason, str(exc)) from exc
        except IdentityError as exc:  # a bad level mapping in the registry or mapping data
            raise Refusal("malformed", f"identity: {exc}") from exc
        check_subject_kind(self.catalogue, matter_code, recognition.identity.subject.kind)
        # (4): replay and revocation: the last check, just before the log
        release = await self.admit(recognition, now)
        # (5): the log
        try:
            result = await asyncio.wrap_future(
                self.log.append_async(recognition.entry, key=f"identity:{recognition_id}")
            )
        except LedgerError as exc:  # the log could not commit: fail closed, precisely
            await loop.run_in_executor(self.executor, release)
            message = f"the log could not commit the recognition: {exc}"
            raise Refusal("unavailable", message) from exc
        receipt = await loop.run_in_executor(
            self.executor, self.log.receipt, result.index, result.tree_size
        )
        return Recognised(recognition, receipt, now.timestamp())

    async def admit(self, recognition: Recognition, now: datetime) -> Callable[[], None]:
        """Step (4): refuse a revoked assertion or key, or one already presented; return
        what releases the claim (the log could not commit)."""
        assertion = recognition.assertion
        if self.revocations is not None:
            self.revocations.check(
                str(assertion.province),
                assertion_id=assertion.assertion_id,
                key_id=assertion.key_id,
                now=now,
            )
        replay = self.replay
        if replay is None:
            return lambda: None
        issuer, assertion_id = assertion.issuer, assertion.assertion_id
        rid = recognition.recognition_id
        expires = (assertion.not_after + self.recognizer.leeway).timestamp()
        try:
            claimed = await asyncio.get_running_loop().run_in_executor(
                self.executor,
                lambda: replay.claim(
                    issuer,
                    assertion_id,
                    recognition_id=rid,
                    now=now.timestamp(),
                    expires_at=expires,
                ),
            )
        except StorageError as exc:
            raise Refusal("unavailable", f"replay check could not be stored: {exc}") from exc
        if not claimed.ok:
            raise Refusal(
                "replay",
                f"replay: assertion {assertion_id[:64]} of {assertion.province} was already "
                f"accepted at {claimed.first_seen_text}; an assertion is accepted once",
            )

        def release() -> None:
            with contextlib.suppress(StorageError):  # the refusal says unavailable anyway
                replay.release(issuer, assertion_id, recognition_id=rid)

        return release

    def required_level(
        self, matter_code: str, minimum: AssuranceLevel | None, caller_region: Region
    ) -> AssuranceLevel | None:
        """The higher of ``minimum`` and ``matter_code``'s minimum level in the caller's
        region (``not_found`` for an unknown matter), or None for neither."""
        levels = [minimum] if minimum is not None else []
        if matter_code:
            try:
                matter = self.catalogue.get(matter_code, str(caller_region))
            except MatterError:
                try:
                    matter = self.catalogue.get(matter_code)
                except MatterError as exc:
                    raise Refusal("not_found", f"matter: no matter {matter_code[:20]!r}") from exc
            levels.append(AssuranceLevel(matter.min_assurance.value))
        return max(levels) if levels else None


def check_subject_kind(catalogue: Catalogue, matter_code: str, kind: str) -> None:
    """Refuse ``wrong_subject_kind`` when ``matter_code`` (if any) is not for ``kind``
    (``natural_person`` or ``legal_person``); the matter is known (the level step found it)."""
    if not matter_code:
        return
    allowed = catalogue.subject_kinds(matter_code)
    if kind not in allowed:
        raise Refusal(
            "wrong_subject_kind",
            f"subject kind: matter {matter_code} is for {' or '.join(allowed)}, got {kind}",
        )
