"""The gRPC front door: the Exchange, Audit, Matters and Identity services, the one access
policy of Exchange and Audit (``access``), the guard that turns every failure into a
precise status, and the one table of status codes."""

__all__: list[str] = []
