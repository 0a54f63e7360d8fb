"""A dev trust registry for the four regions, for ``yrdgw serve --dev`` and tests.

The members, organisation codes and endpoints are invented (the codes carry valid GB 32100
check characters, with a ``YRD`` organisation part that no real organisation has). The
permissions allow the demo flows: every member may send and receive cases, evidence
requests and matter lookups to and from every other member.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.registry._model import (
    DeliveryMode,
    MemberId,
    Region,
    format_time,
    normalize_fingerprint,
)
from ledger.crypto import PublicKey

__all__ = [
    "DEV_AUDITOR_ID",
    "DEV_LICENCE_AUTHORITIES",
    "DEV_LICENCE_TYPES",
    "DEV_LOG_ORIGIN",
    "DEV_MEMBERS",
    "DevMember",
    "build_dev_registry",
    "dev_licence_issuers",
    "dev_member_id",
]

DEV_LOG_ORIGIN = "yrd.gateway.dev/log"
DEV_AUDITOR_ID = "auditor/dev"  # the dev environment's one auditor (docs/access.md)
DEV_KINDS = ("case.*", "evidence.*", "matter", "matter.*")


@dataclass(frozen=True)
class DevMember:
    """One dev member: its id, name, dialect and default delivery."""

    member_id: MemberId
    display_name: str
    dialect: str
    mode: DeliveryMode
    endpoint: str | None = None


DEV_MEMBERS: Mapping[Region, DevMember] = {
    Region.SH: DevMember(
        MemberId(Region.SH, "1131000000YRD00016", "platform"),
        "上海市“一网通办”平台 Shanghai one-stop platform (dev)",
        "yrd-canonical/1",
        DeliveryMode.PULL,
    ),
    Region.JS: DevMember(
        MemberId(Region.JS, "1132050000YRD00027", "suzhou"),
        "苏州市政务服务系统 Suzhou city system (dev)",
        "js-json/1",
        DeliveryMode.PUSH,
        "http://127.0.0.1:18081/yrd/inbox",
    ),
    Region.ZJ: DevMember(
        MemberId(Region.ZJ, "1133010000YRD0003R", "hangzhou"),
        "浙江政务服务网（杭州） Zhejiang platform, Hangzhou (dev)",
        "zj-xml/1",
        DeliveryMode.PUSH,
        "http://127.0.0.1:18082/yrd/inbox",
    ),
    Region.AH: DevMember(
        MemberId(Region.AH, "1134010000YRD00041", "hefei"),
        "安徽政务服务网（合肥） Anhui platform, Hefei (dev)",
        "ah-json-gb18030/1",
        DeliveryMode.PUSH,
        "http://127.0.0.1:18083/yrd/inbox",
    ),
}

# Each province's authentication-method codes (as its identity platform writes them) -> the
# canonical level; codes joined by "+" are a combination. The same tables as the provinces'
# identity.json "loa" (a test keeps them equal), Shanghai's for its ID token's "amr" codes.
DEV_LOA_MAPPINGS: Mapping[Region, Mapping[str, str]] = {
    Region.SH: {
        "pwd": "low",
        "sms": "low",
        "pwd+sms": "substantial",
        "face": "substantial",
        "ctid": "high",
        "hwk": "high",
        "dzyyzz": "high",
    },
    Region.JS: {
        "PWD": "low",
        "SMS": "low",
        "PWD+SMS": "substantial",
        "FACE": "substantial",
        "CTID": "high",
        "UKEY": "high",
        "DZYYZZ": "high",
    },
    Region.ZJ: {
        "urn:zjzwfw:ac:classes:Password": "low",
        "urn:zjzwfw:ac:classes:SmsOtp": "low",
        "urn:zjzwfw:ac:classes:PasswordSmsOtp": "substantial",
        "urn:zjzwfw:ac:classes:FaceLiveness": "substantial",
        "urn:zjzwfw:ac:classes:CTID": "high",
        "urn:zjzwfw:ac:classes:UsbKey": "high",
        "urn:zjzwfw:ac:classes:EBusinessLicence": "high",
    },
    Region.AH: {
        "01": "low",
        "02": "low",
        "03": "substantial",
        "04": "substantial",
        "05": "high",
        "06": "high",
        "07": "high",
    },
}
DEV_IDP_NAMES: Mapping[Region, str] = {
    Region.SH: "Shanghai unified identity authentication (dev)",
    Region.JS: "Jiangsu government-service identity (dev)",
    Region.ZJ: "Zhejiang government-service identity (dev)",
    Region.AH: "Anhui government-service identity (dev)",
}


def dev_member_id(region: Region | str) -> MemberId:
    """The dev member id of ``region``."""
    return DEV_MEMBERS[Region(region)].member_id


def _key_entry(key: PublicKey, not_before: datetime, not_after: datetime) -> dict[str, str]:
    return {
        "key_id": key.key_id,
        "public_key": key.to_pem().decode("ascii"),
        "not_before": format_time(not_before),
        "not_after": format_time(not_after),
    }


def _as_list(keys: PublicKey | Sequence[PublicKey]) -> list[PublicKey]:
    return [keys] if isinstance(keys, PublicKey) else list(keys)


def build_dev_registry(
    member_keys: Mapping[Region | str, PublicKey | Sequence[PublicKey]],
    governance_key: PublicKey | str,
    log_keys: Sequence[PublicKey],
    *,
    tls_fingerprints: Mapping[Region | str, Sequence[str]] | None = None,
    identity_provider_keys: Mapping[Region | str, PublicKey | Sequence[PublicKey]] | None = None,
    endpoints: Mapping[Region | str, str] | None = None,
    server_cert_pins: Mapping[Region | str, str] | None = None,
    now: datetime | None = None,
    valid_for: timedelta = timedelta(days=365),
    serial: int = 1,
    log_origin: str = DEV_LOG_ORIGIN,
    attestation_keys: Sequence[PublicKey] = (),
    identity_keys: Sequence[PublicKey] = (),
    auditor_fingerprints: Sequence[str] = (),
    revocation_urls: Mapping[Region | str, str] | None = None,
    licence_issuer_keys: Mapping[Region | str, PublicKey | Sequence[PublicKey]] | None = None,
    witnesses: Sequence[tuple[str, PublicKey, str]] = (),
    witness_quorum: int = 0,
) -> dict[str, Any]:
    """An unsigned dev registry document (a JSON-ready dict) for the four regions.

    ``member_keys`` maps region codes to the member's SM2 public key(s); regions left out
    are left out of the registry. ``tls_fingerprints`` gives each member's client
    certificate SHA-256 fingerprints; ``identity_provider_keys`` adds one identity provider
    per region given; ``endpoints`` overrides push endpoints (a region given an endpoint
    becomes push even if its default is pull); ``server_cert_pins`` gives the SHA-256 of the
    server certificate of a region's ``https`` endpoint (required for those). The document
    sets ``allow_plain_http_push``: a dev registry may push over plain http (channel
    ``http-dev``, no assurance), which no other registry may. Everything is valid from
    ``now`` (default: the current time, to the second) for ``valid_for``. ``log_keys``
    sign checkpoints; ``attestation_keys`` and ``identity_keys`` are listed in
    ``gateway_keys`` with their purpose. ``auditor_fingerprints``, if given, lists the
    auditor ``DEV_AUDITOR_ID`` with those client certificate fingerprints.
    ``revocation_urls`` gives the ``revocation_url`` of a region's identity provider (its
    simulator's ``/identity/revocations``). ``witnesses`` lists ``(name, public key, url)``
    of witnesses of ``log_origin``, of which ``witness_quorum`` must cosign a checkpoint.
    Sign it with ``sign_registry``.
    """
    start = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    end = start + valid_for
    governance_key_id = (
        governance_key.key_id if isinstance(governance_key, PublicKey) else governance_key
    )
    fingerprints = {Region(r): list(v) for r, v in (tls_fingerprints or {}).items()}
    overrides = {Region(r): url for r, url in (endpoints or {}).items()}
    pins = {Region(r): normalize_fingerprint(p) for r, p in (server_cert_pins or {}).items()}
    keys = {Region(r): _as_list(v) for r, v in member_keys.items()}

    members = []
    for region, dev in DEV_MEMBERS.items():
        if region not in keys:
            continue
        endpoint = overrides.get(region, dev.endpoint)
        delivery: dict[str, str] = {
            "mode": str(DeliveryMode.PUSH if endpoint else dev.mode),
            "dialect": dev.dialect,
        }
        if endpoint:
            delivery["endpoint"] = endpoint
        if endpoint and region in pins:
            delivery["server_cert_sha256"] = pins[region]
        members.append(
            {
                "id": dev.member_id.to_dict(),
                "display_name": dev.display_name,
                "keys": [_key_entry(k, start, end) for k in keys[region]],
                "tls_fingerprints": [
                    normalize_fingerprint(fp) for fp in fingerprints.get(region, [])
                ],
                "send_permissions": [
                    {"kinds": list(DEV_KINDS), "matters": ["*"], "recipients": ["*"]}
                ],
                "receive_permissions": [
                    {"kinds": list(DEV_KINDS), "matters": ["*"], "senders": ["*"]}
                ],
                "delivery": delivery,
            }
        )

    providers = [
        {
            "region": str(region),
            "name": DEV_IDP_NAMES[region],
            "keys": [_key_entry(k, start, end) for k in _as_list(idp_keys)],
            "loa_mapping": dict(DEV_LOA_MAPPINGS[region]),
        }
        for region, idp_keys in sorted(
            ((Region(r), v) for r, v in (identity_provider_keys or {}).items()),
            key=lambda item: list(Region).index(item[0]),
        )
    ]
    urls = {str(r): u for r, u in (revocation_urls or {}).items()}
    for provider in providers:  # revocation lists, where a region publishes one
        if urls.get(str(provider["region"])):
            provider["revocation_url"] = urls[str(provider["region"])]

    gateway_keys = [
        {"purpose": purpose, **_key_entry(k, start, end)}
        for purpose, keys_of_purpose in (
            ("attestation", attestation_keys),
            ("identity", identity_keys),
        )
        for k in keys_of_purpose
    ]
    document: dict[str, Any] = {
        "version": 1,
        "serial": serial,
        "issued_at": format_time(start),
        "expires_at": format_time(end),
        "governance_key_id": governance_key_id,
        "log": {"origin": log_origin, "keys": [_key_entry(k, start, end) for k in log_keys]},
        "members": members,
        "identity_providers": providers,
        "allow_plain_http_push": True,
    }
    if gateway_keys:
        document["gateway_keys"] = gateway_keys
    if auditor_fingerprints:
        document["auditors"] = [
            {
                "id": DEV_AUDITOR_ID,
                "display_name": "长三角审计 dev auditor",
                "tls_fingerprints": [normalize_fingerprint(fp) for fp in auditor_fingerprints],
                "not_before": format_time(start),
                "not_after": format_time(end),
            }
        ]
    if licence_issuer_keys:
        document["licence_issuers"] = dev_licence_issuers(licence_issuer_keys, start, end)
    if witnesses or witness_quorum:
        document["witnesses"] = [
            {"name": name, "public_key": key.to_pem().decode("ascii"), "url": url,
             "logs": [log_origin]}
            for name, key, url in witnesses
        ]  # fmt: skip
        document["witness_quorum"] = witness_quorum
    return document


DEV_LICENCE_AUTHORITIES: Mapping[Region, str] = {
    Region.SH: "上海市电子证照签发中心（示例）",
    Region.JS: "江苏省电子证照签发中心（示例）",
    Region.ZJ: "浙江省电子证照签发中心（示例）",
    Region.AH: "安徽省电子证照签发中心（示例）",
}
DEV_LICENCE_KEYS_FROM = datetime(2020, 1, 1, tzinfo=UTC)
DEV_LICENCE_TYPES = (
    "business_licence",
    "industrial_product_licence",
    "household_register",
    "resident_id_card",
)
"""What a dev authority may issue: not 不动产权证书 or 结婚证 (their authorities are not
modelled), so a dev key signing one is a wrong issuer for the type."""


def dev_licence_issuers(
    keys: Mapping[Region | str, PublicKey | Sequence[PublicKey]], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The ``licence_issuers`` section: one authority per region given, nothing revoked.

    The keys are valid from :data:`DEV_LICENCE_KEYS_FROM` (or ``start`` if earlier): a
    licence must be issued while its key is valid, and the sample certificates are older
    than any dev registry."""
    start = min(start, DEV_LICENCE_KEYS_FROM)
    by_region = {Region(r): _as_list(v) for r, v in keys.items()}
    return [
        {
            "region": str(region),
            "authorities": [
                {
                    "name": DEV_LICENCE_AUTHORITIES[region],
                    "keys": [_key_entry(k, start, end) for k in by_region[region]],
                    "licence_types": list(DEV_LICENCE_TYPES),
                }
            ],
            "revoked": [],
        }
        for region in Region
        if region in by_region
    ]
