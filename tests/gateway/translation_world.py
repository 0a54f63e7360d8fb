"""A gateway where every dialect both pulls and is pushed to, for the translation tests.

The four dev members (one per region, in their region's dialect) are registered for push to
the province simulators; each region also gets a second member, ``<REGION>/<USCC>/second``,
in the same dialect and registered for pull. So every ordered pair of dialects -- the same
dialect included -- has a pull recipient and a push recipient on one gateway.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.app.pki import CertPair, issue
from gateway.client import GatewayClient
from gateway.dialects.base import Codec
from gateway.dialects.catalogue import default_dialects
from gateway.registry import load_registry
from gateway.tls import TlsFiles
from ledger.crypto import PrivateKey
from tests.gateway.harness import GatewayThread

__all__ = [
    "REGIONS",
    "SECOND",
    "Second",
    "case",
    "codec",
    "registry_of",
    "second_members",
]

REGIONS = ("SH", "JS", "ZJ", "AH")
SECOND = "second"

# A canonical case.submit (SAMPLE values; the person key is pseudonymous).
CASE: dict[str, Any] = {
    "case_id": "G60-SZ-2026-000101",
    "matter_code": "010010300100",
    "applicant": {"person_key": "pk:yrd:7f3a9c0e5b1d2468", "masked_name": "李*华"},
    "handling_mode": "异地代收代办",
    "materials": [
        {
            "material_id": "M01",
            "name": "公司登记（备案）申请书",
            "digest_sm3": "4b5fe94b222712890958d19a43034e74b4e03245295321677774d319c9052161",
        }
    ],
    "receiving_city": "苏州",
    "submitted_at": "2026-11-28T10:15:00+08:00",
}


def case(case_id: str, **changes: Any) -> dict[str, Any]:
    """The sample canonical case under ``case_id``."""
    return {**CASE, "case_id": case_id, **changes}


def codec(region: str) -> Codec:
    return default_dialects().get(region).codec


@dataclass
class Second:
    """A region's second member: pull-mode, in the region's dialect."""

    member_id: str
    key: PrivateKey
    cert: CertPair

    def client(self, gw: GatewayThread) -> GatewayClient:
        tls = TlsFiles(gw.env.ca.cert_pem, self.cert.cert_pem, self.cert.key_pem)
        return GatewayClient(
            gw.target, member=self.member_id, key=self.key, tls=tls, trust=gw.trust
        )


def second_members(data_dir: Path) -> tuple[Callable[[dict], None], dict[str, Second]]:
    """A registry ``mutate`` hook adding each region's pull member, and those members."""
    seconds: dict[str, Second] = {}

    def mutate(document: dict) -> None:
        ca = CertPair.read(data_dir / "dev" / "tls", "ca")  # made before the registry
        for member in list(document["members"]):
            region = member["id"]["region"]
            key = PrivateKey.generate()
            extra = json.loads(json.dumps(member))
            extra["id"]["subsystem"] = SECOND
            member_id = f"{region}/{extra['id']['org_code']}/{SECOND}"
            cert = issue(ca, member_id, server=False)
            public = key.public_key
            extra["keys"] = [
                {**k, "key_id": public.key_id, "public_key": public.to_pem().decode()}
                for k in member["keys"][:1]
            ]
            extra["tls_fingerprints"] = [cert.fingerprint]
            extra["delivery"] = {"mode": "pull", "dialect": member["delivery"]["dialect"]}
            extra["display_name"] = member["display_name"] + " (second, pull)"
            document["members"].append(extra)
            seconds[region] = Second(member_id, key, cert)

    return mutate, seconds


def registry_of(gw: GatewayThread):
    """The registry the gateway runs with, loaded independently from its signed file."""
    return load_registry(gw.env.registry_path.read_bytes(), [gw.env.governance.public_key])
