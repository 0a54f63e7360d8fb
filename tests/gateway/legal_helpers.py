"""Shared pieces of the legal-person tests: which formats carry legal persons (every identity
format of the dialect catalogue with ``sample_organisations``, so a new region joins on its
own), their sample organisations and method codes, and the province simulators on loopback.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

import aiohttp
from aiohttp import web

from gateway.dialects import default_dialects
from gateway.identity import AuthMethod
from gateway.identity.idp_simulator import set_identity_provider_key
from gateway.identity.province import AssertionFormat
from gateway.matters import default_catalogue
from gateway.ops.privacy import contains_raw_credit_code
from gateway.uscc import is_valid_uscc
from tests.gateway.harness import GatewayThread


def legal_formats() -> dict[str, AssertionFormat]:
    """Region -> identity format, for every format with sample organisations."""
    catalogue = default_dialects()
    out = {}
    for region in catalogue.regions():
        fmt = catalogue.get(region).identity
        if isinstance(fmt, AssertionFormat) and fmt.sample_organisations:
            out[region] = fmt
    return out


LEGAL_REGIONS = tuple(sorted(legal_formats()))
MATTER_LEGAL = "010010300200"  # 企业变更登记: legal persons only (sample catalogue)
MATTER_BOTH = "010010300100"  # 企业设立登记: natural and legal persons
MATTER_NATURAL = "200060100100"  # 异地就医备案: natural persons only


def organisations(fmt: AssertionFormat) -> list[dict[str, str]]:
    """The sample organisations with a valid credit code, in file order."""
    return [dict(o) for o in fmt.sample_organisations.values() if is_valid_uscc(o["uscc"])]


def org_with_role(fmt: AssertionFormat, role: str) -> dict[str, str]:
    """The first valid sample organisation whose local role maps to canonical ``role``; a
    format without one (a region added later) gets one made from its first organisation,
    issued by :meth:`Simulators.issue_org` with the province's key instead of over HTTP."""
    found = [o for o in organisations(fmt) if fmt.roles[o["role"]] == role]
    if found:
        return found[0]
    base = organisations(fmt)[0]
    local = next(code for code, canonical in fmt.roles.items() if canonical == role)
    agent = fmt.sample_people[base["agent_person_id"]]["name"]
    representative = agent if role == "legal_representative" else "赵示例"
    return {**base, "organisation_id": f"{base['organisation_id']}/{role}", "role": local,
            "legal_representative": representative}  # fmt: skip


def bad_organisation(fmt: AssertionFormat) -> dict[str, str]:
    """The sample organisation whose credit code fails its check character on purpose, or
    one made from the first organisation with a wrong check character."""
    bad = [dict(o) for o in fmt.sample_organisations.values() if not is_valid_uscc(o["uscc"])]
    if bad:
        return bad[0]
    base = org_with_role(fmt, "authorised_agent")
    wrong = next(c for c in "0123456789" if c != base["uscc"][-1])
    return {**base, "organisation_id": base["organisation_id"] + "/bad",
            "uscc": base["uscc"][:17] + wrong}  # fmt: skip


def licence_method(fmt: AssertionFormat) -> str | None:
    """The local method code of an electronic business licence presentation, if any."""
    codes = [c for c, m in fmt.methods.items() if m == {AuthMethod.E_BUSINESS_LICENCE}]
    assert len(codes) <= 1, f"{fmt.format}: expected one e-business-licence code, got {codes}"
    return codes[0] if codes else None


def strong_org_method(fmt: AssertionFormat) -> str:
    """The e-business-licence code, or (a format without one) a high person method."""
    return licence_method(fmt) or high_person_method(fmt)


def high_person_method(fmt: AssertionFormat) -> str:
    """A single local method code reaching high for a natural person (not the licence)."""
    return next(
        c
        for c, level in fmt.loa.items()
        if level == "high" and "+" not in c and fmt.methods[c] != {AuthMethod.E_BUSINESS_LICENCE}
    )


