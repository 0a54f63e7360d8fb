"""A partner dialect as a bundle of named parts: what a province plugin returns.

``adapters/<province>/__init__.py`` publishes ``create_adapter() -> Dialect`` under the
entry-point group ``yrd_gateway.adapters``; the gateway finds it through
``gateway.dialects.catalogue`` and never imports a province by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway.dialects.base import Codec, SimulatorFactory, Transport, TransportFactory
from gateway.dialects.simulator import SampleSimulator
from gateway.dialects.transport import HttpTransport
from gateway.identity.idp_simulator import install_identity_provider
from gateway.identity.province import AssertionFormat

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["Dialect"]


@dataclass(frozen=True)
class Dialect:
    """One partner system's dialect: its parts, each with the contract of ``base``.

    - ``codec``: canonical <-> wire (a :class:`~gateway.dialects.base.Codec`);
    - ``simulator_factory``: makes its simulator (default: generic, no sample certificates);
    - ``transport_factory``: makes its push client (default: ``HttpTransport``);
    - ``identity``: the province identity platform's assertion format, or ``None`` when
      identities from this region cannot be recognised.

    Immutable: nothing is attached to a dialect or its parts after construction.
    """

    codec: Codec
    simulator_factory: SimulatorFactory = field(default_factory=SampleSimulator)
    transport_factory: TransportFactory = HttpTransport
    identity: AssertionFormat | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.codec, Codec):
            raise TypeError(f"codec: expected a Codec, got {type(self.codec).__name__}")
        if self.identity is not None and self.identity.province != self.codec.region:
            raise ValueError(
                f"identity: expected the format of region {self.codec.region}, "
                f"got {self.identity.province}"
            )

    @property
    def region(self) -> str:
        """The region code the dialect belongs to (the codec's)."""
        return self.codec.region

    @property
    def name(self) -> str:
        """The wire format's name and version, e.g. ``js-json/1`` (the codec's)."""
        return self.codec.dialect

    def transport(self, base_url: str, **options: Any) -> Transport:
        """A push client for ``base_url`` (see ``TransportFactory``)."""
        return self.transport_factory(self.codec, base_url, **options)

    def simulator(self) -> web.Application:
        """A fresh simulator (see ``SimulatorFactory``); with an identity format it also
        serves that format's identity provider at ``POST /identity/assert`` (its signing key
        is given after start with ``gateway.identity.idp_simulator.set_identity_provider_key``).
        """
        app = self.simulator_factory(self.codec)
        if self.identity is not None:
            install_identity_provider(app, self.identity)
        return app

    def __repr__(self) -> str:
        identity = f" identity={self.identity.format}" if self.identity else ""
        return f"<Dialect region={self.region} {self.name}{identity}>"
