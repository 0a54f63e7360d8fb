"""The adapter contract: one small base class; everything a province differs in is data."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from aiohttp import web

    from gateway.dialects.transport import HttpTransport

__all__ = ["KINDS", "REQUEST_KINDS", "RESPONSE_KIND", "Adapter"]

# Request kind -> the kind of the answer that comes back.
RESPONSE_KIND: Mapping[str, str] = {
    "matter.lookup": "matter",
    "case.submit": "case.status",
    "case.status": "case.status",
    "evidence.request": "evidence.response",
}
REQUEST_KINDS = tuple(RESPONSE_KIND)
KINDS = ("matter.lookup", "matter", "case.submit", "case.status", "evidence.request",
         "evidence.response", "error")  # fmt: skip


class Adapter(abc.ABC):
    """Maps one partner system's dialect to and from the canonical model.

    The canonical model is Shanghai's format: JSON objects whose schemas, one per message
    kind, are in ``gateway.dialects.schema`` (and ``docs/adapters.md``). Kinds:
    ``matter.lookup`` -> ``matter``; ``case.submit`` -> ``case.status``; ``case.status``
    -> ``case.status``; ``evidence.request`` -> ``evidence.response``; and ``error``, the
    body of any refusal. A canonical dict always holds every key of its schema, ``None``
    for an absent optional value; dates are ``yyyy-mm-dd``, times
    ``yyyy-mm-ddThh:mm:ss+08:00``, money integer fen, matter codes 12-digit basic codes
    (GB/T 39554.1-2020).

    Attributes (class or instance):

    - ``region``: the region code the dialect belongs to, e.g. ``"JS"``;
    - ``dialect``: name and version of the wire format, e.g. ``"js-json/1"``;
    - ``content_type``: the HTTP content type of its payloads, with charset;
    - ``kinds``: the kinds it maps (default: all of ``KINDS``);
    - ``identity``: optional, the province identity platform's assertion format, a
      ``gateway.identity.province.AssertionFormat`` (default ``None``: identities from this
      region cannot be recognised). ``gateway.identity.province.with_identity`` sets it
      and adds ``POST /identity/assert`` to the simulator.

    Methods:

    - ``to_canonical(kind, payload: bytes) -> dict``: parse dialect bytes into a valid
      canonical dict. Raises ``AdapterError`` whose ``field`` names the dialect field at
      fault: ``"<body>"`` for malformed JSON/XML or the wrong encoding; the field path for
      a missing mandatory field, a value of the wrong type or format, an unknown code or
      an unknown local matter code; ``"kind"`` for an unsupported kind.
    - ``from_canonical(kind, canonical: dict) -> bytes``: the inverse; raises
      ``AdapterError`` naming the canonical field that is invalid or that the dialect
      cannot express. For every valid canonical dict ``c`` the dialect can express,
      ``to_canonical(k, from_canonical(k, c)) == c`` (round trip without loss).
    - ``local_matter_code(canonical_code) -> str`` and ``canonical_matter_code(local_code)
      -> str``: translate matter codes; ``AdapterError`` for an unknown code.
    - ``simulator() -> aiohttp.web.Application``: a fresh in-memory simulator of the
      partner system that speaks the dialect on the paths of ``endpoint(kind)``: matter
      lookups, evidence (电子证照) requests from a sample store, case intake (recorded and
      answered with an acceptance). For tests and ``--dev``; never production.
    - ``endpoint(kind) -> str``: the URL path a request kind is pushed to.
    - ``transport(base_url)``: a client whose ``async deliver(kind, payload: bytes)`` pushes
      dialect bytes to ``base_url + endpoint(kind)`` and returns the response; by default
      ``gateway.dialects.transport.HttpTransport`` (aiohttp).

    Adapters are stateless apart from their mapping data and safe to share between tasks.
    They are found through ``gateway.dialects.registry``, never imported by name.
    """

    region: ClassVar[str]
    dialect: ClassVar[str]
    content_type: ClassVar[str]
    kinds: tuple[str, ...] = KINDS
    identity: Any = None

    @abc.abstractmethod
    def to_canonical(self, kind: str, payload: bytes) -> dict[str, Any]: ...

    @abc.abstractmethod
    def from_canonical(self, kind: str, canonical: Mapping[str, Any]) -> bytes: ...

    @abc.abstractmethod
    def local_matter_code(self, canonical_code: str) -> str: ...

    @abc.abstractmethod
    def canonical_matter_code(self, local_code: str) -> str: ...

    @abc.abstractmethod
    def simulator(self) -> web.Application: ...

    def endpoint(self, kind: str) -> str:
        return "/" + kind.replace(".", "/")

    def transport(self, base_url: str, **options: Any) -> HttpTransport:
        from gateway.dialects.transport import HttpTransport

        return HttpTransport(self, base_url, **options)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} region={self.region} dialect={self.dialect}>"
