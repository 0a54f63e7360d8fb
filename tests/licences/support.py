"""Licences for the licence tests: a dev environment's registry and keys, and a builder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.app.devenv import DevEnvironment, ensure_dev_environment
from gateway.licences import (
    Holder,
    Issuer,
    Licence,
    build_licence,
    load_licence_trust,
    sign_licence,
)
from gateway.registry import DEV_LICENCE_AUTHORITIES, Region, TrustRegistry

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
HOLDER_KEY = "pk-sample0licence0holder0key0001"
OTHER_KEY = "pk-sample0licence0holder0key0002"
REVOKED_ID = "JS-REVOKED-0001"


def revoke_in_js(document: dict[str, Any]) -> None:
    """Registry mutation: Jiangsu revokes ``REVOKED_ID``."""
    for section in document["licence_issuers"]:
        if section["region"] == "JS":
            section["revoked"] = [REVOKED_ID]


@dataclass
class Licences:
    env: DevEnvironment

    @classmethod
    def make(cls, data_dir: Path) -> Licences:
        return cls(ensure_dev_environment(data_dir, mutate=revoke_in_js))

    def registry(self, at: datetime | None = None) -> TrustRegistry:
        return load_licence_trust(self.env.licence_trust_path.read_bytes(), at or _now())

    def licence(self, region: str = "JS", **overrides: Any) -> bytes:
        """A signed business licence of ``region``'s dev authority, valid around now."""
        now = _now()
        fields: dict[str, Any] = {
            "key": self.env.licence_keys[region],
            "region": region,
            "authority": DEV_LICENCE_AUTHORITIES[Region(region)],
            "licence_id": f"{region}-LIC-0001",
            "licence_type": "business_licence",
            "holder": Holder(
                "legal_person", HOLDER_KEY, "苏州示例电子有限公司", "91************0013"
            ),
            "issued_at": now - timedelta(days=30),
            "valid_from": now - timedelta(days=30),
            "valid_until": now + timedelta(days=3650),
            "data": {"name": "苏州示例电子有限公司（示例）", "certificate_number": "91**0013"},
        }
        fields.update(overrides)
        return build_licence(**fields)

    def unchecked(self, data: dict[str, str]) -> bytes:
        """A JS licence with ``data`` signed as is, skipping the builder's own parse (which
        refuses raw identifiers): what a careless issuer could send."""
        now = _now()
        key = self.env.licence_keys["JS"]
        licence = Licence(
            licence_id="JS-LIC-RAW",
            licence_type="business_licence",
            holder=Holder("legal_person", HOLDER_KEY, "苏州示例电子有限公司"),
            issuer=Issuer("JS", DEV_LICENCE_AUTHORITIES[Region.JS], key.public_key.key_id),
            issued_at=now - timedelta(days=1),
            valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=1),
            data=data,
        )
        return sign_licence(licence, key)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
