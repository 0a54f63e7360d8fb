"""Chinese names of the REST API's input fields, and Chinese words for refused input.

Every error the API returns names its field twice: ``field`` keeps the machine path
(``applicant.id_number``, ``materials[0].upload_id``) for programs, ``field_label`` names it
in Chinese (申请人身份证号) for the staff who read it, and the ``message`` starts with that
Chinese name. Validation errors from FastAPI (pydantic) are worded here from their error
``type``, never from pydantic's English ``msg``, and never echo the refused value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["FIELD_LABELS", "HTTP_MESSAGES", "field_label", "validation_message"]

#: API field path (indices removed) -> its Chinese name
FIELD_LABELS: Mapping[str, str] = {
    "username": "用户名",
    "password": "密码",
    "city": "城市",
    "region": "省份",
    "regions": "比对省份",
    "reference_date": "参考受理日",
    "q": "搜索词",
    "code": "编码",
    "matter_code": "事项编码",
    "handling_region": "承办省份",
    "handling_mode": "办理方式",
    "receiving_city": "受理城市",
    "note": "备注",
    "applicant": "申请人",
    "applicant.name": "申请人姓名",
    "applicant.id_number": "申请人身份证号",
    "applicant.phone": "申请人电话",
    "applicant.auth_methods": "申请人核验方式",
    "materials": "材料",
    "materials.material_id": "材料编号",
    "materials.upload_id": "材料上传编号",
    "material_id": "材料编号",
    "upload_id": "上传编号",
    "filename": "文件名",
    "file": "材料文件",
    "body": "请求内容",
    "to": "目标状态",
    "grade": "评价等级",
    "comment": "评价意见",
    "status": "状态",
    "province": "承办省份",
    "overdue": "是否超期",
    "case_id": "办件编号",
    "exchange_id": "交换编号",
    "number": "办件编号",
    "page": "页码",
    "page_size": "每页条数",
    "missing": "缺少的材料",
    "case_ref": "办件编号",
    "matter": "事项",
    "due": "时限状态",
    "size": "每页条数",
    "applicant_name": "申请人姓名",
}

#: pydantic error ``type`` -> what is wrong with the value, in Chinese
_PROBLEMS: Mapping[str, str] = {
    "missing": "必须填写",
    "string_type": "应为文本",
    "string_too_short": "过短",
    "string_too_long": "过长",
    "string_pattern_mismatch": "格式不符",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为是或否（true/false）",
    "bool_parsing": "应为是或否（true/false）",
    "date_type": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "应为日期（YYYY-MM-DD）",
    "datetime_parsing": "应为时间",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "json_invalid": "不是有效的 JSON",
    "json_type": "不是有效的 JSON",
    "enum": "不是可选值之一",
    "literal_error": "不是可选值之一",
    "too_short": "条目过少",
    "too_long": "条目过多",
    "extra_forbidden": "不接受该字段",
    "greater_than": "过小",
    "greater_than_equal": "过小",
    "less_than": "过大",
    "less_than_equal": "过大",
    "value_error": "取值无效",
}

#: HTTP statuses the framework answers by itself (no route, wrong method ...)
HTTP_MESSAGES: Mapping[int, tuple[str, str]] = {
    400: ("bad_request", "请求无效"),
    401: ("unauthenticated", "请先登录"),
    403: ("forbidden", "无权访问"),
    404: ("not_found", "找不到该地址"),
    405: ("method_not_allowed", "该地址不支持此请求方法"),
    406: ("not_acceptable", "无法提供所要求的格式"),
    413: ("too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持该内容类型"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
}

_INDEX = re.compile(r"\[\d+\]|\.\d+(?=\.|$)")


def field_label(path: str | None) -> str | None:
    """The Chinese name of a field path: ``applicant.id_number`` -> 申请人身份证号,
    ``materials[1].upload_id`` -> 第 2 项材料上传编号; the last known part otherwise."""
    if not path:
        return None
    bare = _INDEX.sub("", path)
    index = re.search(r"(?:\[|\.)(\d+)(?:\]|\.|$)", path)
    nth = f"第 {int(index.group(1)) + 1} 项" if index else ""
    if bare in FIELD_LABELS:
        return nth + FIELD_LABELS[bare]
    parts = bare.split(".")
    for i in range(1, len(parts)):
        tail = ".".join(parts[i:])
        if tail in FIELD_LABELS:
            return nth + FIELD_LABELS[tail]
    return "请求中的某一字段"


def validation_message(errors: Sequence[Mapping[str, Any]]) -> tuple[str, str | None]:
    """The Chinese message and the machine field path of the first refused input (of
    FastAPI's ``RequestValidationError.errors()``), saying how many more were refused."""
    first = errors[0] if errors else {}
    loc = [p for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    kind = str(first.get("type", ""))
    if kind.startswith("json"):  # the body as a whole: its loc is a byte offset, not a field
        path = ""
    problem = _PROBLEMS.get(kind, "取值无效")
    ctx = first.get("ctx") or {}
    for key, word in (("ge", "不能小于"), ("gt", "应大于"), ("le", "不能大于"), ("lt", "应小于")):
        if key in ctx and kind.startswith(("greater", "less")):
            problem = f"{word} {ctx[key]}"
    label = field_label(path) or "请求内容"
    message = f"{label}{problem}"
    if len(errors) > 1:
        message += f"（另有 {len(errors) - 1} 处错误）"
    return message, path or None
