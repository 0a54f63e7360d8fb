"""Operations: metrics, structured logs with personal data masked, and the supervisor that
watches every background worker. The bottom layer of the gateway: it imports no other part."""

__all__: list[str] = []
