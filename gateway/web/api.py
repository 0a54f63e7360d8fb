"""REST API for G60 windows, handlers and auditors (FastAPI; OpenAPI at ``/docs``).

Authentication: ``POST /api/auth/sign-in`` returns a session token (also set as an
HttpOnly, SameSite=Strict cookie). Every write needs ``Authorization: Bearer <token>``;
the cookie is accepted for reads only (downloads from plain links), so a cross-site form
cannot write. Errors are ``{"error": {"code", "message", "field"}}`` with the status of
``STATUS_OF`` (the one table mapping case errors to HTTP).
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import date
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.cases import (
    CITIES,
    REGION_NAMES,
    Account,
    CaseError,
    CaseForbidden,
    CaseInvalid,
    CaseNotFound,
    CaseService,
    CaseUnavailable,
    TransitionRefused,
)
from gateway.cases.chinese import refusal_zh, region_zh
from gateway.cases.throttle import SignInThrottled
from gateway.errors import Refusal
from gateway.matters import MatterError, MatterNotFound, compare_matter
from gateway.regions import Region
from gateway.web.http_errors import http_error_response, internal_response
from gateway.web.labels import field_label, validation_message
from gateway.web.schemas import AccountOut, CaseOut, SessionOut
from ledger.cosignature import TrustedWitness
from ledger.trust import trust_document

__all__ = [
    "BEARER",
    "COOKIE",
    "SESSION_COOKIE",
    "STATUS_OF",
    "Applicant",
    "CaseSubmit",
    "MaterialRef",
    "Rating",
    "SignIn",
    "Transition",
    "build_router",
    "current_account",
    "error_response",
    "install_errors",
    "refusal_response",
    "trust_for",
    "validation_response",
]

COOKIE = "yrd_session"
_SPOOL_MEMORY = 256 * 1024
STATUS_OF: dict[type[CaseError], int] = {
    CaseInvalid: 422,
    CaseNotFound: 404,
    CaseForbidden: 403,
    TransitionRefused: 409,
    CaseUnavailable: 503,
}


def error_response(exc: CaseError) -> JSONResponse:
    """A refused case operation: its Chinese message, machine code, field path and the
    field's Chinese name (``field_label``)."""
    status = next((s for cls, s in STATUS_OF.items() if isinstance(exc, cls)), 400)
    headers = {}
    if exc.code in ("unauthenticated", "bad_credentials"):
        status = 401
    elif isinstance(exc, SignInThrottled):
        status = 429
        headers["Retry-After"] = str(exc.retry_after)
    body = {**exc.to_dict(), "field_label": field_label(exc.field)}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def trust_for(gateway: Any) -> dict[str, Any]:
    """The trust file auditors verify receipts with: the gateway's log key and origin, and
    the registry's witnesses of that log (their cosignatures make a quorum)."""
    origin = gateway.log.origin
    registry = gateway.registry.current
    witnesses = [] if registry is None else registry.log_witnesses(origin)
    return trust_document(
        origin,
        gateway.log_key.public_key,
        witnesses=[TrustedWitness(w.name, w.public_key) for w in witnesses],
    )


class SignIn(BaseModel):
    username: str
    password: str


class Applicant(BaseModel):
    name: str = Field(description="申请人姓名 (stored sealed; shown masked)")
    id_number: str = Field(description="居民身份证号码 (GB 11643, check digit verified)")
    phone: str | None = None
    auth_methods: list[str] = Field(
        default=["electronic_id_card", "face_recognition"],
        description="how the window verified the applicant (canonical auth methods)",
    )


class MaterialRef(BaseModel):
    material_id: str = Field(description="the matter's material id, e.g. M01")
    upload_id: str = Field(description="from POST /api/uploads")


class CaseSubmit(BaseModel):
    matter_code: str
    handling_region: str = Field(description="SH, JS, ZJ or AH: the handling province")
    handling_mode: str = Field(description="全程网办, 异地代收代办 or 多地联办")
    applicant: Applicant
    materials: list[MaterialRef] = []
    receiving_city: str | None = Field(None, description="defaults to the clerk's city")
    note: str | None = None


class Transition(BaseModel):
    to: str = Field(description="accepted, refused, transferred, approved, denied, "
                    "certificate_issued (handler) or archived (window)")  # fmt: skip
    note: str | None = None


class Rating(BaseModel):
    grade: int = Field(ge=1, le=5, description="5 非常满意 ... 1 非常不满意")
    comment: str | None = None


# Declared so that the OpenAPI document names both schemes on every signed-in operation
# (``gateway.web.apidocs``); ``current_account`` reads the header and the cookie itself.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearerAuth")
SESSION_COOKIE = APIKeyCookie(name=COOKIE, auto_error=False, scheme_name="sessionCookie")


