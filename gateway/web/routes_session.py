"""``GET /api/auth/session``: a bookmarked page opens when the session cookie is valid.

The pages keep the bearer token in ``sessionStorage``, which a new tab does not share; the
HttpOnly cookie set at sign-in does reach a new tab. This read (the cookie is accepted for
reads only, ``gateway.web.api``) hands the page the session's bearer token again, so its
writes still carry ``Authorization: Bearer`` and a cross-site form still cannot write: the
cookie is SameSite=Strict, and no CORS header lets another origin read this answer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from gateway.cases import CaseForbidden, CaseService
from gateway.web.api import SESSION_COOKIE
from gateway.web.schemas import AccountOut, SessionOut

__all__ = ["session_router"]


def session_router(service: CaseService) -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.get("/auth/session", tags=["auth"], response_model=SessionOut)
    def session(token: Annotated[str | None, Depends(SESSION_COOKIE)] = None) -> SessionOut:
        """The session of the cookie (401 without a valid one): its token and account."""
        found = service.accounts.session(token) if token else None
        if found is None or token is None:
            raise CaseForbidden("unauthenticated", "请先登录：会话已过期或不存在")
        return SessionOut(token=token, account=AccountOut(**found.to_dict()))

    return router
