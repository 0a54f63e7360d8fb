"""Dev seeding for ``yrdgw serve --dev``: accounts for every G60 window, handlers, an auditor,
and two sample cases (one accepted by a province simulator, one followed to its certificate).

Passwords are random and printed once, when the accounts are made; a restart keeps them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from gateway.cases import CITIES, REGION_NAMES, Role
from gateway.identity import compute_id_check_digit

__all__ = ["sample_id_number", "seed_dev"]

log = logging.getLogger("gateway.web.seed")


def sample_id_number(first17: str) -> str:
    """A resident id number with a valid GB 11643 check character (for samples only)."""
    return first17 + compute_id_check_digit(first17)


async def seed_dev(gateway: Any) -> dict[str, str]:
    """Make the dev accounts (first run only) and sample cases; returns new passwords. The
    store is read and written in worker threads (``store.run``), never on the event loop."""
    service = gateway.cases
    created = await service.store.run(_make_accounts, service.accounts)
    if created:
        lines = ["yrdgw: dev accounts (passwords are shown once):"]
        lines += [f"yrdgw:   {user:<14} {password}" for user, password in created.items()]
        print("\n".join(lines), flush=True)
    if not await service.store.run(service.store.query, "SELECT 1 FROM cases LIMIT 1"):
        try:
            await _sample_cases(service)
        except Exception:  # a demo nicety: never stop the gateway for it
            log.exception("sample cases not seeded")
    return created


def _make_accounts(accounts: Any) -> dict[str, str]:
    """The dev accounts not made yet, with their new passwords (in a worker thread)."""
    created: dict[str, str] = {}

    def make(username: str, role: Role, name: str, **where: Any) -> None:
        if accounts.exists(username):
            return
        password = secrets.token_urlsafe(9)
        accounts.create(username, password, role=role, display_name=name, **where)
        created[username] = password

    for city in CITIES.values():
        make(city.code, Role.CLERK, f"{city.name_zh}G60窗口", city=city.code)
    for region, name in REGION_NAMES.items():
        make(f"handler-{region.lower()}", Role.HANDLER, f"{name}承办人员", region=region)
    make("auditor", Role.AUDITOR, "审计人员")
    return created


async def _sample_cases(service: Any) -> None:
    get = service.accounts.get
    suzhou, songjiang, handler_ah = [
        await service.store.run(get, name) for name in ("suzhou", "songjiang", "handler-ah")
    ]
    await service.submit(
        suzhou,
        {
            "matter_code": "010010300100",
            "handling_region": "ZJ",
            "handling_mode": "异地代收代办",
            "applicant": {"name": "张三丰", "id_number": sample_id_number("32050219900307123")},
            "materials": await service.store.run(
                _sample_materials, service, suzhou, "010010300100", "ZJ"
            ),
            "note": "样例办件：苏州窗口代收，浙江办理",
        },
    )
    case = await service.submit(
        songjiang,
        {
            "matter_code": "200060100100",
            "handling_region": "AH",
            "handling_mode": "全程网办",
            "applicant": {"name": "李四", "id_number": sample_id_number("31011719850615241")},
            "materials": await service.store.run(
                _sample_materials, service, songjiang, "200060100100", "AH"
            ),
        },
    )
    for _ in range(100):  # the Anhui simulator's acceptance arrives through the outbox
        detail = await service.store.run(service.detail, songjiang, case["case_id"])
        if detail["status"] != "submitted":
            break
        await service.poll_answers()
        await asyncio.sleep(0.1)
    for step in ("transferred", "approved", "certificate_issued"):
        await service.transition(handler_ah, case["case_id"], step, "样例：承办地办理")


def _sample_materials(service: Any, clerk: Any, code: str, region: str) -> list[dict[str, str]]:
    """A sample file for every material the matter requires from the applicant in
    ``region`` (shareable ones are fetched, not uploaded): a complete submission."""
    out = []
    for m in service.catalogue.get(code, region).materials:
        if m.required and not m.shareable:
            body = f"%PDF-1.4 sample {m.material_id}\n".encode()
            up = service.stage_upload(clerk, f"{m.name}.pdf", "application/pdf", body)
            out.append({"material_id": m.material_id, "upload_id": up["upload_id"]})
    return out