def current_account(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None,
    _cookie: Annotated[str | None, Depends(SESSION_COOKIE)] = None,
) -> Account:
    """The signed-in account: Bearer token, or (reads only) the session cookie."""
    service: CaseService = request.app.state.cases
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not token and request.method in ("GET", "HEAD"):
        token = request.cookies.get(COOKIE, "")
    if not token:
        raise CaseForbidden("unauthenticated", "请先登录")
    found = service.accounts.session(token)
    if found is None:
        raise CaseForbidden("unauthenticated", "登录已过期或无效，请重新登录")
    return found


Acct = Annotated[Account, Depends(current_account)]


def build_router(gateway: Any, service: CaseService) -> APIRouter:
    router = APIRouter(prefix="/api")

    # -- auth ---------------------------------------------------------------------------
    @router.post("/auth/sign-in", tags=["auth"], response_model=SessionOut)
    async def sign_in(body: SignIn, request: Request, response: Response) -> dict[str, Any]:
        """A session for good credentials; 429 with ``Retry-After`` while throttled."""
        client = request.client.host if request.client else None
        token, acct = await asyncio.to_thread(
            service.accounts.sign_in, body.username, body.password, client
        )
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
        return {"token": token, "account": acct.to_dict()}

    @router.post("/auth/sign-out", tags=["auth"])
    def sign_out(request: Request, response: Response, _: Acct) -> dict:
        service.accounts.sign_out(request.headers.get("authorization", "")[7:].strip())
        response.delete_cookie(COOKIE, path="/")
        return {"ok": True}

    @router.get("/auth/me", tags=["auth"], response_model=AccountOut)
    def me(acct: Acct) -> dict[str, Any]:
        return acct.to_dict()

    # -- reference data -------------------------------------------------------------------
    @router.get("/cities", tags=["reference"])
    def cities() -> list[dict[str, str]]:
        return [
            {"code": c.code, "name": c.name_zh, "region": c.region,
             "region_name": REGION_NAMES[Region(c.region)]}
            for c in CITIES.values()
        ]  # fmt: skip

    @router.get("/matters", tags=["matters"])
    def matters(q: str | None = None) -> list[dict[str, Any]]:
        out = []
        for m in service.catalogue.search(q or None):
            entry = service.catalogue.entry(m.basic_code)
            out.append(
                {
                    "basic_code": m.basic_code,
                    "name": m.name,
                    "matter_type": m.matter_type.value,
                    "handling_modes": [h.value for h in m.handling_modes],
                    "regions": sorted(entry.variants),
                    "subject_kinds": list(entry.subject_kinds),
                    "materials": [
                        {"material_id": x.material_id, "name": x.name, "required": x.required}
                        for x in m.materials
                    ],
                }
            )
        return out

    @router.get("/matters/{code}", tags=["matters"])
    def matter(code: str, region: str | None = None) -> dict[str, Any]:
        try:
            record = service.catalogue.get(code, region).to_dict()
            return {**record, "subject_kinds": list(service.catalogue.subject_kinds(code))}
        except MatterNotFound as exc:
            raise CaseNotFound("unknown_matter", _no_matter(code, region), "matter_code") from exc

    @router.get("/matters/{code}/compare", tags=["matters"], responses={400: {}})
    def compare(
        code: str,
        regions: str = Query("SH,JS,ZJ,AH", description="comma-separated region codes"),
        reference_date: date | None = None,
    ) -> dict[str, Any]:
        wanted = [r.strip() for r in regions.split(",") if r.strip()]
        bad = [r for r in wanted if r not in REGION_NAMES]
        if bad or not wanted:
            raise CaseInvalid("invalid", _clip(f"未知的省份代码 {bad}", 100), "regions")
        try:
            result = compare_matter(
                service.catalogue,
                code,
                reference_date=reference_date or service.today(),
                regions=wanted,
                calendar=service.calendar,
            )
        except MatterNotFound as exc:
            raise CaseNotFound("unknown_matter", _no_matter(code, None), "matter_code") from exc
        except MatterError as exc:  # a reference_date the time limits cannot count from: 400
            when = (reference_date or service.today()).isoformat()
            message = f"参考受理日 {when} 加上办理时限超出日历范围（9999-12-31）"
            raise CaseError("invalid", message, exc.field) from exc
        return result.to_dict()

    # -- uploads and cases ----------------------------------------------------------------
    @router.post(
        "/uploads",
        tags=["cases"],
        status_code=201,
        openapi_extra={
            "requestBody": {
                "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                    "format": "binary"}}},
                "required": True,
            }
        },
    )  # fmt: skip
    async def upload(
        request: Request,
        acct: Acct,
        filename: str = Query(..., description="original file name"),
    ) -> dict[str, Any]:
        """Stage a material file (raw request body); attach it when submitting the case.

        The body is streamed into a spool that keeps at most ``_SPOOL_MEMORY`` in memory; the
        body-limit middleware stops the stream at the upload limit (413)."""
        kind = request.headers.get("content-type", "application/octet-stream")
        with tempfile.SpooledTemporaryFile(_SPOOL_MEMORY) as spool:
            async for chunk in request.stream():
                spool.write(chunk)
            spool.seek(0)
            data = spool.read()
        return await asyncio.to_thread(service.stage_upload, acct, filename, kind, data)

    @router.post("/cases", tags=["cases"], status_code=201, response_model=CaseOut)
    async def submit(body: CaseSubmit, acct: Acct) -> dict[str, Any]:
        return await service.submit(acct, body.model_dump())

    @router.get("/cases", tags=["cases"])
    def list_cases(
        acct: Acct,
        response: Response,
        status: str | None = None,
        city: str | None = None,
        province: str | None = None,
        overdue: bool | None = None,
        q: str | None = None,
        number: str | None = None,
        matter: str | None = None,
        applicant: str | None = None,
        due: str | None = None,
        page: Annotated[int, Query(ge=1)] = 1,
        size: Annotated[int, Query(ge=1, le=200)] = 200,
    ) -> list[dict[str, Any]]:
        """Newest first; the number of matches is in ``X-Total-Count`` (docs/cases.md)."""
        rows, total = service.search(
            acct, status=status, city=city, province=province, overdue=overdue, q=q,
            number=number, matter=matter, applicant=applicant, due=due, page=page, size=size,
        )  # fmt: skip
        response.headers["X-Total-Count"] = str(total)
        return rows

    @router.get("/cases/{case_id}", tags=["cases"], response_model=CaseOut)
    def case_detail(case_id: str, acct: Acct) -> dict[str, Any]:
        return service.detail(acct, case_id)

    @router.get("/cases/{case_id}/applicant", tags=["cases"])
    def applicant(case_id: str, acct: Acct) -> dict[str, Any]:
        return service.applicant(acct, case_id)

    @router.post("/cases/{case_id}/transitions", tags=["cases"], response_model=CaseOut)
    async def transition(case_id: str, body: Transition, acct: Acct) -> dict[str, Any]:
        return await service.transition(acct, case_id, body.to, body.note)

    @router.post("/cases/{case_id}/rating", tags=["cases"])
    async def rate(case_id: str, body: Rating, acct: Acct) -> dict:
        return await service.rate(acct, case_id, body.grade, body.comment)

    @router.get("/cases/{case_id}/materials/{material_id}", tags=["cases"])
    def material(case_id: str, material_id: str, acct: Acct) -> Response:
        meta, data = service.material(acct, case_id, material_id)
        return Response(
            data,
            media_type=meta["content_type"],
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(meta['filename'])}",
                "X-Content-SM3": meta["sm3"],
            },
        )

    # receipts and audit: gateway.web.routes_audit (mounted beside this router)
    return router


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def validation_response(exc: RequestValidationError) -> JSONResponse:
    """A refused request body, path or query parameter in the API's error shape, naming the
    first failing field in Chinese (``field_label``) beside its path (``field``); the
    offending value is never echoed (FastAPI's default answer echoes it whole)."""
    message, where = validation_message(exc.errors())
    where = where[:100] if where else None
    body = {"code": "invalid", "message": _clip(message), "field": where,
            "field_label": field_label(where)}  # fmt: skip
    return JSONResponse({"error": body}, status_code=422)


