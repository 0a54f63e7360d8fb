"""A region's e-licence issuing side, as the province simulators play it (tests, ``--dev``).

:class:`SampleIssuer` turns a sample certificate record (adapters/*/samples.json) into a
signed e-licence of the region's licence authority: the licence id is derived from the
certificate number (``<REGION>-<sm3 hex prefix>``, so no raw credit code), the holder is the
pseudonymous key of the company or person (``holder_key``), numbers are masked, and the
certificate document is committed by its SM3 digest (``data.content_sm3``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from gateway.identity import LegalPerson, derive_person_key
from gateway.licences.model import Holder
from gateway.licences.signing import build_licence
from gateway.ops.privacy import mask_uscc
from gateway.times import BEIJING
from ledger.crypto import PrivateKey, sm3

__all__ = [
    "DEV_HOLDER_SECRET",
    "SampleIssuer",
    "licence_id_for",
    "sample_holder_key",
    "set_dev_licence_issuer",
]

DEV_HOLDER_SECRET = b"yrd-dev-simulator-holder-key-secret-not-for-production"
"""What the simulators derive a company's holder key with when given no gateway secret."""
VALID_YEARS = 20


def licence_id_for(region: str, certificate_number: str) -> str:
    """The licence id of a sample certificate: no raw number in it, stable across answers."""
    return f"{region}-{sm3(certificate_number.encode('utf-8')).hex()[:24]}"


def sample_holder_key(secret: bytes) -> Callable[[Mapping[str, Any]], str]:
    """Holder keys as the gateway derives person keys with ``secret``: a company's from its
    credit code (``derive_person_key`` of a LegalPerson), a person's as the sample gives it."""

    def holder_key(cert: Mapping[str, Any]) -> str:
        uscc = cert.get("subject_uscc")
        if not uscc:
            return str(cert["subject_person_key"])
        return derive_person_key(LegalPerson(cert["holder"], uscc, "示例代表"), secret)

    return holder_key


_DEV_HOLDER_KEY = sample_holder_key(DEV_HOLDER_SECRET)


@dataclass(frozen=True)
class SampleIssuer:
    """One region's licence authority: its SM2 key, name and the holder-key rule."""

    key: PrivateKey
    region: str
    authority: str
    holder_key: Callable[[Mapping[str, Any]], str] = _DEV_HOLDER_KEY

    def licence_for(self, cert: Mapping[str, Any], *, vector_k: int | None = None) -> bytes:
        """The signed e-licence (wire bytes) of a sample certificate record (``vector_k``:
        a deterministic signature, for published examples only)."""
        issued = datetime.combine(
            datetime.fromisoformat(cert["issued_date"]).date(), time(), BEIJING
        )
        uscc = cert.get("subject_uscc")
        number = mask_uscc(cert["certificate_number"]) if uscc else cert["certificate_number"]
        holder = Holder(
            kind="legal_person" if uscc else "natural_person",
            key=self.holder_key(cert),
            display_name=cert["holder"],
            display_number=mask_uscc(uscc) if uscc else None,
        )
        return build_licence(
            key=self.key,
            region=self.region,
            authority=self.authority,
            licence_id=licence_id_for(self.region, cert["certificate_number"]),
            licence_type=cert["certificate_type"],
            holder=holder,
            issued_at=issued,
            valid_from=issued,
            valid_until=issued.replace(year=issued.year + VALID_YEARS),
            data={
                "certificate_number": number,
                "holder_name": cert["holder"],
                "content_sm3": sm3(cert["content"].encode("utf-8")).hex(),
            },
            vector_k=vector_k,
        )


def set_dev_licence_issuer(app: Any, env: Any, region: str, secret: bytes | None = None) -> None:
    """Give a dev simulator ``app`` its region's licence authority from the dev environment
    ``env`` (``licence_keys``); holder keys derived with ``secret`` (the gateway's person-key
    secret) if given, else :data:`DEV_HOLDER_SECRET`."""
    from gateway.dialects.simulator import set_licence_issuer
    from gateway.registry import DEV_LICENCE_AUTHORITIES, Region

    set_licence_issuer(
        app,
        env.licence_keys[region],
        region=region,
        authority=DEV_LICENCE_AUTHORITIES[Region(region)],
        holder_key=sample_holder_key(secret or DEV_HOLDER_SECRET),
    )
