"""A fourth dialect, defined only here, plugs in through register_dialect.

"hz-legacy/1" is a made-up Hangzhou city system: canonical content, but upper-case keys
inside a HEAD/BODY envelope. It implements the ``Codec`` base class directly (no mapping
file) and takes every other part by default (generic simulator, HTTP transport, no
identity format), proving the contract is enough on its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.dialects import (
    KINDS,
    AdapterError,
    Codec,
    Dialect,
    DialectCatalogue,
    HttpTransport,
    SampleSimulator,
    default_dialects,
    register_dialect,
    validate,
)

from .strategies import payloads


def _keys(value: Any, fn) -> Any:
    if isinstance(value, dict):
        return {fn(k): _keys(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(v, fn) for v in value]
    return value


class HangzhouLegacyCodec(Codec):
    region = "HZ"
    dialect = "hz-legacy/1"
    content_type = "application/json; charset=utf-8"
    _codes: ClassVar[dict[str, str]] = {"200060100100": "HZ-YB-01"}

    def to_canonical(self, kind: str, payload: bytes) -> dict[str, Any]:
        try:
            doc = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AdapterError("<body>", f"malformed payload: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("HEAD", {}).get("KIND") != kind:
            raise AdapterError("HEAD.KIND", f"expected {kind!r}")
        body = _keys(doc.get("BODY"), str.lower)
        if kind in ("matter.lookup", "case.submit") and isinstance(body, dict):
            body["matter_code"] = self.canonical_matter_code(body.get("matter_code"))
        try:
            return validate(kind, body)
        except AdapterError as exc:
            raise AdapterError("BODY." + exc.field.upper(), exc.message) from exc

    def from_canonical(self, kind: str, canonical: Mapping[str, Any]) -> bytes:
        body = validate(kind, canonical)
        if "matter_code" in body and kind != "error":
            body["matter_code"] = self.local_matter_code(body["matter_code"])
        doc = {"HEAD": {"KIND": kind}, "BODY": _keys(body, str.upper)}
        return json.dumps(doc, ensure_ascii=False).encode()

    def local_matter_code(self, canonical_code: str) -> str:
        try:
            return self._codes[canonical_code]
        except KeyError:
            raise AdapterError("matter_code", f"no HZ code for {canonical_code!r}") from None

    def canonical_matter_code(self, local_code: str) -> str:
        for canonical, local in self._codes.items():
            if local == local_code:
                return canonical
        raise AdapterError("MATTER_CODE", f"unknown HZ local matter code {local_code!r}")


def test_register_from_tests_without_touching_gateway() -> None:
    reg = default_dialects()
    dialect = register_dialect(Dialect(HangzhouLegacyCodec()), replace=True)
    assert reg.get("HZ") is dialect and "SH" in reg
    assert reg.by_dialect("hz-legacy/1") is dialect
    local = DialectCatalogue([Dialect(HangzhouLegacyCodec())])
    assert local.regions() == ["HZ", "SH"]


def test_default_parts() -> None:
    dialect = Dialect(HangzhouLegacyCodec())
    assert dialect.region == "HZ" and dialect.name == "hz-legacy/1"
    assert dialect.identity is None
    assert dialect.simulator_factory == SampleSimulator()
    assert dialect.transport_factory is HttpTransport
    transport = dialect.transport("http://127.0.0.1:9")
    assert isinstance(transport, HttpTransport) and transport.codec is dialect.codec


def test_a_dialect_is_not_changed_after_construction() -> None:
    dialect = Dialect(HangzhouLegacyCodec())
    with pytest.raises(AttributeError):
        dialect.identity = object()  # type: ignore[misc]
    with pytest.raises(TypeError, match="codec: expected a Codec, got Timestamp"):
        Dialect(Timestamp())  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("matter.lookup", "case.submit")])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_fourth_dialect_round_trips(kind: str, data) -> None:
    codec = HangzhouLegacyCodec()
    canonical = data.draw(payloads(kind, codec))
    assert codec.to_canonical(kind, codec.from_canonical(kind, canonical)) == canonical


async def test_fourth_dialect_simulator_and_transport() -> None:
    dialect = Dialect(HangzhouLegacyCodec())
    codec = dialect.codec
    runner = web.AppRunner(dialect.simulator())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with dialect.transport(f"http://{host}:{port}") as t:
            # the generic simulator serves HZ with the catalogue; HZ has no variant there
            delivery = await t.deliver(
                "matter.lookup",
                codec.from_canonical("matter.lookup", {"matter_code": "200060100100"}),
            )
            assert delivery.status == 404
            assert codec.to_canonical("error", delivery.body)["code"] == "no_matter"
            bad = await t.deliver("matter.lookup", b'{"HEAD":{"KIND":"matter.lookup"},'
                                                   b'"BODY":{"MATTER_CODE":"HZ-XX"}}')  # fmt: skip
            err = codec.to_canonical("error", bad.body)
            assert bad.status == 400 and err["field"] == "MATTER_CODE"
    finally:
        await runner.cleanup()
