"""YRD Gateway service: gRPC exchange, trust registry, matters, identity, cases, web app."""

__all__ = [
    "__version__",
]

__version__ = "0.1.0"
