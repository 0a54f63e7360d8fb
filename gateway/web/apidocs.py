"""``/docs`` served with no network, and an OpenAPI document that says how to call the API.

Swagger UI comes from the ``swagger-ui-bundle-v2`` package (Swagger UI 5, which reads the
OpenAPI 3.1 FastAPI writes), served at ``/docs/assets/``: a window's intranet often has no
way out to a CDN, and ``/docs`` must still show the operations.

The document is completed once, from the routes themselves, so a new route is described
without anyone remembering to:

- ``components.securitySchemes``: ``bearerAuth`` (the session token) and ``sessionCookie``
  (``yrd_session``), declared by ``gateway.web.api.current_account``'s dependencies, so an
  operation that needs a session names them (either one for a read; the token alone for a
  write: the cookie is accepted for reads only); every other operation is public, stated
  as ``security: []`` rather than left out;
- the error model ``ErrorOut`` (``{"error": {"code", "message", "field"}}``) on every
  error response an operation can give: 401/403 when signed in, 404 with a path parameter,
  409 for a case write, 413 with a body, 422 with a parameter or body, 429 at sign-in, 503
  for anything under ``/api`` (the case service or trust registry unavailable). FastAPI's
  own 422 model is replaced: the API never answers ``{"detail": [...]}``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from gateway.web.schemas import ErrorOut

__all__ = ["ASSETS", "ERROR_REF", "describe", "install_docs"]

ASSETS = "/docs/assets"
ERROR_REF = "#/components/schemas/ErrorOut"
_READS = {"get", "head"}
_WHAT = {
    400: "请求不合法",
    401: "未登录或会话已过期",
    403: "无权执行此操作",
    404: "未找到",
    409: "当前状态不允许此操作",
    413: "请求体过大",
    422: "参数校验失败",
    429: "尝试过多，请稍后再试（见 Retry-After）",
    503: "服务暂不可用",
}
_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "POST /api/auth/sign-in 返回的会话令牌；所有写操作都需要它",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "yrd_session",
        "description": "登录时设置的 HttpOnly 会话 Cookie；只用于读操作",
    },
}


def install_docs(app: FastAPI) -> None:
    """``/docs`` from local assets and the completed OpenAPI document (create the app
    with ``docs_url=None``)."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} · API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = describe(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the security schemes, each operation's security and its error
    responses in the error model (see the module docstring)."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(_SCHEMES)
    schemas = components.setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorOut"] = error_schema
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            security = op.get("security", [])
            if method not in _READS:  # the cookie is for reads only: a write needs the token
                security = [r for r in security if "sessionCookie" not in r] or (
                    [{"bearerAuth": []}] if security else []
                )
            op["security"] = security
            _errors(path, method, op, authed=bool(security))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return schema


def _errors(path: str, method: str, op: dict[str, Any], *, authed: bool) -> None:
    params = op.get("parameters", [])
    codes = set()
    if authed:
        codes |= {401, 403}
    if any(p.get("in") == "path" for p in params):
        codes.add(404)
    if method == "post" and authed and path.startswith("/api/cases/"):
        codes.add(409)
    if "requestBody" in op:
        codes |= {413, 422}
    if params:
        codes.add(422)
    if path == "/api/auth/sign-in":
        codes.add(429)
    if path.startswith("/api/"):
        codes.add(503)
    responses = op.setdefault("responses", {})
    for code in sorted(codes):
        responses.setdefault(str(code), {"description": _WHAT[code]})
    for status, response in responses.items():
        if status[:1] in ("4", "5"):
            given = response.get("description", "")
            if not given or given == HTTPStatus(int(status)).phrase:  # FastAPI's default
                response["description"] = _WHAT.get(int(status), "错误")
            response["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
