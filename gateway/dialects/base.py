"""The dialect contract, in four small parts; everything a province differs in is data.

A partner system's dialect is a :class:`gateway.dialects.bundle.Dialect` that names its parts:

- a :class:`Codec`: canonical model <-> the partner's wire bytes (and the URL paths);
- a :class:`TransportFactory`: makes the client that pushes wire bytes to the partner;
- a :class:`SimulatorFactory`: makes an in-memory stand-in of the partner system;
- optionally an identity format, a :class:`gateway.identity.province.AssertionFormat`:
  the province identity platform's assertions (absent: identities from that region cannot
  be recognised).

Each part's docstring is its whole contract. A part never reaches into another; the bundle
composes them (the simulator it makes also serves the identity format's provider).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from types import TracebackType

    from aiohttp import web

    from gateway.dialects.transport import Delivery

__all__ = [
    "KINDS",
    "REQUEST_KINDS",
    "RESPONSE_KIND",
    "Codec",
    "SimulatorFactory",
    "Transport",
    "TransportFactory",
]

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


class Codec(abc.ABC):
    """Maps one partner system's wire format to and from the canonical model.

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
    - ``kinds``: the kinds it maps (default: all of ``KINDS``).

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
    - ``endpoint(kind) -> str``: the URL path a request kind is pushed to (default
      ``/`` + the kind with dots as slashes); transports and simulators both use it.

    Codecs are stateless apart from their mapping data and safe to share between tasks.
    """

    region: str
    dialect: str
    content_type: str
    kinds: tuple[str, ...] = KINDS

    @abc.abstractmethod
    def to_canonical(self, kind: str, payload: bytes) -> dict[str, Any]: ...

    @abc.abstractmethod
    def from_canonical(self, kind: str, canonical: Mapping[str, Any]) -> bytes: ...

    @abc.abstractmethod
    def local_matter_code(self, canonical_code: str) -> str: ...

    @abc.abstractmethod
    def canonical_matter_code(self, local_code: str) -> str: ...

    def endpoint(self, kind: str) -> str:
        return "/" + kind.replace(".", "/")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} region={self.region} dialect={self.dialect}>"


class Transport(Protocol):
    """A client pushing one codec's wire bytes to one partner base URL.

    - ``await deliver(kind, payload, *, exchange_id="", in_reply_to="")``: POST ``payload``
      to ``base_url + codec.endpoint(kind)`` with the headers ``X-YRD-Exchange-Id`` and, for
      an answer, ``X-YRD-In-Reply-To`` (when given); return a ``Delivery`` (status, content
      type, body, channel) whatever the HTTP status; a network failure, a timeout or an
      oversized answer raises ``DeliveryError(status=None)``.
    - ``await exchange(kind, canonical)``: the round trip in canonical terms: encode,
      deliver, raise ``DeliveryError`` (with the partner's decoded error) on a non-2xx
      status, decode the answer as ``RESPONSE_KIND[kind]``.
    - ``await close()``, or use as an async context manager; idempotent.
    """

    async def deliver(
        self, kind: str, payload: bytes, *, exchange_id: str = "", in_reply_to: str = ""
    ) -> Delivery: ...

    async def exchange(self, kind: str, canonical: Mapping[str, Any]) -> dict[str, Any]: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Transport: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class TransportFactory(Protocol):
    """Makes a :class:`Transport` for ``codec`` and ``base_url``; ``timeout`` is the total
    time allowed for one push, in seconds. A factory may take more keyword options (the
    default, ``gateway.dialects.transport.HttpTransport``, also takes ``session`` and
    ``max_response_bytes``); an unknown one raises ``TypeError``."""

    def __call__(self, codec: Codec, base_url: str, /, *, timeout: float = ...) -> Transport: ...


class SimulatorFactory(Protocol):
    """Makes a fresh in-memory simulator of the partner system, an ``aiohttp`` application
    that speaks ``codec``'s dialect on the paths of ``codec.endpoint(kind)``: matter
    lookups, evidence (电子证照) requests from a sample store, case intake (recorded and
    answered with an acceptance). For tests and ``--dev``; never production. The default is
    ``gateway.dialects.simulator.SampleSimulator``."""

    def __call__(self, codec: Codec, /) -> web.Application: ...
