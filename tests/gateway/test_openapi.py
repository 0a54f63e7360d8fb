"""The OpenAPI document says how to call the API (issue 14, API hygiene).

Walked from a real gateway's ``/openapi.json``:

- the bearer token and the session cookie are declared as security schemes;
- every operation states its security; the public ones are exactly ``PUBLIC`` (a new
  public operation must be added here on purpose), and every other one really is refused
  without a session (401 in the error shape);
- every operation documents its error responses with the error model, and never FastAPI's
  ``{"detail": [...]}`` model, which the API does not answer;
- the main operations have typed response bodies, not a bare object.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from gateway.cases import Role
from gateway.web.apidocs import ERROR_REF
from tests.web.helpers import sign_in, start_web_gateway

PASSWORD = "openapi-pass-1"
PUBLIC = {
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("post", "/api/auth/sign-in"),
    ("get", "/api/trust.json"),
    ("get", "/api/cities"),
    ("get", "/api/matters"),
    ("get", "/api/matters/{code}"),
    ("get", "/api/matters/{code}/compare"),
    ("post", "/api/audit/verify"),  # the receipt is the input; nothing stored is shown
    # the applicant's page: 办件编号 + 查询码 in the body stand for the account (throttled)
    ("post", "/api/progress"),
    ("post", "/api/progress/rating"),
}
TYPED = {
    ("post", "/api/auth/sign-in"): "SessionOut",
    ("get", "/api/auth/me"): "AccountOut",
    ("get", "/api/auth/session"): "SessionOut",
    ("get", "/api/cases/{case_id}"): "CaseOut",
    ("post", "/api/cases"): "CaseOut",
    ("post", "/api/cases/{case_id}/transitions"): "CaseOut",
}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    gw, sims = start_web_gateway(Path(tmp_path_factory.mktemp("openapi")))
    gw.gateway.cases.accounts.create(
        "jinhua-1", PASSWORD, role=Role.CLERK, display_name="金华", city="jinhua"
    )
    doc = httpx.get(f"{gw.http_url}/openapi.json", timeout=30).json()
    yield {"gw": gw, "doc": doc}
    gw.stop()
    sims.stop()


def _operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete", "head"):
                yield method, path, op


def test_security_schemes_are_declared(env) -> None:
    schemes = env["doc"]["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    cookie = schemes["sessionCookie"]
    assert (cookie["type"], cookie["in"], cookie["name"]) == ("apiKey", "cookie", "yrd_session")


def test_every_operation_states_its_security_and_only_the_public_ones_are_open(env) -> None:
    public = set()
    for method, path, op in _operations(env["doc"]):
        assert "security" in op, f"{method} {path} states no security"
        if op["security"] == []:
            public.add((method, path))
            continue
        names = {name for requirement in op["security"] for name in requirement}
        if path == "/api/auth/session":  # the bookmark: the cookie's session, nothing else
            assert names == {"sessionCookie"}
            continue
        assert "bearerAuth" in names, (method, path)
        if method == "post":  # writes need the bearer token: the cookie alone never writes
            assert names == {"bearerAuth"}, (method, path)
    assert public == PUBLIC


def test_what_the_document_calls_signed_in_is_refused_without_a_session(env) -> None:
    """The document is honest: each signed-in read answers 401 in the error shape to a
    request without a session (path parameters filled with a made-up id)."""
    base = env["gw"].http_url
    with httpx.Client(base_url=base, timeout=30) as anonymous:
        for method, path, op in _operations(env["doc"]):
            if op["security"] == [] or method != "get":
                continue
            url = re.sub(r"\{[^}]+\}", "x-1", path)
            r = anonymous.get(url)
            assert r.status_code == 401, (path, r.status_code, r.text[:200])
            assert r.json()["error"]["code"] == "unauthenticated"


def test_every_operation_documents_its_errors_with_the_error_model(env) -> None:
    doc = env["doc"]
    schemas = doc["components"]["schemas"]
    assert set(schemas["ErrorOut"]["properties"]) == {"error"}
    assert set(schemas["ErrorBody"]["properties"]) == {"code", "message", "field", "field_label"}
    assert "HTTPValidationError" not in schemas
    for method, path, op in _operations(doc):
        errors = {s: r for s, r in op["responses"].items() if s[:1] in ("4", "5")}
        if path.startswith("/api/"):
            assert "503" in errors, (method, path)
        if op["security"]:
            assert {"401", "403"} <= errors.keys(), (method, path)
        if op.get("parameters") or "requestBody" in op:
            assert "422" in errors, (method, path)
        if any(p["in"] == "path" for p in op.get("parameters", [])):
            assert "404" in errors, (method, path)
        for status, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_REF}, (method, path, status)
    assert "429" in doc["paths"]["/api/auth/sign-in"]["post"]["responses"]
    compare = doc["paths"]["/api/matters/{code}/compare"]["get"]["responses"]
    assert compare["400"]["description"] == "请求不合法"  # not FastAPI's "Bad Request"
    assert "409" in doc["paths"]["/api/cases/{case_id}/transitions"]["post"]["responses"]


def test_a_validation_error_is_answered_in_the_documented_shape(env) -> None:
    r = httpx.post(f"{env['gw'].http_url}/api/auth/sign-in", json={"username": 3}, timeout=30)
    assert r.status_code == 422
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field", "field_label"}


def test_main_operations_have_typed_responses(env) -> None:
    doc = env["doc"]
    for (method, path), model in TYPED.items():
        answers = doc["paths"][path][method]["responses"]
        ok = (answers.get("200") or answers["201"])["content"]["application/json"]
        assert ok["schema"] == {"$ref": f"#/components/schemas/{model}"}, (method, path)
    account = doc["components"]["schemas"]["AccountOut"]["properties"]
    assert {"username", "role", "display_name", "city", "region"} <= set(account)


def test_typed_answers_still_carry_every_field(env) -> None:
    """A model documents the answer without filtering it (``extra="allow"``)."""
    client = sign_in(env["gw"].http_url, "jinhua-1", PASSWORD)
    me = client.get("/api/auth/me").json()
    assert me["city_name"] == "金华" and me["role"] == "clerk"
    client.close()
