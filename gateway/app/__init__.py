"""The running gateway and how it is put together: settings, trust material, composition
(:mod:`gateway.app.gateway`), the ``serve`` process, the dev environment and the CLI commands
that set a deployment up. The top layer: it may import every other gateway package."""

__all__: list[str] = []
