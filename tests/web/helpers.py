"""A real gateway with the web extension, province simulators on loopback, and an HTTP client."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from gateway.app.compose import CaseOptions
from gateway.app.simulators import Simulators
from gateway.dialects.catalogue import default_dialects
from tests.gateway.harness import GatewayThread

BEIJING_OFFSET = "+08:00"


class SimulatorThread:
    """The JS, ZJ and AH simulators on their own event loop thread, on free ports."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.sims = Simulators()

    def start(self) -> dict[str, str]:
        self.thread.start()
        return asyncio.run_coroutine_threadsafe(
            self.sims.start(default_dialects(), fixed_ports=False), self.loop
        ).result(30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.sims.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


WebGatewayThread = GatewayThread  # the harness passes HTTP extensions and the dev env


class BusinessClock:
    """A settable business clock (Beijing time) for deadlines; exchanges keep real time."""

    def __init__(self, iso: str) -> None:
        self.now = datetime.fromisoformat(iso)

    def set(self, iso: str) -> None:
        self.now = datetime.fromisoformat(iso)

    def __call__(self) -> datetime:
        return self.now


def start_web_gateway(data_dir: Path, cases: CaseOptions | None = None, **kwargs: Any):
    """(gateway thread, simulator thread): JS, ZJ, AH push to simulators; SH is pull."""
    sims = SimulatorThread()
    endpoints = sims.start()
    gw = WebGatewayThread(
        data_dir,
        endpoints=endpoints,
        pull_regions=("SH",),
        cases=cases,
        push_backoff_seconds=0.05,
        push_backoff_max_seconds=0.5,
        **kwargs,
    ).start()
    return gw, sims


def sign_in(base: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    r = client.post("/api/auth/sign-in", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"
    return client


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy (events, never timing, are what tests assert)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def complete_materials(
    client: httpx.Client, matter_code: str, region: str, given: list[dict] | None = None
) -> list[dict]:
    """``given`` (``[{material_id, upload_id}]``) plus a staged file for every other material
    the matter requires from the applicant in ``region`` (required, not shareable): a
    submission that passes the completeness check (一次性告知)."""
    out = list(given or [])
    have = {m["material_id"] for m in out}
    variant = client.get(f"/api/matters/{matter_code}", params={"region": region}).json()
    for m in variant["materials"]:
        if m["required"] and not m["shareable"] and m["material_id"] not in have:
            r = client.post(
                "/api/uploads",
                params={"filename": f"{m['material_id']}.pdf"},
                content=f"%PDF-1.4 {m['material_id']}".encode(),
                headers={"Content-Type": "application/pdf"},
            )
            assert r.status_code == 201, r.text
            out.append({"material_id": m["material_id"], "upload_id": r.json()["upload_id"]})
    return out


def accepted_case(
    clerk: httpx.Client,
    applicant: dict[str, Any],
    *,
    filename: str = "公司登记申请书.pdf",
    content: bytes = b"%PDF-1.4 application",
    matter_code: str = "010010300100",
    region: str = "ZJ",
) -> dict[str, Any]:
    """A case the clerk submits (``content`` as M01, every other required material staged)
    and the handling province's simulator accepts; its detail once ``accepted``."""
    r = clerk.post(
        "/api/uploads",
        params={"filename": filename},
        content=content,
        headers={"Content-Type": "application/pdf"},
    )
    assert r.status_code == 201, r.text
    given = [{"material_id": "M01", "upload_id": r.json()["upload_id"]}]
    r = clerk.post(
        "/api/cases",
        json={
            "matter_code": matter_code,
            "handling_region": region,
            "handling_mode": "异地代收代办",
            "applicant": applicant,
            "materials": complete_materials(clerk, matter_code, region, given),
        },
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    return wait_for(
        lambda: (d := clerk.get(f"/api/cases/{case_id}").json())["status"] == "accepted" and d
    )
