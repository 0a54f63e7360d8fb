"""REST route of 可共享免交: open a shareable material the gateway fetched for a case through
the once-only evidence exchange (``gateway.cases.evidence``), like an uploaded one: for the
receiving window and the handling province, each opening recorded in the case timeline.
The checklist states (待获取 / 已获取 / 获取失败) are in the case detail's ``shareable``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from gateway.cases import CaseService
from gateway.web.api import Acct

__all__ = ["build_shared_router"]


def build_shared_router(service: CaseService) -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.get("/cases/{case_id}/shared/{material_id}", tags=["cases"])
    def shared_material(case_id: str, material_id: str, acct: Acct) -> Response:
        """已获取的共享材料（出具部门答复的内容）；每次查看记入办件时间线。"""
        meta, data = service.shared_material(acct, case_id, material_id)
        return Response(
            data,
            media_type="text/plain; charset=utf-8",
            headers={
                "X-Content-SM3": meta["digest_sm3"] or "",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return router
