"""One exchange from check to receipt to delivery: envelope checks and commit
(:mod:`.core`, with the field limits of :mod:`.limits` and the matter resolution of
:mod:`.matter_ref`), the store of exchanges and the outbox, delivery (pull and push), the
once-only evidence relay, and the log entry format."""

__all__: list[str] = []
