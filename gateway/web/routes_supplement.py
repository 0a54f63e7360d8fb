"""REST routes of 补正 (supplement): the handling province returns a case naming what is
missing, the receiving window resubmits with the materials (``gateway.cases.supplement``).

Both are writes: Bearer token only (``current_account``), refusals in the documented error
shape, nothing written on a refusal.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from gateway.cases import CaseService
from gateway.web.api import Acct, MaterialRef

__all__ = ["SupplementRequest", "SupplementSubmit", "build_supplement_router"]


class SupplementRequest(BaseModel):
    materials: list[str] = Field(description="所缺材料的编号，如 M02（至少一项）")
    note: str | None = Field(None, description="补正说明（一次性告知申请人）")


class SupplementSubmit(BaseModel):
    materials: list[MaterialRef] = Field(description="补正材料：每项所缺材料一份已上传文件")
    note: str | None = None


def build_supplement_router(service: CaseService) -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.post("/cases/{case_id}/supplement-request", tags=["cases"])
    async def request_supplement(
        case_id: str, body: SupplementRequest, acct: Acct
    ) -> dict[str, Any]:
        """承办地退回补正：写明所缺材料；补正期间办结时限暂停计算。"""
        return await service.request_supplement(acct, case_id, body.materials, body.note)

    @router.post("/cases/{case_id}/supplement", tags=["cases"])
    async def supplement(case_id: str, body: SupplementSubmit, acct: Acct) -> dict[str, Any]:
        """受理窗口提交补正材料并重新提交；办结时限自当日起恢复计算。"""
        return await service.supplement(
            acct, case_id, [m.model_dump() for m in body.materials], body.note
        )

    return router