def tamper_text(data: bytes, old: str, new: str) -> bytes:
    """``data`` with ``old`` replaced by ``new`` inside the signed content, the signature kept:
    in UTF-8 or GB18030 text, or inside a base64url JSON segment of a compact token."""
    for encoding in ("utf-8", "gb18030"):
        raw_old = old.encode(encoding)
        if raw_old in data:
            return data.replace(raw_old, new.encode(encoding))
    parts = data.split(b".")
    forms = [(old.encode(), new.encode())]  # as written, or JSON-escaped (ensure_ascii)
    forms.append((json.dumps(old)[1:-1].encode(), json.dumps(new)[1:-1].encode()))
    for i, part in enumerate(parts):
        try:
            decoded = base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            continue
        for raw_old, raw_new in forms:
            if raw_old in decoded:
                changed = decoded.replace(raw_old, raw_new)
                parts[i] = base64.urlsafe_b64encode(changed).rstrip(b"=")
                return b".".join(parts)
    raise AssertionError(f"{old!r} not found in the assertion")


def public_codes(gw: GatewayThread) -> set[str]:
    """Credit codes that are public on purpose: the members' (in every member id, so in
    every relying-party field) and the implementing bodies' of the matter catalogue."""
    registry = gw.gateway.registry.require()
    codes = {member.id.org_code for member in registry.members}
    for entry in default_catalogue():
        for variant in entry.variants.values():
            if variant.implementing_body is not None:
                codes.add(variant.implementing_body.uscc)
    return codes


def private_codes(blob: bytes | str, public: set[str]) -> list[str]:
    """The valid credit codes in ``blob`` that are not ``public``: those of applicants."""
    return [code for code in contains_raw_credit_code(blob) if code not in public]


def sample_codes() -> set[str]:
    """Every sample organisation's credit code, the ones with a wrong check character too."""
    return {o["uscc"] for f in legal_formats().values() for o in f.sample_organisations.values()}


class Simulators:
    """The province simulators of ``regions``, with their identity-provider keys, on the
    gateway thread's loop."""

    def __init__(self, gw: GatewayThread, regions: tuple[str, ...]) -> None:
        self.gw = gw
        self.regions = regions
        self.runners: list[web.AppRunner] = []
        self.urls: dict[str, str] = {}

    async def start(self) -> Simulators:
        for region in self.regions:
            app = default_dialects().get(region).simulator()
            assert set_identity_provider_key(app, self.gw.env.idp_keys[region])
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.runners.append(runner)
            host, port = runner.addresses[0][:2]
            self.urls[region] = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()

    async def issue_org(self, region: str, org: dict[str, str], **body: object) -> bytes:
        """An assertion for ``org``: from the simulator over HTTP for a sample organisation,
        else signed here with the same identity-provider key (see :func:`org_with_role`)."""
        fmt = legal_formats()[region]
        if fmt.sample_organisations.get(org["organisation_id"]) == org:
            return await self.issue(region, organisation_id=org["organisation_id"], **body)
        methods = body.get("methods")
        claims = fmt.claims_for_organisation(
            org,
            audience=str(body.get("audience", "yrd-gateway")),
            now=datetime.now(UTC),
            methods=methods if isinstance(methods, list) else None,
            assertion_id=f"_{org['organisation_id']}-{datetime.now(UTC).timestamp()}",
        )
        return fmt.issue(claims, self.gw.env.idp_keys[region])

    async def issue(self, region: str, **body: object) -> bytes:
        """An assertion from ``region``'s identity provider, over HTTP."""
        body = {"audience": "yrd-gateway", **body}
        async with aiohttp.ClientSession() as session:
            url = f"{self.urls[region]}/identity/assert"
            async with session.post(url, json=body) as resp:
                data = await resp.read()
                assert resp.status == 200, data
                return data
