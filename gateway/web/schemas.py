"""Typed response bodies of the main REST operations, for the OpenAPI document (``/docs``).

Each model names the fields a client may rely on; ``extra="allow"`` lets the case service
add fields without a model change first (they are returned, just not yet documented here),
so a model documents the contract without filtering the answer.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AccountOut", "CaseOut", "ErrorBody", "ErrorOut", "SessionOut"]


class ErrorBody(BaseModel):
    code: str = Field(description="stable machine code, e.g. invalid, unauthenticated")
    message: str = Field(description="中文说明（给工作人员看）")
    field: str | None = Field(None, description="the offending field, if one is to blame")
    field_label: str | None = Field(None, description="该字段的中文名称（有 field 时）")


class ErrorOut(BaseModel):
    """Every refusal of the API: ``{"error": {"code", "message", "field", "field_label"}}``."""

    error: ErrorBody


class AccountOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    username: str
    role: str = Field(description="clerk 窗口工作人员, handler 承办地审批人员, auditor 审计人员")
    display_name: str
    city: str | None = Field(None, description="a clerk's G60 city code")
    city_name: str | None = None
    region: str | None = Field(None, description="SH, JS, ZJ or AH")


class SessionOut(BaseModel):
    token: str = Field(description="send as Authorization: Bearer <token>; writes need it")
    account: AccountOut


class CaseOut(BaseModel):
    """One case as the signed-in account may see it (the applicant masked)."""

    model_config = ConfigDict(extra="allow")

    case_id: str
    number: str = Field(description="办件编号")
    matter_code: str
    matter_name: str
    handling_region: str
    status: str
    status_label: str