def _no_matter(code: str, region: str | None) -> str:
    where = f"在{region_zh(region)}" if region else ""
    return f"事项 {code[:20]!r} {where}不在事项目录中"


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


_HTTP_OF_GRPC: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.INTERNAL: 500,
    # the gateway cannot vouch for anything now (registry past its grace, log down): the
    # service is unavailable, whatever the request
    grpc.StatusCode.FAILED_PRECONDITION: 503,
    grpc.StatusCode.UNAVAILABLE: 503,
}


def refusal_response(exc: Refusal) -> JSONResponse:
    """A gateway refusal raised under a route (e.g. ``registry_expired`` from the trust
    registry) in the API's error shape, never a bare 500."""
    message = f"网关拒绝了该请求：{refusal_zh(str(exc.reason))}"
    body = {"error": {"code": exc.reason, "message": message, "field": None, "field_label": None}}
    return JSONResponse(body, status_code=_HTTP_OF_GRPC.get(exc.status, 500))


def install_errors(app: FastAPI) -> None:
    app.add_exception_handler(CaseError, lambda _request, exc: error_response(exc))
    app.add_exception_handler(Refusal, lambda _request, exc: refusal_response(exc))
    app.add_exception_handler(
        RequestValidationError, lambda _request, exc: validation_response(exc)
    )
    app.add_exception_handler(
        StarletteHTTPException, lambda _request, exc: http_error_response(exc)
    )
    # an unexpected failure: the error shape in Chinese; Starlette still re-raises it to the
    # server's log (with the traceback, which the client never sees)
    app.add_exception_handler(Exception, lambda _request, _exc: internal_response())
