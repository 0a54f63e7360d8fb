"""REST routes of the applicant's side: the printable 受理回执 (for the receiving window) and
the public progress page's lookup and 好差评 (办件编号 + verification code, no account).

The public routes take the code in a POST body, never in the URL, so it stays out of access
logs; wrong codes are throttled like sign-in (429 with ``Retry-After``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from gateway.cases import Account, CaseService
from gateway.web.api import current_account

__all__ = ["ProgressQuery", "ProgressRating", "build_applicant_router"]

Acct = Annotated[Account, Depends(current_account)]


class ProgressQuery(BaseModel):
    number: str = Field(max_length=64, description="办件编号, as printed on the 受理回执")
    code: str = Field(max_length=32, description="查询码 (verification code) of the 受理回执")


class ProgressRating(ProgressQuery):
    grade: int = Field(ge=1, le=5, description="5 非常满意 ... 1 非常不满意")
    comment: str | None = Field(None, max_length=500)


def build_applicant_router(service: CaseService) -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.get("/cases/{case_id}/acceptance-slip", tags=["cases"])
    def acceptance_slip(case_id: str, acct: Acct) -> dict[str, Any]:
        """The 受理回执 of a case with its verification code (receiving window only)."""
        return service.acceptance_slip(acct, case_id)

    @router.post("/progress", tags=["applicant"])
    def progress(body: ProgressQuery, request: Request) -> dict[str, Any]:
        """The masked progress of a case for its applicant; 403 ``wrong_code``, 429 while
        throttled."""
        return service.progress(body.number, body.code, _address(request))

    @router.post("/progress/rating", tags=["applicant"])
    async def progress_rating(body: ProgressRating, request: Request) -> dict[str, Any]:
        """The applicant's 好差评 of a finished case (409 before that or when already rated)."""
        return await service.rate_as_applicant(
            body.number, body.code, _address(request), body.grade, body.comment
        )

    return router


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None
