"""``POST /api/licences/verify``: a window checks a presented e-licence (电子证照互认).

The body is ``{"licence": "<the signed licence: its JSON text, or that text in base64>",
"holder_key": "<optional: the applicant's person key>"}``. The answer is always the verdict
(HTTP 200): ``valid``, and for a refused licence ``reason`` (the machine code, e.g.
``EXPIRED``), ``check`` (the step that refused), ``message`` (Chinese: what the window
shows) and ``detail`` (the English message naming the check), plus the canonical
``licence`` when it parsed -- a licence that fails a check is an answer, not an error.
Errors use the API's error shape (``{"error": {"code", "message", "field",
"field_label"}}``, Chinese message): 401 without a session, 422 for a body without
``licence``, 413 over the body limit. Nothing is written.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from gateway.cases import Account, CaseService
from gateway.licences import MAX_LICENCE_BYTES, check_licence
from gateway.web.api import current_account

__all__ = ["LicenceCheck", "build_licences_router", "licence_bytes"]

Acct = Annotated[Account, Depends(current_account)]


class LicenceCheck(BaseModel):
    licence: str = Field(
        min_length=1,
        max_length=MAX_LICENCE_BYTES * 2,
        description="签名电子证照（JSON 文本，或其 base64）",
    )
    holder_key: str | None = Field(
        default=None, max_length=128, description="申请人的持证人标识（可选，pk-...）"
    )


def licence_bytes(text: str) -> bytes:
    """The licence bytes a window pasted: JSON text as is, else base64 (bad base64 gives
    bytes that fail to parse, so the verdict says MALFORMED)."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return stripped.encode("utf-8")
    try:
        return base64.b64decode("".join(stripped.split()), validate=True)
    except (binascii.Error, ValueError):
        return stripped.encode("utf-8")


def build_licences_router(gateway: Any, service: CaseService) -> APIRouter:
    """The licence routes over ``gateway.registry`` (the registry in use) and the case
    service's clock."""
    router = APIRouter(prefix="/api")

    @router.post("/licences/verify", tags=["licences"])
    def verify(body: LicenceCheck, account: Acct) -> dict[str, Any]:
        """Verify a signed e-licence: signature, issuing authority for the type, validity,
        revocation, and (if given) the holder. A refused licence is ``valid: false``."""
        clock = getattr(service, "clock", None)
        now = clock() if clock is not None else datetime.now(UTC)
        verdict = check_licence(
            licence_bytes(body.licence),
            registry=gateway.registry.require(),
            now=now,
            holder_key=body.holder_key or None,
        )
        return verdict.to_dict()

    return router
