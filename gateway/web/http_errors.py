"""The framework's own refusals in the API's error shape, in Chinese.

Starlette answers some requests before any route runs (no such path 404, wrong method 405)
and turns an unexpected exception into a bare 500; both would reach the pages as English
(``{"detail": "Not Found"}``, ``Internal Server Error``). ``gateway.web.api.install_errors``
routes them here.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.web.labels import HTTP_MESSAGES

__all__ = ["http_error_response", "internal_response"]


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    """No such route, wrong method ...: a machine code and a Chinese message."""
    code, message = HTTP_MESSAGES.get(exc.status_code, ("http_error", "请求无法处理"))
    body = {"code": code, "message": message, "field": None, "field_label": None}
    return JSONResponse({"error": body}, status_code=exc.status_code, headers=exc.headers)


def internal_response() -> JSONResponse:
    """An unexpected failure: the client learns only that it happened (Starlette re-raises
    the exception to the server's log with its traceback)."""
    body = {"code": "internal", "message": "网关内部错误，请稍后重试", "field": None,
            "field_label": None}  # fmt: skip
    return JSONResponse({"error": body}, status_code=500)
